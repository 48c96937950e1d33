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
	struct vmfs *v;
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
	if (!node_lookup(l->v, l->dir, name, &n))
		node_getattr(l->v, &n, &full);
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
	struct listing l = {q->w->v, n, NULL, NULL, url};
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
	int r = node_readdir(q->w->v, n, 0, list_one, &l);
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

/* A table (a header line, then rows, tab-separated) as an array of objects; "key value"
 * lines as one object. */
static json_object *to_json(char *text)
{
	char *save = NULL, *first = strtok_r(text, "\n", &save);
	if (first && strchr(first, '\t')) {
		json_object *arr = json_object_new_array();
		char *keys[64];
		int nk = 0;
		char *ks = NULL;
		for (char *k = strtok_r(first, "\t", &ks); k && nk < 64; k = strtok_r(NULL, "\t", &ks))
			keys[nk++] = k;
		for (char *row = strtok_r(NULL, "\n", &save); row; row = strtok_r(NULL, "\n", &save)) {
			json_object *o = json_object_new_object();
			char *cell = row;
			for (int i = 0; i < nk && cell; i++) {
				char *tab = strchr(cell, '\t');
				if (tab)
					*tab = 0;
				json_object_object_add(o, keys[i], json_object_new_string(cell));
				cell = tab ? tab + 1 : NULL;
			}
			json_object_array_add(arr, o);
		}
		return arr;
	}
	json_object *o = json_object_new_object();
	for (char *l = first; l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		if (sp)
			*sp = 0;
		json_object_object_add(o, l, json_object_new_string(sp ? sp + 1 : ""));
	}
	return o;
}

void get_file(struct req *q, const struct vnode *n, const char *url, bool json)
{
	struct vmfs *v = q->w->v;
	struct vhandle *h;
	int r = node_open(v, n, O_RDONLY | O_NONBLOCK, &q->w->cred, &h);
	if (r) {
		web_fail(q, -r, NULL);
		return;
	}
	char buf[65536];
	off_t off = 0;
	ssize_t got;
	/* a console or a followed log answers what there is now (-EAGAIN: nothing more yet) */
	while ((got = node_read(v, h, buf, sizeof(buf), off)) > 0 && off + got <= (off_t)READ_MAX) {
		sb_add(&q->out, buf, got);
		off += got;
	}
	node_release(v, h);
	if (got > 0) { /* never a cut file that looks whole */
		snprintf(buf, sizeof(buf), "%s is larger than %u MiB: copy it through the mount",
			 url, READ_MAX >> 20);
		node_reject(v, n, url, buf);
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
		sb_add(&q->out, "", 1); /* a terminating NUL for the parser */
		json_object *o = to_json(q->out.p);
		q->out.len = 0;
		sb_puts(&q->out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		sb_puts(&q->out, "\n");
		json_object_put(o);
		q->type = "application/json";
	}
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

