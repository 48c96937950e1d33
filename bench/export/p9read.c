/* bench/export's timed loop, in C so that the client costs next to nothing on every side:
 * COUNT whole reads of one file as `cat` does them, after WARM untimed ones.
 *
 *   p9read p9 SOCKET[:ANAME] PATH COUNT [PID...]
 *                                          over one connection (p9/client.c): Twalk from
 *                                          the root, Tlopen, Tread to an empty one, Tclunk
 *                                          (ANAME: the tree to attach, diod's export)
 *   p9read fuse FILE COUNT [PID...]        open(2), read(2) of 128 KiB to the end, close(2)
 *
 * Prints "median_us M bytes B cpu_us C...": the median time of one read, the file's size, and
 * for each PID the CPU it spent per read during the timed reads alone (every thread's:
 * /proc/PID/task/TID/schedstat, in ns, where /proc/PID/stat counts in 10 ms ticks). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "p9/client.h"

#define WARM 3
#define CHUNK (128 * 1024)
/* 9P: as v9fs, msize less its 24-byte I/O header a Tread (diod refuses a count past it); the
 * msize asked is p9/client.c's largest */
#define MSIZE (64 * 1024)
#define P9_CHUNK (MSIZE - 24)

static char buf[CHUNK];

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The CPU time of every thread of pid, in ns; 0 if it is gone. */
static unsigned long long cpu_ns(const char *pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	DIR *d = opendir(path);
	unsigned long long sum = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char p[512];
		unsigned long long ns = 0;
		snprintf(p, sizeof(p), "/proc/%s/task/%s/schedstat", pid, e->d_name);
		FILE *f = fopen(p, "r");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return sum;
}

static long fuse_once(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	long e = n < 0 ? -errno : total;
	close(fd);
	return e;
}

static struct p9c *c;
static uint32_t root;

static long p9_once(const char *path)
{
	uint32_t f;
	int e = p9c_walk(c, root, path, &f);
	if (e)
		return e;
	long total = 0;
	ssize_t n = p9c_lopen(c, f, P9_OREAD);
	while (!n && (n = p9c_read(c, f, total, buf, P9_CHUNK)) > 0) {
		total += n;
		n = 0;
	}
	e = p9c_clunk(c, f);
	return n < 0 ? n : e ? e : total;
}

static int p9_open(char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *aname = strchr(sock, ':');
	if (aname)
		*aname++ = 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "p9read: %s: %s\n", sock, strerror(errno));
		return -1;
	}
	c = p9c_new(fd, fd);
	int e = c ? p9c_connect_aname(c, MSIZE, "root", aname ? aname : "", &root) : -ENOMEM;
	if (e) {
		fprintf(stderr, "p9read: %s: Tversion/Tattach: %s %s\n", sock, strerror(-e),
			c ? p9c_why(c) : "");
		return -1;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	bool p9 = argc >= 5 && !strcmp(argv[1], "p9");
	if (!p9 && !(argc >= 4 && !strcmp(argv[1], "fuse"))) {
		fprintf(stderr, "usage: p9read p9 SOCKET[:ANAME] PATH COUNT [PID...]\n"
				"       p9read fuse FILE COUNT [PID...]\n");
		return 2;
	}
	const char *path = argv[p9 ? 3 : 2];
	int count = atoi(argv[p9 ? 4 : 3]);
	char **pids = argv + (p9 ? 5 : 4);
	int npids = argc - (p9 ? 5 : 4);
	if (count < 1)
		return 2;
	if (p9 && p9_open(argv[2]))
		return 1;
	long (*once)(const char *) = p9 ? p9_once : fuse_once;
	long size = 0;
	for (int i = 0; i < WARM; i++)
		size = once(path);
	double *t = malloc(count * sizeof(*t));
	unsigned long long *cpu = calloc(npids + 1, sizeof(*cpu));
	if (!t || !cpu)
		return 1;
	for (int i = 0; i < npids; i++)
		cpu[i] = cpu_ns(pids[i]);
	for (int i = 0; i < count && size > 0; i++) {
		double t0 = now_us();
		size = once(path);
		t[i] = now_us() - t0;
	}
	for (int i = 0; i < npids; i++)
		cpu[i] = cpu_ns(pids[i]) - cpu[i];
	if (size <= 0) {
		fprintf(stderr, "p9read: %s: %s\n", path, size ? strerror(-size) : "read 0 bytes");
		return 1;
	}
	qsort(t, count, sizeof(*t), cmp);
	double med = count % 2 ? t[count / 2] : (t[count / 2 - 1] + t[count / 2]) / 2;
	printf("median_us %.1f bytes %ld cpu_us", med, size);
	for (int i = 0; i < npids; i++)
		printf(" %.1f", (double)cpu[i] / count / 1000);
	printf("\n");
	free(t);
	free(cpu);
	if (p9) {
		p9c_clunk(c, root);
		p9c_free(c);
	}
	return 0;
}
