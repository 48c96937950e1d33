/* cluster/ccmd's pure parts: the command record a head puts (read back by a member's reader),
 * a member's check of what it is sent, and an answer record as the head reports it (its
 * errno and words reach the writer, a hostile reason escaped). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd.h"
#include "cluster/crec.h"
#include "ctl/params.h"
#include "tests/unit/tap.h"

static int read_cmd(const struct sbuf *b, struct crec_cmd *c)
{
	char why[256];
	return crec_cmd_read(b->p, b->len, c, why, sizeof(why));
}

static int check_text(const char *text, enum verb *v, char *why, size_t whylen)
{
	struct crec_cmd c;
	char err[256];
	int r = crec_cmd_read(text, strlen(text), &c, err, sizeof(err));
	if (r) {
		snprintf(why, whylen, "%s", err);
		return r;
	}
	r = ccmd_check(&c, v, why, whylen);
	crec_cmd_free(&c);
	return r;
}

int main(void)
{
	/* the record: what a member reads back */
	const uint64_t ids[] = {3, 17, 4};
	struct sbuf b = {0};
	ccmd_record("h1", 2, V_PAUSE, ids, 3, true, CCMD_TAKE_MS, 1796589667, &b);
	struct crec_cmd c;
	ok(!b.oom && !read_cmd(&b, &c), "the record reads back");
	is_str(c.from, "h1", "from");
	ok(c.ns == 2 && c.nids == 3 && c.ids[0] == 3 && c.ids[1] == 17 && c.ids[2] == 4,
	   "ns and ids in the order named");
	is_str(c.verb, "pause", "the verb's word");
	ok(c.unfit == CREC_UNFIT_REFUSE, "named: refuse");
	ok(c.take_ms == CCMD_TAKE_MS && c.issued == 1796589667, "take-ms and issued");
	ok(!*c.taken && !*c.nonce, "nobody has taken it");
	enum verb v = V_MAX;
	char why[512] = "";
	ok(!ccmd_check(&c, &v, why, sizeof(why)) && v == V_PAUSE, "a member takes it: pause");
	crec_cmd_free(&c);
	sb_free(&b);
	b = (struct sbuf){0};
	ccmd_record("h1", 2, V_FLUSH, ids, 1, false, 2000, 1, &b);
	ok(!read_cmd(&b, &c) && c.unfit == CREC_UNFIT_SKIP && c.nids == 1, "all or a glob: skip");
	crec_cmd_free(&c);
	sb_free(&b);

	/* a member's check: peer input */
	const char *head = "v=1\nfrom=h1\nns=1\nunfit=skip\ntake-ms=2000\nissued=1\n";
	char text[512];
	snprintf(text, sizeof(text), "%sverb=launch\nids=1\n", head);
	ok(check_text(text, &v, why, sizeof(why)) == -EINVAL && strstr(why, "launch"),
	   "a verb not of ns/NS/ctl is refused, with words: %s", why);
	snprintf(text, sizeof(text), "%sverb=stop\n", head);
	ok(check_text(text, &v, why, sizeof(why)) == -EINVAL && strstr(why, "no ids"),
	   "no ids: refused (%s)", why);
	snprintf(text, sizeof(text), "%sverb=stop\nids=1\nargs=x\n", head);
	ok(check_text(text, &v, why, sizeof(why)) == -EINVAL && strstr(why, "args"),
	   "args with a verb: refused (%s)", why);
	snprintf(text, sizeof(text),
		 "v=1\nfrom=h1\nns=1\nunfit=skip\ntake-ms=600000\nissued=1\nverb=stop\nids=1\n");
	ok(check_text(text, &v, why, sizeof(why)) == -EINVAL && strstr(why, "take-ms"),
	   "a take window of 10 minutes: refused (%s)", why);
	snprintf(text, sizeof(text), "%sverb=kill\nids=5 6\n", head);
	ok(!check_text(text, &v, why, sizeof(why)) && v == V_KILL, "kill of 2 ids: taken");

	/* an answer as the head reports it */
	struct crec_ans a = {.state = CREC_ANS_TAKEN};
	struct hostans h;
	ok(!ccmd_judge("h2", &a, &h), "taken: no outcome yet");
	a = (struct crec_ans){.state = CREC_ANS_DONE, .count = 9};
	ok(ccmd_judge("h2", &a, &h) && h.kind == HA_DONE && h.count == 9 && !strcmp(h.host, "h2"),
	   "done, no errno: ok, its count");
	ok(hostans_errno(&h) == 0, "errno 0");
	a = (struct crec_ans){.state = CREC_ANS_DONE, .err = EBUSY, .count = 1};
	snprintf(a.reason, sizeof(a.reason), "z1 is BUILDING: pause needs it RUNNING");
	ok(ccmd_judge("h2", &a, &h) && h.kind == HA_REFUSED && h.err == EBUSY,
	   "done with EBUSY: refused");
	b = (struct sbuf){0};
	cmdans_line(&h, "pause", &b);
	is_str(b.p, "h2: EBUSY: z1 is BUILDING: pause needs it RUNNING\n",
	       "the member's errno and words reach the line");
	sb_free(&b);
	ok(cmdans_errno(&h, 1) == EBUSY, "and the write's errno");
	a = (struct crec_ans){.state = CREC_ANS_DONE, .err = EINVAL};
	memset(a.reason, 'x', sizeof(a.reason) - 1);
	ok(ccmd_judge("h2", &a, &h) && strlen(h.reason) == sizeof(h.reason) - 1,
	   "a long reason is cut to what a line keeps");
	a = (struct crec_ans){.state = CREC_ANS_LATE};
	ccmd_late_reason(1300, a.reason, sizeof(a.reason));
	ok(ccmd_judge("h3", &a, &h) && h.kind == HA_LATE && hostans_errno(&h) == EHOSTDOWN,
	   "late: not applied, EHOSTDOWN");
	b = (struct sbuf){0};
	cmdans_line(&h, "pause", &b);
	is_str(b.p, "h3: the take was answered after 1.3 s: not applied\n",
	       "when the take was answered, from the member's reason");
	sb_free(&b);
	snprintf(a.reason, sizeof(a.reason), "the take was answered after 1e300 s");
	ok(ccmd_judge("h3", &a, &h) && h.took_ms == 0, "a time beyond bounds is not taken");

	/* a create command's args: names, type, intent and the template, one line each way */
	char *names[] = {"k1", "k2"};
	struct ccreate cr = {.intent = {.host = "h1", .run = 4, .seq = 2}, .type = OT_VM,
			     .names = names, .n = 2};
	int di = param_index("disk"), mi = param_index("memory");
	cr.cfg[di] = "a b.img,virtio %x";
	cr.cfg[mi] = "16M";
	b = (struct sbuf){0};
	ccreate_args(&cr, &b);
	ok(!b.oom && !strchr(b.p, '\n') && !strstr(b.p, "a b"), "one line, a value's spaces escaped");
	struct ccreate rd;
	ok(!ccreate_read(b.p, &rd, why, sizeof(why)), "it reads back (%s)", why);
	ok(rd.n == 2 && !strcmp(rd.names[0], "k1") && !strcmp(rd.names[1], "k2"), "the names");
	ok(rd.type == OT_VM && !strcmp(rd.intent.host, "h1") && rd.intent.run == 4 &&
	       rd.intent.seq == 2,
	   "the type and the intent");
	is_str(rd.cfg[di], "a b.img,virtio %x", "a value with spaces, a comma and a %%");
	is_str(rd.cfg[mi], "16M", "another");
	ok(!rd.cfg[param_index("vcpus")], "an unset one stays unset (its default)");
	ccreate_free(&rd);

	/* a member's check of each claim a create names (from its cache or read from etcd) */
	struct crec_claim cl = {.id = 7, .type = OT_VM, .host = "h2",
				.intent = {.host = "h1", .run = 4, .seq = 2}};
	ok(ccreate_claim_ok(&cl, 7, "h2", &cr), "a claim of that id, for this host, by the intent");
	ok(!ccreate_claim_ok(&cl, 8, "h2", &cr), "another id: refused");
	ok(!ccreate_claim_ok(&cl, 7, "h3", &cr), "another host's: refused");
	cl.intent.seq = 3;
	ok(!ccreate_claim_ok(&cl, 7, "h2", &cr), "another launch's: refused");
	cl.intent.seq = 2;
	cl.type = OT_CT;
	ok(!ccreate_claim_ok(&cl, 7, "h2", &cr), "another type: refused");
	cl.type = OT_VM;
	cl.intent.host[0] = 0;
	ok(!ccreate_claim_ok(&cl, 7, "h2", &cr), "a claim of no launch: refused");
	sb_free(&b);
	const struct {
		const char *args, *why;
	} bad[] = {
	    {"type=kvm names=a", "needs intent"},
	    {"intent=h1.1.1 type=lxc names=a", "neither"},
	    {"intent=h1.1.1 type=kvm names=a cfg.nosuch=1", "no parameter"},
	    {"intent=h1.1.1 type=kvm names=a cfg.memory=1 cfg.memory=2", "twice"},
	    {"intent=h1.1.1 type=kvm names=a cfg.memory=%0", "escape"},
	    {"intent=h1.1.1 type=kvm names=a cfg.memory=%00", "escape"},
	    {"intent=h1.1.1 type=kvm names=a bogus", "without '='"},
	    {"intent=h1.1.1 type=kvm names=a names=b", "no word"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		ok(ccreate_read(bad[i].args, &rd, why, sizeof(why)) == -EINVAL &&
		       strstr(why, bad[i].why),
		   "refused: %s (%s)", bad[i].args, why);
	}

	ok(ccmd_verb_ms(V_START) >= 60000 && ccmd_verb_ms(V_PAUSE) > CCMD_B_MS,
	   "a start is waited for as QEMU is; every verb at least B");
	return tap_done();
}
