/* cluster/cintent.c: which intents a host's recovery takes as its own. A launch (or move, or
 * migration) this vmfs began in its current run is under way, even when the publisher's first
 * pass comes after it (a launch waits only for the join): never recovered by its own host.
 * Its intents of earlier runs, and those it adopted, are. Another host's are not its own. */
#include "cluster/cintent.h"
#include "tests/unit/tap.h"

static bool takes(const char *self, uint64_t run, const char *thost, uint64_t trun,
		  const char *holder)
{
	struct ckey_tag t = {.run = trun, .seq = 1};
	snprintf(t.host, sizeof(t.host), "%s", thost);
	return cintent_own_stale(self, run, &t, holder);
}

int main(void)
{
	ok(!takes("h1", 7, "h1", 7, "h1"), "h1 in run 7: its own intent of run 7 is left alone");
	ok(takes("h1", 7, "h1", 6, "h1"), "h1 in run 7: its own intent of run 6 is recovered");
	ok(takes("h1", 7, "h1", 8, "h1"), "h1 in run 7: an intent of any other run number is "
	   "not this run's: recovered");
	ok(takes("h1", 7, "h9", 7, "h1"), "an intent h1 adopted from h9 (same run number) is "
	   "h1's to recover");
	ok(!takes("h1", 7, "h9", 3, "h9"), "h9's intent held by h9 is not h1's own");
	ok(!takes("h1", 7, "h1", 6, "h2"), "h1's intent of an earlier run, adopted by h2, is h2's");
	ok(!takes("h1", 7, "h10", 6, "h10"), "h10's is not h1's (names compared whole)");
	ok(takes("h1", 0, "h1", 1, "h1"), "run 0 against run 1: recovered");
	ok(!takes("h1", CKEY_RUN_MAX, "h1", CKEY_RUN_MAX, "h1"), "the greatest run: this run's "
	   "is left alone");
	return tap_done();
}
