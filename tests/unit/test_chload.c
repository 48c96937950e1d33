/* A host's published figures (cluster/chload.h): what is put, when they count as moved, what
 * another host refuses, and the cells it prints. */
#include <stdio.h>
#include <string.h>

#include "cluster/chload.h"
#include "tests/unit/tap.h"

#define GIB (1ull << 30)

int main(void)
{
	struct crec_hload a, b;
	char cells[96], why[256];
	chload_make(85.34, 16.319, 802ull << 20, 1765000000, &a);
	ok(a.cpu == 85340 && a.load1 == 16319 && a.mem_used == 802ull << 20 && a.at == 1765000000,
	   "figures in thousandths, memory in bytes, the time");
	chload_cells(&a, cells, sizeof(cells));
	is_str(cells, "85.3\t16.32\t802M", "printed as the local hosts/H/top prints them");
	chload_make(-1, 0.0 / 0.0, 1ull << 60, -5, &b);
	ok(!b.cpu && !b.load1 && b.mem_used == 1ull << 50 && !b.at,
	   "a negative, a NaN, too much: clamped into what the record takes");
	chload_make(250, 1e15, 0, 1, &b);
	ok(b.cpu == 100000 && b.load1 == 999999999999ull, "and at the top of their ranges");

	/* thresholds: cpu% by 5 points, load1 by a tenth (at least 0.25), memory by a hundredth
	 * of the host's (at least 16 MiB) */
	chload_make(10, 0.5, 4 * GIB, 1, &a);
	chload_make(14.9, 0.74, 4 * GIB + (100ull << 20), 6, &b);
	ok(!chload_moved(&a, &b, 16 * GIB), "small moves of each (and a later time): not put");
	chload_make(15, 0.5, 4 * GIB, 6, &b);
	ok(chload_moved(&a, &b, 16 * GIB), "cpu%% by 5 points: put");
	chload_make(10, 0.75, 4 * GIB, 6, &b);
	ok(chload_moved(&a, &b, 16 * GIB), "load1 by 0.25: put");
	chload_make(10, 16, GIB, 1, &a);
	chload_make(10, 17.5, GIB, 6, &b);
	ok(!chload_moved(&a, &b, 16 * GIB), "load1 16 to 17.5: less than a tenth, not put");
	chload_make(10, 17.6, GIB, 6, &b);
	ok(chload_moved(&a, &b, 16 * GIB), "to 17.6: put");
	chload_make(10, 16, GIB + (16ull << 20), 6, &b);
	ok(chload_moved(&a, &b, GIB), "memory by 16 MiB on a 1 GiB host: put");
	ok(!chload_moved(&a, &b, 16 * GIB), "on a 16 GiB host (a hundredth is 163 MiB): not put");
	ok(!chload_moved(&a, &a, 0), "the same figures: never put");

	ok(chload_sane(&a, 16 * GIB, why, sizeof(why)) && chload_sane(&a, 0, why, sizeof(why)),
	   "memory in use within the host's (or its memory not known): sane");
	chload_make(10, 1, 17 * GIB, 1, &b);
	ok(!chload_sane(&b, 16 * GIB, why, sizeof(why)) && strstr(why, "more than the host's memory"),
	   "more in use than the host has: refused, with words (%s)", why);
	return tap_done();
}
