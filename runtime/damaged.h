/* State that vmfs cannot read is never deleted: it is moved aside, whole, into the state
 * directory's damaged/ folder with a REASON file, and the move is said in words. */
#ifndef VMFS_DAMAGED_H
#define VMFS_DAMAGED_H
#include "runtime/model.h"

/* Moves dirfd/name (a file or a directory, never followed) to
 * STATE/damaged/STAMP-LABEL/BASENAME, where LABEL is what ("ns/lab/vms/w1") with '/' as '-',
 * and writes why into REASON beside it. Adds a line to m->damage for host/log either way.
 * Returns 0 with where set to "damaged/STAMP-LABEL", or -errno (it was left in place). */
int damaged_move(struct model *m, int dirfd, const char *name, const char *what,
		 const char *why, char *where, size_t wherelen);
/* State that is read, but with values in it refused: the file's bytes (data, len) kept as
 * STATE/damaged/STAMP-LABEL/BASENAME (BASENAME: what's last name) with why in REASON, so that
 * the caller may write the file again without them. 0 with where set, or -errno (nothing
 * was kept: the caller must not write the file again). */
int damaged_keep(struct model *m, const char *what, const char *data, size_t len,
		 const char *why, char *where, size_t wherelen);
/* Adds a line to m->damage (written to host/log once it is open). */
void damage_note(struct model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, for state left where it is without being loaded: m->load_incomplete is set. */
void damage_left(struct model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
