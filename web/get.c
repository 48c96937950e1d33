/* GET answers that are read whole: a directory's listing (JSON, or HTML for a browser), a
 * file's content (tables and "key value" files also as JSON), a screenshot of a given size. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/screen.h"
#include "runtime/vm.h"
#include "web/web_int.h"

#define READ_MAX (64u << 20) /* a file's content in one answer */

/* Names in images/ are any file name, and the URL is the client's: both are escaped. */
static void html_text(struct sbuf *out, const char *s)
{
	for (; *s; s++)
		if (*s == '<' || *s == '>' || *s == '&' || *s == '"')
			sb_printf(out, "&#%d;", *s);
		else
			sb_add(out, s, 1);
}

struct listing {
	struct vreq *q;
	const struct vnode *dir;
	json_object *arr;
	struct sbuf *html;
	const char *base;
};

static int list_one(void *ctx, const char *name, const struct stat *st, off_t next)
{
	struct listing *l = ctx;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	struct vnode n;
	struct stat full = *st;
	/* readdir gives the type only: size and mtime are the node's */
	if (!vreq_lookup(l->q, l->dir, name, &n))
		vreq_getattr(l->q, &n, &full);
	st = &full;
	bool dir = S_ISDIR(st->st_mode);
	if (l->html) {
		sb_puts(l->html, "<li><a href=\"");
		html_text(l->html, l->base);
		html_text(l->html, name);
		sb_printf(l->html, "%s\">", dir ? "/" : "");
		html_text(l->html, name);
		sb_printf(l->html, "%s</a></li>\n", dir ? "/" : "");
		return 0;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "kind", json_object_new_string(dir ? "dir" : "file"));
	json_object_object_add(o, "size", json_object_new_int64(st->st_size));
	json_object_object_add(o, "mtime", json_object_new_int64(st->st_mtime));
	json_object_array_add(l->arr, o);
	return 0;
}

void get_dir(struct req *q, const struct vnode *n, const char *url, bool html)
{
	struct listing l = {&q->vq, n, NULL, NULL, url};
	if (html) {
		l.html = &q->out;
		sb_puts(&q->out, "<!doctype html><meta charset=utf-8><title>vmfs ");
		html_text(&q->out, url);
		sb_puts(&q->out, "</title><h1>");
		html_text(&q->out, url);
		sb_puts(&q->out, "</h1><ul>\n");
		/* links from the root: the directory's URL may or may not end in '/' */
		static char base[4200];
		snprintf(base, sizeof(base), "%s%s", url, url[strlen(url) - 1] == '/' ? "" : "/");
		l.base = base;
	} else {
		l.arr = json_object_new_array();
	}
	int r = vreq_readdir(&q->vq, n, 0, list_one, &l);
	if (r) {
		json_object_put(l.arr);
		web_fail(q, -r, NULL);
		return;
	}
	if (html) {
		sb_puts(&q->out, "</ul>\n");
		q->type = "text/html; charset=utf-8";
	} else {
		sb_puts(&q->out, json_object_to_json_string_ext(l.arr, JSON_C_TO_STRING_PLAIN));
		sb_puts(&q->out, "\n");
		json_object_put(l.arr);
		q->type = "application/json";
	}
	q->status = MHD_HTTP_OK;
}

/* A JSON string: quotes, backslashes and control characters escaped; other bytes, UTF-8
 * included, as they are. */
static void json_str(struct sbuf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	sb_add(out, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_add(out, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			sb_add(out, e, 2);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			sb_add(out, e, 6);
		}
	}
	sb_add(out, s + run, len - run);
	sb_add(out, "\"", 1);
}

/* A table (a header line, then rows, tab-separated) as an array of objects keyed by the
 * header; "key value" lines as one object. Written straight from the text: building json-c
 * objects for 100 rows of 16 cells cost twice what making the table does. */
static void to_json(struct sbuf *out, const char *text, size_t len)
{
	const char *end = text + len, *nl = memchr(text, '\n', len);
	const char *first_end = nl ? nl : end;
	if (memchr(text, '\t', first_end - text)) {
		const char *keys[64];
		size_t klen[64];
		int nk = 0;
		for (const char *k = text; k < first_end && nk < 64;) {
			const char *tab = memchr(k, '\t', first_end - k);
			const char *ke = tab ? tab : first_end;
			keys[nk] = k;
			klen[nk++] = ke - k;
			k = ke + 1;
		}
		sb_add(out, "[", 1);
		bool first = true;
		for (const char *row = first_end + 1; row < end;) {
			const char *re = memchr(row, '\n', end - row);
			re = re ? re : end;
			if (re > row) {
				sb_puts(out, first ? "{" : ",{");
				first = false;
				const char *cell = row;
				for (int i = 0; i < nk && cell <= re; i++) {
					const char *tab = memchr(cell, '\t', re - cell);
					const char *ce = tab ? tab : re;
					if (i)
						sb_add(out, ",", 1);
					json_str(out, keys[i], klen[i]);
					sb_add(out, ":", 1);
					json_str(out, cell, ce - cell);
					cell = tab ? ce + 1 : re + 1;
				}
				sb_add(out, "}", 1);
			}
			row = re + 1;
		}
		sb_puts(out, "]\n");
		return;
	}
	sb_add(out, "{", 1);
	bool first = true;
	for (const char *l = text; l < end;) {
		const char *le = memchr(l, '\n', end - l);
		le = le ? le : end;
		if (le > l) {
			const char *sp = memchr(l, ' ', le - l);
			if (!first)
				sb_add(out, ",", 1);
			first = false;
			json_str(out, l, (sp ? sp : le) - l);
			sb_add(out, ":", 1);
			json_str(out, sp ? sp + 1 : le, sp ? le - sp - 1 : 0);
		}
		l = le + 1;
	}
	sb_puts(out, "}\n");
}

/* Generated files but screenshots (a new picture at each open, with nothing counted). */
static struct cached *cache_slot(struct web *w, const struct vnode *n, bool json, bool *hit)
{
	*hit = false;
	if (n->e->file != VF_GEN || n->e->kind == VK_OBJ_SCREENSHOT ||
	    n->e->kind == VK_OBJ_THUMBNAIL)
		return NULL;
	time_t now = time(NULL);
	struct cached *c = &w->cache[0];
	for (int i = 0; i < WEB_CACHE; i++) {
		struct cached *e = &w->cache[i];
		if (e->ino == n->ino && e->json == json) {
			c = e;
			*hit = e->changes == model_changes && e->sec == now;
			break;
		}
		if (e->used < c->used)
			c = e;
	}
	c->used = ++w->uses;
	return c;
}

void get_cache_free(struct web *w)
{
	for (int i = 0; i < WEB_CACHE; i++)
		sb_free(&w->cache[i].body);
}

/* The content read so far is the answer (a remote file's, once its member answered). */
static void get_finish(struct req *q, const char *url, bool json, struct cached *c)
{
	const struct vnode n = q->vq.h->n;
	char buf[65536];
	off_t off = (off_t)q->out.len;
	ssize_t got;
	/* a console or a followed log answers what there is now (-EAGAIN: nothing more yet) */
	while ((got = web_read_now(q, buf, sizeof(buf), off)) > 0 && off + got <= (off_t)READ_MAX) {
		sb_add(&q->out, buf, got);
		off += got;
	}
	vreq_release(&q->vq);
	if (got > 0) { /* never a cut file that looks whole */
		snprintf(buf, sizeof(buf), "%s is larger than %u MiB: copy it through the mount",
			 url, READ_MAX >> 20);
		node_reject(q->w->v, &n, url, buf);
		web_fail(q, EFBIG, buf);
		return;
	}
	if (got < 0 && got != -EAGAIN) {
		web_fail(q, (int)-got, NULL);
		return;
	}
	q->status = MHD_HTTP_OK;
	size_t len = strlen(url);
	q->type = len > 4 && !strcmp(url + len - 4, ".png") ? "image/png" : "text/plain; charset=utf-8";
	if (json && !sb_err(&q->out)) {
		struct sbuf text = q->out;
		q->out = (struct sbuf){0};
		to_json(&q->out, text.p ? text.p : "", text.len);
		sb_free(&text);
		q->type = "application/json";
	}
	if (c && !sb_err(&q->out)) {
		c->ino = n.ino;
		c->json = json;
		c->changes = model_changes;
		c->sec = time(NULL);
		c->type = q->type;
		c->body.len = 0;
		sb_add(&c->body, q->out.p, q->out.len);
		if (sb_err(&c->body)) {
			sb_free(&c->body);
			c->ino = 0;
		}
	}
}

/* A member's file: its first read (of nothing) waits for the member's answer, then the
 * content is read at once. Answered later, the parked request goes on. */
static void remote_respond(struct vreq *vq, ssize_t n)
{
	struct req *q = (struct req *)((char *)vq - offsetof(struct req, vq));
	vq->h->flags |= O_NONBLOCK;
	if (!vq->later)
		return; /* get_file goes on */
	q->reading = false;
	struct vreq *was = vreq_enter(vq); /* its reasons are its own */
	get_finish(q, q->url, q->json, NULL);
	vreq_enter(was);
	free(q->url);
	q->url = NULL;
	q->done = true;
	web_unpark(q);
}

void get_file(struct req *q, const struct vnode *n, const char *url, bool json)
{
	bool hit;
	struct cached *c = cache_slot(q->w, n, json, &hit);
	if (hit) {
		sb_add(&q->out, c->body.p, c->body.len);
		q->type = c->type;
		q->status = MHD_HTTP_OK;
		return;
	}
	int r = vreq_open(&q->vq, n, O_RDONLY | O_NONBLOCK);
	if (r) {
		web_fail(q, -r, NULL);
		return;
	}
	char buf[1];
	if (n->e->file == VF_REMOTE && (q->url = strdup(url))) {
		q->json = json;
		q->vq.respond = remote_respond;
		q->vq.h->flags &= ~O_NONBLOCK; /* this read waits */
		if (vreq_read(&q->vq, buf, 0, 0)) {
			q->reading = true;
			web_park(q);
			return;
		}
		free(q->url);
		q->url = NULL;
	}
	get_finish(q, url, json, c);
}
/* screenshot.png?size=N: the screen scaled so that its larger side is at most N pixels,
 * as minimega's screenshots take a size. */
void get_screenshot(struct req *q, const struct vnode *n, const char *size)
{
	char *end, err[1024];
	unsigned long px = strtoul(size, &end, 10);
	if (!*size || *end || px < 1 || px > SCREEN_MAX_DIM) {
		snprintf(err, sizeof(err), "screenshot.png?size=%.32s: use a number of pixels from 1 "
			 "to %d", size, SCREEN_MAX_DIM);
		node_reject(q->w->v, n, "screenshot.png", err);
		web_fail(q, EINVAL, err);
		return;
	}
	int r = vm_screenshot(&q->w->v->m, n->obj, (unsigned)px, &q->out, err, sizeof(err));
	if (r) {
		node_reject(q->w->v, n, "screenshot.png", err);
		web_fail(q, -r, err);
		return;
	}
	q->status = MHD_HTTP_OK;
	q->type = "image/png";
}

