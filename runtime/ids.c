/* state/ids: what must never be handed out twice in the life of a state directory, so that
 * a file handle kept by an NFS server (or a 9P qid) can never reach another thing: the next
 * namespace id, and the number of the last start (what lasts only while vmfs runs is told
 * apart by it). Namespaces are put in the model's map by their id here. */
#include <string.h>
#include <time.h>

#include "ctl/util.h"
#include "runtime/damaged.h"
#include "runtime/model_int.h"
#include "runtime/slotmap.h"
#include "runtime/store.h"

static int ids_kv(const char *k, const char *v, void *arg, char *err, size_t errlen)
{
	struct model *m = arg;
	unsigned long long x;
	int r;
	if (!strcmp(k, "next-ns-id")) {
		if (!(r = store_num(v, 10, 1, NS_ID_MAX + 1, &x, err, errlen)))
			m->next_ns_id = x;
	} else if (!strcmp(k, "run")) {
		if (!(r = store_num(v, 10, 0, UINT32_MAX - 1, &x, err, errlen)))
			m->run = x;
	} else
		r = ctl_fail(err, errlen, "not a key of ids");
	return r;
}

int ids_save(struct model *m)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "next-ns-id=%llu\nrun=%u\n",
			 (unsigned long long)m->next_ns_id, (unsigned)m->run);
	return write_atomic(m->statefd, "ids", text, n, 1);
}

/* Reads state/ids into m (a start before ids were kept: none) and takes this start's
 * number. A damaged file is moved aside and said: namespaces' ids then go on after the
 * highest loaded, and this start's number after the clock, so nothing earlier is met again
 * unless a removed namespace had a higher id (its generation, its ctime, tells it apart). */
int ids_open(struct model *m)
{
	char *text = NULL, why[600], where[300];
	size_t len;
	m->next_ns_id = 1;
	m->run = 0;
	int r = read_state(m->statefd, "ids", 4096, &text, &len, why, sizeof(why));
	if (r == -ENOENT)
		return 0;
	if (!r && store_parse(text, len, ids_kv, m, why, sizeof(why)))
		r = -EINVAL;
	free(text);
	if (r) {
		m->next_ns_id = 1;
		m->run = 0;
		damaged_move(m, m->statefd, "ids", "ids", why, where, sizeof(where));
	}
	return 0;
}

/* This start's number: after the last, and after the clock's seconds (in case the last
 * was lost). */
void ids_new_run(struct model *m)
{
	uint32_t now = (uint32_t)time(NULL);
	m->run = m->run + 1 > now ? m->run + 1 : now;
}

int ns_new_id(struct model *m, struct ns *ns, char *err, size_t errlen)
{
	if (m->next_ns_id > NS_ID_MAX) {
		snprintf(err, errlen, "the state directory has used all its %llu namespace ids",
			 (unsigned long long)NS_ID_MAX);
		return -ENOSPC;
	}
	ns->id = m->next_ns_id++;
	int r = ids_save(m);
	if (r)
		snprintf(err, errlen, "cannot write ids to the state directory: %s", strerror(-r));
	return r;
}

/* Puts ns and its objects (loaded before it had an id) in m->slots. */
int ns_register(struct model *m, struct ns *ns)
{
	uint64_t key = ns->id << OBJ_ID_BITS;
	if (slotmap_put(m->slots, key, SLOT_NS, ns) < 0)
		return -ENOMEM;
	ns->slot = key;
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < ns->objs[t].n; i++) {
			struct object *o = ns->objs[t].v[i];
			o->slot = key | o->id;
			if (slotmap_put(m->slots, o->slot, SLOT_OBJ, o) < 0)
				return -ENOMEM;
		}
	return 0;
}

void ns_unregister(struct model *m, struct ns *ns)
{
	slotmap_del(m->slots, ns->slot);
	ns->slot = 0;
}

void ids_give(struct model *m, struct ns *ns)
{
	char err[256];
	int r = ns_new_id(m, ns, err, sizeof(err));
	if (!r && (r = ns_register(m, ns)))
		snprintf(err, sizeof(err), "%s", strerror(-r));
	if (!r && (r = ns_save(m, ns)))
		snprintf(err, sizeof(err), "cannot write its ns.conf: %s", strerror(-r));
	if (r)
		damage_note(m, "error: namespace %s has no id (its files cannot be reached by "
			       "inode number, so neither by NFS nor 9P): %s", ns->name, err);
}
