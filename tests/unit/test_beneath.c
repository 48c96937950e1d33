/* runtime/beneath.c: paths resolved beneath a root by descriptor, by openat2 and by the
 * per-name walk used where the kernel lacks it; no symlink and no ".." ever leads out. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/beneath.h"
#include "tests/unit/tap.h"

static int opened(int root, const char *rel, int flags)
{
	int fd = beneath_open(root, rel, flags, 0);
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : errno;
}

static void run(int root, const char *how)
{
	ok(opened(root, "a/b/f", O_RDONLY) == 0, "%s: a file two folders down opens", how);
	ok(opened(root, "", O_RDONLY | O_DIRECTORY) == 0, "%s: \"\" is the root", how);
	ok(opened(root, "./a//b/./f", O_RDONLY) == 0, "%s: . and empty names are skipped", how);
	ok(opened(root, "out/passwd", O_RDONLY) != 0, "%s: a symlinked folder is not followed",
	   how);
	ok(opened(root, "a/up/a/b/f", O_RDONLY) != 0, "%s: a symlink to .. is not followed", how);
	ok(opened(root, "a/../../../etc/passwd", O_RDONLY) != 0,
	   "%s: .. out of the root is refused", how);
	ok(opened(root, "/etc/passwd", O_RDONLY) != 0, "%s: an absolute path is refused", how);
	ok(opened(root, "a/lf", O_RDONLY) == ELOOP, "%s: a final symlink is not followed", how);
	int fd = beneath_open(root, "a/lf", O_PATH | O_NOFOLLOW, 0);
	struct stat st;
	ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode),
	   "%s: O_PATH|O_NOFOLLOW opens the symlink itself", how);
	if (fd >= 0)
		close(fd);
	fd = beneath_open(root, "a/new", O_WRONLY | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0, "%s: O_CREAT makes a file", how);
	if (fd >= 0)
		close(fd);
	ok(opened(root, "out/new", O_WRONLY | O_CREAT) != 0,
	   "%s: O_CREAT through a symlinked folder is refused", how);

	const char *last = NULL;
	fd = beneath_parent(root, "a/b/f", &last);
	is_str(last, "f", "%s: the last name of a/b/f", how);
	ok(fd >= 0 && fstatat(fd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode),
	   "%s: the parent's descriptor reaches the last name", how);
	if (fd >= 0)
		close(fd);
	fd = beneath_parent(root, "a/new", &last);
	ok(fd >= 0 && unlinkat(fd, last, 0) == 0, "%s: unlinkat from the parent", how);
	if (fd >= 0)
		close(fd);
	fd = beneath_parent(root, "top", &last);
	ok(fd >= 0 && !strcmp(last, "top"), "%s: a name at the root has the root as parent", how);
	if (fd >= 0)
		close(fd);
	ok(beneath_parent(root, "out/passwd", &last) < 0, "%s: a symlinked parent is refused", how);
	ok(beneath_parent(root, "a/..", &last) < 0 && errno == EINVAL,
	   "%s: a last name of .. is refused", how);
	ok(beneath_parent(root, "/etc", &last) < 0, "%s: an absolute name is refused", how);
}

int main(void)
{
	char dir[] = "/tmp/beneath.XXXXXX", p[300];
	if (!mkdtemp(dir))
		return 1;
	snprintf(p, sizeof(p), "%s/a", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/a/b", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/a/b/f", dir);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	snprintf(p, sizeof(p), "%s/out", dir);
	ok(symlink("/etc", p) == 0, "setup: out -> /etc");
	snprintf(p, sizeof(p), "%s/a/up", dir);
	ok(symlink("..", p) == 0, "setup: a/up -> ..");
	snprintf(p, sizeof(p), "%s/a/lf", dir);
	ok(symlink("b/f", p) == 0, "setup: a/lf -> b/f");
	int root = open(dir, O_RDONLY | O_DIRECTORY);
	run(root, "openat2");
	beneath_force_walk(true);
	run(root, "walk");
	beneath_force_walk(false);
	close(root);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleanup");
	return tap_done();
}
