/* A cold move's archive (cluster/cmove_tar.h): each member's refusals, and whole archives
 * made by GNU tar the way the source makes them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cluster/cmove_int.h"
#include "cluster/cmove_tar.h"
#include "tap.h"

static int member(struct ctar_state *s, char type, const char *path, const char *link, unsigned maj,
		  unsigned min, char *why)
{
	return ctar_member_check(s, type, path, link, maj, min, why, 300);
}

static void members(void)
{
	struct ctar_state s = {0};
	char why[300];
	ok(member(&s, '5', "./", "", 0, 0, why) == 0, "the top directory");
	ok(member(&s, '0', "./config", "", 0, 0, why) == 0, "a regular file");
	ok(member(&s, '0', "disk0.qcow2", "", 0, 0, why) == 0, "without ./");
	ok(member(&s, '5', "./run/upper/etc/", "", 0, 0, why) == 0, "a directory with a slash");
	ok(member(&s, '0', "/etc/passwd", "", 0, 0, why) == -EPERM && strstr(why, "absolute"),
	   "an absolute path: refused (%s)", why);
	ok(member(&s, '0', "run/../../x", "", 0, 0, why) == -EPERM && strstr(why, ".."),
	   "a .. part: refused (%s)", why);
	ok(member(&s, '0', "a//b", "", 0, 0, why) == -EPERM, "an empty part: refused");
	ok(member(&s, '0', "./", "", 0, 0, why) == -EPERM, "the top directory as a file: refused");
	ok(member(&s, '2', "./disk0.qcow2", "/dev/sda", 0, 0, why) == -EPERM &&
	       strstr(why, "symbolic link outside"),
	   "a symbolic link outside run/upper: refused (%s)", why);
	ok(member(&s, '2', "run/upperx/a", "/", 0, 0, why) == -EPERM,
	   "run/upperx is not run/upper");
	ok(member(&s, '2', "./run/upper/bin", "/usr/bin", 0, 0, why) == 0,
	   "a symbolic link in a container's upper directory");
	ok(member(&s, '0', "./run/upper/bin/sh", "", 0, 0, why) == -EPERM && strstr(why, "below"),
	   "a member below that link: refused (%s)", why);
	ok(member(&s, '0', "./run/upper/bin", "", 0, 0, why) == -EPERM,
	   "the link's path again: refused");
	ok(member(&s, '1', "./run/upper/x", "run/upper/bin/sh", 0, 0, why) == -EPERM,
	   "a hard link through the link: refused (%s)", why);
	ok(member(&s, '1', "./copy", "./config", 0, 0, why) == 0, "a hard link to a member");
	ok(member(&s, '1', "./copy2", "../../etc/shadow", 0, 0, why) == -EPERM,
	   "a hard link out: refused (%s)", why);
	ok(member(&s, '1', "./copy3", "/etc/shadow", 0, 0, why) == -EPERM,
	   "a hard link to an absolute path: refused");
	ok(member(&s, '3', "./run/upper/gone", "", 0, 0, why) == 0, "a whiteout (0,0) in upper");
	ok(member(&s, '3', "./run/upper/mem", "", 1, 1, why) == -EPERM && strstr(why, "device"),
	   "a character device: refused (%s)", why);
	ok(member(&s, '3', "./null", "", 0, 0, why) == -EPERM, "a whiteout outside upper: refused");
	ok(member(&s, '4', "./run/upper/sda", "", 8, 0, why) == -EPERM, "a block device: refused");
	ok(member(&s, '6', "./run/upper/fifo", "", 0, 0, why) == 0, "a FIFO in upper");
	ok(member(&s, '6', "./fifo", "", 0, 0, why) == -EPERM, "a FIFO outside: refused");
	ok(member(&s, 'V', "./vol", "", 0, 0, why) == -EPERM, "a volume header: refused");
	ok(member(&s, 'S', "./old", "", 0, 0, why) == -EPERM, "an old GNU sparse member: refused");
	ctar_state_free(&s);
}

static char dir[] = "/tmp/test_cmove_tar.XXXXXX";

/* The check's result on dir/NAME (-100: it could not be opened). */
static int check_file(const char *name, char *why, size_t whylen)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY);
	struct ctar_state s = {0};
	int r = fd < 0 ? -100 : ctar_check_fd(fd, &s, why, whylen);
	if (fd >= 0)
		close(fd);
	ctar_state_free(&s);
	return r;
}

/* tar as the source runs it, of what sh made in dir/src; the check's result on the archive */
static int archive(const char *make, char *why, size_t whylen)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd %s; rm -rf src a.tar; mkdir src; cd src; %s; "
		 "tar -c --format=posix --sparse --numeric-owner --xattrs -f ../a.tar .",
		 dir, make);
	if (system(cmd) != 0) {
		snprintf(why, whylen, "tar failed");
		return -100;
	}
	return check_file("a.tar", why, whylen);
}

/* An archive a hostile source wrote (with Python's tarfile: headers GNU tar honours and that
 * vmfs's own tar never writes); the check's result on it. */
static int py_archive(const char *body, char *why, size_t whylen)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && python3 -c 'import tarfile, io\n"
		 "def ent(t, name, typ=tarfile.REGTYPE, data=b\"\", link=\"\"):\n"
		 "  i = tarfile.TarInfo(name); i.type = typ; i.size = len(data); i.linkname = link\n"
		 "  t.addfile(i, io.BytesIO(data))\n"
		 "%s' && test -s e.tar",
		 dir, body);
	if (system(cmd) != 0) {
		snprintf(why, whylen, "python3 failed");
		return -100;
	}
	return check_file("e.tar", why, whylen);
}

/* The ways a crafted archive could have made tar extract what the check did not see. */
static void crafted(char *why, size_t whylen)
{
	ok(py_archive("t = tarfile.open(\"e.tar\", \"w\", format=tarfile.PAX_FORMAT, "
		      "pax_headers={\"path\": \"evil\"})\n"
		      "ent(t, \"run/upper/l\", tarfile.SYMTYPE, link=\"/etc/shadow\"); t.close()",
		      why, whylen) == -EPERM &&
	       strstr(why, "global"),
	   "a global pax header (its path would name the next member): refused (%s)", why);
	ok(py_archive("t = tarfile.open(\"e.tar\", \"w\", format=tarfile.GNU_FORMAT)\n"
		      "ent(t, \"config\", data=b\"v=1\"); t.close()",
		      why, whylen) == -EINVAL &&
	       strstr(why, "POSIX"),
	   "an old GNU header (its prefix field is a time to tar): refused (%s)", why);
	ok(py_archive("t = tarfile.open(\"e.tar\", \"w\", format=tarfile.PAX_FORMAT)\n"
		      "ent(t, \"evil/\", data=b\"x\" * 600); t.close()",
		      why, whylen) == -EPERM &&
	       strstr(why, "ending in /"),
	   "a file named with a trailing / (tar would read its data as headers): refused (%s)",
	   why);
	ok(py_archive("t = tarfile.open(\"e.tar\", \"w\", format=tarfile.PAX_FORMAT)\n"
		      "ent(t, \"run/upper/d\", tarfile.DIRTYPE, data=b\"x\" * 600); t.close()",
		      why, whylen) == -EPERM &&
	       strstr(why, "data on a member"),
	   "a directory carrying data: refused (%s)", why);
}

static void archives(void)
{
	char why[300] = "";
	if (!mkdtemp(dir)) {
		ok(0, "a temporary directory");
		return;
	}
	ok(archive("echo v=1 >config; mkdir -p run/upper/etc; echo hi >run/upper/etc/motd; "
		   "ln -s /usr/bin run/upper/bin; ln config config2; "
		   "truncate -s 64M disk0.qcow2; echo data | dd of=disk0.qcow2 bs=1 seek=1M "
		   "conv=notrunc 2>/dev/null",
		   why, sizeof(why)) == 0,
	   "GNU tar's archive of an object (a sparse disk, upper with a link, a hard link) "
	   "passes%s%s",
	   *why ? ": " : "", why);
	char deep[1200] = "";
	for (int i = 0; i < 30; i++)
		strcat(deep, "directory-with-a-long-name/");
	char mk[1500];
	snprintf(mk, sizeof(mk), "mkdir -p %s; echo x >%sf", deep, deep);
	why[0] = 0;
	ok(archive(mk, why, sizeof(why)) == 0, "a path longer than 100 bytes (pax path) passes%s%s",
	   *why ? ": " : "", why);
	ok(archive("echo x >config; ln -s /etc/shadow disk0.qcow2", why, sizeof(why)) == -EPERM &&
	       strstr(why, "disk0.qcow2"),
	   "a disk made a link to a host file: refused (%s)", why);
	ok(archive("mkdir -p run/upper; ln -s /etc run/upper/e", why, sizeof(why)) == 0,
	   "a link in upper alone passes");
	char cmd[600];
	/* a member under a link: GNU tar makes none from a tree, so one is added by name */
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd %s; rm -rf s2 b.tar; mkdir -p s2/run/upper s3/run/upper/e; "
		 "ln -s /etc s2/run/upper/e; echo pwned >s3/run/upper/e/passwd; "
		 "tar -c --format=posix -f b.tar -C s2 ./run/upper/e -C ../s3 ./run/upper/e/passwd",
		 dir);
	int made = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s/b.tar", dir);
	int fd = open(cmd, O_RDONLY);
	struct ctar_state s = {0};
	int r = made || fd < 0 ? -100 : ctar_check_fd(fd, &s, why, sizeof(why));
	ok(r == -EPERM && strstr(why, "below"), "a member written through a link: refused (%s)",
	   why);
	ctar_state_free(&s);
	if (fd >= 0)
		close(fd);
	/* cut short, and a header's bytes changed */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && head -c 1024 a.tar >c.tar && cp a.tar d.tar && "
		 "printf 'X' | dd of=d.tar bs=1 seek=10 conv=notrunc 2>/dev/null",
		 dir);
	made = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s/c.tar", dir);
	fd = open(cmd, O_RDONLY);
	r = made || fd < 0 ? -100 : ctar_check_fd(fd, &s, why, sizeof(why));
	ok(r == -EINVAL, "an archive cut short: refused (%s)", why);
	ctar_state_free(&s);
	if (fd >= 0)
		close(fd);
	snprintf(cmd, sizeof(cmd), "%s/d.tar", dir);
	fd = open(cmd, O_RDONLY);
	r = fd < 0 ? -100 : ctar_check_fd(fd, &s, why, sizeof(why));
	ok(r == -EINVAL && strstr(why, "checksum"), "a damaged header: refused (%s)", why);
	ctar_state_free(&s);
	if (fd >= 0)
		close(fd);
	crafted(why, sizeof(why));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) {
	}
}

/* the move-in command's args: peer input */
static void args(void)
{
	char name[NAME_MAX_LEN + 1], src[NAME_MAX_LEN + 1], why[300], big[200];
	enum otype t = OT_VM;
	ok(cmove_in_read("name=c1 src=h1 type=container", name, src, &t, why, sizeof(why)) == 0 &&
	       !strcmp(name, "c1") && !strcmp(src, "h1") && t == OT_CT,
	   "move-in args read");
	ok(cmove_in_read("name=v1 src=h2 type=kvm", name, src, &t, why, sizeof(why)) == 0 &&
	       t == OT_VM,
	   "a VM's");
	memset(big, 'a', 100);
	snprintf(big + 100, sizeof(big) - 100, " src=h1 type=kvm");
	char line[300];
	snprintf(line, sizeof(line), "name=%s", big);
	ok(cmove_in_read(line, name, src, &t, why, sizeof(why)) == -EINVAL, "a name too long");
	ok(cmove_in_read("name=c1 src=h1 type=disk", name, src, &t, why, sizeof(why)) == -EINVAL,
	   "no such type");
	ok(cmove_in_read("name=c1 type=kvm src=h1", name, src, &t, why, sizeof(why)) == -EINVAL,
	   "keys out of order");
	ok(cmove_in_read("name=c1 src=h1 type=kvm extra=1", name, src, &t, why, sizeof(why)) ==
	       -EINVAL,
	   "a key more");
	ok(cmove_in_read("name=../x src=h1 type=kvm", name, src, &t, why, sizeof(why)) == -EINVAL,
	   "a name vmfs does not give (%s)", why);
	ok(cmove_in_read(NULL, name, src, &t, why, sizeof(why)) == -EINVAL, "no args");
	ok(cmove_in_read("name= src=h1 type=kvm", name, src, &t, why, sizeof(why)) == -EINVAL,
	   "an empty name");
}

int main(void)
{
	args();
	members();
	archives();
	return tap_done();
}
