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

/* Writes `data` to `path` by way of a temporary file and a rename, mode
 * 0600; 0 or -1 (errno). */
static int write_atomic(const char *path, const char *data, size_t len)
{
	char *tmp = optreg_xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0) {
		err = errno;
		free(tmp);
		errno = err;
		return -1;
	}
	for (size_t off = 0; off < len && !err;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno != EINTR)
			err = errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err)
		unlink(tmp);
	free(tmp);
	errno = err;
	return err ? -1 : 0;
}

static char *doc_path(const char *dir, const char *digest, const char *ext)
{
	return optreg_xasprintf("%s/sha256/%s%s", dir,
				digest + strlen(DIGEST_PREFIX), ext);
}

int cli_cache_put(const char *dir, const char *digest, const char *ns,
		  const char *name, long version, const struct optreg_buf *raw,
		  const json_t *keys, struct optreg_buf *why)
{
	char *sub = NULL, *path = NULL, *text = NULL;
	int rc = -1, err;

	if (!digest_valid(digest)) {
		optreg_buf_addf(why, "\"%s\" is not a sha256: digest", digest);
		errno = EINVAL;
		return -1;
	}
	sub = optreg_xasprintf("%s/sha256", dir);
	if (mkdirs(sub) < 0) {
		optreg_buf_addf(why, "cannot create \"%s\": %s", sub,
				strerror(errno));
		goto out;
	}
	path = doc_path(dir, digest, ".json");
	if (write_atomic(path, raw->data, raw->len) < 0) {
		optreg_buf_addf(why, "cannot write \"%s\": %s", path,
				strerror(errno));
		goto out;
	}
	if (keys) {
		free(path);
		path = doc_path(dir, digest, ".keys.json");
		text = json_dumps(keys, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text || write_atomic(path, text, strlen(text)) < 0) {
			optreg_buf_addf(why, "cannot write \"%s\": %s", path,
					text ? strerror(errno)
					     : "not serializable");
			goto out;
		}
	}
	free(sub);
	sub = optreg_xasprintf("%s/refs/%s/%s", dir, ns, name);
	if (mkdirs(sub) < 0) {
		optreg_buf_addf(why, "cannot create \"%s\": %s", sub,
				strerror(errno));
		goto out;
	}
	free(path);
	path = optreg_xasprintf("%s/%ld", sub, version);
	free(text);
	text = optreg_xasprintf("%s\n", digest);
	if (write_atomic(path, text, strlen(text)) < 0) {
		optreg_buf_addf(why, "cannot write \"%s\": %s", path,
				strerror(errno));
		goto out;
	}
	rc = 0;
out:
	err = errno;
	free(text);
	free(path);
	free(sub);
	errno = err;
	return rc;
}

int cli_cache_ref(const char *dir, const char *ns, const char *name,
		  long version, char *digest)
{
	char *path =
		optreg_xasprintf("%s/refs/%s/%s/%ld", dir, ns, name, version);
	struct optreg_buf b = OPTREG_BUF_INIT;
	int rc = -1;

	if (optreg_buf_read_file(&b, path) == 0) {
		while (b.len && (b.data[b.len - 1] == '\n'))
			b.data[--b.len] = '\0';
		if (digest_valid(b.data)) {
			strcpy(digest, b.data);
			rc = 0;
		} else {
			unlink(path);
		}
	}
	optreg_buf_release(&b);
	free(path);
	return rc;
}

int cli_cache_get(const char *dir, const char *digest, struct optreg_buf *raw,
		  json_t **keys, time_t *cached_at)
{
	char *path, *kpath;
	struct stat st;
	int rc = -1;

	*keys = NULL;
	if (!digest_valid(digest))
		return -1;
	path = doc_path(dir, digest, ".json");
	kpath = doc_path(dir, digest, ".keys.json");
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    optreg_buf_read_file(raw, path) == 0) {
		*cached_at = st.st_mtime;
		*keys = json_load_file(kpath, JSON_REJECT_DUPLICATES, NULL);
		if (*keys && !json_is_object(*keys)) {
			json_decref(*keys);
			*keys = NULL;
		}
		rc = 0;
	}
	free(kpath);
	free(path);
	return rc;
}

int cli_cache_remove(const char *dir, const char *digest)
{
	char *path, *kpath;
	int rc;

	if (!digest_valid(digest))
		return -1;
	path = doc_path(dir, digest, ".json");
	kpath = doc_path(dir, digest, ".keys.json");
	rc = unlink(path);
	unlink(kpath);
	free(kpath);
	free(path);
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
