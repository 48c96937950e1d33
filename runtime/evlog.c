/* Event logs: one line per event, appended to a file in the state directory with a single
 * write(2) on an O_APPEND descriptor, so a crash never leaves half a line and two writers
 * never interleave. Past LOG_ROTATE bytes the file moves to log.1 and a new one starts. */
#include "runtime/model.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_ROTATE (1u << 20)
/* An event's text is kept whole up to this (more than any reason, ERR_WHY_MAX): a line is
 * one write(2), and a reader takes a line at a time. */
#define LINE_TEXT_MAX (16u << 10)

static void evlog_rotate(struct evlog *l)
{
	char old[sizeof(l->path) + 2];
	snprintf(old, sizeof(old), "%s.1", l->path);
	if (renameat(l->dirfd, l->path, l->dirfd, old) == 0)
		l->size = 0;
}

uint64_t model_changes;

/* Every event line passes here, and what it says often quotes users (names, values, URLs,
 * commands): its control bytes are escaped (ctl_escape), so that no text can end the line
 * early, forge a line of its own or send escape codes to a terminal reading the log. */
static void evlog_vadd(struct evlog *l, const char *fmt, va_list ap)
{
	model_changes++;
	/* whole (a reason may quote two paths), on the heap; cut to fixed buffers only if
	 * memory ran out */
	char small[2048], fixed[4096], *text = NULL, *heap = NULL, *line = fixed;
	va_list again;
	va_copy(again, ap);
	if (vasprintf(&text, fmt, ap) < 0) {
		text = NULL;
		vsnprintf(small, sizeof(small), fmt, again);
	}
	va_end(again);
	const char *t = text ? text : small;
	size_t len = strlen(t), size = sizeof(fixed);
	size_t need = 32 + 4 * (len < LINE_TEXT_MAX ? len : LINE_TEXT_MAX) + 2;
	if (need > size && (heap = malloc(need))) {
		line = heap;
		size = need; /* past LINE_TEXT_MAX, ctl_escape marks the cut with "..." */
	}
	fmt_time(time(NULL), line);
	size_t n = strlen(line);
	line[n++] = ' ';
	n += ctl_escape(t, len, line + n, size - n - 1);
	line[n++] = '\n';
	free(text);
	if (l->size > LOG_ROTATE)
		evlog_rotate(l);
	int fd = openat(l->dirfd, l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ssize_t w = write(fd, line, n);
		struct stat st;
		l->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : l->size + (w > 0 ? w : 0);
		close(fd);
		waitq_wake_all(&l->wq);
	}
	free(heap);
}

void evlog_add(struct evlog *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	evlog_vadd(l, fmt, ap);
	va_end(ap);
}

ssize_t evlog_read(struct evlog *l, char *buf, size_t size, uint64_t off)
{
	if (off >= l->size)
		return 0;
	int fd = openat(l->dirfd, l->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ssize_t n = pread(fd, buf, size, off);
	int e = errno;
	close(fd);
	return n < 0 ? -e : n;
}

/* Loads the size of an existing log (after a restart, the log goes on where it was). */
void evlog_init(struct evlog *l, int dirfd, const char *path)
{
	struct stat st;
	l->dirfd = dirfd;
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->size = fstatat(dirfd, path, &st, 0) == 0 ? (uint64_t)st.st_size : 0;
	waitq_init(&l->wq);
}

void model_error(struct ns *ns, struct object *o, const char *what, const char *reason)
{
	if (o) {
		evlog_add(&o->log, "error: %s: %s", what, reason);
		free(o->error);
		o->error = strdup(reason);
	}
	if (ns) {
		if (o)
			evlog_add(&ns->log, "error: %s/%s: %s: %s", otype_dir(o->type), o->name,
				  what, reason);
		else
			evlog_add(&ns->log, "error: %s: %s", what, reason);
	}
}

void model_event(struct ns *ns, struct object *o, const char *fmt, ...)
{
	auto_free char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return; /* out of memory: evlog_add could not write it either */
	if (o)
		evlog_add(&o->log, "%s", text);
	if (ns) {
		if (o)
			evlog_add(&ns->log, "%s/%s: %s", otype_dir(o->type), o->name, text);
		else
			evlog_add(&ns->log, "%s", text);
	}
}
