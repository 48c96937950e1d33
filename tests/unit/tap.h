/* Minimal TAP for unit tests: each test binary prints "ok N - what" lines and a plan,
 * and exits 1 if anything failed (77 means skipped, as automake and libfuse use). */
#ifndef VMFS_TAP_H
#define VMFS_TAP_H
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                              \
	do {                                                                                       \
		int ok_c_ = !!(cond);                                                              \
		printf("%sok %d - ", ok_c_ ? "" : "not ", ++tap_n);                                \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		if (!ok_c_) {                                                                      \
			tap_failed++;                                                              \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
		}                                                                                  \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		ok(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_, __VA_ARGS__);                        \
		if (!(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_))                                  \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

/* A small file's text without its trailing newline, or NULL (sysfs, /proc, cgroup files);
 * four rotating buffers, so a few can be compared in one expression. */
static inline const char *slurp(const char *path)
{
	static char buf[4][8192];
	static int i;
	char *b = buf[i++ % 4];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, b, sizeof buf[0] - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return NULL;
	for (b[n] = 0; n > 0 && b[n - 1] == '\n';)
		b[--n] = 0;
	return b;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
