#include "runtime/imgrights.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void who_of(struct who *w, uid_t uid, gid_t gid)
{
	struct passwd pw, *p = NULL;
	char buf[4096];
	w->uid = uid;
	w->gid = gid;
	w->ngroups = 0;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &p) || !p)
		return;
	int n = WHO_GROUPS_MAX;
	if (getgrouplist(p->pw_name, gid, w->groups, &n) < 0)
		n = WHO_GROUPS_MAX; /* more than fit: the first ones */
	w->ngroups = n;
}

bool who_in_group(const struct who *w, gid_t g)
{
	if (w->gid == g)
		return true;
	for (int i = 0; i < w->ngroups; i++)
		if (w->groups[i] == g)
			return true;
	return false;
}

bool who_may(const struct who *w, const struct stat *st, int want)
{
	if (!w->uid)
		return true;
	/* as the kernel: the owner's bits alone for the owner, the group's for a member */
	mode_t bits = st->st_uid == w->uid ? st->st_mode >> 6 : who_in_group(w, st->st_gid) ? st->st_mode >> 3
										     : st->st_mode;
	int have = (bits & 4 ? R_OK : 0) | (bits & 2 ? W_OK : 0) | (bits & 1 ? X_OK : 0);
	return (have & want) == want;
}

static const char *wants(int want)
{
	return want & W_OK ? "read and write" : want & X_OK ? "list" : "read";
}

int imgrights_walk(int storefd, const char *rel, const struct who *w, int want,
		   const struct stat *st, char *why, size_t whylen)
{
	char copy[PATH_MAX], *save = NULL;
	struct stat cur;
	if (snprintf(copy, sizeof(copy), "%s", rel) >= (int)sizeof(copy)) {
		snprintf(why, whylen, "the name is too long");
		return -ENAMETOOLONG;
	}
	int dir = dup(storefd); /* the store's root: everyone enters images/ in the mount */
	if (dir < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -errno;
	}
	int r = 0;
	char *name = strtok_r(copy, "/", &save);
	while (name) {
		char *next = strtok_r(NULL, "/", &save);
		int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &cur) < 0) {
			r = -errno;
			snprintf(why, whylen, "%s: %s", rel, strerror(errno));
			if (fd >= 0)
				close(fd);
			break;
		}
		close(dir);
		dir = fd;
		if (S_ISLNK(cur.st_mode) || (next && !S_ISDIR(cur.st_mode))) {
			r = S_ISLNK(cur.st_mode) ? -ELOOP : -ENOTDIR;
			snprintf(why, whylen, "%s: %s", rel, strerror(-r));
			break;
		}
		int need = next ? X_OK : want;
		if (!who_may(w, &cur, need)) {
			r = -EACCES;
			snprintf(why, whylen, "uid %d may not %s %s%s%s (owner %d:%d, mode %04o)",
				 (int)w->uid, next ? "enter" : wants(want), next ? "the folder " : "",
				 name, next ? " on the way" : "", (int)cur.st_uid, (int)cur.st_gid,
				 (unsigned)(cur.st_mode & 07777));
			break;
		}
		name = next;
	}
	if (!r && st && (cur.st_dev != st->st_dev || cur.st_ino != st->st_ino)) {
		r = -EACCES; /* renamed meanwhile: what was checked is not what will be opened */
		snprintf(why, whylen, "%s changed while it was checked", rel);
	}
	close(dir);
	return r;
}

/* The name opened with its symlinks resolved as if the store were /: O_PATH, or -errno. */
static int open_in_store(int storefd, const char *name)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, storefd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) /* before Linux 5.6: the real path is checked below */
		fd = openat(storefd, name, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

static int real_of(int fd, char *out, size_t outlen)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, outlen - 1);
	if (n < 0)
		return -errno;
	out[n] = 0;
	return 0;
}

int imgrights_name(int storefd, const char *name, const struct who *w, int want, char *why,
		   size_t whylen)
{
	if (!w->uid)
		return 0;
	while (*name == '/') /* a name is relative to the store; an absolute one is root's */
		name++;
	int fd = open_in_store(storefd, name);
	if (fd == -ENOENT)
		return 0;
	char store[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int r = fd < 0 ? fd : real_of(storefd, store, sizeof(store));
	if (!r)
		r = real_of(fd, real, sizeof(real));
	if (!r && fstat(fd, &st) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r) {
		snprintf(why, whylen, "%s: %s", name, strerror(-r));
		return r;
	}
	size_t l = strlen(store);
	if (strncmp(real, store, l) || (real[l] && real[l] != '/')) {
		snprintf(why, whylen, "%s leads out of images/", name);
		return -EACCES;
	}
	r = imgrights_walk(storefd, real + l, w, want, &st, why, whylen);
	if (r && strcmp(real + l + (real[l] == '/'), name)) {
		char was[512];
		snprintf(was, sizeof(was), "%s", why);
		snprintf(why, whylen, "%s is %s: %s", name, real + l + 1, was);
	}
	return r;
}
