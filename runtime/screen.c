/* Screenshots. QEMU's screendump writes a PPM (the PNG format option only exists since
 * QEMU 7.1 and not in every build), and a PPM is no use to a browser. So we take one PPM
 * dump and encode it ourselves: the full screenshot and its thumbnail then come from the
 * same frame, and the PNG is valid whatever the QEMU version. */
#include "runtime/screen.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

/* QEMU's header is a dozen bytes ("P6\n720 400\n255\n"); the rest is room for comments. */
#define PPM_HDR_MAX 4096

/* Where one call's reason goes, after the file's name. */
struct why {
	const char *name;
	struct err *e;
};

__attribute__((format(printf, 3, 4))) static int fail(const struct why *w, int rc, const char *fmt,
						      ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(w->e, rc, fmt, ap);
	va_end(ap);
	return err_wrap(w->e, "%s", w->name);
}

void screen_free(struct screen *s)
{
	free(s->rgb);
	*s = (struct screen){0};
}

/* ---- PPM ---- */

/* One header number, kept as text too so that absurd values are quoted as written. */
struct ppm_tok {
	const char *s;
	int len;
	unsigned long v; /* saturates at 10^9: anything that large is refused anyway */
};

struct ppm_hdr {
	struct ppm_tok w, h, max;
	size_t len; /* where the pixels start */
};

/* Not isspace(): that follows the locale, the format does not. */
static int ppm_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int ppm_digit(char c) { return c >= '0' && c <= '9'; }
/* For quoting one byte of a binary file in a message. */
static char ppm_shown(char c) { return c > ' ' && c < 0x7f ? c : '?'; }

/* Netpbm allows whitespace and #-comments (to the end of the line) between header tokens. */
static size_t ppm_skip(const char *p, size_t n, size_t i)
{
	while (i < n) {
		if (p[i] == '#')
			while (i < n && p[i] != '\n' && p[i] != '\r')
				i++;
		else if (ppm_space(p[i]))
			i++;
		else
			break;
	}
	return i;
}

/* The header did not fit in what we read: a short file, or comments past PPM_HDR_MAX. */
static int ppm_short(const struct why *w, size_t n)
{
	if (n >= PPM_HDR_MAX)
		return fail(w, -EINVAL, "PPM header is longer than %d bytes", PPM_HDR_MAX);
	return fail(w, -EINVAL, "truncated PPM header (%zu bytes in all)", n);
}

static int ppm_num(const struct why *w, const char *p, size_t n, size_t *i, const char *what,
		   struct ppm_tok *t)
{
	size_t j = ppm_skip(p, n, *i);
	if (j == n)
		return ppm_short(w, n);
	if (j == *i)
		return fail(w, -EINVAL, "bad PPM header: no space before the %s", what);
	if (!ppm_digit(p[j]))
		return fail(w, -EINVAL, "bad PPM header: expected the %s, found '%c' at byte %zu",
			    what, ppm_shown(p[j]), j);
	t->s = p + j;
	t->v = 0;
	for (; j < n && ppm_digit(p[j]); j++)
		t->v = t->v >= 1000000000 ? t->v : t->v * 10 + (p[j] - '0');
	t->len = (int)(p + j - t->s);
	if (j == n)
		return ppm_short(w, n);
	if (!ppm_space(p[j]) && p[j] != '#')
		return fail(w, -EINVAL, "bad PPM header: the %s \"%.*s\" is followed by junk", what,
			    t->len, t->s);
	*i = j;
	return 0;
}

static int ppm_check(const struct why *w, const struct ppm_hdr *h)
{
	if (!h->w.v || !h->h.v)
		return fail(w, -EINVAL, "the image is empty: %.*sx%.*s", h->w.len, h->w.s, h->h.len,
			    h->h.s);
	if (h->w.v > SCREEN_MAX_DIM || h->h.v > SCREEN_MAX_DIM)
		return fail(w, -EINVAL, "%.*sx%.*s is too large: at most %d pixels each way",
			    h->w.len, h->w.s, h->h.len, h->h.s, SCREEN_MAX_DIM);
	if (h->max.v != 255)
		return fail(
		    w, -EINVAL,
		    "maxval %.*s is not supported: only 255 (8-bit samples), as QEMU writes",
		    h->max.len, h->max.s);
	return 0;
}

/* "P6", width, height, maxval, then exactly one whitespace byte before the pixels. */
static int ppm_parse(const struct why *w, const char *p, size_t n, struct ppm_hdr *h)
{
	size_t i = 2;
	int rc;

	if (n < 2 || p[0] != 'P')
		return fail(w, -EINVAL, "not a PPM file (no P6 magic)");
	if (p[1] != '6')
		return fail(w, -EINVAL, "P%c is not supported: only binary RGB PPM (P6)",
			    ppm_shown(p[1]));
	if ((rc = ppm_num(w, p, n, &i, "width", &h->w)) ||
	    (rc = ppm_num(w, p, n, &i, "height", &h->h)) ||
	    (rc = ppm_num(w, p, n, &i, "maxval", &h->max)))
		return rc;
	if (!ppm_space(p[i]))
		return fail(w, -EINVAL, "bad PPM header: a comment right after the maxval");
	h->len = i + 1;
	return ppm_check(w, h);
}

/* Reads exactly n bytes at off unless the file ends first; the count read, or -errno. */
static ssize_t read_at(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, off + got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += r;
	}
	return got;
}

static int ppm_read(const struct why *w, int fd, struct screen *s)
{
	char hdr[PPM_HDR_MAX];
	struct ppm_hdr h;
	struct stat st;
	int rc;

	if (fstat(fd, &st) < 0)
		return fail(w, -errno, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(w, -EINVAL, "not a regular file");
	ssize_t n = read_at(fd, hdr, sizeof hdr, 0);
	if (n < 0)
		return fail(w, n, "%s", strerror(-n));
	if ((rc = ppm_parse(w, hdr, n, &h)))
		return rc;

	/* Checked before allocating, so a lying header costs nothing. */
	size_t want = (size_t)h.w.v * h.h.v * 3;
	off_t have = st.st_size - (off_t)h.len;
	if (have < (off_t)want)
		return fail(w, -EINVAL, "truncated: %lld bytes of pixels, %lux%lu needs %zu",
			    (long long)have, h.w.v, h.h.v, want);
	if (have > (off_t)want)
		return fail(w, -EINVAL,
			    "longer than its header says: %lld bytes of pixels, %lux%lu needs %zu",
			    (long long)have, h.w.v, h.h.v, want);
	auto_free unsigned char *rgb = malloc(want);
	if (!rgb)
		return fail(w, -ENOMEM, "no memory for %lux%lu pixels", h.w.v, h.h.v);
	n = read_at(fd, rgb, want, h.len);
	if (n < 0)
		return fail(w, n, "%s", strerror(-n));
	if ((size_t)n < want) /* shrank since fstat */
		return fail(w, -EINVAL, "truncated: %zd bytes of pixels, %lux%lu needs %zu", n,
			    h.w.v, h.h.v, want);
	*s = (struct screen){h.w.v, h.h.v, take_ptr(rgb)};
	return 0;
}

int screen_load_ppm(int dirfd, const char *name, struct screen *s, struct err *e)
{
	struct why w = {name, e};

	*s = (struct screen){0};
	/* the dump lies in a directory QEMU owns: a link it put there is not followed */
	auto_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(&w, -errno, "%s", strerror(errno));
	return ppm_read(&w, fd, s);
}

/* ---- scaling ---- */

static int screen_copy(const struct screen *in, struct screen *out)
{
	size_t n = (size_t)in->w * in->h * 3;
	unsigned char *rgb = malloc(n);
	if (!rgb)
		return -ENOMEM;
	memcpy(rgb, in->rgb, n);
	*out = (struct screen){in->w, in->h, rgb};
	return 0;
}

/* The smaller side, scaled like the larger one went to maxdim; rounded, never 0. */
static unsigned scale_side(unsigned small, unsigned large, unsigned maxdim)
{
	unsigned v = ((uint64_t)small * maxdim + large / 2) / large;
	return v ? v : 1;
}

/* Target pixel (tx, ty) averages the source box [x[tx], x[tx+1]) x [y0, y1), with the
 * bounds at t * src / dst: the boxes tile the source, and since dst <= src none is empty.
 * Sums are 64-bit: one box can be the whole 16384x16384 source. */
static void box_row(const struct screen *in, struct screen *out, const unsigned *x,
		    const unsigned *col, uint64_t *sum, unsigned ty)
{
	unsigned y0 = (uint64_t)ty * in->h / out->h, y1 = (uint64_t)(ty + 1) * in->h / out->h;
	unsigned char *o = out->rgb + (size_t)ty * out->w * 3;

	memset(sum, 0, (size_t)out->w * 3 * sizeof *sum);
	for (unsigned sy = y0; sy < y1; sy++) {
		const unsigned char *p = in->rgb + (size_t)sy * in->w * 3;
		for (unsigned sx = 0; sx < in->w; sx++, p += 3) {
			uint64_t *c = sum + (size_t)col[sx] * 3;
			c[0] += p[0];
			c[1] += p[1];
			c[2] += p[2];
		}
	}
	for (unsigned tx = 0; tx < out->w; tx++) {
		uint64_t n = (uint64_t)(x[tx + 1] - x[tx]) * (y1 - y0);
		for (int k = 0; k < 3; k++)
			o[tx * 3 + k] = (sum[tx * 3 + k] + n / 2) / n;
	}
}

static int box_scale(const struct screen *in, struct screen *out)
{
	auto_free unsigned *x = malloc(((size_t)out->w + 1) * sizeof *x);
	auto_free unsigned *col = malloc(in->w * sizeof *col); /* source column -> target */
	auto_free uint64_t *sum = malloc((size_t)out->w * 3 * sizeof *sum);
	auto_free unsigned char *rgb = malloc((size_t)out->w * out->h * 3);

	if (!x || !col || !sum || !rgb)
		return -ENOMEM;
	for (unsigned tx = 0; tx <= out->w; tx++)
		x[tx] = (uint64_t)tx * in->w / out->w;
	for (unsigned tx = 0; tx < out->w; tx++)
		for (unsigned sx = x[tx]; sx < x[tx + 1]; sx++)
			col[sx] = tx;
	out->rgb = rgb;
	for (unsigned ty = 0; ty < out->h; ty++)
		box_row(in, out, x, col, sum, ty);
	out->rgb = take_ptr(rgb);
	return 0;
}

int screen_scale(const struct screen *in, unsigned maxdim, struct screen *out)
{
	*out = (struct screen){0};
	if (!in->w || !in->h || !in->rgb)
		return -EINVAL;
	if (!maxdim)
		maxdim = 1;
	if (in->w <= maxdim && in->h <= maxdim)
		return screen_copy(in, out);

	struct screen t = {maxdim, maxdim, NULL};
	if (in->w >= in->h)
		t.h = scale_side(in->h, in->w, maxdim);
	else
		t.w = scale_side(in->w, in->h, maxdim);
	int rc = box_scale(in, &t);
	if (rc)
		return rc;
	*out = t;
	return 0;
}

/* ---- PNG ---- */

/* libpng's callbacks reach us through this; it lives in screen_png's frame, not in the
 * function that calls setjmp, so what the callbacks change survives the longjmp (C11
 * 7.13.2.1: only that function's own non-volatile locals become indeterminate). */
struct png_out {
	struct sbuf *sb;
	int rc;
	struct err *e;
};

static void png_on_error(png_structp png, png_const_charp msg)
{
	struct png_out *o = png_get_error_ptr(png);

	/* libpng's own allocation failures only say so in words */
	if (!o->rc)
		o->rc = strstr(msg, "memory") ? -ENOMEM : -EIO;
	err_set(o->e, o->rc, "PNG encoding failed: %s", msg);
	png_longjmp(png, 1);
}

/* Nothing a reader of screenshot.png could act on. */
static void png_on_warning(png_structp png, png_const_charp msg) {}

static void png_on_write(png_structp png, png_bytep data, size_t n)
{
	struct png_out *o = png_get_io_ptr(png);

	sb_add(o->sb, (const char *)data, n);
	if (o->sb->oom) {
		o->rc = -ENOMEM;
		png_error(png, "out of memory");
	}
}

/* Without it libpng would fflush() our sbuf as if it were a FILE. */
static void png_on_flush(png_structp png) {}

static int png_oom(struct png_out *o)
{
	return err_set(o->e, ENOMEM, "PNG encoding failed: out of memory");
}

/* png and info are set before setjmp and not changed until after it, so they need no
 * volatile; y is changed but not read after a longjmp. */
static int png_encode(struct png_out *o, const struct screen *s)
{
	png_structp png =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, o, png_on_error, png_on_warning);
	if (!png)
		return png_oom(o);
	png_infop info = png_create_info_struct(png);
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return png_oom(o);
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return o->rc ? o->rc : -EIO;
	}
	png_set_write_fn(png, o, png_on_write, png_on_flush);
	png_set_IHDR(png, info, s->w, s->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	/* Screenshots are read interactively. Measured on 720x400 text, level 6 with libpng
	 * choosing a filter per row: 6.7 ms, 6.6 KB; level 1: 5.0 ms, 13 KB; level 1 with the
	 * "up" filter alone: 2.4 ms, 14 KB (1280x800 desktop: 7.1 ms, 64 KB, vs 18 ms, 65 KB).
	 * No filter at all is as fast but doubles a gradient wallpaper. */
	png_set_compression_level(png, 1);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
	png_write_info(png, info);
	for (unsigned y = 0; y < s->h; y++)
		png_write_row(png, s->rgb + (size_t)y * s->w * 3);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int screen_png(const struct screen *s, struct sbuf *out, struct err *e)
{
	struct png_out o = {out, 0, e};
	size_t start = out->len;

	if (!s->w || !s->h || !s->rgb)
		return err_set(e, EINVAL, "PNG encoding failed: the image is empty");
	int rc = png_encode(&o, s);
	if (rc)
		out->len = start; /* no half a PNG in the caller's buffer */
	return rc;
}
