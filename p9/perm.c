/* The kernel's permission checks for the 9P door's peer (p9/perm.h): generic_permission()
 * and setattr_prepare() as they stand for a FUSE mount with default_permissions. */
#include "p9/perm.h"

#include <errno.h>
#include <unistd.h>

#include "vmfs/node.h"

int p9_may(const struct who *w, const struct stat *st, int want)
{
	return who_may(w, st, want) ? 0 : -EACCES;
}

int p9_may_setattr(const struct who *w, const struct stat *st, const struct stat *attr, int which,
		   bool times_given, bool opened_for_write)
{
	bool root = w->uid == 0, owner = root || st->st_uid == w->uid;
	if ((which & NA_UID) && attr->st_uid != st->st_uid && !root)
		return -EPERM; /* giving a file away is CAP_CHOWN's */
	if ((which & NA_GID) && attr->st_gid != st->st_gid &&
	    !(root || (owner && who_in_group(w, attr->st_gid))))
		return -EPERM;
	if ((which & NA_MODE) && !owner)
		return -EPERM;
	if ((which & (NA_ATIME | NA_MTIME)) && !owner) {
		if (times_given)
			return -EPERM;
		if (!opened_for_write && p9_may(w, st, W_OK))
			return -EACCES;
	}
	if ((which & NA_SIZE) && !opened_for_write)
		return p9_may(w, st, W_OK);
	return 0;
}
