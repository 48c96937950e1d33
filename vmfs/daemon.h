/* The daemon's wiring: the event loop, its timers, signals and the runtime's sources
 * (inotify, the runtime's epoll), and the doors' lifecycle. */
#ifndef VMFS_DAEMON_H
#define VMFS_DAEMON_H
#include <stddef.h>

#include "vmfs/door.h"
#include "vmfs/node.h"

/* Serves v through the doors (opened already, in this order) until SIGTERM, SIGINT, SIGHUP,
 * SIGQUIT or a door ends the loop (an unmount); then stops them in the same order, wakes
 * every waiting request and closes them. Returns the process exit code. */
int daemon_run(struct vmfs *v, struct door *doors, size_t n);
#endif
