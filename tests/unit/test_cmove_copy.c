/* A cold move's copy at its destination carries the move's tag (cluster/cmove.h's
 * CMOVE_COPY_TAG): read back strictly, since a file under the state directory may be anything
 * after a crash. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/ckey.h"
#include "cluster/cmove.h"
#include "tap.h"

static void put(int fd, const char *text)
{
	int f =
	    openat(fd, "ns/lab/containers/c1/" CMOVE_COPY_TAG, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (f < 0 || write(f, text, strlen(text)) != (ssize_t)strlen(text))
		perror("put");
	if (f >= 0)
		close(f);
}

int main(void)
{
	char dir[] = "/tmp/test_cmove_copy.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	mkdirat(fd, "ns", 0700);
	mkdirat(fd, "ns/lab", 0700);
	mkdirat(fd, "ns/lab/containers", 0700);
	mkdirat(fd, "ns/lab/containers/c1", 0700);
	struct ckey_tag t = {0};
	ok(cmove_copy_tag(fd, "lab", OT_CT, "c1", &t) == 0, "no tag: 0");
	ok(cmove_copy_tag(fd, "lab", OT_CT, "nosuch", &t) == 0, "no such object: 0");
	put(fd, "h2.3.17\n");
	ok(cmove_copy_tag(fd, "lab", OT_CT, "c1", &t) == 1 && !strcmp(t.host, "h2") && t.run == 3 &&
	       t.seq == 17,
	   "a tag with its newline: read (%s %llu %llu)", t.host, (unsigned long long)t.run,
	   (unsigned long long)t.seq);
	put(fd, "h2.3.17");
	ok(cmove_copy_tag(fd, "lab", OT_CT, "c1", &t) == 1, "without its newline");
	ok(cmove_copy_tag(fd, "lab", OT_VM, "c1", &t) == 0, "a VM of that name has none");
	put(fd, "h2.3");
	ok(cmove_copy_tag(fd, "lab", OT_CT, "c1", &t) == -EINVAL, "no sequence: refused");
	put(fd, "../x.1.2");
	ok(cmove_copy_tag(fd, "lab", OT_CT, "c1", &t) == -EINVAL,
	   "a host that is no name: refused");
	put(fd, "");
	ok(cmove_copy_tag(fd, "lab", OT_CT, "c1", &t) == -EINVAL, "empty: refused");
	cmove_copy_untag(fd, "lab", OT_CT, "c1");
	ok(faccessat(fd, "ns/lab/containers/c1/" CMOVE_COPY_TAG, F_OK, 0) < 0 && errno == ENOENT,
	   "untag removes it");
	ok(cmove_copy_tag(fd, "lab", OT_CT, "c1", &t) == 0, "and then there is none");
	symlinkat("/etc/hostname", fd, "ns/lab/containers/c1/" CMOVE_COPY_TAG);
	ok(cmove_copy_tag(fd, "lab", OT_CT, "c1", &t) < 0, "a symbolic link is not followed");
	cmove_copy_untag(fd, "lab", OT_CT, "c1");
	unlinkat(fd, "ns/lab/containers/c1", AT_REMOVEDIR);
	unlinkat(fd, "ns/lab/containers", AT_REMOVEDIR);
	unlinkat(fd, "ns/lab", AT_REMOVEDIR);
	unlinkat(fd, "ns", AT_REMOVEDIR);
	close(fd);
	rmdir(dir);
	return tap_done();
}
