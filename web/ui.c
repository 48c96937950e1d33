/* /ui/: the browser pages, static files from one directory (web/ui and the npm packages
 * set-up installs in it). Each name is resolved beneath that directory by the kernel
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so neither "..", nor a symlink, nor an
 * absolute path can reach anything else. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "web/web_int.h"

int ui_open(struct web *w, const char *dir)
{
	w->ui_dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return w->ui_dfd < 0 ? -errno : 0;
}

static const char *ui_type(const char *path)
{
	static const char *const types[][2] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json"},
	    {".map", "application/json"},
	    {".png", "image/png"},
	    {".svg", "image/svg+xml"},
	    {".ico", "image/x-icon"},
	    {".woff", "font/woff"},
	    {".woff2", "font/woff2"},
	    {".ttf", "font/ttf"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

void ui_get(struct req *q, const char *path)
{
	char rel[PATH_MAX];
	if (q->w->ui_dfd < 0) {
		web_fail(q, ENOENT, "the browser pages (web/ui) are not installed: see web_ui in "
			 "vmfs.conf(5)");
		return;
	}
	/* "/ui" and "/ui/" are the index; path is what follows "/ui" */
	while (*path == '/')
		path++;
	snprintf(rel, sizeof(rel), "%s%s", path,
		 !*path || path[strlen(path) - 1] == '/' ? "index.html" : "");
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, q->w->ui_dfd, rel, &how, sizeof(how));
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = fd < 0 ? errno : EISDIR;
		if (fd >= 0)
			close(fd);
		char why[4200];
		snprintf(why, sizeof(why), "/ui/%s: %s", rel,
			 err == EXDEV || err == ELOOP ? "not a page of vmfs" : strerror(err));
		web_fail(q, err == EXDEV || err == ELOOP ? EACCES : err == EISDIR ? ENOENT : err,
			 why);
		return;
	}
	q->resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!q->resp) {
		close(fd);
		web_fail(q, ENOMEM, NULL);
		return;
	}
	MHD_add_response_header(q->resp, "Content-Type", ui_type(rel));
	/* a browser may keep them a minute: the npm packages weigh a few hundred KiB */
	MHD_add_response_header(q->resp, "Cache-Control", "max-age=60");
	q->status = MHD_HTTP_OK;
}
