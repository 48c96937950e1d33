/* bench/vms/vmbench: the timed parts of bench/vms/run, in C so that no fork or exec of a
 * shell tool lands inside a measurement. Linked against libvmfs.a for qmp_run, the same QMP
 * client vmfs uses, so the raw screendump goes through identical code up to the socket.
 *
 *   vmbench raw DIR QEMU ARGS...        spawn QEMU (cwd DIR, stderr DIR/qemu.log) as vmfs
 *                                       does (QEMU under -sandbox cannot daemonize: it is
 *                                       this process's child, given descriptor 3 for the
 *                                       monitor its command line names); connect DIR/qmp.sock, read the
 *                                       greeting, and the answer to qmp_capabilities (which
 *                                       QEMU's main loop gives once the machine is set up).
 *                                       prints: FORK_MS READY_MS CONNECT_RETRIES
 *   vmbench start CTL RUNDIR            write "start" to CTL (until close returns); connect
 *                                       RUNDIR/qmp.sock, greeting, qmp_capabilities answer.
 *                                       prints: RETURN_MS READY_MS CONNECT_RETRIES
 *   vmbench boot CTL CONSOLE NAME SECS  write "start" to CTL; poll CONSOLE (O_NONBLOCK, every
 *                                       20 ms) for "vmfs guest NAME is up".
 *                                       prints: RETURN_MS BANNER_MS
 *   vmbench all NSCTL VMSDIR PREFIX N SECS
 *                                       write "start all" to NSCTL; poll the consoles of
 *                                       PREFIX1..PREFIXN for their banners.
 *                                       prints: RETURN_MS LAST_BANNER_MS B1 ... BN
 *   vmbench shots PNG RUNDIR PPM N      N rounds, alternating which goes first, of: open, read
 *                                       to the end and close PNG (vmfs's screenshot.png); a QMP
 *                                       screendump to the absolute path PPM over RUNDIR/qmp.sock
 *                                       (connect, greeting, qmp_capabilities, screendump).
 *                                       prints per round: PNG_MS PNG_BYTES PPM_MS PPM_BYTES WxH
 *
 * Times are milliseconds from just before the first system call of the action. Any failure
 * prints a reason on stderr and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/qmp.h"
#include "runtime/vm.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "vmbench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* Reads fd into buf until want appears in what was read; what names the wait in a failure. */
static void read_until(int fd, char *buf, size_t size, const char *want, int timeout_ms,
		       const char *dir, const char *what)
{
	size_t len = 0;
	while (!memmem(buf, len, want, strlen(want))) {
		struct pollfd p = {fd, POLLIN, 0};
		if (len == size || poll(&p, 1, timeout_ms) <= 0)
			die("%s/qmp.sock: no %s within %d ms", dir, what, timeout_ms);
		ssize_t n = read(fd, buf + len, size - len);
		if (n <= 0)
			die("%s/qmp.sock: closed before %s", dir, what);
		len += n;
	}
}

/* Connects to DIR/qmp.sock (through /proc/self/fd: a run directory's path can be longer than
 * sun_path), reads the greeting, sends qmp_capabilities and reads its answer. A refused or
 * missing socket is retried every 1 ms for 5 s (*retries counts them: after a start that
 * has returned there should be none). */
static void greeting(const char *dir, int *retries)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die("%s: %s", dir, strerror(errno));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/qmp.sock", dfd);
	int fd = -1;
	*retries = 0;
	for (double end = now_ms() + 5000;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int e = errno;
		close(fd);
		if ((e != ECONNREFUSED && e != ENOENT) || now_ms() > end)
			die("connect %s/qmp.sock: %s", dir, strerror(e));
		++*retries;
		nap_ms(1);
	}
	char buf[4096];
	read_until(fd, buf, sizeof(buf), "\"QMP\"", 5000, dir, "greeting");
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	if (write(fd, caps, sizeof(caps) - 1) != sizeof(caps) - 1)
		die("%s/qmp.sock: write: %s", dir, strerror(errno));
	read_until(fd, buf, sizeof(buf), "\"return\"", 30000, dir, "the qmp_capabilities answer");
	close(fd);
	close(dfd);
}

/* Writes a command to a ctl file; the time counts until close has returned. */
static void ctl(const char *path, const char *cmd)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		die("%s: write failed: %s", path, strerror(errno));
	if (close(fd) < 0)
		die("%s: close: %s", path, strerror(errno));
}

static int cmd_raw(int argc, char **argv)
{
	if (argc < 4)
		die("usage: raw DIR QEMU ARGS...");
	const char *dir = argv[2];
	int retries;
	int sp[2]; /* vmfs's command line gives QEMU a QMP monitor on descriptor 3 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die("socketpair: %s", strerror(errno));
	uid_t uid;
	gid_t gid;
	char why[300];
	if (vm_user(&uid, &gid, why, sizeof(why))) /* as vmfs runs it: the user vmfs */
		die("%s", why);
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(127);
		int log = open("qemu.log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_RDWR);
		if (log < 0 || null < 0 || dup2(log, 2) < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    (sp[1] == 3 ? fcntl(3, F_SETFD, 0) : dup2(sp[1], 3)) < 0)
			_exit(127);
		close_range(4, ~0U, 0);
		if (vm_user_drop())
			_exit(127);
		execvp(argv[3], argv + 3);
		fprintf(stderr, "cannot run %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	double t1 = now_ms();
	char line[32];
	int n = snprintf(line, sizeof(line), "%d\n", (int)pid), pf;
	if ((pf = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY)) < 0 ||
	    write_atomic(pf, "qemu.pid", line, n, 0))
		die("%s/qemu.pid: cannot write it", dir);
	close(pf);
	greeting(dir, &retries);
	double t2 = now_ms();
	printf("%.3f %.3f %d\n", t1 - t0, t2 - t0, retries);
	return 0;
}

static int cmd_start(int argc, char **argv)
{
	if (argc != 4)
		die("usage: start CTL RUNDIR");
	int retries;
	double t0 = now_ms();
	ctl(argv[2], "start\n");
	double t1 = now_ms();
	greeting(argv[3], &retries);
	double t2 = now_ms();
	printf("%.3f %.3f %d\n", t1 - t0, t2 - t0, retries);
	return 0;
}

struct console {
	int fd;
	char *buf;
	size_t len, cap;
	double banner; /* ms from t0, or -1 */
	char needle[128];
};

/* Reads what is new on a console (non-blocking); 1 once the banner is there. */
static int console_poll(struct console *c, const char *path)
{
	for (;;) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				die("out of memory");
		}
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: read: %s", path, strerror(errno));
		if (n == 0)
			die("%s: end of file before the banner (did the VM end?)", path);
		c->len += n;
	}
	return memmem(c->buf, c->len, c->needle, strlen(c->needle)) != NULL;
}

static void console_open(struct console *c, const char *path, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->banner = -1;
	snprintf(c->needle, sizeof(c->needle), "vmfs guest %s is up", name);
	c->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->fd < 0)
		die("%s: %s", path, strerror(errno));
}

/* Polls every console every 20 ms until each has shown its banner; times from t0. */
static void banners(struct console *c, char **paths, int n, double t0, int secs)
{
	double end = t0 + secs * 1000.0;
	for (int left = n;;) {
		for (int i = 0; i < n; i++)
			if (c[i].banner < 0 && console_poll(&c[i], paths[i])) {
				c[i].banner = now_ms() - t0;
				left--;
			}
		if (!left)
			return;
		if (now_ms() > end) {
			for (int i = 0; i < n; i++)
				if (c[i].banner < 0)
					die("%s: no banner within %d s", paths[i], secs);
		}
		nap_ms(20);
	}
}

static int cmd_boot(int argc, char **argv)
{
	if (argc != 6)
		die("usage: boot CTL CONSOLE NAME SECS");
	struct console c;
	double t0 = now_ms();
	ctl(argv[2], "start\n");
	double t1 = now_ms();
	console_open(&c, argv[3], argv[4]);
	banners(&c, &argv[3], 1, t0, atoi(argv[5]));
	printf("%.3f %.3f\n", t1 - t0, c.banner);
	return 0;
}

static int cmd_all(int argc, char **argv)
{
	if (argc != 7)
		die("usage: all NSCTL VMSDIR PREFIX N SECS");
	int n = atoi(argv[5]);
	if (n < 1 || n > 1000)
		die("bad N %s", argv[5]);
	struct console *c = calloc(n, sizeof(*c));
	char **paths = calloc(n, sizeof(*paths));
	double t0 = now_ms();
	ctl(argv[2], "start all\n");
	double t1 = now_ms();
	for (int i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s%d", argv[4], i + 1);
		if (asprintf(&paths[i], "%s/%s/console", argv[3], name) < 0)
			die("out of memory");
		console_open(&c[i], paths[i], name);
	}
	banners(c, paths, n, t0, atoi(argv[6]));
	double last = 0;
	for (int i = 0; i < n; i++)
		last = c[i].banner > last ? c[i].banner : last;
	printf("%.3f %.3f", t1 - t0, last);
	for (int i = 0; i < n; i++)
		printf(" %.3f", c[i].banner);
	printf("\n");
	return 0;
}

/* open + read to the end + close; returns ms, *bytes the size read. */
static double read_all(const char *path, long *bytes)
{
	static char buf[1 << 16];
	double t0 = now_ms();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	ssize_t n;
	*bytes = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*bytes += n;
	if (n < 0)
		die("%s: read: %s", path, strerror(errno));
	close(fd);
	return now_ms() - t0;
}

static int cmd_shots(int argc, char **argv)
{
	if (argc != 6)
		die("usage: shots PNG RUNDIR PPM N");
	const char *png = argv[2], *ppm = argv[4];
	int n = atoi(argv[5]);
	int dfd = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die("%s: %s", argv[3], strerror(errno));
	if (ppm[0] != '/' || strpbrk(ppm, "\"\\"))
		die("%s: the dump's path must be absolute and plain", ppm);
	char cmd[4400], err[512];
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"%s\"}}",
		 ppm);
	for (int i = 0; i < n; i++) {
		double pms = 0, rms = 0;
		long pbytes = 0;
		struct stat sb;
		for (int k = 0; k < 2; k++) {
			if ((k == 0) == (i % 2 == 0)) {
				pms = read_all(png, &pbytes);
			} else {
				unlink(ppm);
				double t0 = now_ms();
				int r = qmp_run(dfd, cmd, 5000, NULL, 0, err, sizeof(err));
				rms = now_ms() - t0;
				if (r)
					die("screendump: %s", err);
			}
		}
		if (stat(ppm, &sb) < 0)
			die("%s: %s", ppm, strerror(errno));
		/* the PPM's header: P6 W H 255 */
		int w = 0, h = 0;
		FILE *f = fopen(ppm, "r");
		if (!f || fscanf(f, "P6 %d %d", &w, &h) != 2)
			die("%s: not a P6 PPM", ppm);
		fclose(f);
		printf("%.3f %ld %.3f %ld %dx%d\n", pms, pbytes, rms, (long)sb.st_size, w, h);
		fflush(stdout);
	}
	unlink(ppm);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "raw"))
		return cmd_raw(argc, argv);
	if (!strcmp(c, "start"))
		return cmd_start(argc, argv);
	if (!strcmp(c, "boot"))
		return cmd_boot(argc, argv);
	if (!strcmp(c, "all"))
		return cmd_all(argc, argv);
	if (!strcmp(c, "shots"))
		return cmd_shots(argc, argv);
	fprintf(stderr, "usage: vmbench raw|start|boot|all|shots ... (see the source)\n");
	return 2;
}
