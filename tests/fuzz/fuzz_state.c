/* libFuzzer target for the state-file parser (runtime/store.c): a config or ns.conf as vmfs
 * would find it in the state directory, damaged in any way. Built and run by `make fuzz` and
 * tests/fuzz/run.
 *
 * Re-pointing: the parser is reached only through parse() below. With the strict store.h
 * (STORE_FILE_MAX, store_parse(text, len, fn, arg, err, errlen), store_num, store_state)
 * each value also goes through the checks the loader uses; with the older store_parse(text,
 * fn, arg) the text stops at its first NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/store.h"

struct seen {
	size_t lines;
};

/* a key and its value are one line's parts: never a newline in either */
static void check_kv(const char *key, const char *value)
{
	if (strchr(key, '\n') || strchr(key, '=') || strchr(value, '\n'))
		abort();
}

#ifdef STORE_FILE_MAX
static int take(const char *key, const char *value, void *arg, char *err, size_t errlen)
{
	unsigned long long n;
	enum ostate st;
	check_kv(key, value);
	if (!*key) /* the strict parser refuses "=value" */
		abort();
	((struct seen *)arg)->lines++;
	store_num(value, 10, 0, ~0ULL, &n, err, errlen);
	store_num(value, 8, 0, 07777, &n, err, errlen);
	store_state(value, &st, err, errlen);
	return 0;
}

static int parse(char *text, size_t len, struct seen *s)
{
	char err[256];
	return store_parse(text, len, take, s, err, sizeof(err));
}
#else
static int take(const char *key, const char *value, void *arg)
{
	check_kv(key, value);
	((struct seen *)arg)->lines++;
	return 0;
}

static int parse(char *text, size_t len, struct seen *s)
{
	(void)len;
	return store_parse(text, take, s);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly size bytes, plus the NUL the older parser needs: ASan sees any read past */
	char *text = malloc(size + 1);
	struct seen s = {0};
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	parse(text, size, &s);
	if (s.lines > size / 2 + 1) /* a line is at least "k=" */
		abort();
	free(text);
	return 0;
}
