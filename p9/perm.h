/* What the kernel checks for a user of the FUSE mount (mounted default_permissions) before it
 * asks vmfs anything, made by the 9P door for its peer: vmfs's node operations trust that a
 * caller got past these, so a door that acts as a user other than root must make them too.
 * Who the peer is to the mode bits is a struct who (runtime/imgrights.h). */
#ifndef VMFS_P9_PERM_H
#define VMFS_P9_PERM_H
#include <stdbool.h>
#include <sys/stat.h>

#include "runtime/imgrights.h"

/* May w do want (R_OK, W_OK, X_OK) to a file of st's owner and mode? 0 or -EACCES. */
int p9_may(const struct who *w, const struct stat *st, int want);
/* May w change st by setattr (which: NA_*; attr the new values; times_given: the times are
 * given, not now; opened_for_write: through a fid open for writing)? 0, -EPERM (an owner's
 * or root's change), -EACCES (a writer's). */
int p9_may_setattr(const struct who *w, const struct stat *st, const struct stat *attr, int which,
		   bool times_given, bool opened_for_write);
#endif
