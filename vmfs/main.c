/* vmfs: mounts the tree, and wires the doors to the daemon. Start-up order: options and
 * config, the state directory (locked, so two daemons never share it), the HTTP door, a
 * stale mount cleared, mount, daemonize, then the event loop (vmfs/daemon.c). No thread is
 * started before the fork. */
#include <errno.h>
#include <fcntl.h>
#include <fuse_opt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmfs/daemon.h"
#include "vmfs/fuse.h"
#include "vmfs/kinds.h"
#include "cluster/cpub.h"
#include "cluster/ccmd.h"
#include "etcd/member.h"
#include "etcd/setup.h"
#include "mdns/mdns.h"
#include "runtime/migrate.h"
#include "runtime/migtls.h"
#include "p9/door.h"
#include "web/http.h"

struct cli {
	char *conf, *state, *images, *web, *web_passwd, *web_cert, *web_key; /* strdup()ed */
	char *web_hosts; /* every --web-host, joined with commas */
	char *p9, *p9_socket;
	int help, version, web_insecure, nfs_export, announce, discover;
};

#define CLI_OPT(t, p) {t, offsetof(struct cli, p), 1}
#define KEY_WEB_HOST 1
static const struct fuse_opt cli_opts[] = {
	/* only "--opt=%s": fuse_opt applies every template that matches, and "--web %s" would
	 * match "--web-passwd" too; join_values turns "--opt VALUE" into "--opt=VALUE" */
	CLI_OPT("--conf=%s", conf),
	CLI_OPT("--state=%s", state),
	CLI_OPT("--images=%s", images),
	CLI_OPT("--web=%s", web),
	CLI_OPT("--web-passwd=%s", web_passwd),
	CLI_OPT("--web-cert=%s", web_cert),
	CLI_OPT("--web-key=%s", web_key),
	CLI_OPT("--web-insecure", web_insecure),
	CLI_OPT("--9p=%s", p9),
	CLI_OPT("--9p-socket=%s", p9_socket),
	CLI_OPT("--nfs-export", nfs_export),
	CLI_OPT("--announce", announce),
	CLI_OPT("--discover", discover),
	FUSE_OPT_KEY("--web-host=%s", KEY_WEB_HOST),
	CLI_OPT("-h", help),            CLI_OPT("--help", help),
	CLI_OPT("-V", version),         CLI_OPT("--version", version),
	FUSE_OPT_END,
};

/* An option neither ours nor libfuse's command-line one (-f, -d, -s) is refused here:
 * libfuse passes a "--word" it does not know over without a word. -o's options reach this
 * one by one, without a dash; libfuse checks those. */
static int cli_other(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cli *cli = data;
	if (key == KEY_WEB_HOST) { /* repeatable: the names add up */
		const char *name = arg + strlen("--web-host=");
		char *all = NULL;
		if (asprintf(&all, "%s%s%s", cli->web_hosts ? cli->web_hosts : "",
			     cli->web_hosts ? "," : "", name) < 0)
			return -1;
		free(cli->web_hosts);
		cli->web_hosts = all;
		return 0;
	}
	if (key != FUSE_OPT_KEY_OPT || arg[0] != '-' || !strcmp(arg, "-f") || !strcmp(arg, "-d") ||
	    !strcmp(arg, "-s"))
		return 1;
	fprintf(stderr, "vmfs: unknown option %s (vmfs --help)\n", arg);
	return -1;
}

/* "--web 127.0.0.1:9001" as "--web=127.0.0.1:9001", for the templates above. */
static int join_values(int argc, char **argv, char ***out)
{
	static const char *const with_value[] = {"--conf", "--state", "--images", "--web",
						 "--web-passwd", "--web-cert", "--web-key",
						 "--web-host", "--9p", "--9p-socket"};
	char **v = calloc(argc + 1, sizeof(*v));
	int n = 0;
	if (!v)
		return -1;
	for (int i = 0; i < argc; i++) {
		bool joined = false;
		for (size_t k = 0; i + 1 == argc && k < sizeof(with_value) / sizeof(*with_value); k++)
			if (!strcmp(argv[i], with_value[k])) {
				fprintf(stderr, "vmfs: %s needs a value (vmfs --help)\n", argv[i]);
				while (n)
					free(v[--n]);
				free(v);
				errno = 0;
				return -1;
			}
		for (size_t k = 0; i + 1 < argc && k < sizeof(with_value) / sizeof(*with_value); k++)
			if (!strcmp(argv[i], with_value[k])) {
				if (asprintf(&v[n++], "%s=%s", argv[i], argv[i + 1]) < 0)
					return -1;
				joined = true;
				i++;
				break;
			}
		if (!joined && !(v[n++] = strdup(argv[i])))
			return -1;
	}
	*out = v;
	return n;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vmfs [-f] [-d] [-o OPTIONS] [--conf FILE] [--state DIR] [--images DIR] "
		"MOUNTPOINT\n\n"
		"Mounts the vmfs tree (namespaces, VMs, containers, images, hosts) at MOUNTPOINT.\n\n"
		"  -f              stay in the foreground\n"
		"  -d              debug: print every FUSE request (implies -f)\n"
		"  -o OPTIONS      FUSE mount options, e.g. allow_other\n"
		"  --conf FILE     read FILE (INI); default /etc/vmfs.conf if it exists\n"
		"  --state DIR     the state directory (default /var/lib/vmfs)\n"
		"  --images DIR    the image store shown as images/ (default STATE/images)\n"
		"  --web ADDR:PORT serve the tree over HTTP too (and the browser pages at /ui/)\n"
		"  --web-passwd FILE  users and their rules for the web (made by vmfs-passwd)\n"
		"  --web-cert FILE, --web-key FILE  HTTPS with this certificate and key (PEM)\n"
		"  --web-insecure  serve an address other than loopback without a password file\n"
		"                  (the token in STATE/web-token is still asked for)\n"
		"  --web-host NAME a name the Host header may give (besides the address and\n"
		"                  localhost); repeatable\n"
		"  --9p ADDR:PORT  serve the tree over 9P2000.L on TCP to the peers of p9_peers,\n"
		"                  acting as p9_user\n"
		"  --9p-socket PATH  serve it over 9P on a Unix socket: each peer acts as itself\n"
		"  vmfs 9p-stdio [--9p-socket PATH]  relay stdin and stdout to that socket (for\n"
		"                  `ssh HOST vmfs 9p-stdio`: acts as the user ssh logged in as)\n"
		"  vmfs cluster-setup [--cluster NAME] [--password-file FILE] HOST  print the\n"
		"                  etcdctl commands that make HOST's etcd user and role\n"
		"  --nfs-export    the mount is exported over NFS (nfs-ganesha): answer EBUSY as EPERM\n"
		"                  and ETIMEDOUT as EIO, which NFS clients do not retry (docs/export.md)\n"
		"  --announce      announce the network doors on the LAN (Avahi, mDNS)\n"
		"  --discover      list what other vmfs announce in hosts/discovered\n"
		"  -h, --help      this help;  -V, --version  the version\n\n"
		"Configuration keys (command-line options win):\n");
	conf_usage(out);
	fprintf(out, "\nUnmount with `fusermount3 -u MOUNTPOINT` or SIGTERM.\n");
}

static int conf_from_cli(struct vmfs_conf *conf, struct cli *cli, struct fuse_cli *fo)
{
	char err[512], cwd[PATH_MAX];
	const char *path = cli->conf ? cli->conf : "/etc/vmfs.conf";
	if (!*path) {
		fprintf(stderr, "vmfs: --conf: the path is empty\n");
		return 2;
	}
	int r = conf_load(conf, path, err, sizeof(err));
	if (r && (cli->conf || r != -ENOENT)) {
		fprintf(stderr, "vmfs: %s\n", err);
		return 2;
	}
	/* the daemon changes to /: a relative path on the command line is made absolute now */
	if (!getcwd(cwd, sizeof(cwd))) {
		perror("vmfs: the working directory");
		return 1;
	}
	const struct {
		const char *opt, *key, *value;
	} over[] = {
		{"--state", "state", cli->state},
		{"--images", "images", cli->images},
		{"--web", "web", cli->web},
		{"--web-passwd", "web_passwd", cli->web_passwd},
		{"--web-cert", "web_cert", cli->web_cert},
		{"--web-key", "web_key", cli->web_key},
		{"--web-host", "web_hosts", cli->web_hosts},
		{"--9p", "p9", cli->p9},
		{"--9p-socket", "p9_socket", cli->p9_socket},
		{"MOUNTPOINT", "mountpoint", fo->mountpoint},
	};
	for (size_t i = 0; i < sizeof(over) / sizeof(*over); i++) {
		if (!over[i].value)
			continue;
		/* an option given empty is a mistake (an unset variable), not "the default" */
		if (!*over[i].value)
			snprintf(err, sizeof(err), "the value is empty (leave the option out for the default)");
		else if (!conf_set(conf, "vmfs", over[i].key, over[i].value, cwd, err, sizeof(err)))
			continue;
		fprintf(stderr, "vmfs: %s: %s\n", over[i].opt, err);
		return 2;
	}
	conf->web_insecure |= cli->web_insecure;
	conf->nfs_export |= cli->nfs_export;
	conf->announce |= cli->announce;
	conf->discover |= cli->discover;
	conf->debug |= fo->debug;
	conf->foreground |= fo->foreground || conf->debug; /* debug output needs a terminal */
	if (!*conf->mountpoint) {
		fprintf(stderr, "vmfs: no mount point given (vmfs --help)\n");
		return 2;
	}
	return 0;
}

/* Is a vmfs (live or dead) mounted exactly at mp? */
static bool vmfs_mounted_at(const char *mp)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], where[PATH_MAX], type[256];
	bool found = false;
	while (f && fgets(line, sizeof(line), f)) {
		/* id parent maj:min root MOUNTPOINT opts [optional...] - TYPE source opts */
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", where) != 1 ||
		    sscanf(dash + 3, "%255s", type) != 1)
			continue;
		if (!strcmp(where, mp) && !strcmp(type, "fuse.vmfs"))
			found = true;
	}
	if (f)
		fclose(f);
	return found;
}

static int unmount_lazy(const char *mp)
{
	if (umount2(mp, MNT_DETACH) == 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", mp, (char *)NULL);
		_exit(127);
	}
	int status;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			       !WEXITSTATUS(status)
		       ? 0
		       : -1;
}

/* A vmfs killed with -9 leaves its mount behind, answering ENOTCONN. statvfs asks the
 * daemon every time (stat may be answered from the kernel's attribute cache). */
static int clear_stale_mount(const char *mp)
{
	struct statvfs sv;
	for (int i = 0; i < 8 && statvfs(mp, &sv) < 0; i++) {
		if (errno != ENOTCONN && errno != ECONNABORTED) {
			fprintf(stderr, "vmfs: mount point %s: %s\n", mp, strerror(errno));
			return 1;
		}
		fprintf(stderr, "vmfs: %s: clearing a stale mount left by a vmfs that died\n", mp);
		if (unmount_lazy(mp) < 0) {
			fprintf(stderr, "vmfs: %s: cannot clear the stale mount; run fusermount3 -uz %s\n",
				mp, mp);
			return 1;
		}
	}
	if (vmfs_mounted_at(mp)) {
		fprintf(stderr, "vmfs: %s: a running vmfs is mounted there already "
				"(fusermount3 -u %s first)\n", mp, mp);
		return 1;
	}
	return 0;
}

/* Records who holds the lock; called again after detaching, when the pid changes. */
static void lock_note_pid(int fd)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, n, 0) < 0)
		n = 0;
}

#define LOCK_TRIES 30 /* 3 s */

/* One daemon per state directory: a second one would overwrite the first one's files. */
static int lock_state(const char *statedir)
{
	char path[BUILT_PATH_MAX];
	snprintf(path, sizeof(path), "%s", statedir);
	for (char *p = path + 1;; p++) /* mkdir -p */
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			mkdir(path, 0755);
			*p = c;
			if (!c)
				break;
		}
	snprintf(path, sizeof(path), "%s/lock", statedir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	/* A vmfs just killed may leave a child of its own for a moment (forked, not yet
	 * exec'd: it shares the lock): a restart right after a kill -9 waits for it, briefly. */
	for (int i = 0; fd >= 0 && i < LOCK_TRIES; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			lock_note_pid(fd);
			return fd; /* held until exit; flock follows the descriptor across the fork */
		}
		if (errno != EWOULDBLOCK)
			break;
		usleep(100 * 1000);
	}
	char owner[32] = "?";
	if (fd >= 0 && pread(fd, owner, sizeof(owner) - 1, 0) > 0)
		owner[strcspn(owner, "\n")] = 0;
	if (fd < 0)
		fprintf(stderr, "vmfs: cannot open %s: %s\n", path, strerror(errno));
	else
		fprintf(stderr, "vmfs: the state directory %s is in use by another vmfs (pid %s)\n",
			statedir, owner);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Doors opened before the mount failed: no loop ever ran, so they stop and go at once. */
static void doors_abandon(struct door *doors, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (doors[i].ops->stop)
			doors[i].ops->stop(doors[i].self);
		if (doors[i].ops->close)
			doors[i].ops->close(doors[i].self);
	}
}

int main(int argc, char **argv)
{
	char **joined;
	if (argc > 1 && !strcmp(argv[1], "9p-stdio"))
		return p9_stdio_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "cluster-setup"))
		return cluster_setup_main(argc - 1, argv + 1, stdout, stderr);
	argc = join_values(argc, argv, &joined);
	if (argc < 0) {
		if (errno)
			perror("vmfs");
		return 2;
	}
	struct fuse_args args = FUSE_ARGS_INIT(argc, joined);
	struct cli cli = {0};
	struct fuse_cli fo = {0};
	struct vmfs_conf conf;
	struct vmfs v;
	struct door doors[6]; /* web, 9p, etcd, cluster publisher, FUSE, discovery */
	size_t ndoors = 0;
	char err[512];
	int rc = 2, lockfd = -1;
	if (conf_defaults(&conf) < 0 || fuse_opt_parse(&args, &cli, cli_opts, cli_other) < 0 ||
	    fuse_door_cmdline(&args, &fo) != 0)
		goto out;
	if (cli.help || fo.show_help) {
		usage(stdout);
		rc = 0;
		goto out;
	}
	if (cli.version || fo.show_version) {
		printf("vmfs %s (libfuse %s)\n", VMFS_VERSION, fuse_door_libversion());
		rc = 0;
		goto out;
	}
	if ((rc = conf_from_cli(&conf, &cli, &fo)))
		goto out;
	rc = 1;
	struct err tls_e;
	if (migtls_set(conf.migrate_tls, &tls_e)) {
		fprintf(stderr, "vmfs: %s\n", tls_e.why);
		goto out;
	}
	unsigned plo, phi;
	if (conf_ports(conf.migrate_ports, &plo, &phi, err, sizeof(err))) {
		fprintf(stderr, "vmfs: migrate_ports: %s\n", err);
		goto out;
	}
	migrate_ports_set(plo, phi);
	/* the lock first: a refused second vmfs must not touch the state (adopt, reap, log) */
	if ((lockfd = lock_state(conf.state)) < 0)
		goto out;
	if (vmfs_init(&v, &conf, err, sizeof(err))) {
		fprintf(stderr, "vmfs: %s\n", err);
		vmfs_fini(&v);
		goto out;
	}
	/* before the mount, so that a port in use fails the start rather than a daemon */
	if (*conf.web && web_door_open(&v, &conf, &doors[ndoors++], err, sizeof(err))) {
		fprintf(stderr, "vmfs: %s\n", err);
		vmfs_fini(&v);
		goto out;
	}
	if (((*conf.p9 || *conf.p9_socket) &&
	     p9_door_open(&v, &conf, &doors[ndoors++], err, sizeof(err))) ||
	    (*conf.etcd && member_door_open(&v, &conf, &doors[ndoors++], err, sizeof(err))) ||
	    (*conf.etcd && cpub_door_open(&v, &conf, &doors[ndoors++], err, sizeof(err))) ||
	    (*conf.etcd && ccmd_door_open(&v, &conf, &doors[ndoors++], err, sizeof(err)))) {
		fprintf(stderr, "vmfs: %s\n", err);
		doors_abandon(doors, ndoors - 1); /* the last one did not open */
		vmfs_fini(&v);
		goto out;
	}
	if (!clear_stale_mount(conf.mountpoint) && !fuse_door_options(&args, &conf) &&
	    !(rc = fuse_door_open(&v, &args, conf.mountpoint, conf.foreground, &doors[ndoors]))) {
		lock_note_pid(lockfd); /* the daemon's pid, not the parent's that just exited */
		ndoors++;
		/* what announce publishes: each network door */
		const struct mdns_ad ads[] = {
			{"web", *conf.web_cert ? "_https._tcp" : "_http._tcp", conf.web, "path=/"},
			{"9p", "_vmfs-9p._tcp", conf.p9, NULL},
		};
		if ((conf.announce || conf.discover) &&
		    !mdns_door_open(&v, ads, sizeof(ads) / sizeof(*ads), conf.announce, conf.discover,
				    &doors[ndoors]))
			ndoors++;
		rc = daemon_run(&v, doors, ndoors);
	} else { /* the network doors', opened before the mount failed */
		doors_abandon(doors, ndoors);
	}
	if (lockfd >= 0)
		close(lockfd);
	vmfs_fini(&v);
out:
	free(cli.conf);
	free(cli.state);
	free(cli.images);
	free(cli.web);
	free(cli.web_passwd);
	free(cli.web_cert);
	free(cli.web_key);
	free(cli.web_hosts);
	free(cli.p9);
	free(cli.p9_socket);
	free(fo.mountpoint);
	fuse_opt_free_args(&args);
	for (int i = 0; i < argc; i++)
		free(joined[i]);
	free(joined);
	conf_free(&conf);
	return rc;
}
