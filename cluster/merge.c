/* The head's tables: a member's rows appended to the head's own, its host column naming
 * the member as the head knows it, and its state UNKNOWN when the rows are not from a
 * probe that answered (the member is down: what it last said may no longer be true). */
#include "cluster/merge.h"

#include <string.h>

/* The index of name in a tab-separated header line, or -1. */
static int column(const char *hdr, size_t len, const char *name)
{
	size_t nl = strlen(name);
	int i = 0;
	for (const char *c = hdr, *end = hdr + len; c < end; i++) {
		const char *tab = memchr(c, '\t', end - c);
		const char *ce = tab ? tab : end;
		if ((size_t)(ce - c) == nl && !memcmp(c, name, nl))
			return i;
		c = ce + 1;
	}
	return -1;
}

void merge_rows(struct sbuf *out, const char *table, size_t len, const char *host, bool unknown)
{
	const char *end = table + len, *nl = memchr(table, '\n', len);
	if (!nl)
		return;
	int hcol = column(table, nl - table, "host"), scol = column(table, nl - table, "state");
	for (const char *row = nl + 1; row < end;) {
		const char *re = memchr(row, '\n', end - row);
		re = re ? re : end;
		int i = 0;
		for (const char *c = row; c <= re && re > row; i++) {
			const char *tab = memchr(c, '\t', re - c);
			const char *ce = tab ? tab : re;
			if (i)
				sb_add(out, "\t", 1);
			if (i == hcol)
				sb_puts(out, host);
			else if (i == scol && unknown)
				sb_puts(out, "UNKNOWN");
			else
				sb_add(out, c, ce - c);
			c = ce + 1;
		}
		if (re > row)
			sb_add(out, "\n", 1);
		row = re + 1;
	}
}

bool table_has(const char *table, size_t len, const char *name, const char *type)
{
	const char *end = table + len, *nl = memchr(table, '\n', len);
	if (!nl)
		return false;
	int ncol = column(table, nl - table, "name"), tcol = column(table, nl - table, "type");
	for (const char *row = nl + 1; row < end;) {
		const char *re = memchr(row, '\n', end - row);
		re = re ? re : end;
		bool name_ok = false, type_ok = !type;
		int i = 0;
		for (const char *c = row; c < re; i++) {
			const char *tab = memchr(c, '\t', re - c);
			const char *ce = tab ? tab : re;
			if (i == ncol)
				name_ok = (size_t)(ce - c) == strlen(name) && !memcmp(c, name, ce - c);
			if (i == tcol && type)
				type_ok = (size_t)(ce - c) == strlen(type) && !memcmp(c, type, ce - c);
			c = ce + 1;
		}
		if (name_ok && type_ok)
			return true;
		row = re + 1;
	}
	return false;
}

int table_names(const char *table, size_t len, const char *type,
		int (*fn)(void *ctx, const char *name), void *ctx)
{
	const char *end = table + len, *nl = memchr(table, '\n', len);
	if (!nl)
		return 0;
	int ncol = column(table, nl - table, "name"), tcol = column(table, nl - table, "type");
	for (const char *row = nl + 1; row < end;) {
		const char *re = memchr(row, '\n', end - row);
		re = re ? re : end;
		char name[256] = "";
		bool type_ok = !type;
		int i = 0;
		for (const char *c = row; c < re; i++) {
			const char *tab = memchr(c, '\t', re - c);
			const char *ce = tab ? tab : re;
			if (i == ncol && (size_t)(ce - c) < sizeof(name)) {
				memcpy(name, c, ce - c);
				name[ce - c] = 0;
			}
			if (i == tcol && type)
				type_ok = (size_t)(ce - c) == strlen(type) && !memcmp(c, type, ce - c);
			c = ce + 1;
		}
		if (*name && type_ok && fn(ctx, name))
			return 1;
		row = re + 1;
	}
	return 0;
}
