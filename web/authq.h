/* Password checks away from the event loop: bcrypt at cost 12 takes a quarter of a second,
 * which on the loop would stall the mount and every other client. A request whose password
 * is not in the cache is parked; a worker thread runs crypt and the loop picks the answer up
 * on authq_fd, then resumes the request, which asks auth_check again with the answer. */
#ifndef VMFS_WEB_AUTHQ_H
#define VMFS_WEB_AUTHQ_H
#include <stdbool.h>

struct authq;

int authq_new(struct authq **out);
/* Stops the workers (after the check they run) and drops every job. */
void authq_free(struct authq *q);
/* Readable when answers wait for authq_take. */
int authq_fd(const struct authq *q);
#define AUTHQ_WHO_MAX 48
/* Checks of one client (who: its address) waiting or running at most: one address sending
 * wrong passwords by the thousand must not delay everyone else's. */
#define AUTHQ_PER_WHO 4
/* Checks pass against hash for tag, whose answer authq_take gives later; the next check run
 * is of the client with the fewest running. The workers start at the first call (after
 * vmfs has detached: no thread before the fork). 0, -EBUSY when who has AUTHQ_PER_WHO
 * pending already, or -errno. */
int authq_ask(struct authq *q, void *tag, const char *who, const char *pass, const char *hash);
/* The next answered tag, with crypt's verdict in *yes; NULL when none is left. */
void *authq_take(struct authq *q, bool *yes);
/* tag's request is gone: its job is dropped, or its answer never given. */
void authq_forget(struct authq *q, void *tag);
#endif
