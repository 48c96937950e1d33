/* The files of members' objects in the head's tree (vmfs/remote.c): their kind is fk_remote
 * (vmfs/fkind.h), their directories' children are named by kinds.h's remote_lookup. */
#ifndef VMFS_REMOTE_H
#define VMFS_REMOTE_H
#include <stdbool.h>

struct vnode;

/* A member's console (follow it like a local one). */
bool remote_is_console(const struct vnode *n);
#endif
