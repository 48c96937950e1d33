/* conf/: defaults, a good file, and every kind of bad line reported as FILE:LINE: reason. */
#include <errno.h>
#include <stdlib.h>
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

static void expect_error(const char *text, const char *suffix, const char *what)
{
	struct vmfs_conf c;
	char err[512], want[600];
	int r = load(&c, text, err, sizeof(err));
	snprintf(want, sizeof(want), "%s%s", path, suffix);
	ok(r == -EINVAL, "%s: refused", what);
	is_str(err, want, "%s: the message", what);
	conf_free(&c);
}

int main(void)
{
	struct vmfs_conf c;
	char err[512];
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
	ok(conf_set(&c, "vmfs", "state", "/other", err, sizeof(err)) == 0 &&
		   !strcmp(c.state, "/other"),
	   "the command line overrides a key");
	conf_free(&c);

	expect_error("[vmfs]\nstate = /x\nbogus = 1\n", ":3: unknown key \"bogus\" in [vmfs]",
		     "an unknown key");
	expect_error("[web]\nlisten = 1\n", ":2: unknown key \"listen\" in [web]",
		     "an unknown section");
	expect_error("state = /x\n", ":1: state is outside any section (keys belong under [vmfs])",
		     "a key before any section");
	expect_error("[vmfs]\nthis is not ini\n",
		     ":2: not an INI line (expected [section] or key = value)", "a line without =");
	char longline[400];
	snprintf(longline, sizeof(longline), "[vmfs]\nsshfs_options = %0250d\n", 0);
	expect_error(longline, ":2: the line is longer than 198 bytes, the most the INI reader takes",
		     "a line the INI reader would cut");
	snprintf(longline, sizeof(longline), "[vmfs]\nsshfs_options = %0170d\n", 0);
	struct vmfs_conf l;
	ok(load(&l, longline, err, sizeof(err)) == 0 && strlen(l.sshfs_options) == 170,
	   "a line of 186 bytes is read whole");
	conf_free(&l);
	struct vmfs_conf b;
	int r = load(&b, "[vmfs]\n\nforeground = perhaps\n", err, sizeof(err));
	ok(r == -EINVAL && strstr(err, ":3: ") && strstr(err, "perhaps"),
	   "a bad boolean names the line and the value (%s)", err);
	conf_free(&b);

	conf_defaults(&c);
	r = conf_load(&c, "/nonexistent/vmfs.conf", err, sizeof(err));
	ok(r == -ENOENT, "a missing file is ENOENT");
	is_str(err, "/nonexistent/vmfs.conf: No such file or directory", "and says so");
	conf_free(&c);

	conf_defaults(&c);
	ok(conf_load(&c, "conf/vmfs.conf", err, sizeof(err)) == 0, "the shipped conf/vmfs.conf parses (%s)",
	   err);
	conf_free(&c);
	unlink(path);
	return tap_done();
}
