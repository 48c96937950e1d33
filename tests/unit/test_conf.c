/* conf/: defaults, a good file, and every kind of bad line reported as FILE:LINE: reason. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tests/unit/tap.h"

static char path[] = "/tmp/vmfs-conf-XXXXXX";

static int load(struct vmfs_conf *c, const char *text, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	conf_defaults(c);
	return conf_load(c, path, err, errlen);
}

/* text parsed from memory as /etc/vmfs/vmfs.conf must be refused with exactly want. */
static void refused_n(const char *text, size_t len, const char *want, const char *what)
{
	struct vmfs_conf c;
	char err[512] = "";
	conf_defaults(&c);
	int r = conf_parse(&c, text, len, "/etc/vmfs/vmfs.conf", "/etc/vmfs", err,
			   sizeof(err));
	ok(r == -EINVAL, "%s: refused", what);
	is_str(err, want, "%s: the message", what);
	conf_free(&c);
}

static void refused(const char *text, const char *want, const char *what)
{
	refused_n(text, strlen(text), want, what);
}

static int parse(struct vmfs_conf *c, const char *text, char *err, size_t errlen)
{
	conf_defaults(c);
	return conf_parse(c, text, strlen(text), "/etc/vmfs/vmfs.conf", "/etc/vmfs", err, errlen);
}

int main(void)
{
	struct vmfs_conf c;
	char err[512] = "", text[600], top[4096];
	if (!getcwd(top, sizeof(top)))
		return 1;
	int fd = mkstemp(path);
	close(fd);

	conf_defaults(&c);
	is_str(c.state, "/var/lib/vmfs", "default state");
	is_str(c.images, "", "default images: derived from state");
	ok(!c.allow_other && !c.foreground && !c.debug, "default booleans are off");
	conf_free(&c);

	ok(load(&c, "; comment\n[vmfs]\nstate = /srv/vmfs\nallow_other = yes\noptions = ro\n", err,
		sizeof(err)) == 0, "a good file loads");
	is_str(c.state, "/srv/vmfs", "state read");
	ok(c.allow_other, "allow_other read as a boolean");
	is_str(c.options, "ro", "options read");
	is_str(c.path, path, "the file is remembered");
	ok(conf_set(&c, "vmfs", "state", "/other", "/", err, sizeof(err)) == 0 &&
		   !strcmp(c.state, "/other"),
	   "the command line overrides a key");
	ok(conf_set(&c, "vmfs", "state", "", "/", err, sizeof(err)) == -EINVAL &&
		   !strcmp(c.state, "/other"),
	   "an empty value on the command line is refused and changes nothing");
	is_str(err, "the path is empty (leave it out for the default)", "and says why");
	ok(conf_set(&c, "vmfs", "images", "img", "/home/u", err, sizeof(err)) == 0,
	   "a relative path on the command line");
	is_str(c.images, "/home/u/img", "is taken from the directory given (the working one)");
	conf_free(&c);

	ok(parse(&c, "[vmfs]\nuplink = eth0\nweb = 127.0.0.1:9001\nmembers = h1=ssh://root@h1/vmfs "
		     "h2=/mnt/h2\nsshfs_options = IdentityFile=/k,port=22\nweb_insecure = on\n",
		 err, sizeof(err)) == 0, "every kind of key, good values (%s)", err);
	is_str(c.uplink, "eth0", "uplink read");
	is_str(c.web, "127.0.0.1:9001", "web read");
	is_str(c.members, "h1=ssh://root@h1/vmfs h2=/mnt/h2", "members read");
	conf_free(&c);

	/* relative paths: from the file's own directory */
	ok(parse(&c, "[vmfs]\nstate = state\nimages = ../img\nweb_cert = tls/cert.pem\n", err,
		 sizeof(err)) == 0, "relative paths are taken");
	is_str(c.state, "/etc/vmfs/state", "a relative state is under the file's directory");
	is_str(c.images, "/etc/vmfs/../img", "a relative images is under the file's directory");
	is_str(c.web_cert, "/etc/vmfs/tls/cert.pem", "a relative web_cert likewise");
	conf_free(&c);
	mkdir("/tmp/vmfs-conf-dir", 0700);
	FILE *f = fopen("/tmp/vmfs-conf-dir/v.conf", "w");
	fputs("[vmfs]\nstate = s\n", f);
	fclose(f);
	conf_defaults(&c);
	ok(chdir("/tmp") == 0 && conf_load(&c, "vmfs-conf-dir/v.conf", err, sizeof(err)) == 0,
	   "a file named relatively loads");
	is_str(c.state, "/tmp/vmfs-conf-dir/s", "its relative state: from the file's directory, not the working one");
	conf_free(&c);
	unlink("/tmp/vmfs-conf-dir/v.conf");
	rmdir("/tmp/vmfs-conf-dir");

	/* the structure of the file */
	const char *F = "/etc/vmfs/vmfs.conf";
#define R(text, suffix, what)                                                                      \
	do {                                                                                        \
		char want_[600];                                                                    \
		snprintf(want_, sizeof(want_), "%s%s", F, suffix);                                  \
		refused(text, want_, what);                                                         \
	} while (0)
	R("[vmfs]\nstate = /x\nbogus = 1\n", ":3: unknown key \"bogus\" in [vmfs]", "an unknown key");
	R("[web]\nlisten = 1\n", ":1: unknown section [web] (the only section is [vmfs])",
	  "an unknown section");
	R("[vmfs]\n[extra]\n", ":2: unknown section [extra] (the only section is [vmfs])",
	  "an unknown empty section");
	R("state = /x\n", ":1: state is outside any section (keys belong under [vmfs])",
	  "a key before any section");
	R("[vmfs]\nthis is not ini\n", ":2: not an INI line (expected [section] or key = value)",
	  "a line without =");
	R("[vmfs\nstate = /x\n", ":1: not an INI line (expected [section] or key = value)",
	  "a section without ]");
	R("[vmfs]\nstate = /a\ndebug = 1\nstate = /b\n", ":4: state is given twice (first on line 2)",
	  "a key given twice");
	R("[vmfs]\nforeground = yes\n\n[vmfs]\nforeground = no\n",
	  ":4: a second [vmfs] section (the first is on line 1)", "a second [vmfs] section");
	R("[vmfs]\nmembers = a=/x\n   b=/y\n",
	  ":3: an indented line after a key: INI would read it as more of that key's value; write "
	  "each key = value on one line, from its start", "a continued value");
	refused_n("[vmfs]\nstate = /x\nde\0bug = 1\n", 24,
		  "/etc/vmfs/vmfs.conf:3: a NUL byte: this is not a text file", "a NUL byte");
	snprintf(text, sizeof(text), "[vmfs]\nsshfs_options = %0250d\n", 0);
	R(text, ":2: the line is longer than 198 bytes, the most the INI reader takes",
	  "a line the INI reader would cut");
	snprintf(text, sizeof(text), "[vmfs]\nsshfs_options = %0170d\n", 0);
	ok(parse(&c, text, err, sizeof(err)) == 0 && strlen(c.sshfs_options) == 170,
	   "a line of 186 bytes is read whole");
	conf_free(&c);
	ok(parse(&c, "\xEF\xBB\xBF[vmfs]\n  state = /x ; where\n# indented comments\n  ; are fine\n",
		 err, sizeof(err)) == 0 && !strcmp(c.state, "/x"),
	   "a BOM, an indented first key, inline and indented comments (%s)", err);
	conf_free(&c);

	/* each key's value */
	R("[vmfs]\n\nforeground = perhaps\n",
	  ":3: foreground: \"perhaps\" is not true or false: use true/false, yes/no, on/off or 1/0",
	  "a bad boolean");
	R("[vmfs]\ndebug =\n",
	  ":2: debug: \"\" is not true or false: use true/false, yes/no, on/off or 1/0",
	  "an empty boolean");
	R("[vmfs]\nstate =\n", ":2: state: the path is empty (leave it out for the default)",
	  "an empty state");
	R("[vmfs]\nimages = \n", ":2: images: the path is empty (leave it out for the default)",
	  "an empty images");
	R("[vmfs]\nmountpoint = /a\x01z\n", ":2: mountpoint: \"/a\\x01z\" holds a control character",
	  "a control byte in a path");
	R("[vmfs]\nuplink = enp0s31f6-trunk-to-the-switch-upstairs-01234\n",
	  ":2: uplink: \"enp0s31f6-trunk-to-the-switch-upstairs-01234\" is 44 bytes long; an "
	  "interface name is at most 15", "a 44-byte uplink");
	R("[vmfs]\nuplink = eth0:1\n",
	  ":2: uplink: \"eth0:1\" is not an interface name (no '/', ':', blank or control "
	  "character; not . or ..)", "an uplink with a colon");
	R("[vmfs]\nuplink = ..\n",
	  ":2: uplink: \"..\" is not an interface name (no '/', ':', blank or control "
	  "character; not . or ..)", "an uplink of ..");
	ok(parse(&c, "[vmfs]\nuplink = 0123456789abcde\n", err, sizeof(err)) == 0,
	   "a 15-byte uplink is taken");
	conf_free(&c);
	const char *bad_web[] = {"9001", "localhost:9001", "127.0.0.1:0", "127.0.0.1:65536",
				 "127.0.0.1:", ":9001", "127.0.0.1:90x", "1.2.3:80", "127.0.0.1:+80"};
	for (size_t i = 0; i < sizeof(bad_web) / sizeof(*bad_web); i++) {
		char t[200], want[400];
		snprintf(t, sizeof(t), "[vmfs]\nweb = %s\n", bad_web[i]);
		snprintf(want, sizeof(want), ":2: web: \"%s\" is not ADDR:PORT, an IPv4 address and "
			 "a port from 1 to 65535, as in 127.0.0.1:9001", bad_web[i]);
		R(t, want, bad_web[i]);
	}
	R("[vmfs]\noptions = ro,,allow_other\n",
	  ":2: options: \"ro,,allow_other\" has an empty option (a comma at an end, or two in a row)",
	  "options with an empty one");
	R("[vmfs]\nsshfs_options = ,port=22\n",
	  ":2: sshfs_options: \",port=22\" has an empty option (a comma at an end, or two in a row)",
	  "sshfs_options with an empty one");
	R("[vmfs]\nmembers = h1=/x h2\n", ":2: members: \"h2\" is not NAME=URL", "a member without =");
	R("[vmfs]\nmembers = h1=http://x/y\n",
	  ":2: members: h1: \"http://x/y\" is none of ssh://USER@HOST/PATH, 9p://HOST[:PORT], "
	  "9p+ssh://USER@HOST[:PORT] and an absolute path where the member's tree is mounted", "a member with a bad URL");
	R("[vmfs]\nmembers = h1=ssh://root@host\n",
	  ":2: members: h1: \"ssh://root@host\" is not ssh://USER@HOST/PATH (the path of the "
	  "member's mount point is missing)", "an ssh member without its path");
	R("[vmfs]\nmembers = h1=/x h1=/y\n", ":2: members: h1 is given twice", "a member named twice");
	R("[vmfs]\nmembers = =/x\n", ":2: members: \"=/x\" is not NAME=URL", "a member without a name");

	/* the file itself */
	ok(load(&c, "", err, sizeof(err)) == 0 && !strcmp(c.state, "/var/lib/vmfs"),
	   "an empty file: the defaults");
	conf_free(&c);
	conf_defaults(&c);
	int r = conf_load(&c, "/nonexistent/vmfs.conf", err, sizeof(err));
	ok(r == -ENOENT, "a missing file is ENOENT");
	is_str(err, "/nonexistent/vmfs.conf: No such file or directory", "and says so");
	r = conf_load(&c, "/tmp", err, sizeof(err));
	ok(r == -EINVAL && !strcmp(err, "/tmp: not a regular file"), "a directory is refused (%s)", err);
	unlink(path);
	ok(mkfifo(path, 0600) == 0, "a FIFO made");
	r = conf_load(&c, path, err, sizeof(err));
	ok(r == -EINVAL && strstr(err, ": not a regular file"), "a FIFO is refused, without waiting (%s)", err);
	unlink(path);
	conf_free(&c); /* load() starts from the defaults again */
	char *big = malloc(70000);
	memset(big, ';', 69999);
	big[69999] = 0;
	r = load(&c, big, err, sizeof(err));
	ok(r == -EINVAL && strstr(err, ": larger than 64 KiB: not a vmfs.conf"), "a huge file is refused (%s)", err);
	free(big);
	conf_free(&c);

	ok(parse(&c, "[vmfs]\ncluster = lab-1\ncluster_addr = fd00::12\n", err, sizeof(err)) == 0 &&
		   !strcmp(c.cluster, "lab-1") && !strcmp(c.cluster_addr, "fd00::12"),
	   "cluster (a name) and cluster_addr (an IPv6 address) are taken (%s)", err);
	conf_free(&c);
	conf_defaults(&c);
	is_str(c.cluster, "default", "cluster defaults to \"default\"");
	conf_free(&c);
	refused("[vmfs]\ncluster = a/b\n",
		"/etc/vmfs/vmfs.conf:2: cluster: \"a/b\" contains '/': names use only letters, "
		"digits, '.', '_' and '-'",
		"a cluster that is not a name");
	conf_defaults(&c);
	is_str(c.cpu_ratio, "4", "cpu_ratio's default: 4");
	is_str(c.mem_ratio, "1", "mem_ratio's default: 1");
	conf_free(&c);
	ok(parse(&c, "[vmfs]\ncpu_ratio = 8\nmem_ratio = 1.5\n", err, sizeof(err)) == 0 &&
		   !strcmp(c.cpu_ratio, "8") && !strcmp(c.mem_ratio, "1.5"),
	   "cpu_ratio 8 and mem_ratio 1.5 are taken (%s)", err);
	conf_free(&c);
	refused("[vmfs]\ncpu_ratio = 1.2345\n",
		"/etc/vmfs/vmfs.conf:2: cpu_ratio: \"1.2345\" is not a ratio (like 4 or 1.5)",
		"a ratio with 4 decimals");
	refused("[vmfs]\nmem_ratio = 0\n",
		"/etc/vmfs/vmfs.conf:2: mem_ratio: 0 is out of range (0.001 to 1000.000)",
		"a ratio of 0");
	refused("[vmfs]\ncpu_ratio = -1\n",
		"/etc/vmfs/vmfs.conf:2: cpu_ratio: \"-1\" is not a ratio (like 4 or 1.5)",
		"a negative ratio");
	unsigned lo = 1, hi = 1;
	ok(parse(&c, "[vmfs]\nmigrate_ports = 49152-49153\n", err, sizeof(err)) == 0 &&
		   !conf_ports(c.migrate_ports, &lo, &hi, err, sizeof(err)) && lo == 49152 &&
		   hi == 49153,
	   "migrate_ports 49152-49153 is taken (%s)", err);
	conf_free(&c);
	conf_defaults(&c);
	ok(!conf_ports(c.migrate_ports, &lo, &hi, err, sizeof(err)) && lo == 0 && hi == 0,
	   "migrate_ports' default: none (the kernel's ephemeral ports)");
	conf_free(&c);
	refused("[vmfs]\nmigrate_ports = 5000-4000\n",
		"/etc/vmfs/vmfs.conf:2: migrate_ports: \"5000-4000\" is not LO-HI, two ports from 1 "
		"to 65535 with LO <= HI, as in 49152-49215",
		"a port range upside down");
	refused("[vmfs]\nmigrate_ports = 0-10\n",
		"/etc/vmfs/vmfs.conf:2: migrate_ports: \"0-10\" is not LO-HI, two ports from 1 to "
		"65535 with LO <= HI, as in 49152-49215",
		"a port range from port 0");
	refused("[vmfs]\nmigrate_ports = 4000-70000\n",
		"/etc/vmfs/vmfs.conf:2: migrate_ports: \"4000-70000\" is not LO-HI, two ports from 1 "
		"to 65535 with LO <= HI, as in 49152-49215",
		"a port range past 65535");
	refused("[vmfs]\nmigrate_ports = 4000\n",
		"/etc/vmfs/vmfs.conf:2: migrate_ports: \"4000\" is not LO-HI, two ports from 1 to "
		"65535 with LO <= HI, as in 49152-49215",
		"a single port");
	refused("[vmfs]\ncluster_addr = 10.0.0.1:564\n",
		"/etc/vmfs/vmfs.conf:2: cluster_addr: \"10.0.0.1:564\" is not an IPv4 or IPv6 address (no port)",
		"a cluster_addr with a port");

	conf_defaults(&c);
	ok(chdir(top) == 0 && conf_load(&c, "conf/vmfs.conf", err, sizeof(err)) == 0,
	   "the shipped conf/vmfs.conf parses (%s)", err);
	conf_free(&c);
	unlink(path);
	return tap_done();
}
