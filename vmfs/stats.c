/* Host load, sampled once a second from /proc/stat by the event loop's timer, so that
 * reading top answers at once (minimega's vm top makes every reader wait a second). */
#include <stdio.h>
#include <stdlib.h>

#include "vmfs/kinds.h"

struct hoststats {
	unsigned long long busy, total;
	double cpu; /* percent of all CPUs over the last interval */
};

struct hoststats *hoststats_new(void)
{
	struct hoststats *s = calloc(1, sizeof(*s));
	if (s)
		hoststats_sample(s);
	return s;
}

void hoststats_free(struct hoststats *s) { free(s); }

void hoststats_sample(struct hoststats *s)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return;
	unsigned long long u, n, sy, idle, io, irq, sirq, st;
	int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &sy, &idle, &io,
			 &irq, &sirq, &st);
	fclose(f);
	if (got != 8)
		return;
	unsigned long long busy = u + n + sy + irq + sirq + st, total = busy + idle + io;
	if (s->total && total > s->total)
		s->cpu = 100.0 * (busy - s->busy) / (total - s->total);
	s->busy = busy;
	s->total = total;
}

double hoststats_cpu(const struct hoststats *s) { return s->cpu; }
