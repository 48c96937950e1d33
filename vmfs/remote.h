/* The files of members' objects in the head's tree (vmfs/remote.c). */
#ifndef VMFS_REMOTE_H
#define VMFS_REMOTE_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vmfs;
struct vnode;
struct vhandle;
struct waitq;

int remote_lookup(const struct vnode *dir, const char *name, struct vnode *out);
int remote_names(const struct vnode *dir, size_t from,
		 int (*fn)(void *ctx, const char *name, size_t idx), void *ctx);
/* A member's console (follow it like a local one). */
bool remote_is_console(const struct vnode *n);
/* The name of a member's object's file (config/ values: the parameter's), or NULL. */
const char *remote_file(const struct vnode *n);
int remote_open(struct vmfs *v, struct vhandle *h);
/* -EAGAIN until the member answered (park on remote_waitq). */
ssize_t remote_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off);
/* -EINPROGRESS: remote_write_resume gives the outcome once remote_waitq wakes. */
ssize_t remote_write(struct vmfs *v, struct vhandle *h, const char *buf, size_t size);
ssize_t remote_write_resume(struct vmfs *v, struct vhandle *h);
struct waitq *remote_waitq(struct vhandle *h);
void remote_release(struct vhandle *h);
#endif
