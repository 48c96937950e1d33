/* runtime/imgrights.c: the kernel's owner/group/other rule, and the walk from the store by
 * descriptor (folders need x, the file the right asked for, the inode must be the one given). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/imgrights.h"
#include "tests/unit/tap.h"

static struct stat mode(uid_t uid, gid_t gid, mode_t m)
{
	return (struct stat){.st_uid = uid, .st_gid = gid, .st_mode = S_IFREG | m};
}

int main(void)
{
	struct who w = {.uid = 1000, .gid = 100, .ngroups = 1, .groups = {27}};
	struct stat st = mode(1000, 0, 0044);
	ok(!who_may(&w, &st, R_OK), "the owner gets the owner's bits alone (0044: no read)");
	st = mode(0, 27, 0040);
	ok(who_may(&w, &st, R_OK), "a supplementary group's read");
	st = mode(0, 100, 0604);
	ok(!who_may(&w, &st, R_OK), "a member of the file's group gets the group's bits, not other's");
	st = mode(0, 0, 0004);
	ok(who_may(&w, &st, R_OK) && !who_may(&w, &st, R_OK | W_OK), "other: read, not write");
	struct who root = {0};
	st = mode(5, 5, 0);
	ok(who_may(&root, &st, R_OK | W_OK), "root may");

	char dir[] = "/tmp/imgrights.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char p[300], why[600];
	snprintf(p, sizeof(p), "%s/a", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/a/f", dir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	int store = open(dir, O_PATH | O_DIRECTORY);
	struct who u = {.uid = 4242, .gid = 4242};
	int r = imgrights_walk(store, "a/f", &u, R_OK, NULL, why, sizeof(why));
	ok(r == -EACCES && strstr(why, "may not enter the folder a on the way"),
	   "a folder without x for others stops the walk (%s)", why);
	snprintf(p, sizeof(p), "%s/a", dir);
	chmod(p, 0711);
	ok(imgrights_walk(store, "/a/f", &u, R_OK, NULL, why, sizeof(why)) == 0, "0711 lets it through");
	ok(imgrights_walk(store, "a/f", &u, R_OK | W_OK, NULL, why, sizeof(why)) == -EACCES,
	   "no write on a 0644 file not its own");
	struct stat other = {.st_dev = 1, .st_ino = 1};
	r = imgrights_walk(store, "a/f", &u, R_OK, &other, why, sizeof(why));
	ok(r == -EACCES && strstr(why, "changed"), "another inode than the one opened: refused");
	snprintf(p, sizeof(p), "%s/l", dir);
	if (symlink("a/f", p) == 0) {
		r = imgrights_walk(store, "l", &u, R_OK, NULL, why, sizeof(why));
		ok(r == -ELOOP, "a symlink on a real path's walk is not followed (%d)", r);
		ok(imgrights_name(store, "l", &u, R_OK, why, sizeof(why)) == 0,
		   "a name through a link: the file it leads to is checked");
	}
	snprintf(p, sizeof(p), "%s/up", dir);
	if (symlink("/etc/shadow", p) == 0)
		ok(imgrights_name(store, "up", &u, R_OK, why, sizeof(why)) == 0,
		   "an absolute link resolves inside the store (no such file there: passes, the start says)");
	ok(imgrights_name(store, "nothere", &u, R_OK, why, sizeof(why)) == 0,
	   "a name that does not exist passes");
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	close(store);
	return tap_done();
}
