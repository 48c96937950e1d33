/* ctl files: commands, one a line; the answer ("ok" or "error: why") is read back once. A
 * write whose commands go on in the background waits (-EINPROGRESS) and is resumed. */
#include "vmfs/node.h"

#include <string.h>

#include "runtime/lifecycle.h"
#include "runtime/migrate.h"
#include "runtime/qmp_allow.h"
#include "runtime/vm.h"
#include "cluster/ccmd.h"
#include "vmfs/fkind.h"
#include "vmfs/vreq.h"
#include "vmfs/slice.h"

#define CTL_MAX_COMMANDS 1000
#define CTL_MAX_BYTES 65536

/* What reading a ctl file shows before any command: the commands it takes. */
static void ctl_help(const struct vnode *n, struct sbuf *out)
{
	switch (n->e->kind) {
	case VK_NS_CTL:
		sb_puts(out, "launch kvm|container NAMES [like NAME]\n"
			     "plan launch kvm|container NAMES (a cluster on etcd)\n"
			     "move NAME HOST (a cluster on etcd)\n"
			     "start|stop|pause|resume|kill|restart|flush all|NAME|GLOB|RANGE|ID\n"
			     "tap VLAN ADDR/PREFIX | tap delete VLAN\n");
		break;
	case VK_OBJ_CTL:
		sb_puts(out, "start|stop|pause|resume|kill|restart|flush|commit IMAGE\n"
			     "migrate-in ADDR | migrate-out ADDR:PORT nbd=ADDR:PORT\n");
		break;
	case VK_OBJ_QMP:
		sb_puts(out, "one QMP command per line, e.g. {\"execute\":\"query-status\"}\n");
		break;
	case VK_HOSTS_CTL:
		sb_puts(out, "add NAME PATH|ssh://USER@HOST/PATH|9p://HOST:PORT|9p+ssh://USER@HOST\n"
			     "remove NAME\nvxlan VLAN_ID ADDR[,ADDR...]|none\n"
			     "drain|undrain|forget NAME (a cluster on etcd)\n");
		break;
	default:
		break;
	}
}

static void ctl_done(struct vhandle *h)
{
	if (h->batch)
		lifecycle_batch_abandon(h->batch);
	h->batch = NULL;
	nsjob_free(h->job);
	h->job = NULL;
	h->sliced = false;
	rbatch_put(h->rbatch); /* the members' part goes on, unwaited */
	h->rbatch = NULL;
	hcmd_put(h->hcmd); /* its hosts' part goes on, unwaited */
	h->hcmd = NULL;
	free(h->ctl_text);
	free(h->ctl_cmd);
	h->ctl_text = h->ctl_next = h->ctl_cmd = NULL;
}

static ssize_t ctl_fail(struct vmfs *v, struct vhandle *h, const char *err, int r)
{
	char what[64], full[1200];
	node_relpath(&h->n, what, sizeof(what));
	snprintf(full, sizeof(full), "\"%s\": %s", h->ctl_cmd ? h->ctl_cmd : "?",
		 err[0] ? err : strerror(-r));
	node_reject(v, &h->n, what, full);
	h->reply.len = 0;
	sb_printf(&h->reply, "error: %s\n", full);
	ctl_done(h);
	return r;
}

/* A failure whose answer is in the reply already (a line per host): it is kept. */
static ssize_t ctl_fail_answered(struct vmfs *v, struct vhandle *h, const char *err, int r)
{
	char what[64];
	node_relpath(&h->n, what, sizeof(what));
	node_reject(v, &h->n, what, err[0] ? err : strerror(-r));
	ctl_done(h);
	return r;
}

/* Commands that reach the host, for anyone but host root: hosts/ctl (sshfs and tunnels run
 * by root), a namespace's `tap` (an address on the host) and any QMP command off
 * qmp_allow's list. *line may become a copy to run
 * instead (*alt, freed by the caller). */
static int ctl_host_check(struct vhandle *h, char **line, char **alt, char *err, size_t errlen)
{
	*alt = NULL;
	if (h->host)
		return 0;
	if (h->n.e->kind == VK_HOSTS_CTL) { /* 0644 on the mount; the HTTP door writes as root */
		snprintf(err, errlen, "hosts/ctl: only host root may join hosts or open tunnels to "
			 "them");
		return -EPERM;
	}
	if (h->n.e->kind == VK_OBJ_QMP) {
		int r = qmp_allow(*line, alt, err, errlen);
		if (*alt)
			*line = *alt;
		return r;
	}
	char *argv[8], why[256];
	bool ns = h->n.e->kind == VK_NS_CTL, obj = h->n.e->kind == VK_OBJ_CTL;
	auto_free char *copy = ns || obj ? strdup(*line) : NULL;
	/* its first word as the ctl reads it (quotes and all) */
	if (!copy || ctl_split(copy, argv, 8, why, sizeof(why)) <= 0)
		return 0;
	if (ns && !strcmp(argv[0], "tap")) {
		snprintf(err, errlen, "tap: only host root may give the host an interface and an "
			 "address on a VLAN");
		return -EPERM;
	}
	/* a migration opens ports on the host and sends a VM's memory and disks wherever it
	 * is told: the cluster's (root's) doing, not a namespace owner's */
	if (obj && (!strcmp(argv[0], "migrate-in") || !strcmp(argv[0], "migrate-out"))) {
		snprintf(err, errlen, "%s: only host root may move a VM between hosts", argv[0]);
		return -EPERM;
	}
	return 0;
}

/* Runs the lines written, from h->ctl_next on, each as one command; stops at the first
 * that fails, or at one that goes on in the background (-EINPROGRESS: the write waits on
 * node_waitq, then node_write_resume goes on from the next line). */
static ssize_t ctl_run(struct vmfs *v, struct vreq *q)
{
	struct vhandle *h = q->h;
	char err[1024], what[64];
	while (h->ctl_next) {
		if (h->ctl_any && slice_over()) {
			h->sliced = true; /* the next lines in the loop's next turn */
			slice_yield();
			return -EINPROGRESS;
		}
		char *line = h->ctl_next, *nl = strchr(line, '\n');
		h->ctl_next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		h->ctl_any = true;
		free(h->ctl_cmd);
		h->ctl_cmd = strdup(line); /* for messages: the handler cuts line into words */
		err[0] = 0;
		q->wait = (struct vwait){0};
		char *alt = NULL;
		int r = h->ctl_cmd ? ctl_host_check(h, &line, &alt, err, sizeof(err)) : -ENOMEM;
		if (!r)
			r = h->n.e->ctl(v, q, line, &h->reply, err, sizeof(err));
		free(alt);
		if (r == -EINPROGRESS) {
			h->batch = q->wait.batch;
			h->batch_count = q->wait.count;
			h->rbatch = q->wait.rbatch;
			h->rverb = q->wait.rverb;
			h->job = q->wait.job;
			h->hcmd = q->wait.hcmd;
			return r;
		}
		if (r && q->wait.keep_reply)
			return ctl_fail_answered(v, h, err, r);
		if (r)
			return ctl_fail(v, h, err, r);
	}
	ctl_done(h);
	if (!h->ctl_any) {
		node_reject(v, &h->n, node_relpath(&h->n, what, sizeof(what)),
			    "empty command (read the file for the commands it takes)");
		h->reply.len = 0;
		sb_puts(&h->reply, "error: empty command\n");
		return -EINVAL;
	}
	if (!h->reply.len)
		sb_puts(&h->reply, "ok\n");
	return sb_err(&h->reply) ? -ENOMEM : (ssize_t)h->ctl_size;
}

/* A write to ctl is answered only when all its commands are done, so it is bounded: a
 * 10,000-line write would keep its writer waiting for long and its answer could not say
 * what happened to each line. Bytes that cannot be part of a command are refused with the
 * rest (a NUL would cut a command short without a word). */
static int ctl_check(const char *buf, size_t size, char *why, size_t whylen)
{
	size_t lines = 0;
	bool text = false;
	if (size > CTL_MAX_BYTES) {
		snprintf(why, whylen, "the write is %zu bytes long: a write to ctl takes at most %d",
			 size, CTL_MAX_BYTES);
		return -EFBIG;
	}
	for (size_t i = 0; i < size; i++) {
		unsigned char b = (unsigned char)buf[i];
		if (b == '\n') {
			lines += text;
			text = false;
		} else if ((b < 0x20 && b != '\t') || b == 0x7f) {
			char c[8];
			ctl_escape(buf + i, 1, c, sizeof(c));
			snprintf(why, whylen, "the write holds the control byte '%s' at byte %zu: "
				 "commands are printable text, one a line", c, i + 1);
			return -EINVAL;
		} else if (b != ' ' && b != '\t') {
			text = true;
		}
	}
	lines += text;
	if (lines > CTL_MAX_COMMANDS) {
		snprintf(why, whylen, "the write holds %zu commands: a write to ctl takes at most %d "
			 "(split it, or name many objects at once with a range such as web[1-5000])",
			 lines, CTL_MAX_COMMANDS);
		return -E2BIG;
	}
	return 0;
}

static ssize_t ctl_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size,
			 off_t off)
{
	struct vhandle *h = q->h;
	char why[300], what[64];
	if (h->ctl_text)
		return -EBUSY; /* a write on this descriptor still waits for its command */
	int r = ctl_check(buf, size, why, sizeof(why));
	if (r) {
		node_reject(v, &h->n, node_relpath(&h->n, what, sizeof(what)), why);
		h->reply.len = 0;
		h->reply_pos = 0;
		sb_printf(&h->reply, "error: %s\n", why);
		return r;
	}
	h->ctl_text = h->ctl_next = strndup(buf, size);
	if (!h->ctl_text)
		return -ENOMEM;
	h->ctl_size = size;
	h->ctl_any = false;
	slice_begin();
	h->reply.len = 0;
	h->reply_pos = 0;
	return ctl_run(v, q);
}


/* A write whose commands went on in the background: their outcome, then its next lines. */
static ssize_t ctl_resume(struct vmfs *v, struct vreq *q)
{
	struct vhandle *h = q->h;
	char err[1024] = "";
	int r = 0;
	slice_begin();
	if (h->sliced) {
		h->sliced = false;
		return ctl_run(v, q);
	}
	if (h->hcmd) {
		r = hcmd_end(h->hcmd, &h->reply, err, sizeof(err));
		if (r == -EINPROGRESS)
			return r;
		hcmd_put(h->hcmd);
		h->hcmd = NULL;
		return r ? ctl_fail_answered(v, h, err, r) : ctl_run(v, q);
	}
	if (h->job) {
		r = nsjob_run(v, h->job, &h->reply, err, sizeof(err));
		if (r == -EINPROGRESS)
			return r;
		nsjob_free(h->job);
		h->job = NULL;
		return r ? ctl_fail(v, h, err, r) : ctl_run(v, q);
	}
	if (h->batch) {
		enum verb verb;
		size_t done;
		r = lifecycle_batch_end(h->batch, &verb, &done, err, sizeof(err));
		if (r == -EINPROGRESS)
			return r;
		h->batch = NULL;
		if (h->n.obj)
			migrate_in_answer(h->n.obj, r, &h->reply); /* a start for a migrate-in */
		if (!r && h->rbatch)
			h->rbatch->count += done; /* the answer counts the members' too */
		else if (!r && h->batch_count)
			sb_printf(&h->reply, "ok: %s %zu\n", verb_name(verb), done);
	} else if (h->rbatch) {
		/* members only */
	} else if (h->n.obj && (r = migrate_out_result(h->n.obj, &h->reply, err, sizeof(err))) != 1) {
		if (r == -EINPROGRESS)
			return r;
	} else if ((r = h->n.obj ? vm_job_result(h->n.obj, err, sizeof(err)) : 0) == -EINPROGRESS) {
		return r;
	}
	if (h->rbatch) {
		struct rbatch *b = h->rbatch;
		if (b->pending)
			return -EINPROGRESS;
		h->rbatch = NULL;
		if (!r && b->err) {
			r = b->err;
			snprintf(err, sizeof(err), "%s", b->why);
		} else if (!r) {
			h->reply.len = 0;
			if (h->rverb)
				sb_printf(&h->reply, "ok: %s %lu\n", h->rverb, b->count);
			else /* the whole answer (cluster/cdrain.h) */
				sb_puts(&h->reply, b->why);
		}
		rbatch_put(b);
	}
	return r ? ctl_fail(v, h, err, r) : ctl_run(v, q);
}

static int ctl_open(struct vmfs *v, struct vhandle *h, int flags)
{
	ctl_help(&h->n, &h->reply);
	return 0;
}

static ssize_t ctl_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	/* Plan 9's transaction file: the answer is read once, whatever the offset */
	ssize_t got = file_copy_out(h->reply.p, h->reply.len, buf, size, h->reply_pos);
	h->reply_pos += got;
	return got;
}

static struct waitq *ctl_waitq(struct vmfs *v, struct vhandle *h)
{
	if (h->hcmd)
		return hcmd_wq(h->hcmd);
	if (h->sliced || h->job)
		return slice_wq();
	if (h->batch)
		return lifecycle_batch_wq(h->batch);
	if (h->rbatch)
		return &h->rbatch->wq;
	return h->n.obj ? &h->n.obj->job_wq : NULL;
}

static void ctl_release(struct vmfs *v, struct vhandle *h)
{
	ctl_done(h);
}

const struct fkind fk_ctl = {
	.open = ctl_open,
	.read = ctl_read,
	.write = ctl_write,
	.resume = ctl_resume,
	.abandon = ctl_done,
	.waitq = ctl_waitq,
	.release = ctl_release,
};
