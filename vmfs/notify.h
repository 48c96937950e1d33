#ifndef VMFS_NOTIFY_H
#define VMFS_NOTIFY_H
#include <stdbool.h>
#include <stdint.h>

struct fuse_session;
int notify_start(struct fuse_session *se);
/* Queues "parent/name is gone" for the kernel; never blocks the caller. */
void notify_inval(uint64_t parent, const char *name);
/* Waits until the kernel has been told of every name queued so far, at most max_ms: a
 * command that removed objects answers after that, so that the caller's next `ls` or
 * `test -e` no longer finds them. Bounded, because a process that holds the directory's lock
 * while it waits for vmfs would otherwise wait for ever (see the thread's comment). */
void notify_settle(int max_ms);
/* Sends what is queued, then ends the thread. */
void notify_stop(void);
#endif
