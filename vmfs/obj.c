/* One VM or container: ctl, state, info, top, config/, and the files the runtimes fill
 * (console, screenshot.png, vnc, qmp). */
#include <string.h>

#include "cluster/cmove_int.h"
#include "runtime/lifecycle.h"
#include "runtime/migrate.h"
#include "runtime/net.h"
#include "runtime/run.h"
#include "runtime/vm.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"

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

/* One NIC field of a running object, comma-separated like vlan's; "-" for none. */
static void nic_field(const struct object *o, struct sbuf *out, int field)
{
	if (!o->rt.nnics) {
		sb_puts(out, "-");
		return;
	}
	for (int i = 0; i < o->rt.nnics; i++) {
		const struct netnic *n = &o->rt.nics[i];
		const char *v = field == 0 ? n->dev : field == 1 ? n->mac : field == 2 ? n->ip
			      : field == 3 ? n->bridge : n->ip6;
		sb_printf(out, "%s%s", i ? "," : "", *v ? v : "-");
	}
}

/* info's network lines: vlan (alias=id), bridge, tap, mac, ip, ip6. */
static void net_lines(const struct object *o, struct sbuf *out)
{
	sb_puts(out, "vlan ");
	if (o->rt.nnics)
		for (int i = 0; i < o->rt.nnics; i++)
			sb_printf(out, "%s%s=%u", i ? "," : "", o->rt.nics[i].vlan, o->rt.nics[i].vid);
	else
		net_vlans(o, out);
	static const char *const keys[] = {"tap", "mac", "ip", "bridge", "ip6"};
	for (int f = 0; f < 5; f++) {
		sb_printf(out, "\n%s ", keys[f]);
		nic_field(o, out, f);
	}
	sb_puts(out, "\n");
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
	for (int f = 0; f < 3; f++) {
		sb_puts(out, "\t");
		nic_field(o, out, f);
	}
	sb_printf(out, "\t%s\t%s\t%s\t%s\n", pid, obj_disk(o),
		  param_or_dash(o, "snapshot"), param_or_dash(o, "tags"));
}

/* The kernel counts guest time only for KVM's vcpu threads: under TCG it is "-", not 0. */
static void guest_cpu(const struct object *o, struct sbuf *out)
{
	if (live(o) && !strcmp(o->rt.accel, "kvm"))
		sb_printf(out, "guest_cpu%% %.1f\n", o->rt.guest_cpu);
	else
		sb_puts(out, "guest_cpu% -\n");
}

/* What QEMU itself reports: its run state, accelerator, VNC and disk traffic. */
static void vm_info(struct vmfs *v, const struct object *o, struct sbuf *out)
{
	bool on = live(o);
	const char *host = obj_cfg(o, "vnc-listen");
	sb_printf(out, "status %s\naccel %s\n", on && *o->rt.status ? o->rt.status : "-",
		  on && *o->rt.accel ? o->rt.accel : "-");
	char rundir[BUILT_PATH_MAX];
	run_dir(&v->m, o, rundir, sizeof(rundir));
	if (on && o->rt.vnc_display >= 0)
		sb_printf(out, "vnc %s:%d\n", host, VNC_PORT(o->rt.vnc_display));
	else
		sb_puts(out, "vnc -\n");
	if (on && vm_has_display(o, NULL, 0))
		sb_printf(out, "vnc_socket %s/" QEMU_DIR "/%s\n", rundir, VNC_SOCKET);
	else
		sb_puts(out, "vnc_socket -\n");
	sb_printf(out, "kernel %s\ndisks %s\n", param_or_dash(o, "kernel"), obj_disk(o));
	guest_cpu(o, out);
	sb_printf(out, "disk_read %llu\ndisk_written %llu\n",
		  on ? (unsigned long long)o->rt.disk_rd : 0ULL,
		  on ? (unsigned long long)o->rt.disk_wr : 0ULL);
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
	sb_printf(out, "uptime %s\npid %s\nvcpus %s\nmemory %s\n", up, pid,
		  param_or_dash(o, "vcpus"), param_or_dash(o, "memory"));
	net_lines(o, out);
	if (o->type == OT_VM)
		vm_info(v, o, out);
	else
		sb_printf(out, "filesystem %s\n", obj_disk(o));
	char last[512];
	if (live(o) || o->state == ST_QUIT || o->state == ST_ERROR)
		console_last_line(&v->m, o, last, sizeof(last));
	else
		strcpy(last, "-");
	sb_printf(out, "cpu%% %.1f\nrss %lluK\nconsole_last %s\n", live(o) ? o->rt.cpu : 0.0,
		  live(o) ? (unsigned long long)o->rt.mem >> 10 : 0ULL, last);
	sb_printf(out, "snapshot %s\ntags %s\ncreated %s\nexit %s\nerror %s\n",
		  param_or_dash(o, "snapshot"), param_or_dash(o, "tags"), created,
		  o->rt.exit[0] ? o->rt.exit : "-", o->error ? o->error : "-");
	return 0;
}

/* Figures sampled once a second in the background (runtime/run.c, runtime/qmon.c):
 * reading never waits. Network rates arrive with VLANs. */
void obj_top_row(struct vmfs *v, const struct object *o, struct sbuf *out)
{
	bool on = live(o);
	sb_printf(out, "%s\t%s\t%s\t%s\t%.1f\t%lluK\t%llu\t%.0f\t%.0f\t%.0f\t%.0f\n", o->name,
		  otype_name(o->type), ostate_name(o->state), v->hostname, on ? o->rt.cpu : 0.0,
		  on ? (unsigned long long)o->rt.mem >> 10 : 0ULL,
		  on ? (unsigned long long)o->rt.pids : 0ULL, on ? o->rt.net_rx_rate : 0.0,
		  on ? o->rt.net_tx_rate : 0.0, on ? o->rt.disk_rd_rate : 0.0,
		  on ? o->rt.disk_wr_rate : 0.0);
}

int gen_obj_top(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct object *o = n->obj;
	bool on = live(o);
	sb_printf(out, "cpu%% %.1f\n", on ? o->rt.cpu : 0.0);
	if (o->type == OT_VM)
		guest_cpu(o, out);
	sb_printf(out, "rss %lluK\nprocs %llu\nrx/s %.0f\ntx/s %.0f\ndisk_rd/s %.0f\ndisk_wr/s %.0f\n",
		  on ? (unsigned long long)o->rt.mem >> 10 : 0ULL,
		  on ? (unsigned long long)o->rt.pids : 0ULL, on ? o->rt.net_rx_rate : 0.0,
		  on ? o->rt.net_tx_rate : 0.0, on ? o->rt.disk_rd_rate : 0.0,
		  on ? o->rt.disk_wr_rate : 0.0);
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
	char busy[NAME_MAX_LEN + 16];
	if (cmove_busy(v, n->obj, busy, sizeof(busy))) { /* a cold move copies it */
		snprintf(err, errlen, "%s is %s: its config waits until that has ended",
			 n->obj->name, busy);
		return -EBUSY;
	}
	return obj_param_set(&v->m, n->obj, n->sub, value, err, errlen);
}

int gen_obj_vnc(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct object *o = n->obj;
	char why[256];
	int r = -EBUSY;
	if (!vm_has_display(o, why, sizeof(why)))
		r = -ENODEV;
	else if (o->state != ST_RUNNING && o->state != ST_PAUSED)
		snprintf(why, sizeof(why), "no VNC server: %s is not running (state %s)", o->name,
			 ostate_name(o->state));
	else {
		/* the password too: the file is its owner's only (vmfs/node.c) */
		char pw[64], rundir[BUILT_PATH_MAX];
		if (o->rt.vnc_display >= 0) {
			r = vm_vnc_password(&v->m, n->obj, pw, sizeof(pw));
			if (r) {
				snprintf(why, sizeof(why), "cannot read the VNC password: %s",
					 strerror(-r));
				model_error(n->ns, n->obj, "vnc", why);
				return r;
			}
			sb_printf(out, "%s:%d\npassword %s\n", obj_cfg(o, "vnc-listen"),
				  VNC_PORT(o->rt.vnc_display), pw);
		}
		run_dir(&v->m, o, rundir, sizeof(rundir));
		sb_printf(out, "socket %s/" QEMU_DIR "/%s\n", rundir, VNC_SOCKET);
		return 0;
	}
	model_error(n->ns, n->obj, "vnc", why);
	return r;
}

static int screenshot(struct vmfs *v, const struct vnode *n, unsigned maxdim, struct sbuf *out)
{
	char err[1024];
	int r = vm_screenshot(&v->m, n->obj, maxdim, out, err, sizeof(err));
	if (r)
		model_error(n->ns, n->obj, maxdim ? "thumbnail.png" : "screenshot.png", err);
	return r;
}

int gen_obj_screenshot(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	return screenshot(v, n, 0, out);
}

int gen_obj_thumbnail(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	return screenshot(v, n, strtoul(obj_cfg(n->obj, "thumbnail"), NULL, 10), out);
}

int ctl_obj(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	    size_t errlen)
{
	const struct vnode *n = &q->h->n;
	static const struct ctl_cmd cmds[] = {
		{"start", V_START, 0, 0, "start"},       {"stop", V_STOP, 0, 0, "stop"},
		{"pause", V_PAUSE, 0, 0, "pause"},       {"resume", V_RESUME, 0, 0, "resume"},
		{"kill", V_KILL, 0, 0, "kill"},          {"restart", V_RESTART, 0, 0, "restart"},
		{"flush", V_FLUSH, 0, 0, "flush"},       {"commit", -1, 1, 1, "commit IMAGE"},
		{"migrate-in", -2, 1, 1, "migrate-in ADDR"},
		{"migrate-out", -3, 2, 2, "migrate-out ADDR:PORT nbd=ADDR:PORT"},
	};
	char *argv[4];
	int argc = ctl_split(line, argv, 4, err, errlen);
	if (argc < 0)
		return argc;
	const struct ctl_cmd *c = ctl_lookup(cmds, ARRAY_SIZE(cmds), argc, argv, err, errlen);
	if (!c)
		return -EINVAL;
	char busy[NAME_MAX_LEN + 16];
	if (c->id != -2 && c->id != -3 && cmove_busy(v, n->obj, busy, sizeof(busy))) {
		snprintf(err, errlen, "%s is %s: %s waits until that has ended", n->obj->name, busy,
			 argv[0]);
		return -EBUSY; /* a cold move copies it: it must not change meanwhile */
	}
	if (c->id == -2) {
		/* a start, in the background as any, of a QEMU to receive */
		struct err e;
		struct object *o = n->obj;
		size_t done;
		err_clear(&e);
		int r = err_result(&e, migrate_in(&v->m, o, argv[1], &e), err, errlen);
		if (!r)
			r = lifecycle_do_many(&v->m, &o, 1, V_START, &q->wait.batch, &done, err, errlen);
		if (r != -EINPROGRESS)
			migrate_in_answer(o, r, reply);
		return r;
	}
	if (c->id == -3) {
		struct err e;
		err_clear(&e);
		int r = migrate_out(&v->m, n->obj, argv[1], argv[2], reply, &e);
		return err_result(&e, r, err, errlen);
	}
	if (c->id < 0) {
		int r = name_check(argv[1], err, errlen);
		return r ? r : vm_commit(&v->m, n->obj, argv[1], err, errlen);
	}
	if (c->id == V_START) {
		/* the write waits for the start; the rest of vmfs does not */
		struct object *o = n->obj;
		size_t done;
		return lifecycle_do_many(&v->m, &o, 1, V_START, &q->wait.batch, &done, err, errlen);
	}
	return lifecycle_do(&v->m, n->obj, c->id, err, errlen);
}

int ctl_qmp(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	    size_t errlen)
{
	return vm_qmp_user(&v->m, q->h->n.obj, line, reply, err, errlen);
}
