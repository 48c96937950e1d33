/* The event loop (vmfs/loop.c): a source removed from a callback is not called again, even
 * for an event of it already taken in the same round; io sources are told their events and
 * may change what they watch. */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmfs/loop.h"

static struct loop *L;
static int pipes[2][2], calls[2];

/* whichever is called first removes the other, whose event is in the same round */
static int remover(void *arg)
{
	int me = (int)(intptr_t)arg;
	calls[me]++;
	loop_del_fd(L, pipes[!me][0]);
	return 0;
}

static uint32_t seen;

static int io(void *arg, uint32_t events)
{
	(void)arg;
	seen |= events;
	return 0;
}

int main(void)
{
	L = loop_new();
	ok(L != NULL, "a loop");
	for (int i = 0; i < 2; i++)
		ok(pipe(pipes[i]) == 0 && write(pipes[i][1], "x", 1) == 1 &&
			   loop_add_fd(L, pipes[i][0], remover, (void *)(intptr_t)i) == 0,
		   "pipe %d readable, watched", i);
	int n = loop_poll(L, 0);
	ok(n == 2 && calls[0] + calls[1] == 1,
	   "two events in one round; the first removed the second: one call (%d, %d)", calls[0],
	   calls[1]);
	ok(loop_poll(L, 0) == 1 && calls[0] + calls[1] == 2,
	   "the next round: the one left, still readable, is called");
	int gone = calls[0] ? 1 : 0; /* the one removed */
	ok(loop_del_fd(L, pipes[gone][0]) == -ENOENT && loop_del_fd(L, pipes[!gone][0]) == 0,
	   "the removed one is not there to remove again; the other is removed");
	int p[2];
	ok(pipe(p) == 0 && loop_add_io(L, p[1], EPOLLOUT, io, NULL) == 0 && loop_poll(L, 0) == 1 &&
		   (seen & EPOLLOUT),
	   "an io source is told it may write (EPOLLOUT)");
	seen = 0;
	ok(loop_mod_fd(L, p[1], 0) == 0 && loop_poll(L, 0) == 0 && !seen,
	   "watching nothing, it is not called");
	ok(loop_del_fd(L, p[1]) == 0 && loop_mod_fd(L, p[1], EPOLLOUT) < 0,
	   "removed, it cannot be changed");
	loop_free(L);
	for (int i = 0; i < 2; i++)
		close(pipes[i][0]), close(pipes[i][1]);
	close(p[0]);
	close(p[1]);
	return tap_done();
}
