/* A VM's screen as pixels: QEMU's screendump (PPM) in, PNG out, with a box-filter
 * thumbnail in between. */
#ifndef VMFS_SCREEN_H
#define VMFS_SCREEN_H
#include <stddef.h>

#include "runtime/err.h"
#include "runtime/util.h"

/* Larger than any real display; bounds what a bad dump can make us allocate. */
#define SCREEN_MAX_DIM 16384

struct screen {
	unsigned w, h;
	unsigned char *rgb; /* 3 bytes a pixel, rows top down */
};

/* Reads a binary PPM (P6, maxval 255, as QEMU's screendump writes) from dirfd/name.
 * 0, or -errno with a reason in e (-EINVAL for a malformed or truncated file, with what
 * is wrong; dimensions above SCREEN_MAX_DIM and files longer than the header says are
 * refused). */
int screen_load_ppm(int dirfd, const char *name, struct screen *s, struct err *e);
/* Scales so that the larger dimension is at most maxdim (0 counts as 1), keeping the aspect
 * ratio (at least 1 pixel each way), each target pixel the average of the source pixels it
 * covers; an image already within maxdim is copied unchanged. 0, -ENOMEM, or -EINVAL for
 * an empty image. */
int screen_scale(const struct screen *in, unsigned maxdim, struct screen *out);
/* Appends s as an 8-bit RGB PNG to out. 0, or -errno with a reason in e; out is left
 * as it was on failure. */
int screen_png(const struct screen *s, struct sbuf *out, struct err *e);
void screen_free(struct screen *s);
#endif
