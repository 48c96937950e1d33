/* What runs: the run directory of a VM or container (state/ns/NS/TYPE/NAME/run), watched
 * with inotify, and the per-second sampling and stop deadlines. Shared by the container
 * and (later) QEMU backends: both leave console.log, console.sock, pid and exit there. */
#ifndef VMFS_RUN_H
#define VMFS_RUN_H
#include "runtime/err.h"
#include "runtime/model.h"

/* Opens the inotify descriptor and re-adopts what still runs after a vmfs restart. */
int run_init(struct model *m);
/* runtime/adopt.c: finds every shim and QEMU of this vmfs in /proc (by the prefix and run
 * directory in its command line); each is adopted by its object (RUNNING with its pid) or
 * ended, with what it held cleaned and the decision in the object's log. Strays (no
 * object) are ended. */
void run_adopt_all(struct model *m);
/* runtime/adopt.c: the run directory a process works for, from its argv, if it is one of
 * the vmfs of statedir and prefix: "vmfs-shim RUNDIR FD PREFIX", or a QEMU with "-name
 * N,process=PREFIX-N" and its console log's fd set noted "opaque=RUNDIR/console.log" (or,
 * from a vmfs that ran QEMU as root, a console chardev's "logfile=RUNDIR/console.log"). */
bool run_cmdline_owner(const char *statedir, const char *prefix, char **argv, int argc,
		       bool *qemu, char *rundir, size_t len);
/* runtime/adopt.c: ends every process of ours working for rundir (a start given up). */
void run_end_procs(struct model *m, const char *rundir);
/* Records, synced (file and directories), that a process is about to be started in o's
 * run directory dfd, so that a vmfs killed at any instant knows to look for it. Cleared
 * once the start's outcome is saved in the state. */
int run_intent(struct model *m, struct object *o, int dfd);
void run_intent_clear(struct model *m, struct object *o);
/* Watches pid (the shim, or QEMU) through a pidfd in m->rtep: its end is seen at once.
 * pid must still have start time start, else it has ended: -ESRCH. */
int run_watch_pid(struct model *m, struct object *o, pid_t pid, unsigned long long start);
void run_unwatch_pid(struct model *m, struct object *o);
/* True if the watched process has ended (or none is watched). */
bool run_pid_ended(const struct object *o);
/* The process of o ended without recording how: what it held goes (a container's cgroup,
 * root and netns mounts), run/exit says "error: WHY", and o becomes ERROR. */
void run_lost(struct model *m, struct object *o, const char *why);
/* A container's leftovers: its cgroup's processes killed, root/, netns and userns unmounted,
 * the cgroup removed. 0, or -EBUSY with what stays in err. */
int run_ct_cleanup(const char *ns, const char *name, const char *rundir);
int run_ct_cleanup_obj(struct model *m, struct object *o);
/* How o ended before this vmfs started (run/exit), for info's exit line. */
void run_exit_text(struct model *m, struct object *o);
/* info's exit line for a failure: "error: WHY", cut with err.h's mark past its size. */
void run_exit_error(struct object *o, const char *why);
/* rmdir and flush: 0 once nothing of o is left outside its state directory (no process,
 * mount, cgroup), else -EBUSY with what stays. */
int run_gone(struct model *m, struct object *o, struct err *e);
void run_fini(struct model *m);
/* The event loop calls this when m->inotify is readable, and run_tick once a second. */
void run_events(struct model *m);
void run_tick(struct model *m);
/* ... and this when m->rtep is readable. */
void run_sources(struct model *m);

/* runtime/qemu.c: notices that a VM's QEMU ended (it has no shim to say so). */
void vm_check(struct model *m, struct object *o);
/* runtime/qemu.c: reconnects what a restarted vmfs finds of a running VM (monitor, VNC). */
void vm_adopt(struct model *m, struct object *o);
/* "STATEDIR/ns/NS/TYPE/NAME/run" */
void run_dir(const struct model *m, const struct object *o, char *out, size_t outlen);
/* Starts watching o's run directory (after the backend started it). */
int run_watch(struct model *m, struct object *o);
/* Reads run/exit if it is there and moves o to QUIT or ERROR; true if it did. */
bool run_reap(struct model *m, struct object *o);
/* Waits (bounded) until run/exit appears and reaps it. */
bool run_wait_exit(struct model *m, struct object *o, int ms);
/* Empties (never through a mount) and recreates o's run directory; returns its fd. */
int run_prepare(struct model *m, struct object *o);
/* Opens o's run directory; -errno. */
int run_open(struct model *m, struct object *o);
/* Writes "PID STARTTIME" to dirfd/file. */
int run_write_pid(int dirfd, const char *file, pid_t pid);
/* pid's start time (/proc/PID/stat field 22), 0 if it is gone or a zombie. */
unsigned long long proc_starttime(pid_t pid);
/* Reads "PID STARTTIME" from a run file; true if that process is alive and the same one. */
bool run_pid_alive(int dirfd, const char *file, pid_t *pid, unsigned long long *start);

/* The console: run/console.log read from *pos (scrollback, then live). Returns bytes,
 * -EAGAIN when there is nothing new yet and more may come, 0 at the end. */
ssize_t console_read(struct model *m, struct object *o, char *buf, size_t size, uint64_t *pos);
/* console.log: the same output as a file, read at an offset; its end is the end (no
 * waiting), so that another host can poll it through a network filesystem. */
ssize_t console_read_at(struct model *m, struct object *o, char *buf, size_t size, uint64_t off);
off_t console_size(struct model *m, struct object *o);
/* Types into run/console.sock; -EBUSY if nothing runs. */
ssize_t console_write(struct model *m, struct object *o, const char *buf, size_t size);
void console_close(struct model *m, struct object *o);
/* The last line with text in the console log, without terminal controls; "-" if none. */
void console_last_line(struct model *m, const struct object *o, char *out, size_t outlen);
#endif
