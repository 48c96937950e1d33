/* A `create` command's args (cluster/ccmd.h): one line of words, values escaped so that no
 * space nor control byte is in one. Pure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd.h"
#include "ctl/params.h"

void cargs_escape(struct sbuf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == '%' || *p == ',' || *p >= 0x7f)
			sb_printf(out, "%%%02x", *p);
		else
			sb_add(out, (const char *)p, 1);
}

void ccreate_args(const struct ccreate *cr, struct sbuf *out)
{
	char tag[CKEY_TAG_LEN];
	ckey_tag_fmt(&cr->intent, tag);
	sb_printf(out, "intent=%s type=%s names=", tag, otype_name(cr->type));
	for (size_t i = 0; i < cr->n; i++) {
		if (i)
			sb_add(out, ",", 1);
		cargs_escape(out, cr->names[i]);
	}
	for (size_t i = 0; i < nparams && i < NPARAMS_MAX; i++)
		if (cr->cfg[i]) {
			sb_printf(out, " cfg.%s=", params[i].name);
			cargs_escape(out, cr->cfg[i]);
		}
}

void ccreate_free(struct ccreate *cr)
{
	for (size_t i = 0; i < cr->n; i++)
		free(cr->names[i]);
	free(cr->names);
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		free(cr->cfg[i]);
	memset(cr, 0, sizeof(*cr));
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *cargs_unescape(const char *s, size_t len, char *why, size_t whylen)
{
	char *o = malloc(len + 1), *q = o;
	if (!o) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			*q++ = s[i];
			continue;
		}
		int hi = i + 2 < len ? hexval(s[i + 1]) : -1,
		    lo = hi >= 0 ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			snprintf(why, whylen, "a bad escape at byte %zu of a value", i);
			free(o);
			return NULL;
		}
		*q++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*q = 0;
	return o;
}

int ccreate_read(const char *args, struct ccreate *cr, char *why, size_t whylen)
{
	memset(cr, 0, sizeof(*cr));
	bool intent = false, type = false, names = false;
	int r = 0;
	for (const char *p = args ? args : ""; *p && !r;) {
		size_t l = strcspn(p, " ");
		const char *eq = memchr(p, '=', l);
		if (!eq) {
			snprintf(why, whylen, "a word without '=' in the args");
			r = -EINVAL;
			break;
		}
		size_t kl = (size_t)(eq - p), vl = l - kl - 1;
		const char *v = eq + 1;
		char *text = cargs_unescape(v, vl, why, whylen);
		if (!text) {
			r = -EINVAL;
			break;
		}
		if (kl == 6 && !memcmp(p, "intent", 6) && !intent) {
			intent = true;
			char e[128];
			if (ckey_tag_parse(text, &cr->intent, e, sizeof(e))) {
				snprintf(why, whylen, "intent: %s", e);
				r = -EINVAL;
			}
		} else if (kl == 4 && !memcmp(p, "type", 4) && !type) {
			type = true;
			if (!strcmp(text, otype_name(OT_VM)))
				cr->type = OT_VM;
			else if (!strcmp(text, otype_name(OT_CT)))
				cr->type = OT_CT;
			else {
				snprintf(why, whylen, "type %.64s is neither %s nor %s", text,
					 otype_name(OT_VM), otype_name(OT_CT));
				r = -EINVAL;
			}
		} else if (kl == 5 && !memcmp(p, "names", 5) && !names) {
			names = true;
			/* names are checked as names (ctl/ctl.h) by the caller: here only split */
			size_t n = 1;
			for (const char *c = v; c < v + vl; c++)
				n += *c == ',';
			if (!(cr->names = calloc(n, sizeof(*cr->names))))
				r = -ENOMEM;
			for (const char *c = v; !r && c <= v + vl;) {
				size_t nl = strcspn(c, ", ");
				if (c + nl > v + vl)
					nl = (size_t)(v + vl - c);
				if (!(cr->names[cr->n] = cargs_unescape(c, nl, why, whylen)))
					r = -EINVAL;
				else
					cr->n++;
				c += nl + 1;
			}
		} else if (kl > 4 && !memcmp(p, "cfg.", 4)) {
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)(kl - 4 < 63 ? kl - 4 : 63), p + 4);
			int i = kl - 4 < 63 ? param_index(name) : -1;
			if (i < 0 || i >= NPARAMS_MAX) {
				snprintf(why, whylen, "cfg.%s is no parameter of this vmfs", name);
				r = -EINVAL;
			} else if (cr->cfg[i]) {
				snprintf(why, whylen, "cfg.%s is given twice", name);
				r = -EINVAL;
			} else {
				cr->cfg[i] = text;
				text = NULL;
			}
		} else {
			snprintf(why, whylen, "%.*s is no word of a create command (or given twice)",
				 (int)(kl < 64 ? kl : 64), p);
			r = -EINVAL;
		}
		free(text);
		p += l;
		if (*p == ' ')
			p++;
	}
	if (!r && (!intent || !type || !names)) {
		snprintf(why, whylen, "a create command needs intent, type and names");
		r = -EINVAL;
	}
	if (r)
		ccreate_free(cr);
	return r;
}
