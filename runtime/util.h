/* Small shared helpers: cleanup attributes (lxcfs memory_utils.h, crun utils.h), ownership
 * hand-over, and a growable string buffer for generated files. */
#ifndef VMFS_UTIL_H
#define VMFS_UTIL_H
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* The size of a path vmfs builds below a directory it was given (the state directory, the
 * image store: at most CONF_PATH_MAX bytes, conf/conf.h; a member's tree: PATH_MAX) from
 * names it has checked (a namespace's, an object's, a file's): more than PATH_MAX, so that
 * building one never cuts it; the kernel itself refuses one longer than PATH_MAX
 * (ENAMETOOLONG). Such a path with a suffix of its own gets BUILT_PATH_MAX + 100. */
#define BUILT_PATH_MAX 4200

static inline void free_p(void *p) { free(*(void **)p); }
static inline void close_p(int *fd)
{
	int e = errno; /* a cleanup must not clobber the errno being returned */
	if (*fd >= 0)
		close(*fd);
	errno = e;
}
static inline void fclose_p(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define auto_free __attribute__((cleanup(free_p)))
#define auto_close __attribute__((cleanup(close_p)))
#define auto_fclose __attribute__((cleanup(fclose_p)))

/* Returns the pointer and clears the source, so the cleanup above no longer frees it. */
#define take_ptr(p)                                                                                \
	({                                                                                         \
		__typeof__(p) take_tmp_ = (p);                                                     \
		(p) = NULL;                                                                        \
		take_tmp_;                                                                         \
	})
#define take_fd(fd)                                                                                \
	({                                                                                         \
		int take_tmp_ = (fd);                                                              \
		(fd) = -1;                                                                         \
		take_tmp_;                                                                         \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer. On allocation failure it sets oom and stops growing, so builders
 * can append freely and check once at the end (-ENOMEM inside a request, never abort). */
struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};
void sb_grow(struct sbuf *b, size_t need);
void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct sbuf *b);
/* 0, or -ENOMEM if any append failed. */
static inline int sb_err(const struct sbuf *b) { return b->oom ? -ENOMEM : 0; }

/* Writes data to dirfd/name atomically: name.tmp, fsync (when sync), rename. */
/* In v[0..n), pointers to structs holding a name at name_off sorted by it: where name is, or
 * would go (*found false). */
size_t name_pos(void *const *v, size_t n, size_t name_off, const char *name, bool *found);
int write_atomic(int dirfd, const char *name, const char *data, size_t len, int sync);
/* Reads a whole small file (at most max bytes) into a NUL-terminated malloc'd buffer. A
 * regular file only (-EISDIR, -EINVAL for a FIFO or device), never blocking on opening it;
 * links are followed (a certificate may be one): state files use read_state. */
int read_small(int dirfd, const char *name, size_t max, char **out, size_t *len);
/* "a FIFO", "a symbolic link", "a directory" ...: what st_mode says a file is, in words. */
const char *file_kind(mode_t mode);
/* Reads a state file strictly: a regular file only (never following a link, never blocking
 * on a FIFO or opening a device), of at most max bytes. On error, why says what is wrong
 * with it, in words, beginning with name. out is NUL-terminated; len counts any NUL inside. */
int read_state(int dirfd, const char *name, size_t max, char **out, size_t *len, char *why,
	       size_t whylen);
/* rm -rf below dirfd/name. */
int remove_tree(int dirfd, const char *name);
/* Seconds since the epoch as "2026-11-23T13:00:00Z". */
void fmt_time(time_t t, char out[32]);
/* "3d4h", "2h5m", "4m12s", "9s". */
void fmt_duration(long secs, char out[32]);
#endif
