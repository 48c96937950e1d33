/* vmfs-shim: the tiny per-container process that holds a container's console and outlives
 * vmfs. vmfs starts it (detached: setsid, double fork, not vmfs's child) for each container
 * start; it sets the container up, runs its init as PID 1 of new namespaces, copies the
 * pty's output into a file and input from a socket into the pty, and records how init
 * ended. vmfs reads and writes only files in the run directory, so a restarted vmfs finds
 * everything where it was.
 *
 * Usage: vmfs-shim RUNDIR READYFD [OWNER] (OWNER: the prefix of the vmfs that started it)
 *
 * RUNDIR (state/ns/NS/containers/NAME/run/) holds, written by vmfs before the start:
 *   spec            key=value lines:
 *                     namespace=NS   name=NAME   hostname=H
 *                     rootfs=/abs/dir         (the image's root filesystem)
 *                     imagedir=/abs image=rel (optional: rootfs lies in the image store, and
 *                                             is opened as rel beneath imagedir by descriptor,
 *                                             no symlink followed; rootfs is then for words)
 *                     snapshot=true|false     (true: an overlayfs upper layer in RUNDIR)
 *                     init=/init arg...       (split at blanks; quotes as in ctl_split)
 *                     preinit=/abs/host/script (optional; run before init, see below)
 *                     memory=BYTES  cpus=N.N  pids=N   (0: no limit)
 *                     fifos=N                 (named pipes RUNDIR/fifo/0..N-1, shared)
 *                     volume=/host:/guest[:ro]  (zero or more lines)
 *                     netns=netns             (optional: a network namespace file, relative
 *                                             to RUNDIR, that vmfs made with the NICs in it;
 *                                             joined instead of a new one, unmounted at the end)
 *                     userns=UID:GID:COUNT    (optional: a user namespace mapping 0..COUNT-1 to
 *                                             host UID.. and GID..; an idmapped root)
 *                     usernsfile=userns       (with userns= and netns=: the user namespace,
 *                                             already mapped, that vmfs made and that owns
 *                                             netns; joined instead of a new one, unmounted
 *                                             at the end)
 * and written by the shim:
 *   shim.pid        "PID STARTTIME\n" of the shim (STARTTIME: field 22 of /proc/PID/stat)
 *   pid             "PID STARTTIME\n" of the container's init, in the host's PID namespace
 *                   (written before "ok" goes to READYFD)
 *   console.log     everything init and its children write to the console (append-only;
 *                   when it passes 1 MiB it is renamed console.log.1 and a new one begins)
 *   console.sock    a unix stream socket: bytes written to it are typed into the console
 *                   (any number of clients at once). Bound relative to RUNDIR, as its full
 *                   path may not fit sun_path: connect to /proc/self/fd/DIRFD/console.sock
 *   exit            when init has ended (or setup failed), one line:
 *                     "exited N" | "killed SIGNAME" | "oom" | "error: REASON"
 *                   written last: once it exists, root/ is unmounted and the cgroup gone
 *   upper/ work/ root/   the overlay (snapshot=true); root/ is the container's /, mounted
 *                   in the host's mount namespace while the container runs
 *   fifo/0 ...      the named pipes (also at /dev/fifo/N inside the container)
 *
 * READYFD is a pipe: the shim writes one line and closes it, "ok PID\n" once init is
 * exec'd (PID: init's host pid), or "error: REASON\n" if setup failed (REASON names the
 * real cause: the file that is missing, the mount that failed and its errno; it is
 * written after the cleanup, like exit). vmfs reads it with a timeout.
 *
 * Inside the container: PID, mount, UTS, IPC and network namespaces; / is root/ (or the
 * rootfs itself when snapshot=false) after pivot_root; /proc (with masked paths: those of
 * /proc/kcore, /proc/sysrq-trigger, /proc/timer_list, /proc/keys, /proc/latency_stats,
 * /proc/sched_debug, /proc/acpi, /proc/scsi that exist, and /proc/sys, /proc/irq,
 * /proc/bus read-only), /sys read-only, /dev a tmpfs with null zero full random urandom
 * tty console(=the pty) ptmx and devpts (plus shm, fd, stdin/stdout/stderr and fifo/N);
 * lo up, and (netns=) the NICs vmfs configured there, else no other interface; the
 * hostname; capabilities dropped to the set in shim_caps[] (docs/tree.md lists it); the
 * cgroup (runtime/cgroup.h) with the limits.
 * preinit runs with full privileges in the container's namespaces, before pivot_root,
 * with CONTAINER_ROOT set to the new root; a non-zero exit fails the start.
 *
 * The shim exits after init ends: it kills what is left in the cgroup, unmounts root/,
 * removes the cgroup, console.sock and pid, writes exit, removes shim.pid, and so leaves
 * exit, console.log and (snapshot=true) upper/ for vmfs. SIGTERM to the shim is passed
 * on to init. */
#ifndef VMFS_SHIM_H
#define VMFS_SHIM_H
#define SHIM_LOG_ROTATE (1u << 20)
#endif
