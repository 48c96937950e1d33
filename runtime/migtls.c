/* The migration's TLS files: checked at start and at each use, staged for QEMU's user. */
#include "runtime/migtls.h"
#include "runtime/qmpsess.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGE_DIR "qemu/vmfs-tls"
#define TLS_FILE_MAX (64 * 1024)

static char tls_dir[4096];
static char words[4200];

static const char *const files[] = {"ca-cert.pem", "server-cert.pem", "server-key.pem",
				    "client-cert.pem", "client-key.pem"};

static bool is_key(const char *name) { return strstr(name, "-key.") != NULL; }

/* An open file of dir's, checked: root's regular file, a key readable by root alone. */
static int open_checked(int dirfd, const char *name, struct err *e)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_sys(e, errno, "migrate_tls: %s/%s cannot be opened", tls_dir, name);
	int r = 0;
	if (fstat(fd, &st))
		r = err_sys(e, errno, "migrate_tls: %s/%s", tls_dir, name);
	else if (!S_ISREG(st.st_mode))
		r = err_set(e, EINVAL, "migrate_tls: %s/%s is not a regular file", tls_dir, name);
	else if (st.st_uid != 0)
		r = err_set(e, EACCES, "migrate_tls: %s/%s belongs to uid %u, not to root", tls_dir,
			    name, (unsigned)st.st_uid);
	else if (is_key(name) && (st.st_mode & 077))
		r = err_set(e, EACCES,
			    "migrate_tls: %s/%s may be read or written by group or others (mode "
			    "%03o): chmod 600 it",
			    tls_dir, name, (unsigned)(st.st_mode & 0777));
	else if (st.st_mode & 022)
		r = err_set(e, EACCES,
			    "migrate_tls: %s/%s may be written by group or others (mode %03o)",
			    tls_dir, name, (unsigned)(st.st_mode & 0777));
	else if (st.st_size > TLS_FILE_MAX)
		r = err_set(e, EFBIG, "migrate_tls: %s/%s is over %d KiB", tls_dir, name,
			    TLS_FILE_MAX / 1024);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

static int open_dir(struct err *e)
{
	struct stat st;
	int fd = open(tls_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "migrate_tls: directory %s cannot be opened", tls_dir);
	int r = 0;
	if (fstat(fd, &st))
		r = err_sys(e, errno, "migrate_tls: %s", tls_dir);
	else if (st.st_uid != 0)
		r = err_set(e, EACCES, "migrate_tls: directory %s belongs to uid %u, not to root",
			    tls_dir, (unsigned)st.st_uid);
	else if (st.st_mode & 022)
		r = err_set(e, EACCES,
			    "migrate_tls: directory %s may be written by group or others (mode "
			    "%03o): chmod 700 it",
			    tls_dir, (unsigned)(st.st_mode & 0777));
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int migtls_set(const char *dir, struct err *e)
{
	tls_dir[0] = 0;
	snprintf(words, sizeof(words),
		 "migration stream in plain TCP, disks over NBD in plain TCP");
	if (!dir || !*dir)
		return 0;
	if (dir[0] != '/' || strlen(dir) >= sizeof(tls_dir))
		return err_set(e, EINVAL, "migrate_tls: %s is not an absolute path", dir);
	snprintf(tls_dir, sizeof(tls_dir), "%s", dir);
	int dfd = open_dir(e), r = dfd < 0 ? dfd : 0;
	for (size_t i = 0; !r && i < sizeof(files) / sizeof(*files); i++) {
		int fd = open_checked(dfd, files[i], e);
		if (fd < 0)
			r = fd;
		else
			close(fd);
	}
	if (dfd >= 0)
		close(dfd);
	if (r) {
		tls_dir[0] = 0;
		return r;
	}
	snprintf(words, sizeof(words),
		 "migration stream in TLS, disks over NBD in TLS (x509 from %s, peers verified)",
		 tls_dir);
	return 0;
}

bool migtls_on(void) { return tls_dir[0] != 0; }

const char *migtls_words(void)
{
	return words[0] ? words : "migration stream in plain TCP, disks over NBD in plain TCP";
}

static int copy_one(int from_dir, int to_dir, const char *name, uid_t uid, gid_t gid, struct err *e)
{
	/* not static: the source stages on its migration's own thread */
	char *buf = malloc(TLS_FILE_MAX + 1);
	int in =
	    buf ? open_checked(from_dir, name, e) : err_set(e, ENOMEM, "migrate_tls: no memory");
	if (in < 0) {
		free(buf);
		return in;
	}
	ssize_t n = read(in, buf, TLS_FILE_MAX + 1);
	close(in);
	if (n < 0 || n > TLS_FILE_MAX) {
		free(buf);
		return err_sys(e, n < 0 ? errno : EFBIG, "migrate_tls: %s/%s cannot be read",
			       tls_dir, name);
	}
	errno = 0;
	int out = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = out < 0 || fchown(out, uid, gid) < 0 || write(out, buf, (size_t)n) != n
		    ? err_sys(e, errno ? errno : EIO, "migrate_tls: cannot copy %s for QEMU", name)
		    : 0;
	if (out >= 0)
		close(out);
	free(buf);
	return r;
}

void migtls_unstage(int rundfd)
{
	int d = openat(rundfd, STAGE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d >= 0) {
		for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
			unlinkat(d, files[i], 0);
		close(d);
	}
	unlinkat(rundfd, STAGE_DIR, AT_REMOVEDIR);
}

int migtls_stage(int rundfd, bool server, char *cmd, size_t cmdlen, struct err *e)
{
	struct stat st;
	if (!migtls_on())
		return err_set(e, EINVAL, "migrate_tls is not set");
	migtls_unstage(rundfd); /* what an earlier attempt that was cut short left */
	if (fstatat(rundfd, "qemu", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "migrate_tls: no run/qemu for QEMU");
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ENOTDIR, "migrate_tls: run/qemu is not a directory");
	if (mkdirat(rundfd, STAGE_DIR, 0700) < 0)
		return err_sys(e, errno, "migrate_tls: cannot make run/%s", STAGE_DIR);
	int to = openat(rundfd, STAGE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int from = to < 0 ? -1 : open_dir(e);
	int r = to < 0 ? err_sys(e, errno, "migrate_tls: run/%s", STAGE_DIR) : from < 0 ? from : 0;
	if (!r && fchown(to, st.st_uid, st.st_gid) < 0)
		r = err_sys(e, errno, "migrate_tls: run/%s for QEMU's user", STAGE_DIR);
	const char *mine[] = {files[0], server ? files[1] : files[3], server ? files[2] : files[4]};
	for (size_t i = 0; !r && i < 3; i++)
		r = copy_one(from, to, mine[i], st.st_uid, st.st_gid, e);
	if (to >= 0)
		close(to);
	if (from >= 0)
		close(from);
	if (r) {
		migtls_unstage(rundfd);
		return r;
	}
	/* QEMU's working directory is run/qemu: the relative name reaches the copies */
	snprintf(cmd, cmdlen,
		 "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-x509\","
		 "\"id\":\"" MIGTLS_ID "\",\"dir\":\"vmfs-tls\",\"endpoint\":\"%s\","
		 "\"verify-peer\":true}}",
		 server ? "server" : "client");
	return 0;
}

#define QMP_DROP_MS 10000 /* as the migration's own commands: a loaded host answers late */

int migtls_drop(struct qsess *s, struct err *e)
{
	/* the parameter names the object: reset first, lest a later migration find it gone */
	int r = qsess_cmd(s,
			  "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
			  "{\"tls-creds\":\"\"}}",
			  QMP_DROP_MS, NULL, 0, e);
	struct err ignored;
	int d = qsess_cmd(s,
			  "{\"execute\":\"object-del\",\"arguments\":{\"id\":\"" MIGTLS_ID "\"}}",
			  QMP_DROP_MS, NULL, 0, r ? &ignored : e);
	return r ? r : d;
}
