/* Inode numbers (vmfs/node.c) are built from persistent ids: the same node gets the same
 * number and generation after the state directory is opened again, a removed object's or
 * namespace's number is stale (never another's, also when one is made with the same name),
 * "." and ".." turn a number back into a node and its parent (FUSE's export support), and
 * state/ids gives old namespaces an id once, and each start a greater number. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmfs/node.h"

static char state[256], images[256];
static char err[512];

static int walk(struct vmfs *v, const char *path, struct vnode *out)
{
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", path);
	int r = node_from_ino(v, NODE_ROOT_INO, out);
	for (char *save = NULL, *s = strtok_r(copy, "/", &save); s && !r;
	     s = strtok_r(NULL, "/", &save)) {
		struct vnode next;
		r = node_lookup(v, out, s, &next);
		*out = next;
	}
	return r;
}

static uint64_t ino_of(struct vmfs *v, const char *path)
{
	struct vnode n;
	return walk(v, path, &n) ? 0 : n.ino;
}

static void reopen(struct vmfs *v)
{
	model_close(&v->m);
	ok(model_open(&v->m, state, images, err, sizeof(err)) == 0, "the state directory opens again");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static char *read_file(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

static void dots(struct vmfs *v)
{
	static const char *const chain[] = {"ns/lab/vms/w1/config", "ns/lab/vms/w1", "ns/lab/vms",
					    "ns/lab", "ns", ""};
	for (size_t i = 0; i + 1 < sizeof(chain) / sizeof(*chain); i++) {
		struct vnode n, up, same;
		int r = walk(v, chain[i], &n);
		ok(!r && !node_lookup(v, &n, "..", &up) && up.ino == ino_of(v, chain[i + 1]),
		   "\"..\" of /%s is /%s", chain[i], chain[i + 1]);
		ok(!r && !node_lookup(v, &n, ".", &same) && same.ino == n.ino, "\".\" of /%s is itself",
		   chain[i]);
	}
	struct vnode root, up, f, same;
	ok(!walk(v, "", &root) && !node_lookup(v, &root, "..", &up) && up.ino == NODE_ROOT_INO,
	   "\"..\" of the root is the root");
	ok(!walk(v, "ns/lab/vms/w1/config/memory", &f) && !node_lookup(v, &f, ".", &same) &&
		   same.ino == f.ino,
	   "\".\" of a file is the file (the kernel asks it to decode a handle)");
	ok(node_lookup(v, &f, "..", &up) == -ENOTDIR, "\"..\" of a file: ENOTDIR");
	ok(!walk(v, "ns/lab/containers/c1/fifo", &f) && !node_lookup(v, &f, "..", &up) &&
		   up.ino == ino_of(v, "ns/lab/containers/c1"),
	   "\"..\" of a container's fifo/ is the container");
}

int main(void)
{
	char dir[] = "/tmp/test_nodeid.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(images, sizeof(images), "%s/images", dir);
	static struct vmfs v;
	ok(model_open(&v.m, state, images, err, sizeof(err)) == 0, "a new state directory");
	uint32_t run1 = v.m.run;
	struct ns *ns;
	char *w[] = {"w1", "w2"}, *c[] = {"c1"};
	ok(ns_create(&v.m, "lab", 0, 0, 0755, &ns, err, sizeof(err)) == 0 &&
		   obj_create_many(&v.m, ns, OT_VM, w, 2, NULL, err, sizeof(err)) == 0 &&
		   obj_create_many(&v.m, ns, OT_CT, c, 1, NULL, err, sizeof(err)) == 0,
	   "lab with w1, w2 and c1");

	static const char *const paths[] = {"ns/lab", "ns/lab/info", "ns/lab/config/memory",
					    "ns/lab/vms/w1", "ns/lab/vms/w1/config/memory",
					    "ns/lab/vms/w2/info", "ns/lab/containers/c1/log"};
	enum { NP = sizeof(paths) / sizeof(*paths) };
	uint64_t ino[NP];
	uint32_t gen[NP];
	int distinct = 1;
	for (size_t i = 0; i < NP; i++) {
		struct vnode n;
		ino[i] = walk(&v, paths[i], &n) ? 0 : n.ino;
		gen[i] = ino[i] ? node_generation(&v, &n) : 0;
		for (size_t j = 0; j < i; j++)
			distinct &= ino[i] != ino[j];
	}
	ok(distinct && ino[0], "every node has its own inode number");
	struct vnode n;
	ok(node_from_ino(&v, ino[4], &n) == 0 && n.obj && !strcmp(n.obj->name, "w1") &&
		   n.e->kind == VK_OBJ_PARAM,
	   "an inode number is turned back into its node");
	dots(&v);

	reopen(&v);
	ok(v.m.run > run1, "each start has a greater number (%u > %u)", v.m.run, run1);
	int same = 1;
	for (size_t i = 0; i < NP; i++) {
		struct vnode a, b;
		same &= !walk(&v, paths[i], &a) && a.ino == ino[i] && node_generation(&v, &a) == gen[i] &&
			!node_from_ino(&v, ino[i], &b) && b.e == a.e && b.obj == a.obj && b.ns == a.ns;
	}
	ok(same, "after a restart: the same inode numbers and generations, the same nodes");
	dots(&v);

	ns = ns_find(&v.m, "lab");
	ok(obj_remove(&v.m, obj_find(ns, OT_VM, "w1"), err, sizeof(err)) == 0, "w1 removed");
	ok(node_from_ino(&v, ino[3], &n) == -ESTALE && node_from_ino(&v, ino[4], &n) == -ESTALE,
	   "its inode numbers are stale");
	ok(obj_create_many(&v.m, ns, OT_VM, w, 1, NULL, err, sizeof(err)) == 0, "w1 made again");
	ok(ino_of(&v, "ns/lab/vms/w1") != ino[3] && ino_of(&v, "ns/lab/vms/w1/config/memory") != ino[4] &&
		   node_from_ino(&v, ino[4], &n) == -ESTALE,
	   "the new w1 has other inode numbers; the old ones stay stale");
	reopen(&v);
	ok(node_from_ino(&v, ino[4], &n) == -ESTALE, "... also after a restart");

	ns = ns_find(&v.m, "lab");
	for (int t = 0; t < 2; t++)
		while (ns->objs[t].n)
			obj_remove(&v.m, ns->objs[t].v[0], err, sizeof(err));
	ok(ns_remove(&v.m, ns, err, sizeof(err)) == 0 &&
		   ns_create(&v.m, "lab", 0, 0, 0755, &ns, err, sizeof(err)) == 0,
	   "lab removed and made again");
	ok(ino_of(&v, "ns/lab") != ino[0] && node_from_ino(&v, ino[0], &n) == -ESTALE &&
		   node_from_ino(&v, ino[2], &n) == -ESTALE,
	   "the new lab's inode numbers are not the old one's, which are stale");
	uint64_t lab_id = ns->id;

	/* a state directory from before ids: its namespaces get one, saved */
	char path[512];
	model_close(&v.m);
	snprintf(path, sizeof(path), "%s/ns/lab/ns.conf", state);
	char conf[4096], *id;
	snprintf(conf, sizeof(conf), "%s", read_file(path));
	ok((id = strstr(conf, "\nid=")) != NULL, "ns.conf holds the namespace's id");
	if (id)
		memmove(id + 1, strchr(id + 1, '\n') + 1, strlen(strchr(id + 1, '\n') + 1) + 1);
	write_file(path, conf);
	snprintf(path, sizeof(path), "%s/ids", state);
	unlink(path);
	ok(model_open(&v.m, state, images, err, sizeof(err)) == 0, "it opens without ids or an id");
	ns = ns_find(&v.m, "lab");
	ok(ns && ns->id > ns_find(&v.m, "default")->id, "lab got an id of its own, after default's (%llu)",
	   ns ? (unsigned long long)ns->id : 0ull);
	snprintf(path, sizeof(path), "%s/ns/lab/ns.conf", state);
	char want[32];
	snprintf(want, sizeof(want), "\nid=%llu\n", ns ? (unsigned long long)ns->id : 0ull);
	ok(strstr(read_file(path), want) != NULL, "... saved in its ns.conf");
	uint64_t got = ns ? ns->id : 0;
	reopen(&v);
	ok(ns_find(&v.m, "lab") && ns_find(&v.m, "lab")->id == got, "... and kept at the next start");
	(void)lab_id;

	/* a namespace copied from another: the copy gets an id of its own */
	model_close(&v.m);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp -a %s/ns/lab %s/ns/lab2", state, state);
	ok(system(cmd) == 0, "lab copied as lab2 (one id)");
	ok(model_open(&v.m, state, images, err, sizeof(err)) == 0, "it opens");
	ok(ns_find(&v.m, "lab") && ns_find(&v.m, "lab2") &&
		   ns_find(&v.m, "lab")->id != ns_find(&v.m, "lab2")->id,
	   "lab and lab2 have ids of their own");
	model_close(&v.m);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleaned up");
	return tap_done();
}
