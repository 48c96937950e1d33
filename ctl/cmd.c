/* Command lines written to ctl files: words, the command table, target globs. The shape
 * is lib9p's parsecmd/lookupcmd: split, then find the first word with its arity. */
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"

#include "ctl/util.h"

/* Copies one word from *rp to w, dropping the quotes: as in sh, quoted and bare pieces
 * join ('a b'c is "a bc"). w never passes *rp, so this works in place. */
static int split_word(char **rp, char *w, const char *line, char *err, size_t errlen)
{
	char *r = *rp, quote = 0, c;
	const char *open = NULL;

	while (*r && (quote || (*r != ' ' && *r != '\t'))) {
		if (quote && *r == quote) {
			quote = 0;
			r++;
		} else if (!quote && (*r == '\'' || *r == '"')) {
			quote = *r;
			open = r++;
		} else {
			*w++ = *r++;
		}
	}
	if (quote)
		return ctl_fail(err, errlen, "the %c quote at byte %td is never closed", quote,
				open - line + 1);
	c = *r;
	*w = '\0'; /* may overwrite the blank at *r, hence c */
	*rp = c ? r + 1 : r;
	return 0;
}

int ctl_split(char *line, char **argv, int maxargs, char *err, size_t errlen)
{
	char *r = line;
	int n = 0;

	if (!line)
		return 0;
	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (!*r)
			return n;
		if (n >= maxargs)
			return ctl_fail(err, errlen, "too many words: a command has at most %d",
					maxargs < 0 ? 0 : maxargs);
		argv[n++] = r;
		if (split_word(&r, r, line, err, errlen))
			return -EINVAL;
	}
}

/* The table's words as "a, b, c", for messages; cut short if buf is too small. */
static const char *cmd_words(const struct ctl_cmd *tab, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;
	int k;

	buf[0] = '\0';
	for (i = 0; tab && i < n && o < len; i++) {
		if (!tab[i].word)
			continue;
		k = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", tab[i].word);
		if (k < 0)
			break;
		o += (size_t)k;
	}
	return buf;
}

/* maxargs < 0 means "no upper limit" (a list of names, say). */
static int cmd_args(const struct ctl_cmd *c, int nargs, char *err, size_t errlen)
{
	const char *u = c->usage ? c->usage : c->word, *bound;
	bool few = nargs < c->minargs;
	int lim = few ? c->minargs : c->maxargs;

	if (!few && (c->maxargs < 0 || nargs <= c->maxargs))
		return 0;
	if (lim == 0)
		return ctl_fail(err, errlen, "\"%s\" takes no arguments, not %d; usage: %s",
				c->word, nargs, u);
	bound = c->minargs == c->maxargs ? "" : few ? "at least " : "at most ";
	return ctl_fail(err, errlen, "\"%s\" %s %s%d argument%s, not %d; usage: %s", c->word,
			few ? "needs" : "takes", bound, lim, lim == 1 ? "" : "s", nargs, u);
}

const struct ctl_cmd *ctl_lookup(const struct ctl_cmd *tab, size_t n, int argc, char **argv,
				 char *err, size_t errlen)
{
	const char *w = argc > 0 && argv ? argv[0] : NULL;
	char words[256], q[80];
	size_t i;

	if (!w || !*w) {
		ctl_fail(err, errlen, "empty command: use one of %s",
			 cmd_words(tab, n, words, sizeof words));
		return NULL;
	}
	for (i = 0; tab && i < n; i++)
		if (tab[i].word && strcmp(tab[i].word, w) == 0)
			return cmd_args(&tab[i], argc - 1, err, errlen) ? NULL : &tab[i];
	ctl_fail(err, errlen, "unknown command \"%s\": use one of %s",
		 ctl_quote(w, strlen(w), q, sizeof q), cmd_words(tab, n, words, sizeof words));
	return NULL;
}

bool ctl_glob(const char *pattern, const char *name)
{
	return pattern && name && fnmatch(pattern, name, 0) == 0;
}
