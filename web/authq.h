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
/* Checks pass against hash for tag, whose answer authq_take gives later. The workers start
 * at the first call (after vmfs has detached: no thread before the fork). 0 or -errno. */
int authq_ask(struct authq *q, void *tag, const char *pass, const char *hash);
/* The next answered tag, with crypt's verdict in *yes; NULL when none is left. */
void *authq_take(struct authq *q, bool *yes);
/* tag's request is gone: its job is dropped, or its answer never given. */
void authq_forget(struct authq *q, void *tag);
#endif
