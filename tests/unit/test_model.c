/* runtime/: the model without a mount — create, validate, persist, reload. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/err.h"
#include "runtime/lifecycle.h"
#include "runtime/model.h"
#include "tests/unit/tap.h"

static char dir[] = "/tmp/vmfs-model-XXXXXX";
static char state[128], images[128];

static int reopen(struct model *m)
{
	char err[256];
	model_close(m);
	int r = model_open(m, state, images, err, sizeof(err));
	if (r)
		printf("# model_open: %s\n", err);
	return r;
}

/* A subscriber as networking is one: it owns the ns.conf keys "x.", saves one per
 * namespace, and notes each event it hears as a letter. */
struct recorder {
	char seen[64];
	char loaded[64]; /* the value of x.k, as loaded */
};

static int record(void *ctx, struct model *m, const struct model_ev *ev)
{
	struct recorder *r = ctx;
	size_t n = strlen(r->seen);
	if (n + 1 < sizeof(r->seen))
		r->seen[n] = "KSRFCH"[ev->kind], r->seen[n + 1] = 0;
	if (ev->kind == MEV_NS_SAVING)
		sb_printf(ev->conf, "x.k=%s\n", ev->ns->name);
	if (ev->kind == MEV_CFG_SETTING && !strcmp(ev->value, "13"))
		return err_set(ev->err, EDOM, "%s 13 is unlucky here", params[ev->param].name);
	if (ev->kind == MEV_CFG_REACH) /* the judge of net: only "inside" stays inside */
		return strcmp(ev->value, "inside") ? err_set(ev->err, EPERM, "it goes out") : 0;
	if (ev->kind != MEV_NS_KEY)
		return 1;
	if (strncmp(ev->key, "x.", 2))
		return 1;
	if (!strcmp(ev->value, "bad"))
		return err_set(ev->err, EINVAL, "it does not take \"bad\"");
	snprintf(r->loaded, sizeof(r->loaded), "%s", ev->value);
	return 0;
}

static int other(void *ctx, struct model *m, const struct model_ev *ev)
{
	int *calls = ctx;
	++*calls;
	return 1; /* nothing is its own */
}

static void events(void)
{
	struct model m = {0};
	struct recorder rec = {""};
	int calls = 0;
	char err[256], path[300];
	struct ns *ns;
	ok(model_subscribe(&m, other, &calls) == 0 && model_subscribe(&m, record, &rec) == 0,
	   "two subscribers");
	ok(model_subscribe(&m, other, &calls) == 0 && model_subscribe(&m, other, &calls) == 0 &&
		   model_subscribe(&m, other, &calls) == -ENOSPC,
	   "a fifth: ENOSPC");
	m.nsubs = 2;
	ok(model_open(&m, state, images, err, sizeof(err)) == 0, "the model opens");
	ok(m.nsubs == 2, "model_open keeps its subscribers");
	rec.seen[0] = 0;
	ok(ns_create(&m, "ev", 0, 0, 0755, &ns, err, sizeof(err)) == 0, "a namespace is made");
	is_str(rec.seen, "S", "... its ns.conf is being saved: the subscriber adds its key");
	rec.seen[0] = 0;
	ok(reopen(&m) == 0, "reopen");
	ok(strchr(rec.seen, 'F') && strchr(rec.seen, 'K'), "closing frees, loading asks (%s)",
	   rec.seen);
	is_str(rec.loaded, "ev", "the subscriber's key comes back to it");
	ok(!m.damage.len, "nothing is damaged");
	ns = ns_find(&m, "ev");
	rec.seen[0] = 0;
	calls = 0;
	ok(ns && ns_remove(&m, ns, err, sizeof(err)) == 0, "the namespace is removed");
	is_str(rec.seen, "RF", "... said removed, then freed");
	ok(calls == 2, "every subscriber hears every event, in order");
	ns = ns_find(&m, "default");
	int vcpus = param_index("vcpus"), net = param_index("net");
	ok(ns_param_set(&m, ns, vcpus, "13", err, sizeof(err)) == -EDOM,
	   "a subscriber refuses a config value");
	is_str(err, "vcpus 13 is unlucky here", "... with its reason");
	ok(!strcmp(ns_param(ns, vcpus), "1"), "... and nothing changed");
	ok(ns_param_set(&m, ns, vcpus, "12", err, sizeof(err)) == 0, "a value it lets through");
	ok(!param_host_reaching(ns, net, "inside", err, sizeof(err)), "net's judge says inside");
	ok(param_host_reaching(ns, net, "LAN1", err, sizeof(err)), "... or not");
	is_str(err, "it goes out", "... with its reason");
	m.nsubs = 1; /* only other(), who judges nothing */
	ok(param_host_reaching(ns, net, "inside", err, sizeof(err)) && strstr(err, "no one"),
	   "with no judge, net reaches the host (%s)", err);
	m.nsubs = 2;
	snprintf(path, sizeof(path), "%s/ns/default/ns.conf", state);
	FILE *f = fopen(path, "a");
	ok(f && fputs("x.j=bad\n", f) >= 0 && fclose(f) == 0, "a value its owner refuses");
	ok(reopen(&m) == 0 && m.damage.p && strstr(m.damage.p, "x.j: it does not take \"bad\""),
	   "ns.conf is damaged, with the owner's reason");
	snprintf(path, sizeof(path), "%s/ns/default/ns.conf", state);
	f = fopen(path, "a");
	ok(f && fputs("y.k=1\n", f) >= 0 && fclose(f) == 0, "a key no one owns");
	ok(reopen(&m) == 0 && m.damage.p && strstr(m.damage.p, "y.k: not a key of ns.conf"),
	   "... is not a key of ns.conf");
	model_close(&m);
}

int main(void)
{
	struct model m = {0};
	struct ns *ns;
	char err[512];
	mkdtemp(dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(images, sizeof(images), "%s/images", dir);

	ok(model_open(&m, state, images, err, sizeof(err)) == 0, "a new state directory opens");
	ok(ns_find(&m, "default") != NULL, "default exists from the start");
	ok(ns_create(&m, "lab", 1000, 1000, 0750, &ns, err, sizeof(err)) == 0, "create lab");
	ok(ns_create(&m, "lab", 0, 0, 0755, NULL, err, sizeof(err)) == -EEXIST, "lab twice: EEXIST");
	ok(ns_create(&m, "a b", 0, 0, 0755, NULL, err, sizeof(err)) == -EINVAL, "a bad name: EINVAL");

	char *names[] = {"w1", "w2", "w3"};
	int mem = param_index("memory"), vcpus = param_index("vcpus"), kernel = param_index("kernel");
	ok(ns_param_set(&m, ns, mem, "2G", err, sizeof(err)) == 0, "template memory 2G");
	ok(obj_create_many(&m, ns, OT_VM, names, 3, NULL, err, sizeof(err)) == 0, "three VMs");
	struct object *w2 = obj_find(ns, OT_VM, "w2");
	ok(w2 && !strcmp(obj_param(w2, mem), "2G"), "they copy the template");
	ok(w2 && w2->id == 2, "ids count up");
	char *dup[] = {"c1", "w1"};
	ok(obj_create_many(&m, ns, OT_CT, dup, 2, NULL, err, sizeof(err)) == -EEXIST,
	   "a name taken by a VM cannot be a container");
	ok(!obj_find(ns, OT_CT, "c1"), "all or nothing: c1 was not made");
	ok(obj_param_set(&m, w2, vcpus, "4", err, sizeof(err)) == 0, "vcpus 4");
	ok(obj_param_set(&m, w2, vcpus, "zero", err, sizeof(err)) == -EINVAL, "vcpus zero refused");
	ok(obj_param_set(&m, w2, kernel, "nosuch", err, sizeof(err)) == -ENOENT,
	   "a kernel not in the image store is refused");
	ok(strstr(err, "relative paths are looked up in the image store") != NULL,
	   "... saying where it looked (%s)", err);
	int fd = open(images, O_RDONLY);
	close(openat(fd, "vmlinuz", O_CREAT | O_WRONLY, 0644));
	close(fd);
	ok(obj_param_set(&m, w2, kernel, "vmlinuz", err, sizeof(err)) == 0,
	   "a kernel in the image store is kept");
	ok(ns_remove(&m, ns, err, sizeof(err)) == -ENOTEMPTY, "a namespace with objects: ENOTEMPTY");
	ok(lifecycle_do(&m, w2, V_PAUSE, err, sizeof(err)) == -EBUSY, "pause a BUILDING VM: EBUSY");
	is_str(err, "w2 is BUILDING: pause needs it RUNNING", "... with the reason");
	ok(lifecycle_do(&m, obj_find(ns, OT_VM, "w3"), V_KILL, err, sizeof(err)) == 0,
	   "kill a BUILDING VM");

	/* a crash between mkdir and the config rename leaves a bare directory */
	char half[256];
	snprintf(half, sizeof(half), "%s/ns/lab/containers/half", state);
	mkdir(half, 0700);
	ok(reopen(&m) == 0, "reopen");
	ns = ns_find(&m, "lab");
	ok(ns && ns->uid == 1000 && ns->mode == 0750, "owner and mode are back");
	w2 = ns ? obj_find(ns, OT_VM, "w2") : NULL;
	ok(w2 && !strcmp(obj_param(w2, vcpus), "4"), "a value is back");
	ok(w2 && !strcmp(obj_param(w2, kernel), "vmlinuz"), "a path is back");
	ok(ns && obj_find(ns, OT_VM, "w3")->state == ST_QUIT, "a state is back");
	ok(ns && !strcmp(ns_param(ns, mem), "2G"), "the template is back");
	ok(ns && !obj_find(ns, OT_CT, "half"), "a half-made object is not loaded");
	struct stat st;
	ok(stat(half, &st) < 0, "... and is removed");
	char *more[] = {"w4"};
	ok(ns && obj_create_many(&m, ns, OT_VM, more, 1, NULL, err, sizeof(err)) == 0 &&
		   obj_find(ns, OT_VM, "w4")->id == 4,
	   "ids go on after a reload");
	for (int i = 1; i <= 4; i++) {
		char n[8];
		snprintf(n, sizeof(n), "w%d", i);
		struct object *o = obj_find(ns, OT_VM, n);
		if (o)
			obj_remove(&m, o, err, sizeof(err));
	}
	ok(ns_remove(&m, ns, err, sizeof(err)) == 0, "an emptied namespace is removed");
	ok(ns_remove(&m, ns_find(&m, "default"), err, sizeof(err)) == -EBUSY, "default cannot be");
	model_close(&m);
	events();
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
