/* runtime/screen: PPM in (good, malformed, hostile), box-filter scaling, PNG out and back. */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/screen.h"
#include "runtime/util.h"
#include "tests/unit/tap.h"

static char dir[] = "/tmp/vmfs-screen-XXXXXX";
static int dfd = -1;

static void put(const char *name, const void *data, size_t len)
{
	if (write_atomic(dfd, name, data, len, 0))
		printf("# cannot write %s\n", name);
}

/* A header plus len bytes of pixels 0, 1, 2, ... */
static void put_ppm(const char *name, const char *hdr, size_t len)
{
	struct sbuf b = {0};
	sb_puts(&b, hdr);
	for (size_t i = 0; i < len; i++)
		sb_add(&b, (char[]){(char)i}, 1);
	put(name, b.p, b.len);
	sb_free(&b);
}

static void test_load_good(void)
{
	struct screen s;
	struct err e;
	err_clear(&e);
	int rc;

	put_ppm("good.ppm", "P6\n4 2\n255\n", 24);
	rc = screen_load_ppm(dfd, "good.ppm", &s, &e);
	ok(rc == 0, "a 4x2 P6 loads");
	if (rc)
		printf("#   %s\n", e.why);
	ok(s.w == 4 && s.h == 2, "4x2 (got %ux%u)", s.w, s.h);
	int same = s.rgb != NULL;
	for (int i = 0; same && i < 24; i++)
		same = s.rgb[i] == i;
	ok(same, "its pixels are the bytes after the header, in order");
	ok(s.rgb && s.rgb[3 * 5] == 15 && s.rgb[3 * 5 + 2] == 17, "pixel (1,1) is 15,16,17");
	screen_free(&s);
	ok(s.rgb == NULL && s.w == 0, "screen_free clears");

	put_ppm("comments.ppm", "P6\n# CREATOR: someone\n4 # width\n#\n2\n# maxval next\n255\n",
		24);
	rc = screen_load_ppm(dfd, "comments.ppm", &s, &e);
	ok(rc == 0 && s.w == 4 && s.h == 2 && s.rgb[23] == 23,
	   "comments in the header are skipped");
	if (rc)
		printf("#   %s\n", e.why);
	screen_free(&s);

	/* pixel bytes that look like whitespace or '#' are pixels, not header */
	put("ws.ppm", "P6 1 1 255\n# \n", 14);
	rc = screen_load_ppm(dfd, "ws.ppm", &s, &e);
	ok(rc == 0 && s.rgb[0] == '#' && s.rgb[1] == ' ' && s.rgb[2] == '\n',
	   "one whitespace after the maxval, then pixels even if they look like text");
	screen_free(&s);
}

/* Must fail with -EINVAL and want somewhere in the message, leaving s empty. */
static void refused(const char *name, int want_rc, const char *want, const char *what)
{
	struct screen s = {1, 1, (unsigned char *)"x"};
	struct err e;
	err_clear(&e);
	int rc = screen_load_ppm(dfd, name, &s, &e);

	ok(rc == want_rc && strstr(e.why, want) && strstr(e.why, name) && !s.rgb && !s.w,
	   "%s: refused (%s)", what, want);
	printf("#   rc %d, err: %s\n", rc, e.why);
}

static void test_load_bad(void)
{
	put("ascii.ppm", "P3\n4 2\n255\n0 0 0 1 1 1 2 2 2 3 3 3 4 4 4 5 5 5 6 6 6 7 7 7\n", 56);
	refused("ascii.ppm", -EINVAL, "P3 is not supported", "P3 (ASCII)");
	put_ppm("deep.ppm", "P6\n4 2\n65535\n", 48);
	refused("deep.ppm", -EINVAL, "maxval 65535 is not supported", "maxval 65535");
	put_ppm("short.ppm", "P6\n4 2\n255\n", 23);
	refused("short.ppm", -EINVAL, "truncated: 23 bytes of pixels", "truncated pixels");
	put_ppm("long.ppm", "P6\n4 2\n255\n", 25);
	refused("long.ppm", -EINVAL, "longer than its header says: 25 bytes",
		"a byte past the pixels");
	put_ppm("zero.ppm", "P6\n0 2\n255\n", 0);
	refused("zero.ppm", -EINVAL, "empty: 0x2", "0 width");
	put_ppm("huge.ppm", "P6\n20000 20000\n255\n", 3);
	refused("huge.ppm", -EINVAL, "20000x20000 is too large", "20000x20000");
	put_ppm("absurd.ppm", "P6\n99999999999999999999 1\n255\n", 3);
	refused("absurd.ppm", -EINVAL, "99999999999999999999x1 is too large", "a 20-digit width");
	put("garbage.ppm", "\x89\x00\xffhello, world\n", 16);
	refused("garbage.ppm", -EINVAL, "not a PPM file", "garbage");
	put("empty.ppm", "", 0);
	refused("empty.ppm", -EINVAL, "not a PPM file", "an empty file");
	put("hdr.ppm", "P6\n4 2", 6);
	refused("hdr.ppm", -EINVAL, "truncated PPM header", "a header cut short");
	put("neg.ppm", "P6\n-4 2\n255\n", 12);
	refused("neg.ppm", -EINVAL, "expected the width, found '-'", "a negative width");
	put("junk.ppm", "P6\n4x2\n255\n", 11);
	refused("junk.ppm", -EINVAL, "width \"4\" is followed by junk", "4x2 in one token");
	put("glued.ppm", "P64 2\n255\n", 10);
	refused("glued.ppm", -EINVAL, "no space before the width", "P64 2");
	refused("missing.ppm", -ENOENT, "No such file", "a missing file");
}

/* w x h, every pixel from f. */
static struct screen mk(unsigned w, unsigned h, void (*f)(unsigned x, unsigned y, unsigned char *p))
{
	struct screen s = {w, h, malloc((size_t)w * h * 3)};
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++)
			f(x, y, s.rgb + ((size_t)y * w + x) * 3);
	return s;
}

/* Each 2x2 block: red, green / blue, white at the origin, elsewhere values that vary. */
static void px_blocks(unsigned x, unsigned y, unsigned char *p)
{
	static const unsigned char first[2][2][3] = {{{255, 0, 0}, {0, 255, 0}},
						     {{0, 0, 255}, {255, 255, 255}}};
	if (x < 2 && y < 2) {
		memcpy(p, first[y][x], 3);
		return;
	}
	for (int c = 0; c < 3; c++)
		p[c] = (x * 37 + y * 101 + c * 59 + x * y) & 0xff;
}
static void px_grey(unsigned x, unsigned y, unsigned char *p) { memset(p, 77, 3); }
static void px_rows(unsigned x, unsigned y, unsigned char *p) { memset(p, y & 1 ? 200 : 100, 3); }
static void px_noise(unsigned x, unsigned y, unsigned char *p)
{
	for (int c = 0; c < 3; c++)
		p[c] = (x * 7919 + y * 104729 + c * 31) % 251;
}

static unsigned char *at(const struct screen *s, unsigned x, unsigned y)
{
	return s->rgb + ((size_t)y * s->w + x) * 3;
}

static void test_scale(void)
{
	struct screen in = mk(640, 400, px_blocks), out;
	int rc = screen_scale(&in, 320, &out);

	ok(rc == 0 && out.w == 320 && out.h == 200, "640x400 to 320: 320x200 (got %ux%u)", out.w,
	   out.h);
	/* red+green+blue+white over four, rounded half up: (255+0+0+255+2)/4 = 128 */
	ok(!memcmp(at(&out, 0, 0), (unsigned char[]){128, 128, 128}, 3),
	   "red, green, blue and white average to 128,128,128 (got %u,%u,%u)", at(&out, 0, 0)[0],
	   at(&out, 0, 0)[1], at(&out, 0, 0)[2]);
	int bad = 0;
	for (unsigned y = 0; y < out.h; y++)
		for (unsigned x = 0; x < out.w; x++)
			for (int c = 0; c < 3; c++) {
				unsigned sum =
				    at(&in, 2 * x, 2 * y)[c] + at(&in, 2 * x + 1, 2 * y)[c] +
				    at(&in, 2 * x, 2 * y + 1)[c] + at(&in, 2 * x + 1, 2 * y + 1)[c];
				bad += at(&out, x, y)[c] != (sum + 2) / 4;
			}
	ok(!bad, "every target pixel is the mean of its 2x2 block (%d wrong)", bad);
	screen_free(&out);
	screen_free(&in);

	in = mk(100, 400, px_grey);
	rc = screen_scale(&in, 320, &out);
	ok(rc == 0 && out.w == 80 && out.h == 320, "100x400 to 320: 80x320 (got %ux%u)", out.w,
	   out.h);
	bad = 0;
	for (size_t i = 0; rc == 0 && i < (size_t)out.w * out.h * 3; i++)
		bad += out.rgb[i] != 77;
	ok(!bad, "a flat grey stays that grey (%d wrong)", bad);
	screen_free(&out);
	screen_free(&in);

	in = mk(300, 200, px_noise);
	rc = screen_scale(&in, 320, &out);
	ok(rc == 0 && out.w == 300 && out.h == 200 && out.rgb != in.rgb &&
	       !memcmp(out.rgb, in.rgb, 300 * 200 * 3),
	   "300x200 within 320: an unchanged copy");
	screen_free(&out);
	rc = screen_scale(&in, 300, &out);
	ok(rc == 0 && out.w == 300 && out.h == 200 && !memcmp(out.rgb, in.rgb, 300 * 200 * 3),
	   "300x200 at exactly 300: unchanged too");
	screen_free(&out);
	screen_free(&in);

	in = mk(1, 1000, px_rows);
	rc = screen_scale(&in, 16, &out);
	ok(rc == 0 && out.w == 1 && out.h == 16, "1x1000 to 16: 1x16 (got %ux%u)", out.w, out.h);
	/* rows alternate 100/200, each box is 62 or 63 rows: 150 or within one of it */
	bad = 0;
	for (unsigned y = 0; rc == 0 && y < out.h; y++)
		bad += abs((int)at(&out, 0, y)[0] - 150) > 1;
	ok(!bad, "alternating rows average to about 150 (%d off)", bad);
	screen_free(&out);
	screen_free(&in);

	in = mk(1000, 3, px_grey);
	rc = screen_scale(&in, 10, &out);
	ok(rc == 0 && out.w == 10 && out.h == 1, "1000x3 to 10: 10x1, not 10x0 (got %ux%u)", out.w,
	   out.h);
	screen_free(&out);
	screen_free(&in);

	struct screen none = {0};
	ok(screen_scale(&none, 16, &out) == -EINVAL && !out.rgb, "an empty image: EINVAL");
}

/* Encodes s after a prefix, checks the prefix survives, decodes the rest and compares. */
static void roundtrip(const struct screen *s, const char *what)
{
	struct sbuf b = {0};
	struct err e;
	err_clear(&e);
	png_image img = {.version = PNG_IMAGE_VERSION};
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	sb_puts(&b, "abc");
	int rc = screen_png(s, &b, &e);
	ok(rc == 0 && b.len > 3 + 8, "%s: encodes (%zu bytes)", what, b.len - 3);
	if (rc) {
		printf("#   %s\n", e.why);
		sb_free(&b);
		return;
	}
	ok(!memcmp(b.p, "abc", 3) && !memcmp(b.p + 3, sig, 8),
	   "%s: appended, starting with the PNG signature", what);
	unsigned char *px = NULL;
	int dec = png_image_begin_read_from_memory(&img, b.p + 3, b.len - 3);
	if (dec) {
		img.format = PNG_FORMAT_RGB;
		px = malloc(PNG_IMAGE_SIZE(img));
		dec = png_image_finish_read(&img, NULL, px, 0, NULL);
	}
	ok(dec, "%s: libpng decodes it%s%s", what, dec ? "" : ": ", dec ? "" : img.message);
	ok(dec && img.width == s->w && img.height == s->h, "%s: %ux%u back", what, img.width,
	   img.height);
	ok(dec && !memcmp(px, s->rgb, (size_t)s->w * s->h * 3), "%s: the same pixels back", what);
	png_image_free(&img);
	free(px);
	sb_free(&b);
}

static void test_png(void)
{
	struct screen s = mk(37, 23, px_noise), t;
	roundtrip(&s, "37x23 noise");
	screen_free(&s);

	s = mk(640, 400, px_blocks);
	roundtrip(&s, "640x400");
	ok(screen_scale(&s, 160, &t) == 0, "its 160x100 thumbnail");
	roundtrip(&t, "the thumbnail");
	screen_free(&t);
	screen_free(&s);

	s = mk(1, 1, px_grey);
	roundtrip(&s, "1x1");
	screen_free(&s);

	struct screen none = {0};
	struct sbuf b = {0};
	struct err e;
	err_clear(&e);
	sb_puts(&b, "abc");
	ok(screen_png(&none, &b, &e) == -EINVAL && strstr(e.why, "empty") && b.len == 3,
	   "an empty image: EINVAL, buffer untouched (%s)", e.why);
	sb_free(&b);

	/* The longjmp paths: under ASan these also show that nothing leaks there. */
	s = mk(64, 64, px_noise);
	b = (struct sbuf){0};
	sb_puts(&b, "abc");
	b.oom = 1; /* as if the buffer had failed to grow */
	int rc = screen_png(&s, &b, &e);
	ok(rc == -ENOMEM && strstr(e.why, "out of memory") && b.len == 3,
	   "no memory for the output: ENOMEM, length restored (%d, %s)", rc, e.why);
	sb_free(&b);
	screen_free(&s);
	struct screen wide = {1u << 31, 1, (unsigned char *)"rgb"};
	b = (struct sbuf){0};
	rc = screen_png(&wide, &b, &e);
	ok(rc == -EIO && strstr(e.why, "PNG encoding failed: ") && b.len == 0,
	   "a width libpng refuses: EIO with its reason (%d, %s)", rc, e.why);
	sb_free(&b);
}

/* The dump lies in a directory QEMU (another user) writes: what it planted is not read. */
static void test_load_planted(void)
{
	struct screen s;
	struct err e;
	err_clear(&e);
	put_ppm("real.ppm", "P6\n4 2\n255\n", 24);
	ok(symlinkat("real.ppm", dfd, "link.ppm") == 0, "a link to a good dump");
	int rc = screen_load_ppm(dfd, "link.ppm", &s, &e);
	ok(rc == -ELOOP, "is not followed (%d, %s)", rc, e.why);
	ok(mkfifoat(dfd, "fifo.ppm", 0600) == 0, "a FIFO");
	rc = screen_load_ppm(dfd, "fifo.ppm", &s, &e);
	ok(rc == -EINVAL && strstr(e.why, "not a regular file"), "is not waited on (%d, %s)", rc, e.why);
}

int main(void)
{
	if (!mkdtemp(dir) || (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		printf("1..0 # SKIP no temporary directory\n");
		return 77;
	}
	test_load_good();
	test_load_bad();
	test_load_planted();
	test_scale();
	test_png();
	close(dfd);
	int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(remove_tree(tmp, dir + strlen("/tmp/")) == 0 && access(dir, F_OK) < 0,
	   "temporary directory removed");
	close(tmp);
	return tap_done();
}
