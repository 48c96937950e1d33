/* Moving unreadable state aside (damaged.h). A move, not a copy: it is a rename within the
 * state directory's file system, so it costs nothing however large the object (disk
 * overlays live in its directory) and cannot fail half-way. */
#include "runtime/damaged.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/util.h"

static void vnote(struct model *m, const char *fmt, va_list ap)
{
	char line[2048];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "vmfs: %s\n", line);
	sb_printf(&m->damage, "%s\n", line);
}

void damage_note(struct model *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vnote(m, fmt, ap);
	va_end(ap);
}

void damage_left(struct model *m, const char *fmt, ...)
{
	va_list ap;
	m->load_incomplete = true;
	va_start(ap, fmt);
	vnote(m, fmt, ap);
	va_end(ap);
}

/* A folder name that says what it held, in characters any shell and tool takes as they are. */
static void label_of(const char *what, char *out, size_t outlen)
{
	size_t i = 0;
	for (; what[i] && i + 1 < outlen && i < 160; i++) {
		char c = what[i];
		out[i] = c == '/' ? '-' : strchr("._-", c) || (c >= '0' && c <= '9') ||
					  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				     ? c
				     : '_';
	}
	out[i] = 0;
}

/* Makes damaged/STAMP-LABEL (or -2, -3 ... when that is taken) and opens it. */
static int entry_make(struct model *m, const char *what, char *entry, size_t entrylen)
{
	char stamp[32], label[200];
	fmt_time(m->started, stamp);
	label_of(what, label, sizeof(label));
	if (mkdirat(m->statefd, "damaged", 0700) < 0 && errno != EEXIST)
		return -errno;
	auto_close int dfd = openat(m->statefd, "damaged", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (int k = 1; k < 1000; k++) {
		if (k == 1)
			snprintf(entry, entrylen, "%s-%s", stamp, label);
		else
			snprintf(entry, entrylen, "%s-%s-%d", stamp, label, k);
		if (mkdirat(dfd, entry, 0700) == 0) {
			int fd = openat(dfd, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			return fd < 0 ? -errno : fd;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Undoes entry_make (after the entry's files, REASON at most, are gone or never were). */
static void entry_drop(struct model *m, const char *entry)
{
	auto_close int dfd = openat(m->statefd, "damaged", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char reason[300];
	snprintf(reason, sizeof(reason), "%s/REASON", entry);
	unlinkat(dfd, reason, 0);
	unlinkat(dfd, entry, AT_REMOVEDIR);
}

/* Makes an entry for what with a REASON of fmt: its descriptor, or -errno. */
static int __attribute__((format(printf, 5, 6)))
entry_with_reason(struct model *m, const char *what, char *entry, size_t entrylen,
		  const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	int efd = n < 0 ? -ENOMEM : entry_make(m, what, entry, entrylen);
	int r = efd < 0 ? efd : write_atomic(efd, "REASON", text, n, 1);
	free(n < 0 ? NULL : text);
	if (r && efd >= 0) {
		close(efd);
		entry_drop(m, entry);
	}
	return r ? r : efd;
}

int damaged_move(struct model *m, int dirfd, const char *name, const char *what,
		 const char *why, char *where, size_t wherelen)
{
	char entry[256], stamp[32], q[700], qbase[300];
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	int dirlen = (int)(strlen(what) - strlen(base)); /* "ns/lab/vms/" of "ns/lab/vms/w1" */
	char *parent = strndup(what, dirlen > 0 ? dirlen : 0);
	/* for the messages: a bad name may hold a newline */
	what = ctl_quote(what, strlen(what), q, sizeof(q));
	ctl_quote(base, strlen(base), qbase, sizeof(qbase));
	fmt_time(m->started, stamp);
	int efd = entry_with_reason(m, what, entry, sizeof(entry),
		  "%s was moved here by vmfs at %s because it cannot be read:\n%s\n\n"
		  "Nothing in it was changed. To have it back, stop vmfs, repair it and move %s "
		  "back to %s/%s.\n",
		  what, stamp, why, qbase, m->statedir, parent ? parent : "");
	free(parent);
	int r = efd < 0 ? efd : 0;
	if (!r && renameat(dirfd, name, efd, base) < 0)
		r = -errno;
	if (!r)
		fsync(efd); /* moved either way: a failed sync must not undo the REASON */
	if (efd >= 0)
		close(efd);
	if (r) {
		if (efd >= 0) /* no entry without the thing it is about */
			entry_drop(m, entry);
		damage_left(m, "error: damaged state %s, not loaded and left where it is (moving it "
			       "to damaged/ failed: %s): %s", what, strerror(-r), why);
		return r;
	}
	snprintf(where, wherelen, "damaged/%s", entry);
	damage_note(m, "error: damaged state %s moved aside to damaged/%s: %s", what, entry, why);
	return 0;
}

int damaged_keep(struct model *m, const char *what, const char *data, size_t len,
		 const char *why, char *where, size_t wherelen)
{
	char entry[256], stamp[32];
	const char *base = strrchr(what, '/') ? strrchr(what, '/') + 1 : what;
	fmt_time(m->started, stamp);
	int efd = entry_with_reason(m, what, entry, sizeof(entry),
		  "%s is kept here as it was by vmfs at %s, because values in it were refused:\n"
		  "%s\n\nvmfs uses their defaults and wrote the file again without them; the "
		  "rest of it is in use. To have a value back, set it again through the mount.\n",
		  what, stamp, why);
	int r = efd < 0 ? efd : write_atomic(efd, base, data, len, 1);
	if (efd >= 0)
		close(efd);
	if (r && efd >= 0)
		entry_drop(m, entry);
	if (r)
		return r;
	snprintf(where, wherelen, "damaged/%s", entry);
	struct sbuf one = {0}; /* host/log's note is one line */
	for (const char *p = why; *p; p++)
		*p == '\n' ? sb_puts(&one, "; ") : sb_add(&one, p, 1);
	damage_note(m, "error: state %s: values refused and set aside, the file as it was kept "
		       "in %s: %s", what, where, sb_err(&one) ? why : one.p);
	sb_free(&one);
	return 0;
}
