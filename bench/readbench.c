/* readbench — times reads the way a shell user does them (open, read to EOF, close), with
 * none of cat's or the shell's fork/exec cost in the figure.
 *
 *   readbench [-r RUNS] open-read N FILE   N x (open, read to EOF, close): ns per op
 *   readbench [-r RUNS] cat-all [FILE...]  each file once (paths from stdin, one a line,
 *                                          if none given): total ms and ns per file
 *   readbench [-r RUNS] cat-one FILE       one full read: ms of the first (cold) read and
 *                                          of the following (warm) ones, and bytes
 *
 * Every measurement is repeated RUNS times (default 5) and the median is printed, so one
 * unlucky scheduling hiccup does not decide the figure. The first number printed on the
 * line is the headline figure, for awk. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* open, read to EOF, close; returns the bytes read, exits on any error: a benchmark that
 * silently measures failing opens measures nothing. */
static size_t slurp(const char *path)
{
	size_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "readbench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "readbench: read %s: %s\n", path, strerror(errno));
			exit(1);
		}
		total += n;
	}
	close(fd);
	return total;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Times `runs` passes over paths[0..n) (one slurp each), returning the median pass in ns
 * and the bytes of the last pass in *bytes. */
static double time_passes(char **paths, long n, int runs, size_t *bytes)
{
	double t[runs];
	for (int r = 0; r < runs; r++) {
		double t0 = now_ns();
		*bytes = 0;
		for (long i = 0; i < n; i++)
			*bytes += slurp(paths[i]);
		t[r] = now_ns() - t0;
	}
	return median(t, runs);
}

/* Paths from stdin, one a line, for lists too long for argv. */
static char **read_paths(long *n)
{
	char **v = NULL, *line = NULL;
	size_t cap = 0, len = 0;
	ssize_t got;
	*n = 0;
	while ((got = getline(&line, &len, stdin)) > 0) {
		if (line[got - 1] == '\n')
			line[--got] = 0;
		if (!got)
			continue;
		if ((size_t)*n == cap && !(v = realloc(v, (cap = cap ? 2 * cap : 1024) * sizeof *v)))
			exit(1);
		if (!(v[(*n)++] = strdup(line)))
			exit(1);
	}
	free(line);
	return v;
}

static int usage(void)
{
	fprintf(stderr, "usage: readbench [-r RUNS] open-read N FILE | cat-all [FILE...] | "
			"cat-one FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	int runs = 5;
	size_t bytes;
	if (argc > 2 && !strcmp(argv[1], "-r")) {
		runs = atoi(argv[2]);
		argc -= 2, argv += 2;
	}
	if (argc < 2 || runs < 1 || runs > 1000)
		return usage();

	if (!strcmp(argv[1], "open-read") && argc == 4) {
		long n = atol(argv[2]);
		if (n < 1)
			return usage();
		/* One path repeated n times: the same loop as cat-all, so both figures mean
		 * the same thing. */
		char **paths = malloc(n * sizeof *paths);
		if (!paths)
			return 1;
		for (long i = 0; i < n; i++)
			paths[i] = argv[3];
		double ns = time_passes(paths, n, runs, &bytes);
		printf("%.0f ns/op  (median of %d runs of %ld; %zu bytes per read)\n", ns / n,
		       runs, n, bytes / n);
	} else if (!strcmp(argv[1], "cat-all")) {
		long n = argc - 2;
		char **paths = n ? argv + 2 : read_paths(&n);
		if (!n)
			return usage();
		double ns = time_passes(paths, n, runs, &bytes);
		printf("%.3f ms total  %.0f ns/file  (median of %d runs; %ld files, %zu bytes)\n",
		       ns / 1e6, ns / n, runs, n, bytes);
	} else if (!strcmp(argv[1], "cat-one") && argc == 3) {
		/* The first read is kept apart: it is the one that pays for lookups and for
		 * anything the server builds lazily. */
		double t0 = now_ns();
		size_t cold_bytes = slurp(argv[2]);
		double cold = now_ns() - t0;
		double warm = time_passes(argv + 2, 1, runs, &bytes);
		if (bytes != cold_bytes)
			fprintf(stderr, "readbench: %s: size changed: %zu then %zu bytes\n",
				argv[2], cold_bytes, bytes);
		printf("%.3f ms cold  %.3f ms warm  %zu bytes  (warm: median of %d)\n", cold / 1e6,
		       warm / 1e6, bytes, runs);
	} else {
		return usage();
	}
	return 0;
}
