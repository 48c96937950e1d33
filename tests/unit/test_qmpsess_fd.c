/* runtime/qmpsess.c's qsess_cmd_fd: the command and its newline go in one message that
 * carries the descriptor (SCM_RIGHTS), as QEMU's getfd takes it; the answer is waited for as
 * for any command, events before it going to the session's callback. A socketpair stands in
 * for QEMU's monitor. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/qmpsess.h"
#include "tests/unit/tap.h"

static int events;
static void on_event(void *ctx, const char *name, json_object *data, long long usec)
{
	(void)ctx, (void)data;
	events += !strcmp(name, "STOP") && usec == 5000007;
}

/* What the monitor's end received: the bytes into buf, a passed descriptor (or -1). */
static ssize_t take(int fd, char *buf, size_t len, int *passed)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {buf, len - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b)};
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = 0;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	*passed = -1;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(passed, CMSG_DATA(c), sizeof(int));
	return n;
}

int main(void)
{
	int sv[2];
	struct qsess s = {.event = on_event};
	struct err e;
	char buf[256], reply[64];
	int passed;
	ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "a socketpair");
	s.fd = sv[0];

	int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	const char *answer = "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 5, \"microseconds\": 7}}\n"
			     "{\"return\": {}}\n";
	ok(write(sv[1], answer, strlen(answer)) == (ssize_t)strlen(answer), "the answer is waiting");
	err_clear(&e);
	ok(qsess_cmd_fd(&s, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"x\"}}", nfd, 1000,
			reply, sizeof(reply), &e) == 0,
	   "a command with a descriptor is answered");
	is_str(reply, "{}", "its answer");
	ok(events == 1, "the event before the answer went to the callback, with its time");
	ok(take(sv[1], buf, sizeof(buf), &passed) > 0, "the monitor got the command");
	is_str(buf, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"x\"}}\n",
	       "the command and its newline, in one message");
	struct stat a, b;
	ok(passed >= 0 && fstat(passed, &a) == 0 && fstat(nfd, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev,
	   "with the descriptor, the same file");
	if (passed >= 0)
		close(passed);

	answer = "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\n";
	ok(write(sv[1], answer, strlen(answer)) == (ssize_t)strlen(answer), "an error waits");
	err_clear(&e);
	ok(qsess_cmd(&s, "{\"execute\":\"cont\"}", 1000, NULL, 0, &e) == -EIO,
	   "a command without one: QEMU's error is -EIO");
	is_str(e.why, "QEMU: GenericError: no", "with QEMU's words");
	ok(take(sv[1], buf, sizeof(buf), &passed) > 0 && passed == -1, "and no descriptor went");
	is_str(buf, "{\"execute\":\"cont\"}\n", "the command as sent");

	err_clear(&e);
	ok(qsess_cmd(&s, "{\"execute\":\"cont\"}", 50, NULL, 0, &e) == -ETIMEDOUT,
	   "no answer: -ETIMEDOUT");
	close(sv[1]);
	err_clear(&e);
	ok(qsess_cmd_fd(&s, "{\"execute\":\"cont\"}", nfd, 1000, NULL, 0, &e) < 0,
	   "the monitor gone: an error, not a hang");
	close(nfd);
	qsess_close(&s);
	return tap_done();
}
