/* The startup probe (userns.h): kept apart from the rest, which the statically linked shim
 * uses, because it looks the user up (getpwnam), which a static binary cannot do. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/userns.h"
#include "runtime/util.h"

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

static int max_userns(char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	const char *p = "/proc/sys/user/max_user_namespaces";
	if (read_small(AT_FDCWD, p, 64, &text, &len) < 0) {
		snprintf(err, errlen, "this kernel has no user namespaces (no %s)", p);
		return -ENOSYS;
	}
	long n = strtol(text, NULL, 10);
	free(text);
	if (n > 0)
		return 0;
	snprintf(err, errlen, "user namespaces are disabled (%s is 0)", p);
	return -EPERM;
}

void userns_probe(struct userns_host *u, const char *imagedir)
{
	char err[sizeof(u->why)];
	const struct passwd *pw = getpwnam(USERNS_USER);
	uid_t uid = pw ? pw->pw_uid : (uid_t)-1;
	memset(u, 0, sizeof(*u));
	u->r.count = USERNS_IDS;
	if (max_userns(u->why, sizeof(u->why)) ||
	    userns_subid_read(env_or("VMFS_SUBUID", "/etc/subuid"), USERNS_USER, uid, USERNS_IDS,
			      &u->r.uid, u->why, sizeof(u->why)) ||
	    userns_subid_read(env_or("VMFS_SUBGID", "/etc/subgid"), USERNS_USER, uid, USERNS_IDS,
			      &u->r.gid, u->why, sizeof(u->why)))
		return;
	int ns = userns_make(&u->r, NULL, u->why, sizeof(u->why));
	if (ns < 0)
		return;
	int fd = userns_idmapped_tree(AT_FDCWD, imagedir, ns, err, sizeof(err));
	close(ns);
	if (fd < 0) {
		snprintf(u->why, sizeof(u->why), "%s", err);
		return;
	}
	close(fd);
	u->ok = true;
	snprintf(u->why, sizeof(u->why), "idmapped mounts");
}
