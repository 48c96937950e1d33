/* runtime/userns.c: the subordinate id files, read strictly; the namespaces it makes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/userns.h"
#include "tests/unit/tap.h"

/* want >= 0: found there; else the error (-errno) and a piece of its message. */
static void find(const char *text, uid_t uid, long long want, int want_rc, const char *msg,
		 const char *what)
{
	char err[256] = "";
	uint32_t start = 0;
	int r =
	    userns_subid_find("/etc/subuid", text, "vmfs", uid, 65536, &start, err, sizeof(err));
	if (want >= 0) {
		ok(r == 0 && start == want, "%s: range at %lld", what, want);
		if (r)
			printf("#   rc %d: %s\n", r, err);
	} else {
		ok(r == want_rc && strstr(err, msg), "%s: refused (%s)", what, msg);
		if (r != want_rc || !strstr(err, msg))
			printf("#   rc %d: %s\n", r, err);
	}
}

static ino_t ino(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* As root: a user namespace, and a network namespace owned by it, whose maker is gone. */
static void make(void)
{
	const struct userns_range r = {131072, 131072, 65536};
	char err[256] = "";
	int net = -2;
	if (geteuid() != 0) {
		ok(1, "# SKIP making namespaces needs root");
		return;
	}
	int user = userns_make(&r, &net, err, sizeof(err));
	ok(user >= 0 && net >= 0, "a user namespace and a network namespace (%s)", err);
	int owner = net >= 0 ? ioctl(net, NS_GET_USERNS) : -1;
	ok(owner >= 0 && ino(owner) == ino(user) && ino(user),
	   "the network namespace is owned by the user namespace");
	ok(ioctl(user, NS_GET_OWNER_UID, &(uid_t){0}) == 0, "... which is a user namespace");
	ok(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
	   "the process that made them is reaped");
	if (owner >= 0)
		close(owner);
	if (user >= 0)
		close(user);
	if (net >= 0)
		close(net);
	net = -2;
	user = userns_make(&r, NULL, err, sizeof(err));
	ok(user >= 0 && net == -2, "without netfd: a user namespace alone");
	if (user >= 0)
		close(user);
}

int main(void)
{
	make();
	find("vmfs:131072:1048576\n", (uid_t)-1, 131072, 0, NULL, "the line setup writes");
	find("alice:100000:65536\nvmfs:231072:65536", (uid_t)-1, 231072, 0, NULL,
	     "another user's line first, no final newline");
	find("999:300000:65536\n", 999, 300000, 0, NULL, "by uid");
	find("999:300000:65536\n", (uid_t)-1, -1, -ENOENT, "no range for the user vmfs",
	     "a uid line when the user is unknown");
	find("vmfs:131072:1000\nvmfs:500000:70000\n", (uid_t)-1, 500000, 0, NULL,
	     "a short range is passed over for a big enough one");
	find("# comment\n\nvmfs:131072:65536\n", (uid_t)-1, 131072, 0, NULL,
	     "comments and blank lines");
	find("", (uid_t)-1, -1, -ENOENT, "has no range for the user vmfs", "an empty file");
	find("vmfs:131072:1000\n", (uid_t)-1, -1, -ENOENT, "only 1000 ids", "too few ids");
	find("vmfs:abc:65536\n", (uid_t)-1, -1, -EINVAL, "/etc/subuid:1: \"vmfs:abc:65536\" is not",
	     "a start that is no number");
	find("vmfs:131072\n", (uid_t)-1, -1, -EINVAL, "is not NAME:START:COUNT", "two fields");
	find("vmfs:131072:65536:1\n", (uid_t)-1, -1, -EINVAL, "is not", "four fields");
	find("vmfs:-1:65536\n", (uid_t)-1, -1, -EINVAL, "is not", "a negative start");
	find("vmfs: 131072:65536\n", (uid_t)-1, -1, -EINVAL, "is not", "a blank in a number");
	find(":131072:65536\n", (uid_t)-1, -1, -EINVAL, "is not", "no name");
	find("vmfs:4294967295:65536\n", (uid_t)-1, -1, -EINVAL, "does not fit", "past 2^32-1");
	find("vmfs:99999999999:1\n", (uid_t)-1, -1, -EINVAL, "is not", "an 11-digit number");
	find("vmfs:131072:0\n", (uid_t)-1, -1, -EINVAL, "does not fit", "a count of 0");
	find("alice:x:1\nvmfs:131072:65536\n", (uid_t)-1, -1, -EINVAL,
	     "/etc/subuid:1:", "a bad line of another user is an error too");
	find("vmfsx:131072:65536\nvmf:1:65536\n", (uid_t)-1, -1, -ENOENT, "no range",
	     "names that only begin or end alike");

	/* the file: bounded, a regular file, no NUL */
	char path[] = "/tmp/test_userns.XXXXXX", err[256];
	uint32_t start;
	int fd = mkstemp(path);
	ok(fd >= 0, "a temporary file");
	ok(write(fd, "vmfs:1\0:65536\n", 14) == 14, "one with a NUL inside");
	ok(userns_subid_read(path, "vmfs", (uid_t)-1, 65536, &start, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "NUL"),
	   "a NUL byte is refused (%s)", err);
	ok(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0, "emptied");
	char *big = malloc(USERNS_FILE_MAX + 10);
	memset(big, '#', USERNS_FILE_MAX + 10);
	ok(write(fd, big, USERNS_FILE_MAX + 10) == USERNS_FILE_MAX + 10, "past 1 MiB");
	free(big);
	ok(userns_subid_read(path, "vmfs", (uid_t)-1, 65536, &start, err, sizeof(err)) == -EFBIG &&
	       strstr(err, "larger than 1 MiB"),
	   "a file over 1 MiB is not read (%s)", err);
	close(fd);
	unlink(path);
	ok(userns_subid_read("/nonexistent/subuid", "vmfs", (uid_t)-1, 65536, &start, err,
			     sizeof(err)) == -ENOENT &&
	       strstr(err, "/nonexistent/subuid: No such file"),
	   "a missing file is named (%s)", err);
	ok(userns_subid_read("/tmp", "vmfs", (uid_t)-1, 65536, &start, err, sizeof(err)) == -EISDIR,
	   "a directory is refused");
	return tap_done();
}
