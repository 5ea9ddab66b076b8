/*
 * cli/cache.c: the local content-addressed cache of `optreg fetch`
 * (cli/cache.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/jsonutil.h"
#include "../validator/jcs.h"
#include "cache.h"
#include "io.h"
#include "output.h"

#define DIGEST_PREFIX "sha256:"

int cli_cache_dir(struct optreg_buf *dir)
{
	const char *v = getenv("OPTREG_NO_CACHE");

	if (v && v[0] && strcmp(v, "0"))
		return -1;
	v = getenv("OPTREG_CACHE_DIR");
	if (v && v[0]) {
		optreg_buf_adds(dir, v);
		return 0;
	}
	v = getenv("XDG_CACHE_HOME");
	if (v && v[0]) {
		optreg_buf_addf(dir, "%s/optreg", v);
		return 0;
	}
	v = getenv("HOME");
	if (v && v[0]) {
		optreg_buf_addf(dir, "%s/.cache/optreg", v);
		return 0;
	}
	return -1;
}

/* True for "sha256:" and 64 lowercase hex digits. */
static bool digest_valid(const char *d)
{
	size_t n = strlen(DIGEST_PREFIX);

	if (strncmp(d, DIGEST_PREFIX, n) || strlen(d) != n + 64)
		return false;
	for (const char *p = d + n; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Creates `path` and the folders above it (mode 0700); 0 or -1 (errno). */
static int mkdirs(const char *path)
{
	char *p = optreg_xstrdup(path);
	int rc = 0;

	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

/*
 * Opens the folder `dir`/parts[0]/.../parts[n-1] (creating what is missing,
 * mode 0700, with `create`). The cache folder itself may be a symbolic
 * link; nothing below it may be: each step is opened relative to the last
 * with O_NOFOLLOW, so a link planted in the cache cannot send a write (or
 * a read) elsewhere, even if it appears between a check and the use.
 * Returns the folder's descriptor, or -1 with errno set and, when `why` is
 * not NULL, what failed in it.
 */
static int open_dir(const char *dir, const char *const *parts, size_t n,
		    bool create, struct optreg_buf *why)
{
	int fd, err;

	if (create && mkdirs(dir) < 0) {
		err = errno;
		if (why)
			optreg_buf_addf(why, "cannot create \"%s\": %s", dir,
					strerror(err));
		errno = err;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (why)
			optreg_buf_addf(why, "cannot open \"%s\": %s", dir,
					strerror(err));
		errno = err;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int next;

		if (create && mkdirat(fd, parts[i], 0700) < 0 &&
		    errno != EEXIST)
			next = -1;
		else
			next = openat(fd, parts[i],
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					      O_CLOEXEC);
		err = errno;
		close(fd);
		if (next < 0) {
			if (why) {
				optreg_buf_addf(why, "cannot use \"%s", dir);
				for (size_t j = 0; j <= i; j++)
					optreg_buf_addf(why, "/%s", parts[j]);
				optreg_buf_addf(
					why, "\": %s",
					err == ELOOP || err == ENOTDIR
						? "not a folder (a symbolic "
						  "link or a file was put "
						  "there; remove it)"
						: strerror(err));
			}
			errno = err;
			return -1;
		}
		fd = next;
	}
	return fd;
}

/* Writes `data` to `name` in folder `dfd` by way of a new temporary file
 * (never one found there: O_EXCL, O_NOFOLLOW) and a rename, mode 0600;
 * 0 or -1 (errno). */
static int write_atomic(int dfd, const char *name, const char *data, size_t len)
{
	char *tmp = optreg_xasprintf("%s.tmp.%ld", name, (long)getpid());
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dfd, tmp, flags, 0600);
	int err = 0;

	if (fd < 0 && errno == EEXIST) {
		/* Left by a run that died, or planted: not ours to
		 * follow. */
		unlinkat(dfd, tmp, 0);
		fd = openat(dfd, tmp, flags, 0600);
	}
	if (fd < 0) {
		err = errno;
		free(tmp);
		errno = err;
		return -1;
	}
	err = cli_write_fd_close(fd, data, len);
	if (!err && renameat(dfd, tmp, dfd, name) < 0)
		err = errno;
	if (err)
		unlinkat(dfd, tmp, 0);
	free(tmp);
	errno = err;
	return err ? -1 : 0;
}

/*
 * Reads the regular file `name` of folder `dfd` into `out` (appended), at
 * most `max` bytes, without following a symbolic link or blocking on a
 * FIFO or device. Returns 0 (its modification time into *mtime when not
 * NULL), -1 when there is no such file, -2 when there is something else
 * there (what into `why` when not NULL).
 */
static int read_at(int dfd, const char *name, size_t max,
		   struct optreg_buf *out, time_t *mtime,
		   struct optreg_buf *why)
{
	int fd = openat(dfd, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	size_t start = out->len, total = 0;
	struct stat st;
	char chunk[65536];
	int rc = -2;

	if (fd < 0) {
		if (errno == ENOENT)
			return -1;
		if (why)
			optreg_buf_addf(why, "it cannot be opened: %s",
					errno == ELOOP ? "it is a symbolic link"
						       : strerror(errno));
		return -2;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (why)
			optreg_buf_adds(why, "it is not a regular file");
		goto out;
	}
	if ((unsigned long long)st.st_size > max)
		goto big;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (why)
				optreg_buf_addf(why, "it cannot be read: %s",
						strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > max)
			goto big;
		optreg_buf_add(out, chunk, (size_t)n);
	}
	if (mtime)
		*mtime = st.st_mtime;
	rc = 0;
	goto out;
big:
	if (why)
		optreg_buf_addf(why, "it is larger than %zu bytes", max);
out:
	if (rc) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	close(fd);
	return rc;
}

/* "HEX.json", "HEX.keys.json" */
static char *doc_name(const char *digest, const char *ext)
{
	return optreg_xasprintf("%s%s", digest + strlen(DIGEST_PREFIX), ext);
}

int cli_cache_put(const char *dir, const char *digest, const char *ns,
		  const char *name, long version, const struct optreg_buf *raw,
		  const json_t *keys, struct optreg_buf *why)
{
	const char *sha[] = {"sha256"}, *refs[] = {"refs", ns, name};
	char *file = NULL, *text = NULL;
	int rc = -1, err, dfd = -1;

	if (!digest_valid(digest)) {
		optreg_buf_addf(why, "\"%s\" is not a sha256: digest", digest);
		errno = EINVAL;
		return -1;
	}
	if (!ns[0] || !name[0] || strchr(ns, '/') || strchr(name, '/') ||
	    ns[0] == '.' || name[0] == '.') {
		optreg_buf_addf(why, "\"%s/%s\" is not a config name", ns,
				name);
		errno = EINVAL;
		return -1;
	}
	dfd = open_dir(dir, sha, 1, true, why);
	if (dfd < 0)
		goto out;
	file = doc_name(digest, ".json");
	if (write_atomic(dfd, file, raw->data, raw->len) < 0) {
		optreg_buf_addf(why, "cannot write \"%s/sha256/%s\": %s", dir,
				file, strerror(errno));
		goto out;
	}
	if (keys) {
		free(file);
		file = doc_name(digest, ".keys.json");
		text = json_dumps(keys, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text || write_atomic(dfd, file, text, strlen(text)) < 0) {
			optreg_buf_addf(
				why, "cannot write \"%s/sha256/%s\": %s", dir,
				file,
				text ? strerror(errno) : "not serializable");
			goto out;
		}
	}
	close(dfd);
	dfd = open_dir(dir, refs, 3, true, why);
	if (dfd < 0)
		goto out;
	free(file);
	file = optreg_xasprintf("%ld", version);
	free(text);
	text = optreg_xasprintf("%s\n", digest);
	if (write_atomic(dfd, file, text, strlen(text)) < 0) {
		optreg_buf_addf(why, "cannot write \"%s/refs/%s/%s/%s\": %s",
				dir, ns, name, file, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	err = errno;
	if (dfd >= 0)
		close(dfd);
	free(text);
	free(file);
	errno = err;
	return rc;
}

int cli_cache_ref(const char *dir, const char *ns, const char *name,
		  long version, char *digest)
{
	const char *refs[] = {"refs", ns, name};
	char *file = optreg_xasprintf("%ld", version);
	struct optreg_buf b = OPTREG_BUF_INIT;
	int rc = -1, got, dfd = -1;

	if (ns[0] && name[0] && !strchr(ns, '/') && !strchr(name, '/') &&
	    ns[0] != '.' && name[0] != '.')
		dfd = open_dir(dir, refs, 3, false, NULL);
	got = dfd < 0 ? -1
		      : read_at(dfd, file, CLI_CACHE_REF_MAX, &b, NULL, NULL);
	if (got == 0) {
		while (b.len && (b.data[b.len - 1] == '\n'))
			b.data[--b.len] = '\0';
		if (b.data && digest_valid(b.data)) {
			strcpy(digest, b.data);
			rc = 0;
		}
	}
	if (got != -1 && rc < 0)
		unlinkat(dfd, file, 0); /* broken: away with it */
	if (dfd >= 0)
		close(dfd);
	optreg_buf_release(&b);
	free(file);
	return rc;
}

int cli_cache_get(const char *dir, const char *digest, struct optreg_buf *raw,
		  json_t **keys, time_t *cached_at, struct optreg_buf *why)
{
	const char *sha[] = {"sha256"};
	struct optreg_buf kb = OPTREG_BUF_INIT;
	char *file, *kfile;
	int rc, dfd;

	*keys = NULL;
	if (!digest_valid(digest))
		return -1;
	dfd = open_dir(dir, sha, 1, false, NULL);
	if (dfd < 0) {
		if (errno == ENOENT)
			return -1;
		optreg_buf_addf(why, "%s/sha256 is not a folder", dir);
		return -2;
	}
	file = doc_name(digest, ".json");
	kfile = doc_name(digest, ".keys.json");
	rc = read_at(dfd, file, CLI_CACHE_DOC_MAX, raw, cached_at, why);
	if (rc == 0 &&
	    read_at(dfd, kfile, CLI_CACHE_DOC_MAX, &kb, NULL, NULL) == 0) {
		*keys = json_loadb(kb.data, kb.len, JSON_REJECT_DUPLICATES,
				   NULL);
		if (*keys && !json_is_object(*keys)) {
			json_decref(*keys);
			*keys = NULL;
		}
	}
	optreg_buf_release(&kb);
	free(kfile);
	free(file);
	close(dfd);
	return rc;
}

int cli_cache_remove(const char *dir, const char *digest)
{
	const char *sha[] = {"sha256"};
	char *file, *kfile;
	int rc, dfd;

	if (!digest_valid(digest))
		return -1;
	dfd = open_dir(dir, sha, 1, false, NULL);
	if (dfd < 0)
		return -1;
	file = doc_name(digest, ".json");
	kfile = doc_name(digest, ".keys.json");
	rc = unlinkat(dfd, file, 0);
	unlinkat(dfd, kfile, 0);
	free(kfile);
	free(file);
	close(dfd);
	return rc < 0 ? -1 : 0;
}

int cli_cache_check(const struct optreg_buf *raw, const char *digest,
		    const char *ns, const char *name, long version,
		    json_t **doc, struct optreg_buf *canon,
		    struct optreg_buf *why)
{
	char got[OPTREG_DIGEST_LEN + 1];
	const char *d, *dns, *dname;
	json_error_t jerr;
	json_t *o;
	long v;

	*doc = NULL;
	o = json_loadb(raw->data, raw->len,
		       JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
	if (!json_is_object(o)) {
		optreg_buf_addf(why, "not a JSON object (%s)",
				o ? "another JSON value" : jerr.text);
		goto bad;
	}
	d = optreg_json_str(o, "digest");
	dns = optreg_json_str(o, "namespace");
	dname = optreg_json_str(o, "name");
	if (!d || !dns || !dname || cli_json_count(o, "version", &v) < 0 ||
	    !json_is_object(json_object_get(o, "config"))) {
		optreg_buf_adds(why, "it lacks namespace, name, version, "
				     "digest or config");
		goto bad;
	}
	if (strcmp(d, digest)) {
		optreg_buf_addf(why, "it names digest %s, not %s", d, digest);
		goto bad;
	}
	if (ns && (strcmp(dns, ns) || strcmp(dname, name) || v != version)) {
		optreg_buf_addf(why, "it holds %s/%s@%ld, not %s/%s@%ld", dns,
				dname, v, ns, name, version);
		goto bad;
	}
	optreg_buf_reset(canon);
	if (optreg_jcs_serialize(json_object_get(o, "config"), canon, NULL) <
	    0) {
		optreg_buf_adds(why, "its config cannot be canonicalized");
		goto bad;
	}
	optreg_jcs_digest(canon->data, canon->len, got);
	if (strcmp(got, digest)) {
		optreg_buf_addf(why, "its config's digest is %s, not %s", got,
				digest);
		goto bad;
	}
	*doc = o;
	return 0;
bad:
	json_decref(o);
	optreg_buf_reset(canon);
	return -1;
}
