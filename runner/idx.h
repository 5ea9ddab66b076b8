/*
 * runner/idx.h: IDX files (the MNIST container format) and Fashion-MNIST.
 *
 * An IDX file is: two zero bytes, a type byte, the number of dimensions,
 * then each dimension as a big-endian uint32, then the items in row-major
 * order. Only the unsigned-byte type (0x08) is read: it is the one the
 * (Fashion-)MNIST files use. Files may be gzip-compressed or plain (zlib's
 * gzread reads both), as Debian's dataset-fashion-mnist ships them.
 */
#ifndef OPTREG_IDX_H
#define OPTREG_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

#define OPTREG_IDX_MAX_DIMS  4
#define OPTREG_IDX_MAX_BYTES ((size_t)1 << 30)

/* Where Debian's dataset-fashion-mnist installs the four files. */
#define OPTREG_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

struct optreg_idx {
	uint8_t *data; /* owned; dims[0] * item_size bytes */
	uint32_t dims[OPTREG_IDX_MAX_DIMS];
	int ndims;
	size_t count;	  /* dims[0]: the number of items */
	size_t item_size; /* product of dims[1..]: bytes per item */
};

/*
 * Reads the whole IDX file at `path` into `out` (caller releases it with
 * optreg_idx_release). Returns 0; OPTREG_EIO when the file cannot be opened
 * or read; OPTREG_EINVAL for a malformed file (bad magic, a type other
 * than unsigned byte, 0 or more than 4 dimensions, a zero dimension, data
 * shorter or longer than the header says); OPTREG_ELIMIT above
 * OPTREG_IDX_MAX_BYTES. Errors name the file as their path. On failure
 * `out` is left zeroed.
 */
int optreg_idx_read(const char *path, struct optreg_idx *out,
		    struct optreg_errors *errs);

void optreg_idx_release(struct optreg_idx *idx);

/* Fashion-MNIST: 60000 training and 10000 test images of 28x28 bytes with
 * labels 0..9. */
struct optreg_fmnist {
	struct optreg_idx train_images, train_labels;
	struct optreg_idx test_images, test_labels;
};

#define OPTREG_FMNIST_ROWS    28
#define OPTREG_FMNIST_PIXELS  (28 * 28)
#define OPTREG_FMNIST_CLASSES 10

/*
 * Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from `dir` (NULL:
 * OPTREG_FMNIST_DIR) and checks that images are N x 28 x 28, labels are N
 * values below 10 and the counts agree. Returns 0 or the first failing
 * read's code (OPTREG_EINVAL for a shape mismatch); on failure nothing is
 * held. Release with optreg_fmnist_release.
 */
int optreg_fmnist_load(const char *dir, struct optreg_fmnist *out,
		       struct optreg_errors *errs);

void optreg_fmnist_release(struct optreg_fmnist *f);

#endif
