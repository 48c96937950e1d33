/* The password workers of the HTTP door (web/authq.h): at most AUTHQ_PER_WHO checks of one
 * client address pending, and the next check run is of the address with the fewest running,
 * so that one address's flood does not delay another client's login. */
#include <crypt.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "web/authq.h"

/* The tags of answers as they come, until n came or 10 s passed. */
static int answers(struct authq *q, void **order, bool *yes, int n)
{
	int got = 0;
	for (int waited = 0; got < n && waited < 100; waited++) {
		struct pollfd p = {authq_fd(q), POLLIN, 0};
		poll(&p, 1, 100);
		void *t;
		while (got < n && (t = authq_take(q, &yes[got])))
			order[got++] = t;
	}
	return got;
}

int main(void)
{
	char salt[64], cheap[128], slow[128];
	struct crypt_data d;
	memset(&d, 0, sizeof(d));
	/* a cost 4 hash of "right"; the same made cost 13 (its checksum then matches nothing,
	 * but checking it costs a cost 13 check: a few hundred ms) */
	crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt));
	snprintf(cheap, sizeof(cheap), "%s", crypt_rn("right", salt, &d, sizeof(d)));
	snprintf(slow, sizeof(slow), "$2b$13$%s", cheap + 7);
	ok(strlen(cheap) == 60, "a bcrypt hash to check against (%s)", cheap);

	struct authq *q;
	ok(authq_new(&q) == 0, "authq_new");
	int a[AUTHQ_PER_WHO + 1], b = 0, r = 0;
	for (int i = 0; i < AUTHQ_PER_WHO; i++)
		r |= authq_ask(q, &a[i], "10.0.0.1", "wrong", slow);
	ok(r == 0, "%d slow checks of 10.0.0.1 are taken", AUTHQ_PER_WHO);
	ok(authq_ask(q, &a[AUTHQ_PER_WHO], "10.0.0.1", "wrong", slow) == -EBUSY,
	   "one more of 10.0.0.1: -EBUSY");
	ok(authq_ask(q, &b, "10.0.0.2", "right", cheap) == 0, "10.0.0.2's check is taken");

	void *order[AUTHQ_PER_WHO + 1];
	bool yes[AUTHQ_PER_WHO + 1];
	int n = answers(q, order, yes, AUTHQ_PER_WHO + 1);
	ok(n == AUTHQ_PER_WHO + 1, "all answered (%d)", n);
	int at = -1;
	for (int i = 0; i < n; i++)
		if (order[i] == &b)
			at = i;
	/* two workers: 10.0.0.1's first two run, then 10.0.0.2's, before its third and fourth
	 * (in the order asked, it would come fifth) */
	ok(at >= 0 && at <= 2, "10.0.0.2's check ran as soon as a worker was free (answer %d)",
	   at + 1);
	ok(at >= 0 && yes[at], "... and its password matched");
	bool none = true;
	for (int i = 0; i < n; i++)
		if (order[i] != &b)
			none &= !yes[i];
	ok(none, "10.0.0.1's did not");
	ok(authq_ask(q, &a[0], "10.0.0.1", "right", cheap) == 0,
	   "once answered, 10.0.0.1 may ask again");
	n = answers(q, order, yes, 1);
	ok(n == 1 && order[0] == &a[0] && yes[0], "... and is answered");
	authq_free(q);
	return tap_done();
}
