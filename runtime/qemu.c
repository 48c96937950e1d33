/* The QEMU backend. A start runs QEMU as the host user vmfs (runtime/vmuser.c), in run/qemu,
 * under its seccomp sandbox
 * (-sandbox, which forbids QEMU any fork: no -daemonize, so vmfs detaches it) through a
 * small parent of ours that exits only once the machine is set up (QMP answers on a socket
 * pair) or QEMU died: its exit status says whether the start worked, QEMU's stderr (run/qemu.log) why not.
 * QEMU is that parent's child, so when it exits QEMU belongs to init: a vmfs that dies takes
 * no VM with it. The serial console is a socket chardev (console.sock, for
 * input) with a log file (console.log: scrollback and live output), the same files a
 * container has; QMP (qmp.sock) carries pause, resume, powerdown and reset. QEMU opens no
 * file by name outside run/qemu: vmfs opens each (images checked by runtime/backing.c, the
 * logs, listening sockets, taps) and passes the descriptor. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "runtime/backend.h"
#include "runtime/backing.h"
#include "runtime/lifecycle.h"
#include "runtime/migrate.h"
#include "runtime/net.h"
#include "runtime/netlink.h"
#include "runtime/qmon.h"
#include "runtime/qmp.h"
#include "runtime/run.h"
#include "runtime/vmpass.h"
#include "runtime/vm.h"

#define STOP_GRACE 10      /* seconds from ACPI power-down to SIGKILL */
#define START_TIMEOUT 30000
#define QMP_TIMEOUT 5000

/* KVM where a probe guest ran at startup (a /dev/kvm alone can hang QEMU); everything else
 * runs under TCG emulation. */
static const char *qemu_accel(const struct model *m, const struct object *o)
{
	const char *a = obj_cfg(o, "accel");
	if (!strcmp(a, "auto"))
		return m->kvm.verdict == KVM_WORKS ? "kvm" : "tcg";
	return a;
}

/* The kernel command line: our console and name first, the user's append last (wins). */
static void kernel_args(struct model *m, struct object *o, struct qargv *a, const char *accel)
{
	char append[2048] = "";
	if (!strstr(obj_cfg(o, "append"), "console="))
		strcat(append, "console=ttyS0 ");
	/* microvm has no HPET or PM timer: under TCG the TSC cannot be calibrated without this */
	if (!strcmp(obj_cfg(o, "machine"), "microvm") && !strcmp(accel, "tcg"))
		strcat(append, "tsc_early_khz=2600000 ");
	/* the default image's init configures eth0 from this (scripts/mkbootimg) */
	if (o->rt.nnics && *o->rt.nics[0].addr)
		snprintf(append + strlen(append), sizeof(append) - strlen(append), "vmfs.ip=%s ",
			 o->rt.nics[0].addr);
	snprintf(append + strlen(append), sizeof(append) - strlen(append), "vmfs.name=%s %s",
		 o->name, obj_cfg(o, "append"));
	qarg(a, "-append");
	qarg(a, "%s", append);
}

/* Why a kernel or initrd could not be handed to QEMU (r from qfd_readable); returns r. */
static int boot_refusal(const char *knob, int r, struct err *e)
{
	if (r == -EFBIG)
		return err_set(e, r, "%s: refused: QEMU's user cannot read it, and with the kernel "
			       "it is more than the %lld MiB vmfs copies into memory for a start "
			       "(make the kernel and initrd readable by QEMU's user)", knob,
			       (long long)(BOOT_COPY_MAX >> 20));
	if (r == -EINVAL)
		return err_set(e, r, "%s: refused: QEMU's user cannot read it, and it is not a "
			       "regular file vmfs could copy for it", knob);
	return err_sys(e, r, "%s: cannot pass it to QEMU", knob);
}

static int boot_args(struct model *m, struct object *o, struct qargv *a, struct qfds *q,
		     const struct vm_files *f, gid_t gid, const char *accel, struct err *e)
{
	if (f->kernel >= 0) {
		off_t left = BOOT_COPY_MAX;
		int k = qfd_readable(q, f->kernel, gid, &left);
		int i = k >= 0 && f->initrd >= 0 ? qfd_readable(q, f->initrd, gid, &left) : 0;
		if (k < 0 || i < 0)
			return boot_refusal(k < 0 ? "config/kernel" : "config/initrd", k < 0 ? k : i, e);
		qarg(a, "-kernel");
		qarg(a, "/proc/self/fd/%d", k);
		if (f->initrd >= 0) {
			qarg(a, "-initrd");
			qarg(a, "/proc/self/fd/%d", i);
		}
		kernel_args(m, o, a, accel);
	}
	static struct vm_disk d[VM_DISKS_MAX];
	int n = vm_disks(m, o, d, VM_DISKS_MAX), r = 0;
	for (int i = 0; i < n && i < f->ndisks && !r; i++) {
		char head[64];
		snprintf(head, sizeof(head), "if=%s%s%s", d[i].iface, d[i].cache ? ",cache=" : "",
			 d[i].cache ? d[i].cache : "");
		r = qarg_drive(a, q, &f->disk[i], head);
	}
	/* what -cdrom means */
	if (!r && f->cdrom.n)
		r = qarg_drive(a, q, &f->cdrom, "media=cdrom,index=2,readonly=on");
	return r ? err_sys(e, r, "cannot pass the disks to QEMU") : 0;
}

/* A tap per NIC, made and bridged by runtime/net.c before QEMU runs; opened here, as QEMU
 * may not attach to a tap itself (and so no other QEMU of that user can either). */
static int nic_args(struct object *o, struct qargv *a, struct qfds *q, struct err *e)
{
	/* the cloud kernel has virtio drivers only; microvm has no PCI bus */
	const char *def = strcmp(obj_cfg(o, "machine"), "microvm") ? "virtio-net-pci"
								   : "virtio-net-device";
	for (int i = 0; i < o->rt.nnics; i++) {
		const struct netnic *n = &o->rt.nics[i];
		int fd = nl_tap_open(n->dev, e);
		if (fd < 0)
			return fd;
		if ((fd = qfd_pass(q, fd, true)) < 0)
			return err_sys(e, EMFILE, "tap %s", n->dev);
		qarg(a, "-netdev");
		qarg(a, "tap,id=net%d,fd=%d", i, fd);
		qarg(a, "-device");
		qarg(a, "%s,netdev=net%d,mac=%s", *n->driver ? n->driver : def, i, n->mac);
	}
	return 0;
}

/* The command line, and the descriptors it names opened into q; 0 or -errno (why in e). */
static int qemu_argv(struct model *m, struct object *o, int dfd, const struct vm_files *f,
		     gid_t gid, struct qargv *a, struct qfds *q, struct err *e)
{
	const char *accel = qemu_accel(m, o), *machine = obj_cfg(o, "machine");
	uint64_t mem = 0;
	char bad[128]; /* checked on write */
	value_size(obj_cfg(o, "memory"), &mem, bad, sizeof(bad));
	qarg(a, "%s", obj_cfg(o, "qemu"));
	qarg(a, "-name");
	/* the prefix (and the run directory in the console's logfile) say whose it is, so
	 * that a restarted vmfs finds it in /proc */
	qarg(a, "%s,process=%s-%s", o->name, m->cgroup_top, o->name);
	qarg(a, "-accel");
	qarg(a, "%s", accel);
	qarg(a, "-M");
	qarg(a, "%s", machine);
	qarg(a, "-cpu");
	qarg(a, "%s", !strcmp(accel, "kvm") && !strcmp(obj_cfg(o, "cpu"), "max") ? "host" : obj_cfg(o, "cpu"));
	qarg(a, "-m");
	qarg(a, "%lluM", (unsigned long long)(mem >> 20));
	qarg(a, "-smp");
	qarg(a, "%s", obj_cfg(o, "vcpus"));
	/* spawn=deny: no process, and so no shell, from a guest that took QEMU over */
	const char *fixed[] = {"-nodefaults", "-no-user-config", "-display", "none", "-sandbox",
			       "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
			       "-chardev", "socket,id=ready,fd=" QEMU_READY_FD_STR, "-mon",
			       "chardev=ready,mode=control"};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		qarg(a, "%s", fixed[i]);
	char rundir[BUILT_PATH_MAX], esc[2 * BUILT_PATH_MAX], note[2 * BUILT_PATH_MAX + 100];
	run_dir(m, o, rundir, sizeof(rundir));
	size_t k = 0;
	for (const char *p = rundir; *p && k + 2 < sizeof(esc); p++) {
		esc[k++] = *p;
		if (*p == ',')
			esc[k++] = ','; /* QEMU's escape for a comma in a value */
	}
	esc[k] = 0;
	/* the console log's set notes its path: a restarted vmfs finds this QEMU by it */
	snprintf(note, sizeof(note), "%s/console.log", esc);
	int r = qarg_qmp(a, q, dfd, "qmp", "qmp.sock");
	if (!r)
		r = qarg_qmp(a, q, dfd, "events", "events.sock");
	if (!r)
		r = qarg_chardev(a, q, dfd, "ser0", "console.sock", "console.log", true, note);
	qarg(a, "-serial");
	qarg(a, "chardev:ser0");
	/* ports after the console: a socket and a log each in the run directory */
	long nserial = strtol(obj_cfg(o, "serial"), NULL, 10);
	for (long i = 1; i < nserial && !r; i++) {
		char id[32], sock[40], log[40];
		snprintf(id, sizeof(id), "ser%ld", i);
		snprintf(sock, sizeof(sock), "serial%ld.sock", i);
		snprintf(log, sizeof(log), "serial%ld.log", i);
		r = qarg_chardev(a, q, dfd, id, sock, log, false, NULL);
		qarg(a, "-serial");
		qarg(a, "chardev:ser%ld", i);
	}
	if (r)
		return err_sys(e, r, "cannot make QEMU's sockets and logs in its run directory");
	if (strcmp(obj_cfg(o, "vga"), "none") && strcmp(machine, "microvm")) {
		qarg(a, "-vga");
		qarg(a, "%s", obj_cfg(o, "vga"));
	}
	if (vm_has_display(o, NULL, 0)) {
		/* a socket in run/qemu, which only root (and QEMU's user) reaches; the web door
		 * passes viewers through to it */
		qarg(a, "-vnc");
		qarg(a, "unix:" VNC_SOCKET);
	}
	if (o->rt.vnc_display >= 0) {
		/* a port any local user reaches: it asks for the password only vnc shows */
		int sfd = openat(dfd, VNC_SECRET, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || (sfd = qfd_pass(q, sfd, true)) < 0)
			return err_set(e, EIO, "cannot pass the VNC password to QEMU");
		qarg(a, "-object");
		qarg(a, "secret,id=vncpw,file=/proc/self/fd/%d", sfd);
		qarg(a, "-vnc");
		qarg(a, "%s:%d,id=tcp,password-secret=vncpw", obj_cfg(o, "vnc-listen"),
		    o->rt.vnc_display);
	}
	if (*obj_cfg(o, "uuid")) {
		qarg(a, "-uuid");
		qarg(a, "%s", obj_cfg(o, "uuid"));
	}
	if ((r = boot_args(m, o, a, q, f, gid, accel, e)))
		return r;
	if ((r = nic_args(o, a, q, e)))
		return r;
	char extra[4096];
	snprintf(extra, sizeof(extra), "%s", obj_cfg(o, "qemu-append"));
	char *save = NULL;
	for (char *w = strtok_r(extra, " ", &save); w; w = strtok_r(NULL, " ", &save))
		qarg(a, "%s", w);
	if (migrate_incoming(o)) { /* the differences from the source's command line */
		qarg(a, "-incoming");
		qarg(a, "defer");
		qarg(a, "-S"); /* vmfs runs the guest (cont) once the NBD exports are gone */
	}
	a->v[a->n] = NULL;
	if (a->full)
		return err_set(e, E2BIG, "QEMU's command line is too long");
	return 0;
}

#define QEMU_SILENT "QEMU said nothing"

/* QEMU's own last words, from its stderr (run/qemu.log), on one line: in e (errno EIO), whole
 * unless past what a reason holds (then marked). */
static void last_words(int dfd, struct err *e)
{
	auto_free char *text = NULL;
	size_t len = 0;
	err_set(e, EIO, QEMU_SILENT);
	if (read_small(dfd, "qemu.log", 1 << 20, &text, &len) < 0 || !len)
		return;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = 0;
	char *line = text;
	for (char *nl; (nl = strchr(line, '\n')) && nl[1];)
		line = nl + 1; /* the last line holds the reason */
	err_set(e, EIO, "%s", line);
}

static bool port_free(const char *host, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, host, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool display_taken(struct model *m, int d)
{
	for (size_t i = 0; i < m->nns; i++)
		for (size_t j = 0; j < m->nss[i]->objs[OT_VM].n; j++)
			if (m->nss[i]->objs[OT_VM].v[j]->rt.vnc_display == d)
				return true;
	return false;
}

/* The TCP listener's password, new at each start: RFB's DES scheme uses 8 characters. */
static int vnc_secret(int rundfd, gid_t gid)
{
	static const char set[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char raw[8];
	char pw[9];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		pw[i] = set[raw[i] % (sizeof(set) - 1)];
	pw[8] = 0;
	int r = write_atomic(rundfd, VNC_SECRET, pw, 8, 0);
	/* QEMU reads it through its descriptor as its user: group-readable, in a run/ that only
	 * root reaches by name */
	if (!r && (fchownat(rundfd, VNC_SECRET, 0, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		   fchmodat(rundfd, VNC_SECRET, 0640, 0) < 0))
		r = -errno;
	return r;
}

int vm_vnc_password(struct model *m, struct object *o, char *pw, size_t pwlen)
{
	auto_free char *text = NULL;
	int dfd = run_open(m, o);
	if (dfd < 0)
		return dfd;
	int r = read_small(dfd, VNC_SECRET, 64, &text, NULL);
	close(dfd);
	if (!r)
		snprintf(pw, pwlen, "%s", text);
	return r;
}

/* For config/vnc-listen other than none: a VNC display whose port is free and that no
 * other VM (perhaps still starting, not yet listening) holds, and its password. */
static int vnc_pick(struct model *m, struct object *o, int rundfd, gid_t gid, struct err *e)
{
	struct in_addr ia;
	const char *host = obj_cfg(o, "vnc-listen");
	o->rt.vnc_display = -1;
	if (!strcmp(host, "none") || !vm_has_display(o, NULL, 0))
		return 0;
	if (inet_pton(AF_INET, host, &ia) != 1) /* checked on write (value_listen) */
		return err_set(e, EINVAL, "config/vnc-listen: %s is not an IPv4 address (or none)",
			       host);
	int r = vnc_secret(rundfd, gid);
	if (r)
		return err_sys(e, r, "cannot write the VNC password");
	for (int d = 0; d < VNC_DISPLAYS; d++)
		if (!display_taken(m, d) && port_free(host, VNC_PORT(d))) {
			o->rt.vnc_display = d;
			return 0;
		}
	return err_set(e, EADDRINUSE, "no free VNC port between %d and %d on %s", VNC_PORT(0),
		       VNC_PORT(VNC_DISPLAYS - 1), host);
}

/* run/qemu, QEMU's user's: its working directory. */
static int qemu_dir(int rundfd, uid_t uid, gid_t gid, struct err *e)
{
	int fd = mkdirat(rundfd, QEMU_DIR, 0700) < 0
			 ? -1
			 : openat(rundfd, QEMU_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, uid, gid) < 0) {
		int r = err_sys(e, errno, "cannot make run/%s for QEMU's user", QEMU_DIR);
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

/* QEMU's user, its directory, disks, VNC and NICs, before QEMU runs: what can fail here fails
 * with our words, not QEMU's. The files QEMU gets are open in f. */
static int vm_prepare(struct model *m, struct object *o, int rundfd, struct vm_files *f,
		      uid_t *uid, gid_t *gid, int *qdfd, struct err *e)
{
	vm_files_init(f);
	*qdfd = -1;
	int r = err_took(e, vm_user(uid, gid, e->why, sizeof(e->why)));
	if (!r && (*qdfd = qemu_dir(rundfd, *uid, *gid, e)) < 0)
		r = *qdfd;
	if (!r)
		r = vm_files_open(m, o, f, e);
	if (!r)
		r = vm_disks_prepare(m, o, f, e);
	if (!r)
		r = vm_files_overlays(m, o, f, e);
	if (!r)
		r = vnc_pick(m, o, rundfd, *gid, e);
	if (!r && (r = net_start(m, o, rundfd, e)))
		o->rt.vnc_display = -1; /* no QEMU will hold it */
	if (r) {
		vm_files_close(f);
		if (*qdfd >= 0)
			close(*qdfd);
		*qdfd = -1;
	}
	return r ? lifecycle_fail(m, o, e) : 0;
}

/* Reads from fd until a line that has want in it: 0, or -1 at the end (QEMU ended). */
static int qmp_line_with(int fd, const char *want)
{
	char buf[4096];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += n;
		buf[len] = 0;
		for (char *nl; (nl = strchr(buf, '\n'));) {
			*nl = 0;
			if (strstr(buf, want))
				return 0;
			len -= nl + 1 - buf;
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1)
			len = 0; /* a line longer than any QEMU sends before its answer */
	}
}

/* In the parent of QEMU: 0 once QMP answers a command on fd (QEMU_READY_FD), 1 if QEMU
 * ends first (the socket closes). The greeting alone would be too early: QMP lives in a
 * thread of its own that greets while the machine is still being set up, but commands run
 * in the main loop, which starts after. System calls only: this is a child of vmfs. */
static int qemu_wait_ready(int fd)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	return write(fd, caps, sizeof(caps) - 1) != sizeof(caps) - 1 ||
			       qmp_line_with(fd, "\"return\"")
		       ? 1
		       : 0;
}

/* First half of a start: forks the parent of QEMU. Returns its pidfd; it exits once the
 * machine is set up (0) or failed (1). */
static int vm_start_spawn(struct model *m, struct object *o, struct err *e)
{
	if (!strcmp(obj_cfg(o, "accel"), "kvm") && m->kvm.verdict != KVM_WORKS) {
		/* at once: QEMU on a broken KVM hangs until START_TIMEOUT, or runs a stuck guest */
		err_set(e, ENODEV, "accel kvm: %s; set config/accel to auto or tcg", m->kvm.why);
		return lifecycle_fail(m, o, e);
	}
	static struct vm_files files; /* one start at a time */
	static struct qfds q;
	struct qargv *a = calloc(1, sizeof(*a));
	int dfd = run_prepare(m, o), qdfd = -1;
	uid_t uid;
	gid_t gid;
	if (!a || dfd < 0) {
		free(a);
		err_set(e, dfd < 0 ? dfd : -ENOMEM, "cannot prepare the run directory");
		return lifecycle_fail(m, o, e);
	}
	/* the intent first: a kill -9 after the taps are made must leave a start for the
	 * restart to undo */
	int r = run_intent(m, o, dfd);
	if (r < 0) {
		err_set(e, r, "cannot record the start in the run directory");
		r = lifecycle_fail(m, o, e);
	}
	if (!r)
		r = vm_prepare(m, o, dfd, &files, &uid, &gid, &qdfd, e);
	if (!r && (r = qemu_argv(m, o, dfd, &files, gid, a, &q, e)) < 0) {
		net_stop(m, o);
		o->rt.vnc_display = -1;
		r = lifecycle_fail(m, o, e);
	}
	if (r) {
		if (qdfd >= 0) {
			vm_files_close(&files);
			qfds_close(&q);
			close(qdfd);
		}
		free(a);
		close(dfd);
		return r;
	}
	qfds_sort(&q);
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* vmfs blocks signals for its signalfd */
		int log = openat(dfd, "qemu.log", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
		if (fchdir(qdfd) < 0 || log < 0)
			_exit(127);
		setsid(); /* a session of its own: no signal to vmfs's group reaches the VM */
		int sp[2]; /* a QMP monitor of its own: no polling of a socket QEMU has yet to make */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			_exit(127);
		pid_t qp = fork();
		if (qp == 0) {
			int null = open("/dev/null", O_RDWR);
			if (dup2(log, 2) < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
			    (sp[1] == QEMU_READY_FD ? fcntl(QEMU_READY_FD, F_SETFD, 0)
					       : dup2(sp[1], QEMU_READY_FD)) < 0)
				_exit(127);
			qfds_keep_only(&q);
			int e = vm_user_drop();
			if (e) {
				fprintf(stderr, "cannot run QEMU as its user: %s\n", strerror(-e));
				_exit(127);
			}
			execvp(a->v[0], a->v);
			fprintf(stderr, "cannot run %s: %s\n", a->v[0], strerror(errno));
			_exit(127);
		}
		int ready = sp[0];
		close(sp[1]);
		if (qp > 0) { /* QEMU's pid, written by root in root's run/ (no -pidfile in run/qemu) */
			char line[32];
			int n = snprintf(line, sizeof(line), "%d\n", (int)qp);
			int pf = openat(dfd, "qemu.pid", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
			if (pf < 0 || write(pf, line, n) != n)
				_exit(1);
			close(pf);
		}
		/* it holds what vmfs held when it forked (the state directory's lock among them):
		 * when vmfs is killed meanwhile, a QEMU that never gets ready must not keep the next
		 * vmfs out. Past the start's own timeout it ends; the QEMU, if any, is adopted or
		 * ended by that next vmfs. */
		signal(SIGALRM, SIG_DFL);
		alarm(START_TIMEOUT / 1000 + 5);
		_exit(qp < 0 ? 127 : qemu_wait_ready(ready));
	}
	int fork_errno = errno;
	free(a);
	close(dfd);
	close(qdfd);
	vm_files_close(&files);
	qfds_close(&q);
	if (pid < 0) {
		err_set(e, fork_errno, "cannot fork");
		return lifecycle_fail(m, o, e);
	}
	int pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		int st, no = errno;
		waitpid(pid, &st, 0); /* no pidfd: wait here */
		err_set(e, no, "pidfd_open failed");
		return lifecycle_fail(m, o, e);
	}
	o->rt.pid = pid; /* the parent QEMU, until it hands over */
	return pfd;
}

static int vm_start_finish(struct model *m, struct object *o, int pfd, int timeout_ms,
			   struct err *e)
{
	struct pollfd p = {pfd, POLLIN, 0};
	int st = -1;
	if (poll(&p, 1, timeout_ms) <= 0)
		kill(o->rt.pid, SIGKILL); /* a QEMU that hangs while setting up */
	waitpid(o->rt.pid, &st, 0);
	close(pfd);
	o->rt.pid = 0;
	int dfd = run_open(m, o);
	if (dfd < 0) {
		err_set(e, dfd, "the run directory vanished");
		return lifecycle_fail(m, o, e);
	}
	auto_free char *pidtext = NULL;
	int qpid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) ||
	    read_small(dfd, "qemu.pid", 64, &pidtext, NULL) < 0 || sscanf(pidtext, "%d", &qpid) != 1 ||
	    run_write_pid(dfd, "pid", qpid) < 0 ||
	    !run_pid_alive(dfd, "pid", &o->rt.pid, &o->rt.pid_start)) {
		last_words(dfd, e);
		close(dfd);
		o->rt.vnc_display = -1;
		o->rt.pid = 0;
		char rundir[BUILT_PATH_MAX];
		run_dir(m, o, rundir, sizeof(rundir));
		run_end_procs(m, rundir); /* a QEMU that outlived its parent (timed out) */
		return lifecycle_fail(m, o, e);
	}
	o->rt.started = time(NULL);
	o->rt.exit[0] = 0;
	o->rt.cpu_usec = 0;
	o->rt.status[0] = o->rt.shutdown[0] = o->rt.accel[0] = 0;
	o->rt.disk_rd = o->rt.disk_wr = 0;
	o->rt.disk_rd_rate = o->rt.disk_wr_rate = o->rt.guest_cpu = 0;
	o->rt.disk_at = (struct timespec){0};
	if (o->rt.vnc_display >= 0) {
		char line[16];
		int n = snprintf(line, sizeof(line), "%d\n", o->rt.vnc_display);
		write_atomic(dfd, "vnc", line, n, 0);
	}
	close(dfd);
	run_watch(m, o);
	run_watch_pid(m, o, o->rt.pid, o->rt.pid_start);
	vm_adopt(m, o);
	if (migrate_incoming(o)) { /* it runs once the migration has come (runtime/migrate.c) */
		snprintf(o->rt.status, sizeof(o->rt.status), "inmigrate");
		model_event(o->ns, o, "started (QEMU pid %d, %s) to receive a migration",
			    (int)o->rt.pid, qemu_accel(m, o));
		return migrate_in_started(m, o, e);
	}
	/* QEMU answered from its main loop and was not told -S: it runs. Known now, a QEMU
	 * killed before its monitor's first answer is not taken for a guest's power-off. */
	snprintf(o->rt.status, sizeof(o->rt.status), "running");
	lifecycle_event(m, o, EV_READY, NULL);
	model_event(o->ns, o, "started (QEMU pid %d, %s)", (int)o->rt.pid, qemu_accel(m, o));
	return 0;
}

static int vm_qmp_reply(struct model *m, struct object *o, const char *cmd, char *reply,
			size_t replylen, struct err *e)
{
	int dfd = run_open(m, o);
	if (dfd < 0)
		return err_sys(e, dfd, "%s has no run directory", o->name);
	/* qmp.c is still on (err, errlen) */
	int r = err_took(e, qmp_run(dfd, cmd, QMP_TIMEOUT, reply, replylen, e->why,
				    sizeof(e->why)));
	close(dfd);
	return r;
}

int vm_qmp(struct model *m, struct object *o, const char *cmd, struct err *e)
{
	return vm_qmp_reply(m, o, cmd, NULL, 0, e);
}

static int vm_pause(struct model *m, struct object *o, struct err *e)
{
	return vm_qmp(m, o, "{\"execute\":\"stop\"}", e);
}

static int vm_resume(struct model *m, struct object *o, struct err *e)
{
	return vm_qmp(m, o, "{\"execute\":\"cont\"}", e);
}

static int vm_stop(struct model *m, struct object *o, struct err *e)
{
	if (o->state == ST_PAUSED)
		vm_qmp(m, o, "{\"execute\":\"cont\"}", e); /* a paused guest cannot hear ACPI */
	int r = vm_qmp(m, o, "{\"execute\":\"system_powerdown\"}", e);
	if (r)
		return r;
	o->rt.stop_deadline = time(NULL) + STOP_GRACE;
	model_event(o->ns, o, "stop: ACPI power-down sent, SIGKILL in %d s", STOP_GRACE);
	return 0;
}

static int vm_restart(struct model *m, struct object *o, struct err *e)
{
	int r = vm_qmp(m, o, "{\"execute\":\"system_reset\"}", e);
	if (!r && o->state == ST_PAUSED && !(r = vm_resume(m, o, e)))
		lifecycle_event(m, o, EV_RESUMED, NULL);
	if (!r)
		model_event(o->ns, o, "restart: reset");
	return r;
}

static int vm_kill_signal(struct model *m, struct object *o, struct err *e)
{
	if (o->rt.pid > 0 && proc_starttime(o->rt.pid) == o->rt.pid_start) {
		kill(o->rt.pid, SIGKILL);
		return 0;
	}
	qmon_detach(m, o); /* gone already: how it ended is recorded now, the kill succeeds */
	vm_check(m, o);
	return 0;
}

static int vm_kill_wait(struct model *m, struct object *o, struct err *e)
{
	if (o->state != ST_RUNNING && o->state != ST_PAUSED)
		return 0;
	for (int i = 0; i < 300 && proc_starttime(o->rt.pid) == o->rt.pid_start; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (proc_starttime(o->rt.pid) == o->rt.pid_start)
		return err_set(e, ETIMEDOUT, "%s: QEMU (pid %d) did not die", o->name, (int)o->rt.pid);
	int dfd = run_open(m, o);
	if (dfd >= 0) {
		write_atomic(dfd, "exit", "killed KILL\n", 12, 0);
		close(dfd);
	}
	run_reap(m, o);
	return 0;
}

/* QEMU is not our child and has no shim: its end is noticed by the event monitor's
 * hang-up, or once a second here. The SHUTDOWN event said why it ended; without one, a
 * quiet QEMU log means the guest powered off, and anything QEMU said is its reason. */
void vm_check(struct model *m, struct object *o)
{
	/* with a monitor, its hang-up decides, after the events QEMU sent before it ended */
	if (o->rt.pid <= 0 || o->rt.qmon || proc_starttime(o->rt.pid) == o->rt.pid_start)
		return;
	int dfd = run_open(m, o);
	if (dfd < 0)
		return;
	struct err words;
	struct sbuf said = {0};
	const char *why = o->rt.shutdown, *line;
	last_words(dfd, &words);
	bool silent = !strcmp(words.why, QEMU_SILENT);
	if (!strcmp(why, "guest-panic"))
		line = "error: the guest kernel panicked\n";
	else if (!strcmp(why, "guest-shutdown"))
		line = "powered off\n";
	else if (!*why && o->rt.killing)
		line = "killed KILL\n"; /* stop's grace period ran out */
	else if (!*why && silent && !*o->rt.status)
		line = "powered off\n"; /* a QEMU without our monitor */
	else if (!*why && silent)
		line = "error: QEMU ended without shutting down: killed by a signal, or it crashed\n";
	else if (!strcmp(why, "host-qmp-quit"))
		line = "quit (a QMP quit command)\n";
	else if (!strcmp(why, "host-signal"))
		line = "killed (QEMU got a signal)\n";
	else {
		sb_printf(&said, "error: QEMU ended: %s\n", words.why);
		line = sb_err(&said) ? "error: QEMU ended\n" : said.p;
	}
	write_atomic(dfd, "exit", line, strlen(line), 0);
	sb_free(&said);
	close(dfd);
	run_reap(m, o);
	migrate_in_ended(m, o);
}

void vm_adopt(struct model *m, struct object *o)
{
	auto_free char *text = NULL;
	int dfd = run_open(m, o);
	o->rt.vnc_display = -1;
	if (dfd >= 0 && read_small(dfd, "vnc", 64, &text, NULL) == 0)
		o->rt.vnc_display = atoi(text);
	if (dfd >= 0)
		close(dfd);
	qmon_attach(m, o);
}

bool vm_has_display(const struct object *o, char *why, size_t whylen)
{
	if (!strcmp(obj_cfg(o, "machine"), "microvm")) {
		snprintf(why, whylen, "%s has no display: machine microvm has no graphics adapter",
			 o->name);
		return false;
	}
	if (!strcmp(obj_cfg(o, "vga"), "none")) {
		snprintf(why, whylen, "%s has no display: config/vga is none", o->name);
		return false;
	}
	return true;
}

int vm_qmp_user(struct model *m, struct object *o, const char *cmd, struct sbuf *reply,
		char *err, size_t errlen)
{
	json_object *j = json_tokener_parse(cmd), *ex;
	bool good = j && json_object_is_type(j, json_type_object) &&
		    json_object_object_get_ex(j, "execute", &ex) &&
		    json_object_is_type(ex, json_type_string);
	json_object_put(j);
	if (!good) {
		snprintf(err, errlen, "not a QMP command: write one JSON object such as "
				      "{\"execute\":\"query-status\"}");
		return -EINVAL;
	}
	if (o->state != ST_RUNNING && o->state != ST_PAUSED) {
		snprintf(err, errlen, "no QMP: %s is not running (state %s)", o->name,
			 ostate_name(o->state));
		return -EBUSY;
	}
	if (migrate_out_busy(o)) { /* a cont now could run the guest on both hosts */
		snprintf(err, errlen, "no QMP: %s is migrating out", o->name);
		return -EBUSY;
	}
	static char out[1 << 20]; /* one command at a time; answers can be long */
	struct err e;
	err_clear(&e);
	int r = vm_qmp_reply(m, o, cmd, out, sizeof(out), &e);
	if (!r) {
		sb_puts(reply, out);
		sb_puts(reply, "\n");
	}
	return err_result(&e, r, err, errlen);
}

const struct backend qemu_backend = {
	.what = "QEMU VMs",
	.start_spawn = vm_start_spawn,
	.start_finish = vm_start_finish,
	.start_timeout_ms = START_TIMEOUT,
	.kill_signal = vm_kill_signal,
	.kill_wait = vm_kill_wait,
	.stop = vm_stop,
	.pause = vm_pause,
	.resume = vm_resume,
	.restart = vm_restart,
};
