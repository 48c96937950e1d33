/* Live migration of a running VM between two vmfs, the member side of the cluster's
 * `move NAME HOST` (docs/cluster-design.md, "Drain, move, live migration"): two ctl verbs
 * of a VM. The destination's `migrate-in ADDR` starts QEMU with -incoming defer -S, listens on
 * ADDR for the migration stream and serves each new overlay over NBD; the source's
 * `migrate-out ADDR:PORT nbd=ADDR:PORT2` mirrors its overlays there, migrates, and ends its
 * QEMU once QEMU says the migration completed. vmfs's own QMP commands: the user's qmp
 * filter (runtime/qmp_allow.c) is not involved. */
#ifndef VMFS_MIGRATE_H
#define VMFS_MIGRATE_H
#include <json-c/json.h>

#include "runtime/err.h"
#include "runtime/lifecycle.h"
#include "runtime/model.h"
#include "runtime/util.h"

/* ctl "migrate-in ADDR" of a BUILDING VM, in three steps. migrate_in checks it and marks it:
 * its next start (the caller's, lifecycle_do_many's V_START, in the background) is one to
 * receive; when QEMU is set up, runtime/qemu.c calls migrate_in_started, which has it listen
 * (a failure ends that QEMU: the start fails); the caller's migrate_in_answer, with the
 * start's outcome r, puts the ports in reply ("ok: migrate-in ready: migrate=ADDR:PORT
 * nbd=ADDR:PORT2"). The VM stays BUILDING until its QEMU runs the guest (then RUNNING), or
 * its QEMU ends (QUIT or ERROR). */
/* vmfs.conf migrate_ports, LO-HI (0-0: none): a destination listens on the first free ports
 * of it, for the stream and for NBD; with none on the kernel's ephemeral ones. */
void migrate_ports_set(unsigned lo, unsigned hi);
void migrate_ports(unsigned *lo, unsigned *hi);
int migrate_in(struct model *m, struct object *o, const char *addr, struct err *e);
int migrate_in_started(struct model *m, struct object *o, struct err *e);
void migrate_in_answer(struct object *o, int r, struct sbuf *reply);
/* o's start failed (lifecycle_fail): a migrate-in it was for is over. */
void migrate_in_failed(struct object *o);
/* ctl "migrate-out ADDR:PORT nbd=ADDR:PORT2" of a RUNNING VM: -EINPROGRESS once it has
 * begun (in the background; o->job_wq wakes when it has ended), or -errno with why in e. */
int migrate_out(struct model *m, struct object *o, const char *dest, const char *nbd,
		struct sbuf *reply, struct err *e);
/* A migrate-out's outcome, for the write that asked: -EINPROGRESS while it runs; 0 with
 * "ok: migrated: paused ..." in reply (o is QUIT, "moved to ADDR:PORT"), or -errno with why
 * (o runs on here); 1 if o has no outcome waiting. */
int migrate_out_result(struct object *o, struct sbuf *reply, char *err, size_t errlen);
/* Whether a migrate-out of o is under way. */
bool migrate_out_busy(const struct object *o);
/* o's migrate-out is to end before it completes (its move was aborted): QEMU is told to
 * cancel the migration (the outcome is then a failure, the guest running on here); nothing
 * if it completed already. */
void migrate_out_cancel(struct object *o, const char *why);
/* Whether o's migrate-out has completed (its QEMU, paused, is ended soon): the guest is the
 * destination's, whatever o's state says meanwhile. */
bool migrate_out_completed(const struct object *o);
/* o is removed or vmfs exits: a migrate-out under way is broken off (and its outcome
 * dropped); one that has completed still ends the source's QEMU. */
void migrate_out_stop(struct model *m, struct object *o);
/* Whether o's QEMU is to be started with -incoming defer -S (a migrate-in under way). */
bool migrate_incoming(const struct object *o);
/* Whether o's QEMU has been started to receive a migration (prepared; its end is noticed
 * like a running one's). */
bool migrate_in_receiving(const struct object *o);
/* Whether o's migrate-in has received the whole migration (QEMU said completed): its guest
 * is this host's to run, even before it does. o->job_wq wakes once it runs. */
bool migrate_in_completed(const struct object *o);
/* Whether o's incoming migration has data flowing or is done, by QEMU's query-migrate now (a
 * QMP call on the loop, bounded): 1 yes (its end is then QEMU's to decide, not a guess's),
 * 0 no (nothing came, or it failed), -1 QEMU did not say. */
int migrate_in_streaming(struct model *m, struct object *o);
/* While o receives a migration, every verb but kill and flush is refused: -EBUSY, why in e. */
int migrate_refuses(const struct object *o, enum verb v, struct err *e);
/* kill, flush or rmdir of an object receiving a migration: its QEMU ends, it is QUIT. */
void migrate_in_abort(struct model *m, struct object *o, const char *why);
/* An event from o's QEMU (runtime/qmon.c): the destination learns the end from them. */
void migrate_event(struct model *m, struct object *o, const char *name, json_object *msg);
/* QEMU's run state of o (runtime/qmon.c): a QEMU whose migration completed (postmigrate) or
 * that waits for one (inmigrate) with no migration of vmfs's under way is one a killed vmfs
 * left: it is ended, so that the VM never runs twice. */
void migrate_status(struct object *o, const char *status);
/* o's QEMU has ended (runtime/qemu.c's vm_check): a migration it received is over. */
void migrate_in_ended(struct model *m, struct object *o);
/* Parses "A.B.C.D:PORT" (IPv4, port 1-65535) into addr and port; -EINVAL with why in e. */
int migrate_parse_hostport(const char *s, char *addr, size_t addrlen, int *port, struct err *e);

/* Between runtime/migrate.c and runtime/migrate_out.c. */
/* The writable disks of query-block's answer as DEVICE=NODE (virtio0=#block123 ...),
 * space-separated in out; their number, or -errno with why in e. */
int migrate_disk_names(const char *query_block, char *out, size_t outlen, struct err *e);
/* Ends o's QEMU (SIGKILL) and records line as how it ended: o is QUIT (ERROR for a line
 * starting "error: "). */
void migrate_end_qemu(struct model *m, struct object *o, const char *line);
#endif
