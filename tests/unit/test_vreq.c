/* vmfs/vreq.c: a write (or read) through the request object is answered once, at once or
 * after its command's wait; names and directories are answered at once; the reason of a
 * refusal is the request's own. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmfs/vreq.h"

static struct rbatch *members; /* what "wait" leaves to be waited for */

static int fake_ctl(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
		    size_t errlen)
{
	if (!strcmp(line, "good")) {
		sb_puts(reply, "ok: good\n");
		return 0;
	}
	if (!strcmp(line, "wait")) {
		q->wait.rbatch = members;
		q->wait.rverb = "waited";
		return -EINPROGRESS;
	}
	if (!strcmp(line, "nowhere"))
		return -EINPROGRESS; /* says nothing to wait on */
	snprintf(err, errlen, "no such command");
	return -EINVAL;
}

static const struct ventry fake = {VK_NONE, VK_ROOT, "ctl", S_IFREG | 0600, VF_CTL, 0, NULL,
				   NULL, fake_ctl};

static int answers;
static ssize_t answer;

static void respond(struct vreq *q, ssize_t n)
{
	answers++;
	answer = n;
}

static struct vreq *start(struct vmfs *v, struct vreq *q, const char *text)
{
	struct vnode n = {.e = &fake};
	struct vcred root = {0};
	*q = (struct vreq){.v = v, .cred = root, .respond = respond};
	answers = 0;
	answer = 0;
	int r = vreq_open(q, &n, O_RDWR);
	ok(r == 0, "%s: opened", text);
	return q;
}

static const char *reply_of(struct vmfs *v, struct vhandle *h)
{
	static char buf[256];
	ssize_t n = node_read(v, h, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static int listed;

static int count_one(void *ctx, const char *name, const struct stat *st, off_t next)
{
	listed += !strcmp(name, ctx);
	return 0;
}

/* Names and directories: each answered at once, its refusal's reason the request's own,
 * the request no longer current after it. */
static void names(struct vmfs *v)
{
	struct vreq q = {.v = v};
	struct vnode root, n, out;
	struct stat st;
	char buf[64];
	ok(node_from_ino(v, NODE_ROOT_INO, &root) == 0, "the root");
	ok(vreq_lookup(&q, &root, "version", &n) == 0 && n.e->kind == VK_VERSION,
	   "vreq_lookup finds version");
	ok(vreq_lookup(&q, &root, "nothing", &out) == -ENOENT, "and not what is not there");
	ok(vreq_getattr(&q, &root, &st) == 0 && S_ISDIR(st.st_mode), "vreq_getattr: a directory");
	listed = 0;
	ok(vreq_readdir(&q, &root, 0, count_one, "version") == 0 && listed == 1,
	   "vreq_readdir lists version");
	ok(vreq_readlink(&q, &n, buf, sizeof(buf)) == -EINVAL, "vreq_readlink: not a link");
	struct statvfs sv;
	ok(vreq_statfs(&q, &sv) == 0, "vreq_statfs");
	is_str(q.why, "", "nothing refused yet");

	ok(vreq_mkdir(&q, &root, "x", 0755, &out) == -EPERM, "vreq_mkdir outside ns/, vms/: EPERM");
	is_str(q.why, "mkdir x: directories are made only in ns/, vms/, containers/ and images/",
	       "with its reason");
	ok(vreq_rmdir(&q, &root, "version") == -ENOTDIR, "vreq_rmdir of a file: ENOTDIR");
	is_str(q.why, "rmdir version: version is part of the tree and cannot be removed",
	       "with its reason");
	ok(vreq_unlink(&q, &root, "version") == -EPERM, "vreq_unlink of the tree's file: EPERM");
	is_str(q.why, "rm version: files of the tree cannot be removed (rmdir removes objects)",
	       "with its reason");
	q.h = NULL;
	ok(vreq_create(&q, &root, "new", 0644, O_WRONLY, &out) == -EACCES && !q.h,
	   "vreq_create outside images/: EACCES, nothing open");
	is_str(q.why, "create new: new files can be made only in images/", "with its reason");
	ok(vreq_rename(&q, &root, "version", &root, "v2", 0) == -EPERM, "vreq_rename: EPERM");
	is_str(q.why, "mv version v2: only files in images/ can be renamed", "with its reason");
	struct stat attr = {.st_mode = 0600};
	ok(vreq_setattr(&q, &n, &attr, NA_MODE, &st) == -EPERM, "vreq_setattr: chmod of a file");
	ok(!strncmp(q.why, "chown/chmod: owners and modes are set on the namespace", 54),
	   "with its reason");
	ok(vreq_setattr(&q, &n, &attr, NA_MTIME, &st) == 0 && S_ISREG(st.st_mode),
	   "a touch is taken, with the attributes");
	ok(vreq_symlink(&q, "/etc", &root, "l", &out) == -EPERM, "vreq_symlink outside images/");
	ok(vreq_enter(NULL) == NULL, "no request is current after them");
}

int main(void)
{
	char dir[] = "/tmp/test_vreq.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct vmfs v = {0};
	evlog_init(&v.log, open(dir, O_RDONLY | O_DIRECTORY), "log");
	struct vreq q;

	start(&v, &q, "good");
	ok(!vreq_write(&q, "good\n", 5, 0), "a command done at once does not wait");
	ok(answers == 1 && answer == 5, "answered once, with the bytes written");
	is_str(q.why, "", "no reason");
	char buf[64];
	answers = 0;
	ok(!vreq_read(&q, buf, sizeof(buf), 0), "reading the reply back does not wait");
	ok(answers == 1 && answer == 9 && !memcmp(q.data, "ok: good\n", 9),
	   "answered once, with the reply");
	vreq_release(&q);

	start(&v, &q, "bad");
	ok(!vreq_write(&q, "bad\n", 4, 0), "a refused command does not wait");
	ok(answers == 1 && answer == -EINVAL, "answered once, with the error");
	is_str(q.why, "ctl: \"bad\": no such command", "the reason is the request's");
	vreq_release(&q);

	start(&v, &q, "nowhere");
	ok(!vreq_write(&q, "nowhere\n", 8, 0), "a command with nothing to wait on does not wait");
	ok(answers == 1 && answer == -EIO, "answered EIO");
	vreq_release(&q);

	members = rbatch_new();
	members->refs++; /* this test's own */
	members->pending = 1;
	start(&v, &q, "wait");
	ok(vreq_write(&q, "wait\ngood\n", 10, 0), "a command that goes on waits");
	ok(answers == 0 && q.later, "not answered yet");
	members->pending = 0;
	members->count = 3;
	waitq_wake_all(&members->wq);
	ok(answers == 1 && answer == 10, "answered when woken, with the whole write's bytes");
	is_str(reply_of(&v, q.h), "ok: waited 3\nok: good\n", "the lines after it ran then");
	vreq_release(&q);
	rbatch_put(members);

	members = rbatch_new();
	members->refs++;
	members->pending = 1;
	start(&v, &q, "exit");
	ok(vreq_write(&q, "wait\n", 5, 0), "waits");
	v.exiting = true;
	waitq_wake_all(&members->wq);
	ok(answers == 1 && answer == -EINTR, "woken while vmfs exits: EINTR, not waiting again");
	vreq_release(&q);
	rbatch_put(members);

	v.m.imagefd = v.log.dirfd; /* statfs's */
	names(&v);

	struct vreq a = {0}, b = {0};
	ok(vreq_enter(&a) == NULL, "no request was being run");
	ok(vreq_enter(&b) == &a, "entering another returns the one before");
	vreq_reason("x", "inner");
	ok(vreq_enter(&a) == &b, "and back");
	vreq_reason("x", "outer");
	vreq_enter(NULL);
	vreq_reason("x", "none");
	is_str(b.why, "x: inner", "a reason goes to the request being run");
	is_str(a.why, "x: outer", "only to it");

	close(v.log.dirfd);
	char log[64];
	snprintf(log, sizeof(log), "%s/log", dir);
	unlink(log);
	rmdir(dir);
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
