/* The event loop: epoll over file descriptors, signals (signalfd) and periodic timers
 * (timerfd). A callback returning non-zero stops the loop. */
#ifndef VMFS_LOOP_H
#define VMFS_LOOP_H

struct loop;
typedef int (*loop_fn)(void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);
int loop_add_fd(struct loop *l, int fd, loop_fn fn, void *arg);
/* SIGTERM, SIGINT, SIGHUP and SIGQUIT stop the loop cleanly; SIGPIPE is ignored. */
int loop_add_signals(struct loop *l);
int loop_add_timer(struct loop *l, unsigned ms, loop_fn fn, void *arg);
/* Runs until a callback stops it; returns 0 for a clean stop. */
int loop_run(struct loop *l);
#endif
