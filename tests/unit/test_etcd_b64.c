/* etcd/b64.c: what etcd's gateway writes decodes, one spelling per value, the rest refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/b64.h"
#include "tests/unit/tap.h"

/* decodes s: its bytes as a string, or NULL if refused */
static const char *dec(const char *s)
{
	static char buf[256];
	char *out;
	size_t n;
	if (b64_decode(s, strlen(s), &out, &n))
		return NULL;
	memcpy(buf, out, n < sizeof(buf) - 1 ? n : sizeof(buf) - 1);
	buf[n < sizeof(buf) - 1 ? n : sizeof(buf) - 1] = 0;
	free(out);
	return buf;
}

int main(void)
{
	const char *words[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		char *s = b64_encode(words[i], strlen(words[i]));
		is_str(s, want[i], "encode \"%s\" (RFC 4648's vectors)", words[i]);
		free(s);
		is_str(dec(want[i]), words[i], "decode %s", want[i]);
	}
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	char *s = b64_encode(all, sizeof(all)), *back = NULL;
	size_t n = 0;
	ok(s && !b64_decode(s, strlen(s), &back, &n) && n == 256 && !memcmp(back, all, 256),
	   "every byte value goes and comes back");
	ok(back && back[n] == 0, "the decoded buffer ends in a NUL not counted");
	free(s);
	free(back);
	ok(!dec("Zm9"), "a length not a multiple of 4: refused");
	ok(!dec("Zm9*"), "a character outside the alphabet: refused");
	ok(!dec("Zm-_"), "the URL alphabet: refused (etcd writes the standard one)");
	ok(!dec("Zg=a"), "a character after '=': refused");
	ok(!dec("Zg==Zm9v"), "padding in the middle: refused");
	ok(!dec("===="), "padding alone: refused");
	ok(!dec("Z==="), "three '=': refused");
	ok(!dec("Zh=="), "bits left over under the padding: refused (one spelling per value)");
	ok(!dec("Zm9="), "bits left over under one '=': refused");
	ok(!dec("Zm9v\n"), "a newline: refused");
	char *out;
	ok(b64_decode("Zg=\0", 4, &out, &n) == -EINVAL, "a NUL inside: -EINVAL");
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
