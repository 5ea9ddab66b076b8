/*
 * tests/unit/cli/cache_test.c: the local cache of `optreg fetch`
 * (cli/cache.c): where it lives, what it writes (modes, refs), reading
 * entries back, and the checks that keep a tampered entry from being used.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cache.h"
#include "validator/jcs.h"

#define CONFIG                                                                 \
	"{\"apiVersion\":\"optreg/v1\",\"kind\":\"OptimizerConfig\","          \
	"\"metadata\":{\"name\":\"bert\",\"namespace\":\"team-a\"},"           \
	"\"spec\":{\"lr\":0.001,\"optimizer\":\"adam\"}}"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/optreg-cache-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* A version document for CONFIG (digest into `digest`), version `v`. */
static void version_doc(struct optreg_buf *raw, char *digest, long v,
			const char *config)
{
	optreg_jcs_digest(config, strlen(config), digest);
	optreg_buf_reset(raw);
	optreg_buf_addf(raw,
			"{\"namespace\":\"team-a\",\"name\":\"bert\","
			"\"version\":%ld,\"digest\":\"%s\",\"config\":%s,"
			"\"receipt\":null}",
			v, digest, config);
}

static void test_dir(void **state)
{
	struct optreg_buf d = OPTREG_BUF_INIT;

	(void)state;
	unsetenv("OPTREG_NO_CACHE");
	setenv("OPTREG_CACHE_DIR", "/x/cache", 1);
	setenv("XDG_CACHE_HOME", "/x/xdg", 1);
	setenv("HOME", "/x/home", 1);
	assert_int_equal(cli_cache_dir(&d), 0);
	assert_string_equal(d.data, "/x/cache");
	optreg_buf_reset(&d);
	setenv("OPTREG_CACHE_DIR", "", 1); /* empty: unset */
	assert_int_equal(cli_cache_dir(&d), 0);
	assert_string_equal(d.data, "/x/xdg/optreg");
	optreg_buf_reset(&d);
	unsetenv("OPTREG_CACHE_DIR");
	unsetenv("XDG_CACHE_HOME");
	assert_int_equal(cli_cache_dir(&d), 0);
	assert_string_equal(d.data, "/x/home/.cache/optreg");
	optreg_buf_reset(&d);
	setenv("OPTREG_NO_CACHE", "0", 1); /* "0": still on */
	assert_int_equal(cli_cache_dir(&d), 0);
	optreg_buf_reset(&d);
	setenv("OPTREG_NO_CACHE", "1", 1);
	assert_int_equal(cli_cache_dir(&d), -1);
	unsetenv("OPTREG_NO_CACHE");
	unsetenv("HOME");
	assert_int_equal(cli_cache_dir(&d), -1);
	optreg_buf_release(&d);
}

static void test_put_get(void **state)
{
	struct optreg_buf raw = OPTREG_BUF_INIT, got = OPTREG_BUF_INIT,
			  why = OPTREG_BUF_INIT, canon = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1], ref[OPTREG_DIGEST_LEN + 1];
	char path[256];
	json_t *keys = json_pack("{s:[{s:s}]}", "keys", "keyid", "k1");
	json_t *gotkeys = NULL, *doc = NULL;
	time_t at = 0;
	struct stat st;

	(void)state;
	version_doc(&raw, digest, 3, CONFIG);
	assert_int_equal(cli_cache_put(tmpdir, digest, "team-a", "bert", 3,
				       &raw, keys, &why),
			 0);
	/* Files 0600, folders 0700, whatever the umask allows more. */
	snprintf(path, sizeof(path), "%s/sha256/%s.json", tmpdir, digest + 7);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/sha256", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/refs/team-a/bert", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	assert_int_equal(cli_cache_ref(tmpdir, "team-a", "bert", 3, ref), 0);
	assert_string_equal(ref, digest);
	assert_int_equal(cli_cache_ref(tmpdir, "team-a", "bert", 4, ref), -1);
	assert_int_equal(cli_cache_ref(tmpdir, "team-b", "bert", 3, ref), -1);

	assert_int_equal(
		cli_cache_get(tmpdir, digest, &got, &gotkeys, &at, &why), 0);
	assert_int_equal(got.len, raw.len);
	assert_memory_equal(got.data, raw.data, raw.len);
	assert_non_null(gotkeys);
	assert_true(json_equal(gotkeys, keys));
	assert_true(at > 0);
	assert_int_equal(cli_cache_check(&got, digest, "team-a", "bert", 3,
					 &doc, &canon, &why),
			 0);
	assert_string_equal(canon.data, CONFIG);
	json_decref(doc);

	/* Without keys the keys file stays as it is. */
	assert_int_equal(cli_cache_put(tmpdir, digest, "team-a", "bert", 3,
				       &raw, NULL, &why),
			 0);
	json_decref(gotkeys);
	optreg_buf_reset(&got);
	assert_int_equal(
		cli_cache_get(tmpdir, digest, &got, &gotkeys, &at, &why), 0);
	assert_non_null(gotkeys);

	/* Removed: gone, and its keys with it. */
	assert_int_equal(cli_cache_remove(tmpdir, digest), 0);
	json_decref(gotkeys);
	assert_int_equal(
		cli_cache_get(tmpdir, digest, &got, &gotkeys, &at, &why), -1);
	assert_null(gotkeys);

	/* Not a digest: refused, nothing written. */
	assert_int_equal(cli_cache_put(tmpdir, "sha256:../../etc", "team-a",
				       "bert", 3, &raw, NULL, &why),
			 -1);
	assert_non_null(strstr(why.data, "is not a sha256: digest"));
	json_decref(keys);
	optreg_buf_release(&raw);
	optreg_buf_release(&got);
	optreg_buf_release(&why);
	optreg_buf_release(&canon);
}

static void test_broken_ref_removed(void **state)
{
	char path[256], ref[OPTREG_DIGEST_LEN + 1];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "mkdir -p '%s/refs/team-a/bert'", tmpdir);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/refs/team-a/bert/9", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("sha256:not-a-digest\n", f);
	fclose(f);
	assert_int_equal(cli_cache_ref(tmpdir, "team-a", "bert", 9, ref), -1);
	assert_int_equal(access(path, F_OK), -1);
}

/* Each way an entry can be wrong is refused with a reason. */
static void test_check(void **state)
{
	struct optreg_buf raw = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT,
			  canon = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1], other[OPTREG_DIGEST_LEN + 1];
	json_t *doc = NULL;
	char *p;

	(void)state;
	version_doc(&raw, digest, 3, CONFIG);
	/* Another version or config than the one asked for. */
	assert_int_equal(cli_cache_check(&raw, digest, "team-a", "bert", 4,
					 &doc, &canon, &why),
			 -1);
	assert_null(doc);
	assert_string_equal(why.data,
			    "it holds team-a/bert@3, not team-a/bert@4");
	/* A digest ref does not name the version: any is fine. */
	optreg_buf_reset(&why);
	assert_int_equal(cli_cache_check(&raw, digest, NULL, NULL, 0, &doc,
					 &canon, &why),
			 0);
	json_decref(doc);
	doc = NULL;
	/* The config changed behind the digest (lr 0.001 -> 0.002). */
	p = strstr(raw.data, "0.001");
	assert_non_null(p);
	p[4] = '2';
	optreg_buf_reset(&why);
	assert_int_equal(cli_cache_check(&raw, digest, "team-a", "bert", 3,
					 &doc, &canon, &why),
			 -1);
	assert_non_null(strstr(why.data, "its config's digest is sha256:"));
	assert_int_equal(canon.len, 0);
	/* The document names another digest than its file. */
	optreg_jcs_digest("x", 1, other);
	version_doc(&raw, digest, 3, CONFIG);
	optreg_buf_reset(&why);
	assert_int_equal(
		cli_cache_check(&raw, other, NULL, NULL, 0, &doc, &canon, &why),
		-1);
	assert_non_null(strstr(why.data, "it names digest"));
	/* Not JSON, duplicate keys, fields missing. */
	optreg_buf_reset(&raw);
	optreg_buf_adds(&raw, "{\"digest\":");
	optreg_buf_reset(&why);
	assert_int_equal(cli_cache_check(&raw, digest, NULL, NULL, 0, &doc,
					 &canon, &why),
			 -1);
	assert_non_null(strstr(why.data, "not a JSON object"));
	optreg_buf_reset(&raw);
	optreg_buf_addf(&raw, "{\"digest\":\"%s\",\"digest\":\"%s\"}", digest,
			digest);
	assert_int_equal(cli_cache_check(&raw, digest, NULL, NULL, 0, &doc,
					 &canon, &why),
			 -1);
	optreg_buf_reset(&raw);
	optreg_buf_addf(&raw, "{\"digest\":\"%s\",\"config\":%s}", digest,
			CONFIG);
	optreg_buf_reset(&why);
	assert_int_equal(cli_cache_check(&raw, digest, NULL, NULL, 0, &doc,
					 &canon, &why),
			 -1);
	assert_string_equal(why.data, "it lacks namespace, name, version, "
				      "digest or config");
	optreg_buf_release(&raw);
	optreg_buf_release(&why);
	optreg_buf_release(&canon);
}

/* Writes `text` to `path`; asserts it could. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The first line of `path` into `out` ("" when it cannot be read). */
static void read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f) {
		if (!fgets(out, (int)len, f))
			out[0] = '\0';
		fclose(f);
	}
}

/*
 * A symbolic link planted where put writes its temporary file (the name
 * is predictable: the pid) is not followed: the file it points at keeps
 * its content and the entry is written all the same.
 */
static void test_put_planted_tmp_link(void **state)
{
	struct optreg_buf raw = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT,
			  got = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1], path[256], victim[256], line[64];
	json_t *keys = NULL;
	time_t at;

	(void)state;
	version_doc(&raw, digest, 3, CONFIG);
	snprintf(victim, sizeof(victim), "%s/precious", tmpdir);
	write_file(victim, "precious\n");
	snprintf(path, sizeof(path), "mkdir -m 700 '%s/sha256'", tmpdir);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/sha256/%s.json.tmp.%ld", tmpdir,
		 digest + 7, (long)getpid());
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(cli_cache_put(tmpdir, digest, "team-a", "bert", 3,
				       &raw, NULL, &why),
			 0);
	read_line(victim, line, sizeof(line));
	assert_string_equal(line, "precious\n");
	assert_int_equal(cli_cache_get(tmpdir, digest, &got, &keys, &at, &why),
			 0);
	assert_int_equal(got.len, raw.len);
	optreg_buf_release(&raw);
	optreg_buf_release(&why);
	optreg_buf_release(&got);
}

/* A folder of the cache replaced by a symbolic link is not written
 * through, and put says which folder is wrong. */
static void test_put_linked_folder(void **state)
{
	struct optreg_buf raw = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1], path[512], ref[80];
	struct stat st;

	(void)state;
	version_doc(&raw, digest, 3, CONFIG);
	snprintf(path, sizeof(path),
		 "mkdir -p '%s/elsewhere' '%s/refs' && ln -s '%s/elsewhere' "
		 "'%s/refs/team-a'",
		 tmpdir, tmpdir, tmpdir, tmpdir);
	assert_int_equal(system(path), 0);
	assert_int_equal(cli_cache_put(tmpdir, digest, "team-a", "bert", 3,
				       &raw, NULL, &why),
			 -1);
	assert_non_null(strstr(why.data, "/refs/team-a\": not a folder"));
	snprintf(path, sizeof(path), "%s/elsewhere/bert", tmpdir);
	assert_int_equal(lstat(path, &st), -1);
	/* nor read through */
	snprintf(path, sizeof(path),
		 "mkdir -p '%s/elsewhere/bert' && echo '%s' > "
		 "'%s/elsewhere/bert/3'",
		 tmpdir, digest, tmpdir);
	assert_int_equal(system(path), 0);
	assert_int_equal(cli_cache_ref(tmpdir, "team-a", "bert", 3, ref), -1);
	/* The sha256 folder as a link: put refuses, get says so. */
	optreg_buf_reset(&why);
	snprintf(path, sizeof(path),
		 "rm -rf '%s/sha256' && ln -s '%s/elsewhere' '%s/sha256'",
		 tmpdir, tmpdir, tmpdir);
	assert_int_equal(system(path), 0);
	assert_int_equal(cli_cache_put(tmpdir, digest, "team-a", "bert", 3,
				       &raw, NULL, &why),
			 -1);
	assert_non_null(strstr(why.data, "/sha256\": not a folder"));
	optreg_buf_release(&raw);
	optreg_buf_release(&why);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("the cache blocked reading something planted in it");
}

/*
 * What sits in an entry's place and is not a regular file of a sane size
 * is neither followed nor read to the end: a link to /dev/zero as a ref or
 * a document, a FIFO nobody writes, a document larger than a response.
 */
static void test_get_planted(void **state)
{
	struct optreg_buf raw = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1], path[256], ref[80];
	json_t *keys = NULL;
	time_t at;
	int fd;

	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(20);
	version_doc(&raw, digest, 3, CONFIG);
	snprintf(path, sizeof(path),
		 "mkdir -p '%s/sha256' '%s/refs/team-a/bert'", tmpdir, tmpdir);
	assert_int_equal(system(path), 0);
	/* refs: a link to /dev/zero, then a FIFO; both removed */
	snprintf(path, sizeof(path), "%s/refs/team-a/bert/3", tmpdir);
	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_int_equal(cli_cache_ref(tmpdir, "team-a", "bert", 3, ref), -1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(cli_cache_ref(tmpdir, "team-a", "bert", 3, ref), -1);
	assert_int_equal(access(path, F_OK), -1);
	/* documents */
	snprintf(path, sizeof(path), "%s/sha256/%s.json", tmpdir, digest + 7);
	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_int_equal(cli_cache_get(tmpdir, digest, &raw, &keys, &at, &why),
			 -2);
	assert_non_null(strstr(why.data, "symbolic link"));
	assert_int_equal(cli_cache_remove(tmpdir, digest), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	optreg_buf_reset(&why);
	assert_int_equal(cli_cache_get(tmpdir, digest, &raw, &keys, &at, &why),
			 -2);
	assert_non_null(strstr(why.data, "not a regular file"));
	assert_int_equal(cli_cache_remove(tmpdir, digest), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)CLI_CACHE_DOC_MAX + 1), 0);
	close(fd);
	optreg_buf_reset(&why);
	optreg_buf_reset(&raw);
	assert_int_equal(cli_cache_get(tmpdir, digest, &raw, &keys, &at, &why),
			 -2);
	assert_non_null(strstr(why.data, "larger than"));
	assert_int_equal(raw.len, 0);
	alarm(0);
	optreg_buf_release(&raw);
	optreg_buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir),
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_ref_removed, setup,
						teardown),
		cmocka_unit_test(test_check),
		cmocka_unit_test_setup_teardown(test_put_planted_tmp_link,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_linked_folder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_get_planted, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
