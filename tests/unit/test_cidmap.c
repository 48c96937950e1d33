/* cluster/cidmap.c: STATE/cluster/ids is read strictly (a damaged map is refused whole, with
 * words, and never half used), written atomically, and read back the same. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cidmap.h"
#include "tests/unit/tap.h"

/* Parses a copy of text for cluster "lab"; the result, the reason in err. */
static int parse(const char *text, struct cidmap *m, char *err, size_t errlen)
{
	char *copy = strdup(text);
	*err = 0;
	int r = cidmap_parse(copy, strlen(copy), "lab", m, err, errlen);
	free(copy);
	return r;
}

/* text is refused, err holds want, and the map is left empty */
static void refused(const char *text, const char *want, const char *what)
{
	struct cidmap m;
	char err[300];
	int r = parse(text, &m, err, sizeof(err));
	ok(r == -EINVAL && strstr(err, want) && !m.nns && !m.nobj, "refused: %s (%s)", what, err);
	cidmap_free(&m);
}

int main(void)
{
	struct cidmap m;
	char err[300];
	const char *good = "v=1\ncluster=lab\nns.1=7\nns.3=2\no.1.5=40\no.1.2=41\no.3.1=1\n";
	ok(!parse(good, &m, err, sizeof(err)), "a good map is read (%s)", err);
	ok(m.nns == 2 && cidmap_ns(&m, 1) == 7 && cidmap_ns(&m, 3) == 2 && !cidmap_ns(&m, 2),
	   "its namespaces map");
	ok(m.nobj == 3 && cidmap_obj(&m, 1, 5) == 40 && cidmap_obj(&m, 1, 2) == 41 &&
	       cidmap_obj(&m, 3, 1) == 1 && !cidmap_obj(&m, 3, 5),
	   "its objects map");
	struct sbuf b = {0};
	cidmap_render(&m, &b);
	is_str(b.p, "v=1\ncluster=lab\nns.1=7\nns.3=2\no.1.2=41\no.1.5=40\no.3.1=1\n",
	       "rendered in order of local ids");
	sb_free(&b);
	cidmap_drop_ns(&m, 1);
	ok(m.nns == 1 && m.nobj == 1 && cidmap_obj(&m, 3, 1) == 1, "a namespace dropped takes its objects");
	cidmap_drop_obj(&m, 3, 1);
	ok(!m.nobj, "an object dropped");
	cidmap_free(&m);

	/* a launch's tag: kept with its object until the launch is seen done */
	const char *tagged = "v=1\ncluster=lab\nns.1=7\no.1.2=41\nt.1.2=h1.3.9\no.1.5=40\n";
	ok(!parse(tagged, &m, err, sizeof(err)), "a map with a launch's tag is read (%s)", err);
	const struct ckey_tag *t = cidmap_tag(&m, 1, 2);
	ok(t && !strcmp(t->host, "h1") && t->run == 3 && t->seq == 9 && !cidmap_tag(&m, 1, 5),
	   "the tag is its object's only");
	ok(!cidmap_set_obj(&m, 1, 2, 44) && cidmap_tag(&m, 1, 2), "a new id keeps the tag");
	b = (struct sbuf){0};
	cidmap_render(&m, &b);
	is_str(b.p, "v=1\ncluster=lab\nns.1=7\no.1.2=44\nt.1.2=h1.3.9\no.1.5=40\n",
	       "rendered after its object's line");
	sb_free(&b);
	struct ckey_tag none = {0};
	ok(!cidmap_set_tag(&m, 1, 2, &none) && !cidmap_tag(&m, 1, 2), "cleared");
	ok(cidmap_set_tag(&m, 1, 9, &none) == -ENOENT, "an object not mapped has no tag: ENOENT");
	cidmap_free(&m);
	refused("v=1\ncluster=lab\nns.1=7\nt.1.2=h1.3.9\no.1.2=41\n", "not mapped",
		"a tag before its object");
	refused("v=1\ncluster=lab\nns.1=7\no.1.2=41\nt.1.2=h1.3\n", "t.1.2", "a tag that is not one");
	refused("v=1\ncluster=lab\nns.1=7\no.1.2=41\nt.1.2=h1.3.9\nt.1.2=h1.3.9\n", "line",
		"a tag twice");

	refused("", "empty", "an empty file");
	refused("cluster=lab\nv=1\n", "first line", "v not first");
	refused("v=2\ncluster=lab\n", "newer vmfs", "v=2");
	refused("v=1\nns.1=2\n", "no cluster= line", "no cluster line");
	refused("v=1\ncluster=other\nns.1=2\n", "cluster \"other\"", "another cluster's map");
	refused("v=1\ncluster=lab\nns.1=2\nns.1=3\n", "line", "a namespace twice");
	refused("v=1\ncluster=lab\nns.0=2\n", "line 3", "local id 0");
	refused("v=1\ncluster=lab\nns.1=1048576\n", "line 3", "a namespace id past NS_ID_MAX");
	refused("v=1\ncluster=lab\nns.1=2\no.1.1=268435456\n", "line 4", "an object id past OBJ_ID_MAX");
	refused("v=1\ncluster=lab\nns.1=02x\n", "line 3", "not a number");
	refused("v=1\ncluster=lab\nns.1=2\no.1=3\n", "second id", "an object key with one id");
	refused("v=1\ncluster=lab\nns.1=2\no.2.1=3\n", "namespace 2 is not mapped", "an object of an unmapped namespace");
	refused("v=1\ncluster=lab\nns.1=2\nns.4=2\n", "both map to cluster namespace 2", "two namespaces, one id");
	refused("v=1\ncluster=lab\nns.1=2\no.1.1=9\no.1.2=9\n", "two objects map to id 9", "two objects, one id");
	refused("v=1\ncluster=lab\nns.1=2\nx=1\n", "not a key", "an unknown key");
	refused("v=1\ncluster=lab\nns.1=2", "line 3", "a last line cut short");

	/* the file: absent is empty; saved and loaded back; damaged refused and kept */
	char dir[] = "/tmp/test_cidmap.XXXXXX";
	ok(mkdtemp(dir) != NULL, "a state directory");
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	ok(!cidmap_load(fd, "lab", &m, err, sizeof(err)) && !m.nns, "no file: an empty map");
	ok(!cidmap_set_ns(&m, 1, 5) && !cidmap_set_obj(&m, 1, 3, 9), "entries set");
	ok(!cidmap_save(fd, &m, true), "saved");
	cidmap_free(&m);
	ok(!cidmap_load(fd, "lab", &m, err, sizeof(err)) && cidmap_obj(&m, 1, 3) == 9,
	   "and loaded back");
	cidmap_free(&m);
	int f = openat(fd, "cluster/ids", O_WRONLY | O_APPEND);
	ok(f >= 0 && write(f, "o.1.4=9\n", 8) == 8, "the file damaged");
	close(f);
	int r = cidmap_load(fd, "lab", &m, err, sizeof(err));
	ok(r == -EINVAL && strstr(err, "cluster/ids: ") && !m.nobj, "a damaged file is refused: %s", err);
	struct stat st;
	ok(!fstatat(fd, "cluster/ids", &st, 0), "and kept where it is");
	unlinkat(fd, "cluster/ids", 0);
	ok(!symlinkat("/etc/passwd", fd, "cluster/ids") &&
	       cidmap_load(fd, "lab", &m, err, sizeof(err)) < 0,
	   "a link is not followed: %s", err);
	unlinkat(fd, "cluster/ids", 0);
	unlinkat(fd, "cluster", AT_REMOVEDIR);
	close(fd);
	rmdir(dir);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
