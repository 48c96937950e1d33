/* The event loop: epoll over file descriptors, signals (signalfd) and periodic timers
 * (timerfd). A callback returning non-zero stops the loop. */
#ifndef VMFS_LOOP_H
#define VMFS_LOOP_H
#include <stdint.h>

struct loop;
typedef int (*loop_fn)(void *arg);
/* events: what epoll reported (EPOLLIN, EPOLLOUT, EPOLLHUP...) */
typedef int (*loop_io_fn)(void *arg, uint32_t events);

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* fd readable: fn(arg). */
int loop_add_fd(struct loop *l, int fd, loop_fn fn, void *arg);
/* fd ready for any of events (epoll's): fn(arg, what it is ready for). */
int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *arg);
/* What fd, added by loop_add_io, is watched for from now. */
int loop_mod_fd(struct loop *l, int fd, uint32_t events);
/* fd is no longer watched (before it is closed): safe from a callback, and events of it
 * already taken in the same round are not delivered. */
int loop_del_fd(struct loop *l, int fd);
/* SIGTERM, SIGINT, SIGHUP and SIGQUIT stop the loop cleanly; SIGPIPE is ignored. */
int loop_add_signals(struct loop *l);
int loop_add_timer(struct loop *l, unsigned ms, loop_fn fn, void *arg);
/* Runs until a callback stops it; returns 0 for a clean stop. */
int loop_run(struct loop *l);
/* One round: waits up to timeout_ms (-1: as long as it takes) and calls what is ready. The
 * events handled, -1 if a callback stopped the loop, -2 if epoll failed. */
int loop_poll(struct loop *l, int timeout_ms);
#endif
