/* Which pending signals let a FUSE interrupt through (vmfs/sigpend.c). */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmfs/sigpend.h"

#define BIT(sig) ((uint64_t)1 << ((sig) - 1))

int main(void)
{
	uint64_t m = 1;
	const char *st = "Name:\tbash\nSigQ:\t0/95681\nSigPnd:\t0000000000000000\n"
			 "ShdPnd:\t0000000000010000\nSigBlk:\t0000000000010000\n";
	ok(sigpend_parse(st, &m) && m == BIT(SIGCHLD), "SigPnd and ShdPnd are read, in hex");
	ok(sigpend_parse("SigPnd:\t0000000000000002\n", &m) && m == BIT(SIGINT), "SigPnd alone");
	ok(!sigpend_parse("Name:\tx\nSigBlk:\t0000000000000002\n", &m), "neither line: false");
	ok(!sigpend_parse("SigPnd:\tzz\n", &m), "a value that is not hex: false");
	ok(!sigpend_parse("XSigPnd:\t1\n", &m), "a name only at the start of a line counts");

	ok(sigpend_only_ignorable(BIT(SIGCHLD)), "SIGCHLD alone: the write goes on");
	ok(sigpend_only_ignorable(BIT(SIGWINCH) | BIT(SIGCHLD)), "SIGWINCH and SIGCHLD: goes on");
	ok(sigpend_only_ignorable(BIT(SIGCONT)), "SIGCONT: goes on");
	ok(!sigpend_only_ignorable(BIT(SIGINT)), "SIGINT (Ctrl-C): let go");
	ok(!sigpend_only_ignorable(BIT(SIGCHLD) | BIT(SIGTERM)), "SIGCHLD with SIGTERM: let go");
	ok(!sigpend_only_ignorable(BIT(SIGTSTP)), "SIGTSTP (Ctrl-Z): let go");
	ok(!sigpend_only_ignorable(BIT(SIGRTMIN)), "a real-time signal: let go");
	ok(!sigpend_only_ignorable(0), "nothing pending: let go (the signal may be gone)");

	ok(sigpend_wants_out(0), "no tid: let go");
	/* a child that blocks SIGCHLD and has one pending, read through /proc like the door */
	int p[2];
	if (pipe(p))
		return 1;
	pid_t pid = fork();
	if (!pid) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGCHLD);
		sigaddset(&s, SIGINT);
		sigprocmask(SIG_BLOCK, &s, NULL);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	if (read(p[0], &c, 1) != 1)
		return 1;
	kill(pid, SIGCHLD);
	usleep(50000);
	ok(!sigpend_wants_out(pid), "a process with SIGCHLD pending is not let go");
	kill(pid, SIGINT);
	usleep(50000);
	ok(sigpend_wants_out(pid), "with SIGINT pending too, it is");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return tap_done();
}
