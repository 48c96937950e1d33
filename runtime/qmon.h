/* The event monitor: one persistent QMP connection per running VM (run/events.sock, a
 * second -qmp of QEMU's), read from the event loop. VM state follows what QEMU reports
 * (STOP, RESUME, SHUTDOWN events, then query-status for the truth), not what vmfs last
 * asked for; disk figures for top come from query-blockstats sent on the same connection
 * once a second, so that reading top never waits for QEMU. */
#ifndef VMFS_QMON_H
#define VMFS_QMON_H
#include "runtime/model.h"

/* Connects to o's events.sock. Quietly does nothing for a QEMU started without one. */
int qmon_attach(struct model *m, struct object *o);
void qmon_detach(struct model *m, struct object *o);
/* Sends cmd (a JSON command without an id) on o's monitor, not waiting: its answer is
 * ignored. -ENOTCONN if o has no monitor ready. For a command that must not wait behind a
 * QMP session another thread holds on qmp.sock (migrate_cancel). */
int qmon_command(struct object *o, const char *cmd);
/* Once a second: asks each monitor for block stats (answered when they come). */
void qmon_sample(struct model *m, struct object *o);
#endif
