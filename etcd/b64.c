#include "etcd/b64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *in, size_t n)
{
	const unsigned char *p = in;
	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? alphabet[v & 63] : '=';
	}
	*o = 0;
	return out;
}

/* the 6-bit value of c, or -1 */
static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int b64_decode(const char *in, size_t n, char **out, size_t *outlen)
{
	if (n % 4)
		return -EINVAL;
	size_t pad = n && in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
	char *buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		size_t have = i + 4 == n ? 4 - pad : 4; /* characters that carry bits */
		for (size_t j = 0; j < 4; j++) {
			int s = j < have ? sextet(in[i + j]) : 0;
			if (s < 0 || (j >= have && in[i + j] != '=')) {
				free(buf);
				return -EINVAL;
			}
			v = v << 6 | (uint32_t)s;
		}
		/* the bits the padding leaves over must be zero (one spelling per value) */
		if ((have == 2 && (v & 0xffff)) || (have == 3 && (v & 0xff))) {
			free(buf);
			return -EINVAL;
		}
		buf[len++] = (char)(v >> 16);
		if (have > 2)
			buf[len++] = (char)(v >> 8 & 0xff);
		if (have > 3)
			buf[len++] = (char)(v & 0xff);
	}
	buf[len] = 0;
	*out = buf;
	*outlen = len;
	return 0;
}
