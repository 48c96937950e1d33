/* The QEMU backend. A start runs QEMU with -daemonize in the VM's run directory: QEMU
 * detaches by itself (a vmfs that dies takes no VM with it) and its parent exits only once
 * the machine is set up, so its exit status says whether the start worked and its stderr
 * (run/qemu.log) says why not. The serial console is a socket chardev (console.sock, for
 * input) with a log file (console.log: scrollback and live output), the same files a
 * container has; QMP (qmp.sock) carries pause, resume, powerdown and reset. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime/lifecycle.h"
#include "runtime/qmp.h"
#include "runtime/run.h"

#define STOP_GRACE 10      /* seconds from ACPI power-down to SIGKILL */
#define START_TIMEOUT 30000
#define QMP_TIMEOUT 5000
#define ARGV_MAX 96

/* KVM where it is there; everything else runs under TCG emulation. */
static const char *qemu_accel(const struct object *o)
{
	const char *a = obj_cfg(o, "accel");
	if (!strcmp(a, "auto"))
		return access("/dev/kvm", R_OK | W_OK) == 0 ? "kvm" : "tcg";
	return a;
}

struct argv {
	char *v[ARGV_MAX + 1];
	char store[16384];
	size_t n, used;
};

static void arg(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	if (a->n >= ARGV_MAX || a->used >= sizeof(a->store))
		return;
	va_start(ap, fmt);
	int n = vsnprintf(a->store + a->used, sizeof(a->store) - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || a->used + n + 1 > sizeof(a->store))
		return;
	a->v[a->n++] = a->store + a->used;
	a->used += n + 1;
}

/* The kernel command line: our console and name first, the user's append last (wins). */
static void kernel_args(struct model *m, struct object *o, struct argv *a, const char *accel)
{
	char append[2048] = "";
	if (!strstr(obj_cfg(o, "append"), "console="))
		strcat(append, "console=ttyS0 ");
	/* microvm has no HPET or PM timer: under TCG the TSC cannot be calibrated without this */
	if (!strcmp(obj_cfg(o, "machine"), "microvm") && !strcmp(accel, "tcg"))
		strcat(append, "tsc_early_khz=2600000 ");
	snprintf(append + strlen(append), sizeof(append) - strlen(append), "vmfs.name=%s %s",
		 o->name, obj_cfg(o, "append"));
	arg(a, "-append");
	arg(a, "%s", append);
}

static void boot_args(struct model *m, struct object *o, struct argv *a, const char *accel)
{
	char path[4200];
	const char *kernel = obj_cfg(o, "kernel"), *initrd = obj_cfg(o, "initrd");
	if (!*kernel && !*obj_cfg(o, "disk") && !*obj_cfg(o, "cdrom")) {
		kernel = "vmlinuz"; /* nothing to boot given: the default image ./setup builds */
		initrd = *initrd ? initrd : "initrd";
	}
	if (*kernel) {
		model_image_path(m, kernel, path, sizeof(path));
		arg(a, "-kernel");
		arg(a, "%s", path);
		if (*initrd) {
			model_image_path(m, initrd, path, sizeof(path));
			arg(a, "-initrd");
			arg(a, "%s", path);
		}
		kernel_args(m, o, a, accel);
	}
	char disks[4096];
	snprintf(disks, sizeof(disks), "%s", obj_cfg(o, "disk"));
	char *save = NULL;
	bool snap = !strcmp(obj_cfg(o, "snapshot"), "true");
	for (char *d = strtok_r(disks, " ", &save); d; d = strtok_r(NULL, " ", &save)) {
		char *opt = strchr(d, ',');
		if (opt)
			*opt++ = 0;
		model_image_path(m, d, path, sizeof(path));
		arg(a, "-drive");
		arg(a, "file=%s,if=%s%s", path, opt && *opt ? strtok(opt, ",") : "virtio",
		    snap ? ",snapshot=on" : "");
	}
	if (*obj_cfg(o, "cdrom")) {
		model_image_path(m, obj_cfg(o, "cdrom"), path, sizeof(path));
		arg(a, "-cdrom");
		arg(a, "%s", path);
	}
}

static void qemu_argv(struct model *m, struct object *o, struct argv *a)
{
	const char *accel = qemu_accel(o), *machine = obj_cfg(o, "machine");
	uint64_t mem = 0;
	char e[128];
	value_size(obj_cfg(o, "memory"), &mem, e, sizeof(e));
	arg(a, "%s", obj_cfg(o, "qemu"));
	arg(a, "-name");
	arg(a, "%s,process=vmfs-%s", o->name, o->name);
	arg(a, "-accel");
	arg(a, "%s", accel);
	arg(a, "-M");
	arg(a, "%s", machine);
	arg(a, "-cpu");
	arg(a, "%s", !strcmp(accel, "kvm") && !strcmp(obj_cfg(o, "cpu"), "max") ? "host" : obj_cfg(o, "cpu"));
	arg(a, "-m");
	arg(a, "%lluM", (unsigned long long)(mem >> 20));
	arg(a, "-smp");
	arg(a, "%s", obj_cfg(o, "vcpus"));
	const char *fixed[] = {"-nodefaults", "-no-user-config", "-display", "none", "-daemonize",
			       "-pidfile", "qemu.pid", "-qmp", "unix:qmp.sock,server=on,wait=off",
			       "-chardev",
			       "socket,id=ser0,path=console.sock,server=on,wait=off,"
			       "logfile=console.log,logappend=on",
			       "-serial", "chardev:ser0"};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		arg(a, "%s", fixed[i]);
	if (strcmp(obj_cfg(o, "vga"), "none") && strcmp(machine, "microvm")) {
		arg(a, "-vga");
		arg(a, "%s", obj_cfg(o, "vga"));
	}
	if (*obj_cfg(o, "uuid")) {
		arg(a, "-uuid");
		arg(a, "%s", obj_cfg(o, "uuid"));
	}
	boot_args(m, o, a, accel);
	char extra[4096];
	snprintf(extra, sizeof(extra), "%s", obj_cfg(o, "qemu-append"));
	char *save = NULL;
	for (char *w = strtok_r(extra, " ", &save); w; w = strtok_r(NULL, " ", &save))
		arg(a, "%s", w);
	a->v[a->n] = NULL;
}

/* QEMU's own last words, from its stderr (run/qemu.log), on one line. */
static void last_words(int dfd, char *out, size_t outlen)
{
	auto_free char *text = NULL;
	size_t len = 0;
	snprintf(out, outlen, "QEMU said nothing");
	if (read_small(dfd, "qemu.log", 1 << 20, &text, &len) < 0 || !len)
		return;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = 0;
	char *line = text;
	for (char *nl; (nl = strchr(line, '\n')) && nl[1];)
		line = nl + 1; /* the last line holds the reason */
	snprintf(out, outlen, "%s", line);
}

/* First half of a start: forks the QEMU that daemonizes itself. Returns a pidfd of the
 * parent QEMU, which exits once the machine is set up (0) or failed (1). */
static int vm_start_spawn(struct model *m, struct object *o, char *err, size_t errlen)
{
	struct argv *a = calloc(1, sizeof(*a));
	int dfd = run_prepare(m, o);
	if (!a || dfd < 0) {
		free(a);
		return lifecycle_fail(m, o, "cannot prepare the run directory", dfd < 0 ? dfd : -ENOMEM,
				 err, errlen);
	}
	qemu_argv(m, o, a);
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* vmfs blocks signals for its signalfd */
		int log = openat(dfd, "qemu.log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fchdir(dfd) < 0 || log < 0 || dup2(log, 2) < 0)
			_exit(127);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		close_range(3, ~0U, 0); /* above all not /dev/fuse */
		execvp(a->v[0], a->v);
		fprintf(stderr, "cannot run %s: %s\n", a->v[0], strerror(errno));
		_exit(127);
	}
	free(a);
	close(dfd);
	if (pid < 0)
		return lifecycle_fail(m, o, "cannot fork", -errno, err, errlen);
	int pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		int st;
		waitpid(pid, &st, 0); /* no pidfd: wait here */
		return lifecycle_fail(m, o, "pidfd_open failed", -errno, err, errlen);
	}
	o->rt.pid = pid; /* the parent QEMU, until it hands over */
	return pfd;
}

static int vm_start_finish(struct model *m, struct object *o, int pfd, char *err, size_t errlen)
{
	struct pollfd p = {pfd, POLLIN, 0};
	int st = -1;
	char why[600];
	if (poll(&p, 1, START_TIMEOUT) <= 0)
		kill(o->rt.pid, SIGKILL); /* a QEMU that hangs while setting up */
	waitpid(o->rt.pid, &st, 0);
	close(pfd);
	o->rt.pid = 0;
	int dfd = run_open(m, o);
	if (dfd < 0)
		return lifecycle_fail(m, o, "the run directory vanished", dfd, err, errlen);
	auto_free char *pidtext = NULL;
	int qpid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) ||
	    read_small(dfd, "qemu.pid", 64, &pidtext, NULL) < 0 || sscanf(pidtext, "%d", &qpid) != 1 ||
	    run_write_pid(dfd, "pid", qpid) < 0 ||
	    !run_pid_alive(dfd, "pid", &o->rt.pid, &o->rt.pid_start)) {
		last_words(dfd, why, sizeof(why));
		close(dfd);
		return lifecycle_fail(m, o, why, -EIO, err, errlen);
	}
	close(dfd);
	o->rt.started = time(NULL);
	o->rt.exit[0] = 0;
	o->rt.cpu_usec = 0;
	run_watch(m, o);
	lifecycle_set(m, o, ST_RUNNING, NULL);
	model_event(o->ns, o, "started (QEMU pid %d, %s)", (int)o->rt.pid, qemu_accel(o));
	return 0;
}

static int vm_start(struct model *m, struct object *o, char *err, size_t errlen)
{
	int pfd = vm_start_spawn(m, o, err, errlen);
	return pfd < 0 ? pfd : vm_start_finish(m, o, pfd, err, errlen);
}

static int vm_qmp(struct model *m, struct object *o, const char *cmd, char *err, size_t errlen)
{
	int dfd = run_open(m, o);
	if (dfd < 0)
		return dfd;
	int r = qmp_run(dfd, cmd, QMP_TIMEOUT, NULL, 0, err, errlen);
	close(dfd);
	return r;
}

static int vm_pause(struct model *m, struct object *o, char *err, size_t errlen)
{
	int r = vm_qmp(m, o, "{\"execute\":\"stop\"}", err, errlen);
	if (!r)
		lifecycle_set(m, o, ST_PAUSED, NULL);
	return r;
}

static int vm_resume(struct model *m, struct object *o, char *err, size_t errlen)
{
	int r = vm_qmp(m, o, "{\"execute\":\"cont\"}", err, errlen);
	if (!r)
		lifecycle_set(m, o, ST_RUNNING, NULL);
	return r;
}

static int vm_stop(struct model *m, struct object *o, char *err, size_t errlen)
{
	if (o->state == ST_PAUSED)
		vm_qmp(m, o, "{\"execute\":\"cont\"}", err, errlen); /* a paused guest cannot hear ACPI */
	int r = vm_qmp(m, o, "{\"execute\":\"system_powerdown\"}", err, errlen);
	if (r)
		return r;
	o->rt.stop_deadline = time(NULL) + STOP_GRACE;
	model_event(o->ns, o, "stop: ACPI power-down sent, SIGKILL in %d s", STOP_GRACE);
	return 0;
}

static int vm_restart(struct model *m, struct object *o, char *err, size_t errlen)
{
	int r = vm_qmp(m, o, "{\"execute\":\"system_reset\"}", err, errlen);
	if (!r && o->state == ST_PAUSED)
		r = vm_resume(m, o, err, errlen);
	if (!r)
		model_event(o->ns, o, "restart: reset");
	return r;
}

static int vm_kill_signal(struct model *m, struct object *o, char *err, size_t errlen)
{
	if (o->rt.pid <= 0 || kill(o->rt.pid, SIGKILL) < 0) {
		snprintf(err, errlen, "%s: QEMU (pid %d) is gone", o->name, (int)o->rt.pid);
		return -ESRCH;
	}
	return 0;
}

static int vm_kill_wait(struct model *m, struct object *o, char *err, size_t errlen)
{
	for (int i = 0; i < 300 && proc_starttime(o->rt.pid) == o->rt.pid_start; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (proc_starttime(o->rt.pid) == o->rt.pid_start) {
		snprintf(err, errlen, "%s: QEMU (pid %d) did not die", o->name, (int)o->rt.pid);
		return -ETIMEDOUT;
	}
	int dfd = run_open(m, o);
	if (dfd >= 0) {
		write_atomic(dfd, "exit", "killed KILL\n", 12, 0);
		close(dfd);
	}
	run_reap(m, o);
	return 0;
}

static int vm_kill(struct model *m, struct object *o, char *err, size_t errlen)
{
	int r = vm_kill_signal(m, o, err, errlen);
	return r ? r : vm_kill_wait(m, o, err, errlen);
}

/* QEMU is not our child and has no shim: its end is noticed once a second. A guest that
 * powered off leaves QEMU's log quiet; QEMU's own failure leaves its reason there. */
void vm_check(struct model *m, struct object *o)
{
	if (o->rt.pid <= 0 || proc_starttime(o->rt.pid) == o->rt.pid_start)
		return;
	int dfd = run_open(m, o);
	if (dfd < 0)
		return;
	char words[600], line[700];
	last_words(dfd, words, sizeof(words));
	if (!strcmp(words, "QEMU said nothing"))
		snprintf(line, sizeof(line), "powered off\n");
	else
		snprintf(line, sizeof(line), "error: QEMU ended: %s\n", words);
	write_atomic(dfd, "exit", line, strlen(line), 0);
	close(dfd);
	run_reap(m, o);
}

const struct backend qemu_backend = {
	.what = "QEMU VMs",
	.start = vm_start,
	.stop = vm_stop,
	.pause = vm_pause,
	.resume = vm_resume,
	.kill = vm_kill,
	.restart = vm_restart,
	.start_spawn = vm_start_spawn,
	.start_finish = vm_start_finish,
	.kill_signal = vm_kill_signal,
	.kill_wait = vm_kill_wait,
};
