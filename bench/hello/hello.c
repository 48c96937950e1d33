/* hello — the benchmark's floor: the cheapest FUSE filesystem that has the same shape as
 * vmfs where bench/run measures it, so a ratio against it isolates vmfs's own cost from
 * the cost of FUSE itself.
 *
 *   hello MOUNTPOINT [-f] [-o files=N,size=S,infosize=B]
 *
 *   /info              B bytes of text (stands in for ns/default/info)
 *   /objs/oI/info      S bytes of text, I = 1..N (stands in for ns/default/containers/oI/info)
 *
 * Same kernel paths as vmfs: low-level API, one thread (fuse_session_loop), entry and attr
 * timeouts of 1 s, direct_io on every open. The text is generated once at start and served
 * from memory: the floor does no per-request work beyond answering. */
#define FUSE_USE_VERSION 31
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Inode layout, all computed, no table: 1 root, 2 /info, 3 /objs, then for object I
 * (1-based) its directory 2+2I and its info file 3+2I. */
#define INO_ROOT 1
#define INO_INFO 2
#define INO_OBJS 3
#define OBJ_DIR(i) (2 + 2 * (fuse_ino_t)(i))
#define TIMEOUT 1.0 /* what vmfs uses for entry and attr timeouts */

static struct {
	unsigned long files, size, infosize;
} opt = {1000, 256, 65536};

static const struct fuse_opt hello_opts[] = {
	{"files=%lu", offsetof(__typeof__(opt), files), 0},
	{"size=%lu", offsetof(__typeof__(opt), size), 0},
	{"infosize=%lu", offsetof(__typeof__(opt), infosize), 0},
	FUSE_OPT_END,
};

static char *obj_text, *info_text; /* the two file bodies */

/* "key value" lines like vmfs's info files, cut to exactly len bytes, ending in '\n'. */
static char *gen_text(size_t len)
{
	char *s = malloc(len + 64), *p = s;
	if (!s)
		return NULL;
	for (unsigned long n = 0; (size_t)(p - s) < len; n++)
		p += sprintf(p, "key%lu value-%08lx\n", n, (n * 2654435761UL) & 0xffffffffUL);
	if (len)
		s[len - 1] = '\n';
	return s;
}

static int is_dir(fuse_ino_t ino)
{
	return ino == INO_ROOT || ino == INO_OBJS || (ino >= 4 && ino % 2 == 0);
}

static int valid(fuse_ino_t ino)
{
	return ino >= INO_ROOT && ino <= 3 + 2 * (fuse_ino_t)opt.files;
}

static void fill_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (is_dir(ino)) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = ino == INO_INFO ? opt.infosize : opt.size;
	}
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e = {.ino = ino, .attr_timeout = TIMEOUT, .entry_timeout = TIMEOUT};
	fill_stat(ino, &e.attr);
	fuse_reply_entry(req, &e);
}

/* "oI" with 1 <= I <= files and no leading zero, else 0. */
static unsigned long obj_index(const char *name)
{
	char *end;
	if (name[0] != 'o' || name[1] < '1' || name[1] > '9')
		return 0;
	unsigned long i = strtoul(name + 1, &end, 10);
	return *end || i > opt.files ? 0 : i;
}

static void hello_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	unsigned long i;
	if (parent == INO_ROOT && !strcmp(name, "info"))
		reply_entry(req, INO_INFO);
	else if (parent == INO_ROOT && !strcmp(name, "objs"))
		reply_entry(req, INO_OBJS);
	else if (parent == INO_OBJS && (i = obj_index(name)))
		reply_entry(req, OBJ_DIR(i));
	else if (parent >= 4 && is_dir(parent) && valid(parent) && !strcmp(name, "info"))
		reply_entry(req, parent + 1);
	else
		fuse_reply_err(req, ENOENT);
}

static void hello_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	if (!valid(ino))
		return (void)fuse_reply_err(req, ENOENT);
	fill_stat(ino, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

/* Entry k of a directory (0 ".", 1 "..", then children) into name/ino; 0 past the end. */
static int dir_entry(fuse_ino_t dir, off_t k, char *name, fuse_ino_t *ino)
{
	if (k < 2) {
		strcpy(name, k ? ".." : ".");
		*ino = k ? INO_ROOT : dir; /* the kernel ignores d_ino of ".." */
		return 1;
	}
	k -= 2;
	if (dir == INO_ROOT && k < 2) {
		strcpy(name, k ? "objs" : "info");
		*ino = k ? INO_OBJS : INO_INFO;
	} else if (dir == INO_OBJS && (unsigned long)k < opt.files) {
		sprintf(name, "o%lu", (unsigned long)k + 1);
		*ino = OBJ_DIR(k + 1);
	} else if (dir >= 4 && k < 1) {
		strcpy(name, "info");
		*ino = dir + 1;
	} else {
		return 0;
	}
	return 1;
}

static void hello_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	char buf[65536], name[32];
	size_t used = 0;
	fuse_ino_t child;
	(void)fi;
	if (size > sizeof buf)
		size = sizeof buf;
	/* The offset handed back with each entry is the index of the next one. */
	for (; dir_entry(ino, off, name, &child); off++) {
		struct stat st = {.st_ino = child, .st_mode = is_dir(child) ? S_IFDIR : S_IFREG};
		size_t n = fuse_add_direntry(req, buf + used, size - used, name, &st, off + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void hello_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (is_dir(ino))
		return (void)fuse_reply_err(req, EISDIR);
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return (void)fuse_reply_err(req, EACCES);
	fi->direct_io = 1; /* as vmfs: every read reaches the daemon, no page cache */
	fuse_reply_open(req, fi);
}

static void hello_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const char *text = ino == INO_INFO ? info_text : obj_text;
	size_t len = ino == INO_INFO ? opt.infosize : opt.size;
	(void)fi;
	if ((size_t)off >= len)
		return (void)fuse_reply_buf(req, NULL, 0);
	fuse_reply_buf(req, text + off, len - off < size ? len - off : size);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = hello_lookup,
	.getattr = hello_getattr,
	.readdir = hello_readdir,
	.open = hello_open,
	.read = hello_read,
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd;
	struct fuse_session *se = NULL;
	int ret = 1;

	if (fuse_opt_parse(&args, &opt, hello_opts, NULL) || fuse_parse_cmdline(&args, &cmd))
		return 1;
	if (cmd.show_help || !cmd.mountpoint) {
		fprintf(stderr, "usage: %s MOUNTPOINT [-f] [-o files=N,size=S,infosize=B]\n",
			argv[0]);
		goto out;
	}
	if (!opt.files || opt.files > 10000000 || !(obj_text = gen_text(opt.size)) ||
	    !(info_text = gen_text(opt.infosize))) {
		fprintf(stderr, "hello: bad files=, size= or infosize=\n");
		goto out;
	}
	se = fuse_session_new(&args, &ops, sizeof ops, NULL);
	if (!se || fuse_set_signal_handlers(se))
		goto out;
	if (!fuse_session_mount(se, cmd.mountpoint)) {
		fuse_daemonize(cmd.foreground);
		ret = fuse_session_loop(se) ? 1 : 0; /* single-threaded, as vmfs */
		fuse_session_unmount(se);
	}
	fuse_remove_signal_handlers(se);
out:
	if (se)
		fuse_session_destroy(se);
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	free(obj_text);
	free(info_text);
	return ret;
}
