/*
 * runner/idx.c: the IDX reader and the Fashion-MNIST loader (idx.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../common/buf.h"
#include "idx.h"

#define IDX_TYPE_UBYTE 0x08

static int idx_fail(struct optreg_errors *errs, int code, const char *path,
		    const char *rule, const char *msg, const char *hint)
{
	if (errs) {
		struct optreg_error *e =
			optreg_errors_add(errs, code, rule, path, "%s", msg);
		if (hint)
			optreg_error_set_hint(e, "%s", hint);
	}
	return code;
}

/* Reads exactly n bytes; returns n, fewer at end of file, or -1. */
static long idx_gzread_full(gzFile gz, void *dst, size_t n)
{
	size_t got = 0;

	while (got < n) {
		size_t want = n - got;
		if (want > (size_t)INT_MAX / 2)
			want = (size_t)INT_MAX / 2;
		int r = gzread(gz, (char *)dst + got, (unsigned)want);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (long)got;
}

int optreg_idx_read(const char *path, struct optreg_idx *out,
		    struct optreg_errors *errs)
{
	unsigned char head[4], dimb[4 * OPTREG_IDX_MAX_DIMS];
	char msg[256];
	gzFile gz;
	int rc;

	memset(out, 0, sizeof(*out));
	gz = gzopen(path, "rb");
	if (!gz) {
		snprintf(msg, sizeof(msg), "cannot open IDX file: %s",
			 errno ? strerror(errno) : "out of memory");
		return idx_fail(errs, OPTREG_EIO, path, "io", msg,
				"Install Debian's dataset-fashion-mnist or "
				"point the runner at the directory that "
				"holds the files.");
	}
	gzbuffer(gz, 1 << 17);

	long r = idx_gzread_full(gz, head, sizeof(head));
	if (r < 0) {
		rc = idx_fail(errs, OPTREG_EIO, path, "io",
			      "cannot read IDX file (corrupt gzip stream)",
			      NULL);
		goto out;
	}
	if (r < 4 || head[0] != 0 || head[1] != 0) {
		snprintf(msg, sizeof(msg),
			 "not an IDX file: magic must start with two zero "
			 "bytes (got %02x %02x)",
			 r > 0 ? head[0] : 0, r > 1 ? head[1] : 0);
		rc = idx_fail(errs, OPTREG_EINVAL, path, "idx_magic", msg,
			      NULL);
		goto out;
	}
	if (head[2] != IDX_TYPE_UBYTE) {
		snprintf(msg, sizeof(msg),
			 "IDX element type must be 0x08 (unsigned byte) "
			 "(got 0x%02x)",
			 head[2]);
		rc = idx_fail(errs, OPTREG_EINVAL, path, "idx_type", msg, NULL);
		goto out;
	}
	if (head[3] < 1 || head[3] > OPTREG_IDX_MAX_DIMS) {
		snprintf(msg, sizeof(msg),
			 "IDX dimension count must be 1 to %d (got %u)",
			 OPTREG_IDX_MAX_DIMS, head[3]);
		rc = idx_fail(errs, OPTREG_EINVAL, path, "idx_dims", msg, NULL);
		goto out;
	}
	out->ndims = head[3];
	r = idx_gzread_full(gz, dimb, 4 * (size_t)out->ndims);
	if (r != 4L * out->ndims) {
		rc = idx_fail(errs, r < 0 ? OPTREG_EIO : OPTREG_EINVAL, path,
			      "idx_truncated", "IDX header is truncated", NULL);
		goto out;
	}

	size_t total = 1;
	for (int i = 0; i < out->ndims; i++) {
		const unsigned char *b = dimb + 4 * i;
		uint32_t d = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
			     (uint32_t)b[2] << 8 | b[3];
		out->dims[i] = d;
		if (d == 0) {
			snprintf(msg, sizeof(msg),
				 "IDX dimension %d must be positive (got 0)",
				 i);
			rc = idx_fail(errs, OPTREG_EINVAL, path, "idx_dims",
				      msg, NULL);
			goto out;
		}
		if (d > OPTREG_IDX_MAX_BYTES / total) {
			snprintf(msg, sizeof(msg),
				 "IDX data must be at most %zu bytes",
				 OPTREG_IDX_MAX_BYTES);
			rc = idx_fail(errs, OPTREG_ELIMIT, path, "idx_size",
				      msg, NULL);
			goto out;
		}
		total *= d;
	}
	out->count = out->dims[0];
	out->item_size = total / out->count;

	out->data = optreg_xmalloc(total);
	r = idx_gzread_full(gz, out->data, total);
	if (r < 0) {
		rc = idx_fail(errs, OPTREG_EIO, path, "io",
			      "cannot read IDX file (corrupt gzip stream)",
			      NULL);
		goto out;
	}
	if ((size_t)r != total) {
		snprintf(msg, sizeof(msg),
			 "IDX data is truncated: header says %zu bytes, file "
			 "has %ld",
			 total, r);
		rc = idx_fail(errs, OPTREG_EINVAL, path, "idx_truncated", msg,
			      NULL);
		goto out;
	}
	unsigned char extra;
	r = idx_gzread_full(gz, &extra, 1);
	if (r != 0) {
		rc = idx_fail(errs, r < 0 ? OPTREG_EIO : OPTREG_EINVAL, path,
			      "idx_trailing",
			      r < 0 ? "cannot read IDX file (corrupt gzip "
				      "stream)"
				    : "IDX file has bytes after the data the "
				      "header describes",
			      NULL);
		goto out;
	}
	rc = 0;
out:
	gzclose(gz);
	if (rc)
		optreg_idx_release(out);
	return rc;
}

void optreg_idx_release(struct optreg_idx *idx)
{
	free(idx->data);
	memset(idx, 0, sizeof(*idx));
}

static int fmnist_read(const char *dir, const char *file,
		       struct optreg_idx *out, struct optreg_errors *errs)
{
	char *path = optreg_xasprintf("%s/%s", dir, file);
	int rc = optreg_idx_read(path, out, errs);

	free(path);
	return rc;
}

static int fmnist_check(const struct optreg_idx *images,
			const struct optreg_idx *labels, const char *dir,
			const char *which, struct optreg_errors *errs)
{
	char msg[256];

	if (images->ndims != 3 || images->dims[1] != OPTREG_FMNIST_ROWS ||
	    images->dims[2] != OPTREG_FMNIST_ROWS) {
		snprintf(msg, sizeof(msg),
			 "%s images must be N x 28 x 28 (got %d dimensions, "
			 "items of %zu bytes)",
			 which, images->ndims, images->item_size);
		return idx_fail(errs, OPTREG_EINVAL, dir, "fmnist_shape", msg,
				NULL);
	}
	if (labels->ndims != 1 || labels->count != images->count) {
		snprintf(msg, sizeof(msg),
			 "%s labels must be one per image (%zu images, %zu "
			 "labels)",
			 which, images->count, labels->count);
		return idx_fail(errs, OPTREG_EINVAL, dir, "fmnist_shape", msg,
				NULL);
	}
	for (size_t i = 0; i < labels->count; i++)
		if (labels->data[i] >= OPTREG_FMNIST_CLASSES) {
			snprintf(msg, sizeof(msg),
				 "%s label %zu must be below 10 (got %u)",
				 which, i, labels->data[i]);
			return idx_fail(errs, OPTREG_EINVAL, dir,
					"fmnist_label", msg, NULL);
		}
	return 0;
}

int optreg_fmnist_load(const char *dir, struct optreg_fmnist *out,
		       struct optreg_errors *errs)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!dir)
		dir = OPTREG_FMNIST_DIR;
	if ((rc = fmnist_read(dir, "train-images-idx3-ubyte.gz",
			      &out->train_images, errs)) ||
	    (rc = fmnist_read(dir, "train-labels-idx1-ubyte.gz",
			      &out->train_labels, errs)) ||
	    (rc = fmnist_read(dir, "t10k-images-idx3-ubyte.gz",
			      &out->test_images, errs)) ||
	    (rc = fmnist_read(dir, "t10k-labels-idx1-ubyte.gz",
			      &out->test_labels, errs)) ||
	    (rc = fmnist_check(&out->train_images, &out->train_labels, dir,
			       "training", errs)) ||
	    (rc = fmnist_check(&out->test_images, &out->test_labels, dir,
			       "test", errs)))
		optreg_fmnist_release(out);
	return rc;
}

void optreg_fmnist_release(struct optreg_fmnist *f)
{
	optreg_idx_release(&f->train_images);
	optreg_idx_release(&f->train_labels);
	optreg_idx_release(&f->test_images);
	optreg_idx_release(&f->test_labels);
}
