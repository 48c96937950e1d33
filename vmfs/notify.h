#ifndef VMFS_NOTIFY_H
#define VMFS_NOTIFY_H
#include <stdbool.h>
#include <stdint.h>

struct fuse_session;
int notify_start(struct fuse_session *se);
/* Queues "parent/name is gone" for the kernel; never blocks the caller. */
void notify_inval(uint64_t parent, const char *name);
/* Sends what is queued, then ends the thread. */
void notify_stop(void);
#endif
