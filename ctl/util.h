/* Helpers shared by the ctl/ files; not part of ctl.h, the public contract. */
#ifndef VMFS_CTL_UTIL_H
#define VMFS_CTL_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Sets err (if there is room) and returns -EINVAL, so that a check fails in one line. */
int ctl_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* s[0..n) quoted for a message: control characters escaped, long input cut short. */
const char *ctl_quote(const char *s, size_t n, char *buf, size_t len);
/* The n digits at s as a number: 0, -1 if not all digits, 1 if over 10^18 (too big). */
int ctl_uint(const char *s, size_t n, uint64_t *out);
/* The next blank-separated token at *cur (its length in *len), or NULL at the end. */
const char *ctl_token(const char **cur, size_t *len);
#endif
