/* A host's own figures of hosts/H/top (cpu%, load1, mem_used) as it publishes them in
 * P/h/H/load (docs/cluster-design.md, "Keys"), and as another host shows them. Pure code.
 *
 * Each host measures them every CPUB_TOP_S (cluster/cpub.c) and puts them only when one moved
 * beyond its threshold, so that an idle host writes nothing and others get no event: cpu% by 5
 * points, load1 by a tenth of itself (at least 0.25), mem_used by a hundredth of the host's
 * memory (at least 16 MiB). Figures that did not move that much are still true to within it:
 * their age says when they were measured. */
#ifndef VMFS_CLUSTER_CHLOAD_H
#define VMFS_CLUSTER_CHLOAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cluster/crec.h"

#define CHLOAD_CPU_STEP 5000	       /* thousandths of a point of cpu% */
#define CHLOAD_LOAD_STEP 250	       /* thousandths, or a tenth of load1 if more */
#define CHLOAD_MEM_STEP (16ull << 20) /* bytes, or a hundredth of memory if more */

/* The figures as measured now: cpu% (0..100), the 1-minute load, and the memory in use, at
 * time at. Out-of-range inputs (a negative, NaN) are clamped into what the record takes. */
void chload_make(double cpu, double load1, uint64_t mem_used, time_t at, struct crec_hload *out);

/* Whether now differs from was (published) enough to be put again; mem_total is the host's
 * memory in bytes. */
bool chload_moved(const struct crec_hload *was, const struct crec_hload *now, uint64_t mem_total);

/* Another host's record against its memory (mem_total, 0 if its info is not known): false with
 * why when it cannot be true (more memory in use than the host has). */
bool chload_sane(const struct crec_hload *l, uint64_t mem_total, char *why, size_t whylen);

/* "cpu%\tload1\tmem_used" as the local hosts/H/top prints them. */
void chload_cells(const struct crec_hload *l, char *out, size_t len);
#endif
