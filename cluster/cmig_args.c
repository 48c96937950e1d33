/* The args of the migrate-in and migrate-out commands (cluster/cmig.h): words KEY=VALUE
 * first, in a fixed order, each value a token of its own alphabet. Pure; peer input. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cmig.h"

/* The value of word key= at *p (advanced past it and one space): its length, or -1. */
static int word(const char **p, const char *key, const char *allowed, char *out, size_t outlen,
		bool empty_ok)
{
	size_t kl = strlen(key);
	if (strncmp(*p, key, kl) || (*p)[kl] != '=')
		return -1;
	const char *v = *p + kl + 1;
	size_t n = strcspn(v, " \n");
	if (n >= outlen || (!n && !empty_ok) || strspn(v, allowed) < n)
		return -1;
	memcpy(out, v, n);
	out[n] = 0;
	*p = v + n + (v[n] == ' ');
	return (int)n;
}

#define DIGITS "0123456789"
#define HOSTPORT DIGITS ".:"
#define WORDCH "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS "._-"

static int tag_of(const char **p, struct ckey_tag *t, char *why, size_t whylen)
{
	char text[CKEY_TAG_LEN];
	if (word(p, "intent", WORDCH, text, sizeof(text), false) < 0) {
		snprintf(why, whylen, "no intent= first in the command's args");
		return -EINVAL;
	}
	char e[256];
	if (ckey_tag_parse(text, t, e, sizeof(e))) {
		snprintf(why, whylen, "intent=%s: %s", text, e);
		return -EINVAL;
	}
	return 0;
}

int cmig_in_read(const char *args, struct cmig_in_args *a, char *why, size_t whylen)
{
	const char *p = args ? args : "";
	memset(a, 0, sizeof(*a));
	int r = tag_of(&p, &a->intent, why, whylen);
	if (r)
		return r;
	if (word(&p, "qemu", DIGITS ".", a->qemu, sizeof(a->qemu), true) < 0 ||
	    word(&p, "machine", WORDCH, a->machine, sizeof(a->machine), false) < 0) {
		snprintf(why, whylen, "a migrate-in needs qemu=VERSION machine=TYPE after intent=");
		return -EINVAL;
	}
	a->create = p;
	return 0;
}

int cmig_out_read(const char *args, struct cmig_out_args *a, char *why, size_t whylen)
{
	const char *p = args ? args : "";
	memset(a, 0, sizeof(*a));
	int r = tag_of(&p, &a->intent, why, whylen);
	if (r)
		return r;
	if (word(&p, "to", HOSTPORT, a->to, sizeof(a->to), false) < 0 ||
	    word(&p, "nbd", HOSTPORT, a->nbd, sizeof(a->nbd), false) < 0 || *p) {
		snprintf(why, whylen, "a migrate-out needs exactly to=ADDR:PORT nbd=ADDR:PORT after "
				      "intent=");
		return -EINVAL;
	}
	return 0;
}

int cmig_ready_read(const char *text, char *mig, size_t miglen, char *nbd, size_t nbdlen)
{
	static const char pre[] = "ok: migrate-in ready: ";
	if (!text || strncmp(text, pre, sizeof(pre) - 1))
		return -EINVAL;
	const char *p = text + sizeof(pre) - 1;
	if (word(&p, "migrate", HOSTPORT, mig, miglen, false) < 0 ||
	    word(&p, "nbd", HOSTPORT, nbd, nbdlen, false) < 0 || (*p && *p != '\n'))
		return -EINVAL;
	return 0;
}
