/* One VM or container: ctl, state, info, top, config/, and the files the runtimes fill
 * (console, screenshot.png, vnc, qmp). */
#include <string.h>

#include "runtime/lifecycle.h"
#include "vmfs/kinds.h"

int gen_obj_state(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	sb_printf(out, "%s\n", ostate_name(n->obj->state));
	return 0;
}

static const char *param_or_dash(const struct object *o, const char *name)
{
	int i = param_index(name);
	const char *s = i >= 0 ? obj_param(o, i) : "";
	return *s ? s : "-";
}

/* The VLANs of config/net, comma-separated ("-" for none). */
static void net_vlans(const struct object *o, struct sbuf *out)
{
	char buf[1024], err[128];
	snprintf(buf, sizeof(buf), "%s", param_or_dash(o, "net"));
	if (!strcmp(buf, "-")) {
		sb_puts(out, "-");
		return;
	}
	char *save = NULL;
	bool first = true;
	for (char *nic = strtok_r(buf, " ", &save); nic; nic = strtok_r(NULL, " ", &save)) {
		struct nic_spec spec;
		if (value_nic(nic, &spec, err, sizeof(err)) == 0) {
			sb_printf(out, "%s%s", first ? "" : ",", spec.vlan);
			first = false;
		}
	}
}

static const char *obj_disk(const struct object *o)
{
	return param_or_dash(o, o->type == OT_VM ? "disk" : "filesystem");
}

static bool live(const struct object *o)
{
	return o->state == ST_RUNNING || o->state == ST_PAUSED;
}

/* uptime and pid, "-" for an object that does not run */
static void run_fields(const struct object *o, char uptime[32], char pid[16])
{
	strcpy(uptime, "-");
	strcpy(pid, "-");
	if (!live(o))
		return;
	fmt_duration(time(NULL) - o->rt.started, uptime);
	snprintf(pid, 16, "%d", (int)o->rt.pid);
}

void obj_info_row(struct vmfs *v, const struct object *o, struct sbuf *out)
{
	char up[32], pid[16];
	run_fields(o, up, pid);
	sb_printf(out, "%llu\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", (unsigned long long)o->id, o->name,
		  otype_name(o->type), ostate_name(o->state), v->hostname, up,
		  param_or_dash(o, "vcpus"), param_or_dash(o, "memory"));
	net_vlans(o, out);
	sb_printf(out, "\t-\t-\t-\t%s\t%s\t%s\t%s\n", pid, obj_disk(o),
		  param_or_dash(o, "snapshot"), param_or_dash(o, "tags"));
}

int gen_obj_info(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct object *o = n->obj;
	char created[32], up[32], pid[16];
	fmt_time(o->ctime, created);
	run_fields(o, up, pid);
	sb_printf(out, "id %llu\nname %s\nnamespace %s\ntype %s\nstate %s\nhost %s\n",
		  (unsigned long long)o->id, o->name, o->ns->name, otype_name(o->type),
		  ostate_name(o->state), v->hostname);
	sb_printf(out, "uptime %s\npid %s\nvcpus %s\nmemory %s\nvlan ", up, pid,
		  param_or_dash(o, "vcpus"), param_or_dash(o, "memory"));
	net_vlans(o, out);
	sb_puts(out, "\ntap -\nmac -\nip -\n");
	if (o->type == OT_VM)
		sb_printf(out, "vnc -\nkernel %s\ndisks %s\n", param_or_dash(o, "kernel"),
			  obj_disk(o));
	else
		sb_printf(out, "filesystem %s\n", obj_disk(o));
	sb_printf(out, "snapshot %s\ntags %s\ncreated %s\nexit %s\nerror %s\n",
		  param_or_dash(o, "snapshot"), param_or_dash(o, "tags"), created,
		  o->rt.exit[0] ? o->rt.exit : "-", o->error ? o->error : "-");
	return 0;
}

/* Figures sampled once a second in the background (runtime/run.c): reading never waits.
 * Network and disk rates arrive with VLANs and QEMU. */
void obj_top_row(struct vmfs *v, const struct object *o, struct sbuf *out)
{
	bool on = live(o);
	sb_printf(out, "%s\t%s\t%s\t%s\t%.1f\t%lluK\t%llu\t0\t0\t0\t0\n", o->name,
		  otype_name(o->type), ostate_name(o->state), v->hostname, on ? o->rt.cpu : 0.0,
		  on ? (unsigned long long)o->rt.mem >> 10 : 0ULL,
		  on ? (unsigned long long)o->rt.pids : 0ULL);
}

int gen_obj_top(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct object *o = n->obj;
	bool on = live(o);
	sb_printf(out, "cpu%% %.1f\nrss %lluK\nprocs %llu\nrx/s 0\ntx/s 0\ndisk_rd/s 0\ndisk_wr/s 0\n",
		  on ? o->rt.cpu : 0.0, on ? (unsigned long long)o->rt.mem >> 10 : 0ULL,
		  on ? (unsigned long long)o->rt.pids : 0ULL);
	return 0;
}

int gen_obj_param(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	sb_printf(out, "%s\n", obj_param(n->obj, n->sub));
	return 0;
}

int set_obj_param(struct vmfs *v, const struct vnode *n, const char *value, char *err,
		  size_t errlen)
{
	return obj_param_set(&v->m, n->obj, n->sub, value, err, errlen);
}

int gen_obj_vnc(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	if (n->obj->state != ST_RUNNING && n->obj->state != ST_PAUSED) {
		model_error(n->ns, n->obj, "vnc", "no VNC server: the VM is not running");
		return -EBUSY;
	}
	return -EOPNOTSUPP;
}

int gen_obj_screenshot(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	if (n->obj->state != ST_RUNNING && n->obj->state != ST_PAUSED) {
		model_error(n->ns, n->obj, "screenshot.png", "no screen: the VM is not running");
		return -EBUSY;
	}
	return -EOPNOTSUPP;
}

int ctl_obj(struct vmfs *v, const struct vnode *n, char *line, struct sbuf *reply, char *err,
	    size_t errlen)
{
	static const struct ctl_cmd cmds[] = {
		{"start", V_START, 0, 0, "start"},       {"stop", V_STOP, 0, 0, "stop"},
		{"pause", V_PAUSE, 0, 0, "pause"},       {"resume", V_RESUME, 0, 0, "resume"},
		{"kill", V_KILL, 0, 0, "kill"},          {"restart", V_RESTART, 0, 0, "restart"},
		{"flush", V_FLUSH, 0, 0, "flush"},       {"commit", -1, 1, 1, "commit IMAGE"},
	};
	char *argv[4];
	int argc = ctl_split(line, argv, 4, err, errlen);
	if (argc < 0)
		return argc;
	const struct ctl_cmd *c = ctl_lookup(cmds, ARRAY_SIZE(cmds), argc, argv, err, errlen);
	if (!c)
		return -EINVAL;
	if (c->id < 0) {
		int r = name_check(argv[1], err, errlen);
		if (r)
			return r;
		snprintf(err, errlen, "commit: saving %s as an image is not built yet",
			 n->obj->name);
		return -EOPNOTSUPP;
	}
	return lifecycle_do(&v->m, n->obj, c->id, err, errlen);
}

int ctl_qmp(struct vmfs *v, const struct vnode *n, char *line, struct sbuf *reply, char *err,
	    size_t errlen)
{
	snprintf(err, errlen, "no QMP connection: the VM is not running");
	return -EBUSY;
}
