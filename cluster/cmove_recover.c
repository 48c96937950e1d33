/* A cold move's intent (kind=move) left by a destination that died, restarted or was cut
 * between its mark and its commit (cluster/cmove.h): rolled back, never finished. Called by the
 * intents' recovery (cluster/cintent.c) on the publisher's thread, for an intent this host runs
 * now (its own of an earlier run, or adopted from a host down CINTENT_DOWN_S).
 *
 * Why never finished: until the commit the source's copy is whole and the claim names it, so
 * a rollback loses nothing; whether the destination's copy is whole is known only to the
 * destination (it is placed after its checks, but a host that adopts the intent cannot look),
 * and a commit from here would repeat the mover's checks of the reservations on a view that
 * has moved on. The destination's copy, if it made one, carries the move's tag (CMOVE_COPY_TAG)
 * and goes at its next pass once the intent is gone (cluster/cns.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster/ckey.h"
#include "cluster/cmove.h"
#include "cluster/crec.h"
#include "etcd/client.h"

#define TRIES 5 /* the claim changed between its read and its put: read again */

static int etcd_fail(const struct err *e, char *err, size_t errlen)
{
	snprintf(err, errlen, "etcd: %s", e->why);
	return e->no ? -e->no : -EIO;
}

static bool same_tag(const struct ckey_tag *a, const struct ckey_tag *b)
{
	return !strcmp(a->host, b->host) && a->run == b->run && a->seq == b->seq;
}

/* The mark of intent tag on claim ckey cleared (compared on its revision): 1 cleared, 0 not
 * marked by it (nothing to clear; *owner its host, "" if none), <0 failed. */
static int clear_mark(struct etcd *c, const char *ckey, const struct ckey_tag *tag, uint64_t id,
		      char *owner, size_t ownerlen, char *err, size_t errlen)
{
	for (int t = 0; t < TRIES; t++) {
		struct etcd_kv kv = {0};
		bool found = false;
		struct err e;
		char why[300];
		struct crec_claim cl;
		owner[0] = 0;
		if (etcd_get(c, ckey, &kv, &found, &e))
			return etcd_fail(&e, err, errlen);
		if (!found)
			return 0;
		int r = crec_claim_read(kv.value, kv.value_len, &cl, why, sizeof(why));
		int64_t rev = kv.mod_revision;
		etcd_kv_free(&kv);
		if (r)
			return 0; /* a claim this vmfs cannot read is not written over */
		snprintf(owner, ownerlen, "%s", cl.host);
		if (cl.id != id || !*cl.moving || !same_tag(&cl.intent, tag))
			return 0;
		cl.moving[0] = 0;
		memset(&cl.intent, 0, sizeof(cl.intent));
		struct sbuf v = {0};
		crec_claim_write(&cl, &v);
		const struct etcd_cmp cmp = {.key = ckey, .target = ETCD_MOD, .num = rev};
		const struct etcd_op op = {
		    .kind = ETCD_OP_PUT, .key = ckey, .value = v.p, .len = v.len};
		struct etcd_txn_result res = {0};
		r = sb_err(&v) ? -ENOMEM : etcd_txn(c, &cmp, 1, &op, 1, NULL, 0, &res, &e);
		bool won = !r && res.succeeded;
		etcd_txn_result_free(&res);
		sb_free(&v);
		if (r)
			return r == -ENOMEM ? r : etcd_fail(&e, err, errlen);
		if (won)
			return 1;
	}
	snprintf(err, errlen, "%s changed %d times while its mark was cleared", ckey, TRIES);
	return -EAGAIN;
}

int cmove_recover(struct etcd *c, const char *cluster, const char *self, const struct ckey_tag *tag,
		  const struct crec_intent *in, const char *from, char *line, size_t linelen,
		  char *err, size_t errlen)
{
	char ikey[CKEY_MAX + 1], ckey[CKEY_MAX + 1], owner[NAME_MAX_LEN + 1] = "";
	if (ckey_intent(ikey, sizeof(ikey), cluster, tag) < 0)
		return -EINVAL;
	/* a move marks one object; an intent that names more (not vmfs's) is undone as a whole:
	 * each mark of it cleared */
	int cleared = 0;
	for (size_t i = 0; i < in->nobjects; i++) {
		if (ckey_claim(ckey, sizeof(ckey), cluster, in->ns, in->objects[i].name) < 0)
			continue;
		int r =
		    clear_mark(c, ckey, tag, in->objects[i].id, owner, sizeof(owner), err, errlen);
		if (r < 0)
			return r;
		cleared += r;
	}
	struct err e;
	if (etcd_delete(c, ikey, false, NULL, &e))
		return etcd_fail(&e, err, errlen);
	const struct crec_intent_obj *io = &in->objects[0];
	const char *dst = io->host;
	char tagtext[CKEY_TAG_LEN];
	ckey_tag_fmt(tag, tagtext);
	if (cleared)
		snprintf(
		    line, linelen,
		    "move %s of %s from %s to %s (run by %s, cut before its commit): rolled back "
		    "by %s: %s stays %s's and is no longer marked moving; %s",
		    tagtext, io->name, owner, dst, from, self, io->name, owner,
		    !strcmp(dst, self) ? "the copy made here, if any, is removed"
				       : "the destination removes its copy, if any, when it "
					 "is back");
	else
		snprintf(
		    line, linelen,
		    "move %s of %s to %s (run by %s, cut): its claim is not marked by it (%s): "
		    "intent deleted by %s; nothing else to undo",
		    tagtext, io->name, dst, from, *owner ? "settled already" : "the claim is gone",
		    self);
	return 0;
}

/* The object's directory, beneath the state directory, and the tag's file in it. */
static int tag_path(char *out, size_t len, const char *ns, enum otype type, const char *name)
{
	int n = snprintf(out, len, "ns/%s/%s/%s/" CMOVE_COPY_TAG, ns, otype_dir(type), name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cmove_copy_tag(int statefd, const char *ns, enum otype type, const char *name,
		   struct ckey_tag *tag)
{
	char path[3 * NAME_MAX_LEN + 64], buf[CKEY_TAG_LEN + 2], why[128];
	if (tag_path(path, sizeof(path), ns, type, name))
		return 0;
	int fd = openat(statefd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return ckey_tag_parse(buf, tag, why, sizeof(why)) ? -EINVAL : 1;
}

void cmove_copy_untag(int statefd, const char *ns, enum otype type, const char *name)
{
	char path[3 * NAME_MAX_LEN + 64];
	if (!tag_path(path, sizeof(path), ns, type, name))
		unlinkat(statefd, path, 0);
}
