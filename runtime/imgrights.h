/* Whether a host user could reach a file of the image store by their own rights.
 *
 * vmfs opens a guest's images as root; in a namespace a user owns, that user names them. So
 * that naming an image is no way around its mode, a guest gets only what the user who names
 * it (when the value is written) and the namespace's owner (when the guest starts) could
 * open themselves through the mount: every directory on the way searchable, the file
 * readable (and writable when written). Modes only: vmfs shows no ACLs in images/. */
#ifndef VMFS_IMGRIGHTS_H
#define VMFS_IMGRIGHTS_H
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#define WHO_GROUPS_MAX 64

struct who {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[WHO_GROUPS_MAX];
};

/* uid with gid and, if uid has a passwd entry, its supplementary groups. */
void who_of(struct who *w, uid_t uid, gid_t gid);

/* Whether g is w's gid or one of its groups. */
bool who_in_group(const struct who *w, gid_t g);

/* Whether w may do want (R_OK, W_OK, X_OK bits) to a file of mode/owner st. */
bool who_may(const struct who *w, const struct stat *st, int want);

/* The file rel (relative to the store, no symlink on the way: a real path) walked from
 * storefd by descriptor: every directory searchable by w and the file itself allowing want,
 * and (if st is not NULL) the very inode st. 0, or -EACCES/-errno with why in words. */
int imgrights_walk(int storefd, const char *rel, const struct who *w, int want,
		   const struct stat *st, char *why, size_t whylen);

/* A name a user gave (relative to the store; its symlinks followed as the kernel follows
 * them through the mount, but never out of the store) checked for w as imgrights_walk does.
 * A name that does not exist passes (the start says so later). */
int imgrights_name(int storefd, const char *name, const struct who *w, int want, char *why,
		   size_t whylen);

#endif
