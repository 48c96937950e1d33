/* A host's published figures (cluster/chload.h). */
#include "cluster/chload.h"

#include <stdio.h>

static uint64_t thousandths(double x, uint64_t hi)
{
	if (!(x > 0)) /* (NaN too) */
		return 0;
	double t = x * 1000 + 0.5; /* (rounded as printf rounds the local row's) */
	return t >= (double)hi ? hi : (uint64_t)t;
}

void chload_make(double cpu, double load1, uint64_t mem_used, time_t at, struct crec_hload *out)
{
	*out = (struct crec_hload){
	    .cpu = thousandths(cpu, 100000),
	    .load1 = thousandths(load1, 999999999999ull),
	    .mem_used = mem_used > (1ull << 50) ? 1ull << 50 : mem_used,
	    .at = at > 0 ? (uint64_t)at : 0,
	};
}

static uint64_t gap(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

bool chload_moved(const struct crec_hload *was, const struct crec_hload *now, uint64_t mem_total)
{
	uint64_t load_step = was->load1 / 10 > CHLOAD_LOAD_STEP ? was->load1 / 10 : CHLOAD_LOAD_STEP;
	uint64_t mem_step = mem_total / 100 > CHLOAD_MEM_STEP ? mem_total / 100 : CHLOAD_MEM_STEP;
	return gap(was->cpu, now->cpu) >= CHLOAD_CPU_STEP || gap(was->load1, now->load1) >= load_step ||
	       gap(was->mem_used, now->mem_used) >= mem_step;
}

bool chload_sane(const struct crec_hload *l, uint64_t mem_total, char *why, size_t whylen)
{
	if (mem_total && l->mem_used > mem_total) {
		snprintf(why, whylen, "mem-used %llu is more than the host's memory (%llu)",
			 (unsigned long long)l->mem_used, (unsigned long long)mem_total);
		return false;
	}
	return true;
}

void chload_cells(const struct crec_hload *l, char *out, size_t len)
{
	snprintf(out, len, "%.1f\t%.2f\t%lluM", l->cpu / 1000.0, l->load1 / 1000.0,
		 (unsigned long long)(l->mem_used >> 20));
}
