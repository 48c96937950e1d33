/* The one path table and the lookups, attributes and listings that read it. getattr,
 * readdir, lookup and the web server all go through vtab, so they cannot disagree. */
#include "vmfs/node.h"

#include <stdlib.h>
#include <string.h>

#include "cluster/chosts.h"
#include "cluster/cmove_int.h"
#include "cluster/cview.h"
#include "mdns/mdns.h"
#include "runtime/run.h"
#include "runtime/vlan.h"
#include "vmfs/fkind.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"

#define D S_IFDIR
#define F S_IFREG
#define ANY (PARAM_VM | PARAM_CT)

/* What the guest shows and takes (console, console.log, screenshot.png, thumbnail.png, vnc,
 * qmp) has no bits for others, whatever the namespace's mode lets them list (docs/security.md,
 * "Who may do what"). */
const struct ventry vtab[] = {
	/* kind              parent          name              mode      file       types     gen / set / ctl, or .lookup / .names */
	{VK_ROOT,            VK_NONE,        "",               D | 0755, VF_DIR,    0},
	{VK_VERSION,         VK_ROOT,        "version",        F | 0444, VF_GEN,    0, gen_version},
	{VK_HOST,            VK_ROOT,        "host",           D | 0555, VF_DIR,    0},
	{VK_HOST_INFO,       VK_HOST,        "info",           F | 0444, VF_GEN,    0, gen_host_info},
	{VK_HOST_TOP,        VK_HOST,        "top",            F | 0444, VF_GEN,    0, gen_host_top},
	{VK_HOST_LOG,        VK_HOST,        "log",            F | 0444, VF_LOG,    0},
	{VK_HOSTS,           VK_ROOT,        "hosts",          D | 0755, VF_DIR,    0},
	{VK_HOSTS_CTL,       VK_HOSTS,       "ctl",            F | 0644, VF_CTL,    0, NULL, NULL, ctl_hosts},
	{VK_HOSTS_DISCOVERED, VK_HOSTS,      "discovered",     F | 0444, VF_GEN,    0, gen_hosts_discovered},
	{VK_MEMBER,          VK_HOSTS,       NULL,             D | 0555, VF_DIR,    0},
	{VK_MEMBER_INFO,     VK_MEMBER,      "info",           F | 0444, VF_GEN,    0, gen_host_info},
	{VK_MEMBER_TOP,      VK_MEMBER,      "top",            F | 0444, VF_GEN,    0, gen_host_top},
	{VK_MEMBER_STATE,    VK_MEMBER,      "state",          F | 0444, VF_GEN,    0, gen_member_state},
	{VK_IMAGES,          VK_ROOT,        "images",         D | 0755, VF_PASS,   0},
	{VK_IMAGE,           VK_IMAGES,      NULL,             F | 0644, VF_PASS,   0},
	{VK_NSDIR,           VK_ROOT,        "ns",             D | 0755, VF_DIR,    0},
	{VK_NS,              VK_NSDIR,       NULL,             D | 0777, VF_DIR,    0},
	{VK_NS_CTL,          VK_NS,          "ctl",            F | 0666, VF_CTL,    0, NULL, NULL, ctl_ns},
	{VK_NS_INFO,         VK_NS,          "info",           F | 0444, VF_GEN,    0, gen_ns_info},
	{VK_NS_TOP,          VK_NS,          "top",            F | 0444, VF_GEN,    0, gen_ns_top},
	{VK_NS_HOSTS,        VK_NS,          "hosts",          F | 0666, VF_VALUE,  0, gen_ns_hosts, set_ns_hosts},
	{VK_NS_LOG,          VK_NS,          "log",            F | 0444, VF_LOG,    0},
	{VK_NS_TAPS,         VK_NS,          "taps",           F | 0444, VF_GEN,    0, gen_ns_taps},
	{VK_NS_CONFIG,       VK_NS,          "config",         D | 0777, VF_DIR,    0},
	{VK_NS_PARAM,        VK_NS_CONFIG,   NULL,             F | 0666, VF_VALUE,  0, gen_ns_param, set_ns_param},
	{VK_NS_VMS,          VK_NS,          "vms",            D | 0777, VF_DIR,    0},
	{VK_NS_CTS,          VK_NS,          "containers",     D | 0777, VF_DIR,    0},
	{VK_VLANS,           VK_NS,          "vlans",          D | 0777, VF_DIR,    0},
	{VK_VLANS_RANGE,     VK_VLANS,       "range",          F | 0666, VF_VALUE,  0, gen_vlan_range, set_vlan_range},
	{VK_VLAN,            VK_VLANS,       NULL,             F | 0666, VF_VALUE,  0, gen_vlan, set_vlan},
	{VK_OBJ,             VK_NS_VMS,      NULL,             D | 0777, VF_DIR,    0},
	{VK_OBJ_CTL,         VK_OBJ,         "ctl",            F | 0666, VF_CTL,    ANY, NULL, NULL, ctl_obj},
	{VK_OBJ_STATE,       VK_OBJ,         "state",          F | 0444, VF_GEN,    ANY, gen_obj_state},
	{VK_OBJ_INFO,        VK_OBJ,         "info",           F | 0444, VF_GEN,    ANY, gen_obj_info},
	{VK_OBJ_TOP,         VK_OBJ,         "top",            F | 0444, VF_GEN,    ANY, gen_obj_top},
	{VK_OBJ_CONFIG,      VK_OBJ,         "config",         D | 0777, VF_DIR,    ANY},
	{VK_OBJ_PARAM,       VK_OBJ_CONFIG,  NULL,             F | 0666, VF_VALUE,  ANY, gen_obj_param, set_obj_param},
	{VK_OBJ_CONSOLE,     VK_OBJ,         "console",        F | 0660, VF_STREAM, ANY},
	{VK_OBJ_CONSOLE_LOG, VK_OBJ,         "console.log",    F | 0440, VF_SCROLLBACK, ANY},
	{VK_OBJ_LOG,         VK_OBJ,         "log",            F | 0444, VF_LOG,    ANY},
	{VK_OBJ_SCREENSHOT,  VK_OBJ,         "screenshot.png", F | 0440, VF_GEN,    PARAM_VM, gen_obj_screenshot},
	{VK_OBJ_THUMBNAIL,   VK_OBJ,         "thumbnail.png",  F | 0440, VF_GEN,    PARAM_VM, gen_obj_thumbnail},
	{VK_OBJ_VNC,         VK_OBJ,         "vnc",            F | 0400, VF_GEN,    PARAM_VM, gen_obj_vnc},
	{VK_OBJ_QMP,         VK_OBJ,         "qmp",            F | 0660, VF_CTL,    PARAM_VM, NULL, NULL, ctl_qmp},
	{VK_OBJ_FIFO,        VK_OBJ,         "fifo",           D | 0777, VF_DIR,    PARAM_CT},
	{VK_OBJ_FIFO_N,      VK_OBJ_FIFO,    NULL,             S_IFLNK | 0777, VF_DIR, PARAM_CT},
	{VK_ROBJ,            VK_NONE,        NULL,             D | 0777, VF_DIR,    0, .lookup = remote_lookup, .names = remote_names},
	{VK_ROBJ_FILE,       VK_ROBJ,        NULL,             F | 0666, VF_REMOTE, 0},
	{VK_ROBJ_CONFIG,     VK_ROBJ,        NULL,             D | 0777, VF_DIR,    0, .lookup = remote_config_lookup, .names = remote_config_names},
	{VK_ROBJ_PARAM,      VK_ROBJ_CONFIG, NULL,             F | 0666, VF_REMOTE, 0},
	{VK_COBJ,            VK_NONE,        NULL,             D | 0777, VF_DIR,    0, .lookup = remote_cobj_lookup, .names = remote_cobj_names},
	{VK_COBJ_FILE,       VK_COBJ,        NULL,             F | 0666, VF_REMOTE, 0},
	{VK_COBJ_CTL,        VK_COBJ,        "ctl",            F | 0666, VF_CTL,    0, NULL, NULL, ctl_cobj},
	{VK_COBJ_STATE,      VK_COBJ,        "state",          F | 0444, VF_GEN,    0, gen_cobj_state},
	{VK_COBJ_INFO,       VK_COBJ,        "info",           F | 0444, VF_GEN,    0, gen_cobj_info},
	{VK_COBJ_TOP,        VK_COBJ,        "top",            F | 0444, VF_GEN,    0, gen_cobj_top},
	{VK_COBJ_CONFIG,     VK_COBJ,        "config",         D | 0777, VF_DIR,    0, .lookup = cobj_config_lookup, .names = cobj_config_names},
	{VK_COBJ_PARAM,      VK_COBJ_CONFIG, NULL,             F | 0666, VF_CVALUE, 0, gen_cobj_param, NULL},
	{VK_CNS,             VK_NSDIR,       NULL,             D | 0777, VF_DIR,    0},
	{VK_CNS_INFO,        VK_CNS,         "info",           F | 0444, VF_GEN,    0, gen_ns_info},
	{VK_CNS_TOP,         VK_CNS,         "top",            F | 0444, VF_GEN,    0, gen_ns_top},
	{VK_CNS_HOSTS,       VK_CNS,         "hosts",          F | 0666, VF_VALUE,  0, gen_ns_hosts, set_cns_hosts},
	{VK_CNS_VMS,         VK_CNS,         "vms",            D | 0555, VF_DIR,    0},
	{VK_CNS_CTS,         VK_CNS,         "containers",     D | 0555, VF_DIR,    0},
	{VK_OBJ_EXPORT,      VK_OBJ,         "export.tar",     F | 0400, VF_EXPORT, ANY},
};
const size_t vtab_len = ARRAY_SIZE(vtab);

/* Directories and fifo/N's links: no file operation of their own. */
static const struct fkind fk_dir = {0};

/* The table of file kinds (vmfs/fkind.h), by enum vfile. */
static const struct fkind *const fkinds[] = {
	[VF_DIR] = &fk_dir,
	[VF_GEN] = &fk_gen,
	[VF_VALUE] = &fk_value,
	[VF_CTL] = &fk_ctl,
	[VF_LOG] = &fk_log,
	[VF_STREAM] = &fk_stream,
	[VF_SCROLLBACK] = &fk_scrollback,
	[VF_PASS] = &fk_pass,
	[VF_REMOTE] = &fk_remote,
	[VF_CVALUE] = &fk_cvalue,
	[VF_EXPORT] = &fk_export,
};

const struct fkind *fkind_of(const struct ventry *e)
{
	return fkinds[e->file];
}

const struct ventry *vtab_find(enum vkind k)
{
	static const struct ventry *by_kind[VK_MAX];
	if (!by_kind[VK_ROOT])
		for (size_t i = 0; i < vtab_len; i++)
			by_kind[vtab[i].kind] = &vtab[i];
	return k > VK_NONE && k < VK_MAX ? by_kind[k] : NULL;
}

#define KEY_MASK ((1ull << (NS_ID_BITS + OBJ_ID_BITS)) - 1)

uint64_t node_ino(enum vkind k, uint64_t key, int sub)
{
	if (k == VK_ROOT)
		return NODE_ROOT_INO;
	return (uint64_t)k << 56 | (key & KEY_MASK) << 8 | (uint64_t)(sub & 0xff);
}

uint64_t node_ino_key(uint64_t ino) { return (ino >> 8) & KEY_MASK; }

static bool kind_of_ns(enum vkind k) { return k >= VK_NS && k <= VK_VLAN; }
static bool kind_under_obj(enum vkind k)
{
	return (k >= VK_OBJ_CTL && k <= VK_OBJ_FIFO_N) || k == VK_OBJ_EXPORT;
}
static bool kind_of_obj(enum vkind k) { return k == VK_OBJ || kind_under_obj(k); }
static bool kind_of_robj(enum vkind k) { return k >= VK_ROBJ && k <= VK_ROBJ_PARAM; }
static bool kind_of_cobj(enum vkind k)
{
	return (k >= VK_COBJ && k <= VK_COBJ_PARAM) || k == VK_COBJ_FILE;
}
static bool kind_of_cns(enum vkind k) { return k >= VK_CNS && k <= VK_CNS_CTS; }
static bool kind_of_member(enum vkind k) { return k >= VK_MEMBER && k <= VK_MEMBER_STATE; }

/* Fills in the inode number from what the node refers to. A VLAN's file carries its
 * serial where an object's id would be: sub has 8 bits only. */
static void node_seal(struct vnode *n)
{
	enum vkind k = n->e->kind;
	uint64_t key = 0;
	int sub = n->sub;
	if (kind_of_cobj(k) || kind_of_cns(k))
		key = n->cid;
	else if (n->ro)
		key = n->ro->id;
	else if (n->mb)
		key = n->mb->slot;
	else if (n->ch)
		key = n->ch->slot;
	else if (n->obj)
		key = n->obj->slot;
	else if (n->ns)
		key = n->ns->slot;
	if (k == VK_VLAN)
		key |= (uint64_t)sub & OBJ_ID_MAX, sub = 0;
	n->ino = node_ino(k, key, sub);
}

uint32_t node_generation(const struct vmfs *v, const struct vnode *n)
{
	enum vkind k = n->e->kind;
	if (kind_of_cobj(k)) { /* cluster ids are never reused; the claim's time tells apart */
		const struct cview_obj *o = cobj_of((struct vmfs *)v, n);
		return o ? (uint32_t)o->claim.ctime : 0;
	}
	if (n->ro || n->mb || n->ch || k == VK_IMAGE || k == VK_VLAN)
		return v->m.run; /* numbered per run */
	/* the ids are never reused; should a lost state/ids or ns.conf give one again,
	 * the creation time tells the two apart */
	if (n->obj)
		return (uint32_t)n->obj->ctime;
	return n->ns ? (uint32_t)n->ns->ctime : 0;
}

uint32_t node_version(const struct vnode *n, const struct stat *st)
{
	switch (n->e->file) {
	case VF_GEN:
	case VF_VALUE:
	case VF_LOG:
	case VF_REMOTE:
		return (uint32_t)model_changes; /* bumped by every change the tree shows */
	case VF_SCROLLBACK:
		return (uint32_t)st->st_size; /* grows with each byte */
	case VF_PASS:
		return (uint32_t)(st->st_mtim.tv_sec * 1000000000ull + st->st_mtim.tv_nsec);
	default:
		return 0; /* directories; ctl and console, which no client may cache */
	}
}

/* fifo/N are symlinks to the named pipes in the run directory: a FIFO inode of our own
 * would get a pipe of the kernel's, not the one the container holds. */
static long fifo_count(const struct object *o)
{
	if (o->state != ST_RUNNING && o->state != ST_PAUSED)
		return 0;
	return strtol(obj_param(o, param_index("fifo")), NULL, 10);
}

/* A node that was there and is gone (its object removed, its member left) is stale, as an
 * NFS server would say of its handle: never another node. */
int node_from_ino(struct vmfs *v, uint64_t ino, struct vnode *out)
{
	memset(out, 0, sizeof(*out));
	enum vkind k = ino == NODE_ROOT_INO ? VK_ROOT : (enum vkind)(ino >> 56);
	uint64_t key = node_ino_key(ino);
	out->e = vtab_find(k);
	if (!out->e)
		return -ENOENT;
	out->sub = ino & 0xff;
	out->ino = ino;
	const struct ftree *tree = fkind_of(out->e)->tree;
	if (tree)
		return tree->from_ino(v, key, out);
	if (kind_of_robj(k)) {
		out->ro = key <= UINT32_MAX ? cluster_robj(&v->cl, key) : NULL;
		out->ns = out->ro ? ns_find(&v->m, out->ro->ns) : NULL;
		return out->ns ? 0 : -ESTALE;
	}
	if (kind_of_cobj(k)) {
		out->cid = key;
		const struct cview_obj *o = cobj_of(v, out);
		const struct cview_ns *c = o ? cview_ns_id(v->cview, o->nsid) : NULL;
		if (!c || !strcmp(o->claim.host, v->hostname))
			return -ESTALE;
		out->ns = ns_find(&v->m, c->name); /* NULL: one this host does not have */
		return 0;
	}
	if (kind_of_cns(k)) {
		out->cid = key;
		const struct cview_ns *c =
		    v->cview ? cview_ns_id(v->cview, key >> OBJ_ID_BITS) : NULL;
		return c && !(key & OBJ_ID_MAX) && !ns_find(&v->m, c->name) ? 0 : -ESTALE;
	}
	if (kind_of_member(k) && key && v->chosts) {
		out->ch = key <= UINT32_MAX ? chosts_slot(v->chosts, key) : NULL;
		return out->ch ? 0 : -ESTALE;
	}
	if (kind_of_member(k) && key) {
		out->mb = key <= UINT32_MAX ? cluster_slot(&v->cl, key) : NULL;
		return out->mb ? 0 : -ESTALE;
	}
	if (kind_of_obj(k)) {
		out->obj = model_slot(&v->m, key, SLOT_OBJ);
		if (!out->obj)
			return -ESTALE;
		out->ns = out->obj->ns;
	} else if (kind_of_ns(k)) {
		if (k == VK_VLAN)
			out->sub = key & OBJ_ID_MAX;
		out->ns = model_slot(&v->m, key & ~OBJ_ID_MAX, SLOT_NS);
		if (!out->ns || (k == VK_VLAN && !vlan_by_serial(out->ns, out->sub)))
			return -ESTALE;
	}
	return 0;
}

/* ".." of dir: the kind its table row names, with what of dir that kind has. */
static int node_parent(struct vmfs *v, const struct vnode *dir, struct vnode *out)
{
	enum vkind k = dir->e->kind, up = dir->e->parent;
	if (!S_ISDIR(dir->e->mode))
		return -ENOTDIR;
	if (k == VK_ROOT)
		return node_from_ino(v, NODE_ROOT_INO, out);
	if (k == VK_OBJ || k == VK_ROBJ)
		up = (dir->obj ? (int)dir->obj->type : dir->ro->type) == OT_VM ? VK_NS_VMS : VK_NS_CTS;
	if (k == VK_COBJ) {
		bool vm = cobj_type(v, dir) == OT_VM;
		up = dir->ns ? (vm ? VK_NS_VMS : VK_NS_CTS) : vm ? VK_CNS_VMS : VK_CNS_CTS;
	}
	*out = (struct vnode){.e = vtab_find(up)};
	if (kind_of_ns(up) || kind_of_obj(up) || kind_of_robj(up) || kind_of_cobj(up))
		out->ns = dir->ns;
	if (kind_of_cobj(up))
		out->cid = dir->cid;
	if (kind_of_cns(up)) /* its namespace's id alone */
		out->cid = dir->cid & ~(uint64_t)OBJ_ID_MAX;
	if (kind_of_obj(up))
		out->obj = dir->obj;
	if (kind_of_robj(up))
		out->ro = dir->ro;
	if (kind_of_member(up)) {
		out->mb = dir->mb;
		out->ch = dir->ch;
	}
	node_seal(out);
	return 0;
}

static int lookup_dynamic(struct vmfs *v, const struct vnode *dir, const char *name,
			  struct vnode *out)
{
	switch (dir->e->kind) {
	case VK_HOSTS:
		out->e = vtab_find(VK_MEMBER);
		if (!strcmp(name, v->hostname))
			return 0;
		if (v->chosts) {
			out->ch = chosts_find(v->chosts, name);
			return out->ch ? 0 : -ENOENT;
		}
		out->mb = cluster_find(&v->cl, name);
		return out->mb ? 0 : -ENOENT;
	case VK_NSDIR: {
		out->ns = ns_find(&v->m, name);
		out->e = vtab_find(VK_NS);
		if (out->ns || !v->cview)
			return out->ns ? 0 : -ENOENT;
		const struct cview_ns *c = cview_ns_find(v->cview, name);
		out->e = vtab_find(VK_CNS);
		out->cid = c ? c->rec.id << OBJ_ID_BITS : 0;
		return c ? 0 : -ENOENT;
	}
	case VK_CNS_VMS:
	case VK_CNS_CTS:
		return cobj_lookup(v, dir, dir->e->kind == VK_CNS_VMS ? OT_VM : OT_CT, name, out);
	case VK_NS_CONFIG:
		out->sub = param_index(name);
		out->e = vtab_find(VK_NS_PARAM);
		return out->sub >= 0 ? 0 : -ENOENT;
	case VK_NS_VMS:
	case VK_NS_CTS: {
		int type = dir->e->kind == VK_NS_VMS ? OT_VM : OT_CT;
		out->obj = obj_find(dir->ns, type, name);
		out->e = vtab_find(VK_OBJ);
		if (out->obj)
			return 0;
		if (v->cview)
			return cobj_lookup(v, dir, type, name, out);
		out->ro = cluster_robj_find(&v->cl, dir->ns, type, name);
		out->e = vtab_find(VK_ROBJ);
		return out->ro ? 0 : -ENOENT;
	}
	case VK_VLANS: {
		const struct vlan_alias *a = vlan_find(dir->ns, name);
		out->sub = a ? (int)a->serial : 0;
		out->e = vtab_find(VK_VLAN);
		return a ? 0 : -ENOENT;
	}
	case VK_OBJ_FIFO: {
		char *end;
		long i = strtol(name, &end, 10);
		out->sub = i;
		out->e = vtab_find(VK_OBJ_FIFO_N);
		return *end || end == name || i < 0 || i >= fifo_count(dir->obj) ? -ENOENT : 0;
	}
	case VK_OBJ_CONFIG:
		out->sub = param_index(name);
		out->e = vtab_find(VK_OBJ_PARAM);
		if (out->sub < 0 || !(params[out->sub].applies & otype_mask(dir->obj->type)))
			return -ENOENT;
		return 0;
	default:
		return -ENOENT;
	}
}

static bool entry_fits(struct vmfs *v, const struct ventry *e, const struct vnode *dir)
{
	if (e->parent != dir->e->kind || !e->name)
		return false;
	if (e->kind == VK_OBJ_EXPORT && !cmove_exporting(v, dir->obj))
		return false; /* only while the object is moving (cluster/cmove_int.h) */
	return !e->types || !dir->obj || (e->types & otype_mask(dir->obj->type));
}

/* "." and "..": the kernel asks for them to turn a file handle back into a node (FUSE's
 * export support), "." of files too. */
int node_lookup(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out)
{
	const struct ftree *tree = fkind_of(dir->e)->tree;
	if (tree)
		return tree->lookup(v, dir, name, out);
	if (!strcmp(name, ".")) {
		*out = *dir;
		return 0;
	}
	if (!strcmp(name, ".."))
		return node_parent(v, dir, out);
	if (!S_ISDIR(dir->e->mode))
		return -ENOTDIR;
	*out = (struct vnode){.ns = dir->ns, .obj = dir->obj, .mb = dir->mb, .ch = dir->ch, .ro = dir->ro,
			      .cid = dir->cid};
	for (size_t i = 0; i < vtab_len; i++)
		if (entry_fits(v, &vtab[i], dir) && !strcmp(vtab[i].name, name)) {
			out->e = &vtab[i];
			node_seal(out);
			return 0;
		}
	int r = dir->e->lookup ? dir->e->lookup(v, dir, name, out)
			       : lookup_dynamic(v, dir, name, out);
	if (r)
		return r;
	node_seal(out);
	return 0;
}

/* The permission bits a node shows: inside a namespace, its mode caps everything. */
static mode_t node_perm(const struct vnode *n)
{
	mode_t perm = n->e->mode & 07777;
	if (n->ns && n->e->kind != VK_NSDIR)
		perm &= n->ns->mode & 0777;
	const struct fkind *fk = fkind_of(n->e);
	if (fk->perm)
		perm &= fk->perm(n);
	return perm;
}

static time_t node_mtime(struct vmfs *v, const struct vnode *n)
{
	if (n->e->kind == VK_OBJ_PARAM)
		return n->obj->cfg_mtime[n->sub];
	if (n->e->kind == VK_NS_PARAM)
		return n->ns->cfg_mtime[n->sub];
	if (n->obj)
		return n->obj->mtime;
	if (n->ns)
		return n->ns->mtime;
	return v->m.started;
}

int node_getattr(struct vmfs *v, const struct vnode *n, struct stat *st)
{
	const struct fkind *fk = fkind_of(n->e);
	if (fk->tree)
		return fk->tree->getattr(v, n, st);
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = (n->e->mode & S_IFMT) | node_perm(n);
	st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
	st->st_uid = n->ns ? n->ns->uid : v->owner;
	st->st_gid = n->ns ? n->ns->gid : v->group;
	const struct cview_ns *cn =
	    !n->ns && n->cid && v->cview ? cview_ns_id(v->cview, n->cid >> OBJ_ID_BITS) : NULL;
	if (cn) { /* a namespace this host does not have: its record's owner and mode */
		st->st_mode &= ~(mode_t)(0777 & ~cn->rec.mode);
		st->st_uid = (uid_t)cn->rec.uid;
		st->st_gid = (gid_t)cn->rec.gid;
	}
	st->st_size = fk->size ? fk->size(v, n) : 0;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtime = st->st_ctime = st->st_atime = node_mtime(v, n);
	return 0;
}

struct robj_names {
	int (*fn)(void *ctx, const char *name, size_t idx);
	void *ctx;
	size_t idx, from;
};

static int robj_name(void *ctx, const char *name)
{
	struct robj_names *rn = ctx;
	size_t i = rn->idx++;
	return i >= rn->from && rn->fn(rn->ctx, name, i);
}

/* With etcd, a host named as a file of hosts/ (ctl) would hide behind it: not listed. */
struct host_names {
	int (*fn)(void *ctx, const char *name, size_t idx);
	void *ctx;
};

static int host_name(void *ctx, const char *name, size_t idx)
{
	struct host_names *hn = ctx;
	for (size_t i = 0; i < vtab_len; i++)
		if (vtab[i].parent == VK_HOSTS && vtab[i].name && !strcmp(vtab[i].name, name))
			return 0;
	return hn->fn(hn->ctx, name, idx);
}

struct cns_names {
	struct vmfs *v;
	int (*fn)(void *ctx, const char *name, size_t idx);
	void *ctx;
	size_t base;
};

static int cns_name(void *ctx, const char *name, size_t idx)
{
	struct cns_names *c = ctx;
	return ns_find(&c->v->m, name) ? 0 : c->fn(c->ctx, name, c->base + idx);
}

/* The run-time children of dir, in order: calls fn(name) until it returns non-zero. */
static int dynamic_names(struct vmfs *v, const struct vnode *dir, size_t from,
			 int (*fn)(void *ctx, const char *name, size_t idx), void *ctx)
{
	switch (dir->e->kind) {
	case VK_HOSTS:
		if (v->chosts) {
			struct host_names hn = {fn, ctx};
			return chosts_names(v->chosts, from, host_name, &hn);
		}
		if (from == 0 && fn(ctx, v->hostname, 0))
			return 1;
		for (size_t i = from ? from - 1 : 0; i < v->cl.n; i++)
			if (fn(ctx, v->cl.v[i]->name, i + 1))
				return 1;
		return 0;
	case VK_NSDIR: {
		for (size_t i = from; i < v->m.nns; i++)
			if (fn(ctx, v->m.nss[i]->name, i))
				return 1;
		if (!v->cview) /* then the cluster's that this host does not have */
			return 0;
		struct cns_names cn = {v, fn, ctx, v->m.nns};
		return cview_ns_names(v->cview, from > v->m.nns ? from - v->m.nns : 0, cns_name,
				      &cn);
	}
	case VK_CNS_VMS:
	case VK_CNS_CTS:
		return cobj_names(v, dir, dir->e->kind == VK_CNS_VMS ? OT_VM : OT_CT, 0, from, fn,
				  ctx);
	case VK_NS_VMS:
	case VK_NS_CTS: {
		int type = dir->e->kind == VK_NS_VMS ? OT_VM : OT_CT;
		const struct objlist *l = &dir->ns->objs[type];
		for (size_t i = from; i < l->n; i++)
			if (fn(ctx, l->v[i]->name, i))
				return 1;
		if (v->cview) /* then other hosts', numbered after the local ones */
			return cobj_names(v, dir, type, l->n, from, fn, ctx);
		/* then the members', numbered after the local ones */
		struct robj_names rn = {fn, ctx, l->n, from};
		return cluster_robj_names(&v->cl, dir->ns, type, robj_name, &rn);
	}
	case VK_VLANS:
		for (size_t i = from; i < dir->ns->nvlans; i++)
			if (fn(ctx, dir->ns->vlans[i].name, i))
				return 1;
		return 0;
	case VK_OBJ_FIFO:
		for (long i = from; i < fifo_count(dir->obj); i++) {
			char num[24];
			snprintf(num, sizeof(num), "%ld", i);
			if (fn(ctx, num, i))
				return 1;
		}
		return 0;
	case VK_NS_CONFIG:
	case VK_OBJ_CONFIG:
		for (size_t i = from; i < nparams; i++) {
			if (dir->obj && !(params[i].applies & otype_mask(dir->obj->type)))
				continue;
			if (fn(ctx, params[i].name, i))
				return 1;
		}
		return 0;
	default:
		return 0;
	}
}

struct rdctx {
	struct vmfs *v;
	const struct vnode *dir;
	node_fill_fn fill;
	void *ctx;
	off_t base;
};

static int rd_one(void *arg, const char *name, size_t idx)
{
	struct rdctx *rc = arg;
	struct vnode child;
	struct stat st = {0};
	if (node_lookup(rc->v, rc->dir, name, &child) == 0) {
		st.st_ino = child.ino;
		st.st_mode = child.e->mode & S_IFMT;
	}
	return rc->fill(rc->ctx, name, &st, rc->base + idx + 1);
}

/* Offsets: 1, 2 are "." and ".."; then the table's fixed children; then run-time ones at
 * FIXED_BASE + their index, so removals elsewhere in the list shift nothing fixed. */
#define FIXED_BASE 64

int node_readdir(struct vmfs *v, const struct vnode *dir, off_t off, node_fill_fn fill, void *ctx)
{
	const struct ftree *tree = fkind_of(dir->e)->tree;
	if (tree)
		return tree->readdir(v, dir, off, fill, ctx);
	if (!S_ISDIR(dir->e->mode))
		return -ENOTDIR;
	struct stat st = {.st_mode = S_IFDIR, .st_ino = dir->ino};
	if (off < 1 && fill(ctx, ".", &st, 1))
		return 0;
	if (off < 2 && fill(ctx, "..", &st, 2))
		return 0;
	off_t pos = 2;
	for (size_t i = 0; i < vtab_len; i++) {
		if (!entry_fits(v, &vtab[i], dir))
			continue;
		pos++;
		if (pos <= off)
			continue;
		struct vnode child = {.e = &vtab[i], .ns = dir->ns, .obj = dir->obj, .cid = dir->cid};
		node_seal(&child);
		st = (struct stat){.st_ino = child.ino, .st_mode = vtab[i].mode & S_IFMT};
		if (fill(ctx, vtab[i].name, &st, pos))
			return 0;
	}
	struct rdctx rc = {v, dir, fill, ctx, FIXED_BASE};
	size_t from = off > FIXED_BASE ? (size_t)(off - FIXED_BASE) : 0;
	if (dir->e->names)
		dir->e->names(v, dir, from, rd_one, &rc);
	else
		dynamic_names(v, dir, from, rd_one, &rc);
	return 0;
}

void node_reject(struct vmfs *v, const struct vnode *n, const char *what, const char *why)
{
	vreq_reason(what, why);
	if (n && (n->obj || n->ns))
		model_error(n->ns, n->obj, what, why);
	else
		evlog_add(&v->log, "error: %s: %s", what, why);
}
