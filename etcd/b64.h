/* Base64 as etcd's JSON gateway writes keys and values: the standard alphabet with padding
 * (RFC 4648, section 4), no line breaks. Decoding is strict (a value from etcd was written by
 * another host: any other byte, a missing or misplaced '=', or nonzero bits left in the last
 * character are refused), so one value has one spelling. */
#ifndef VMFS_ETCD_B64_H
#define VMFS_ETCD_B64_H
#include <stddef.h>

/* The encoding of n bytes, NUL-terminated, in a new buffer (NULL if out of memory). */
char *b64_encode(const void *in, size_t n);
/* Decodes the n characters at in into a new buffer *out (*outlen bytes, then a NUL not
 * counted). 0, -EINVAL if in is not base64 as above, -ENOMEM. */
int b64_decode(const char *in, size_t n, char **out, size_t *outlen);
#endif
