/* Drives etcd/client.c from the shell, for tests/integration/etcd_client.sh:
 *   etcdtry [--ca F] [--cert F --key F] [--timeout MS] [--user U --password-file F]
 *           URL[,URL...] CMD ARGS...
 * CMD: get KEY | range PREFIX | put KEY VALUE [LEASE] | del KEY | delprefix PREFIX |
 *      claim KEY VALUE [LEASE] | cas KEY MODREV VALUE | grant TTL |
 *      keep LEASE SECONDS (a keepalive every 500 ms) | revoke LEASE |
 *      txn [KEY version|create|mod|value|lease =|!=|<|> ARG]... ok: OP... fail: OP...
 *        (OP: put KEY VALUE | putl KEY VALUE LEASE | puti KEY VALUE (ignore_lease) |
 *         del KEY | delp PREFIX | get KEY | getp PREFIX) |
 *      txnmany N (N compares and N puts of /t/many/I) |
 *      fill PREFIX N VALUE (puts PREFIX00000 ... with one handle; prints the last revision) |
 *      snapshot PREFIX REV (prints "revision R", then the keys) |
 *      watch PREFIX START N MS (prints events, DOWN, UP, COMPACTED as lines until N events,
 *        COMPACTED or MS milliseconds; exit 1 on the timeout) |
 *      twice MS CMD ARGS... (CMD, MS milliseconds of nothing, CMD again: on one handle) |
 *      auth (authenticates with --user and --password-file, and says so)
 * Prints what etcd answered, one line per key; on failure "etcdtry: REASON" on stderr, exit 1. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd/client.h"
#include "etcd/watch.h"

static void show(const struct etcd_kv *kv)
{
	printf("%s=%.*s mod=%" PRId64 " version=%" PRId64 " lease=%" PRId64 "\n", kv->key,
	       (int)kv->value_len, kv->value, kv->mod_revision, kv->version, kv->lease);
}

static int64_t num(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || !*s || *end) {
		fprintf(stderr, "etcdtry: %s is not a number\n", s);
		exit(2);
	}
	return v;
}

static void txn_show(int r, const struct etcd_txn_result *res)
{
	if (r)
		return;
	printf("%s revision %" PRId64 "\n", res->succeeded ? "succeeded" : "failed", res->revision);
	for (size_t i = 0; i < res->nranges; i++) {
		printf("range %zu: %zu keys\n", i, res->ranges[i].n);
		for (size_t k = 0; k < res->ranges[i].n; k++)
			show(&res->ranges[i].kv[k]);
	}
}

static int pick(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	fprintf(stderr, "etcdtry: unknown word %s\n", s);
	exit(2);
}

/* the ops of argv up to stop (or the end); returns the index after */
static int txn_ops(int argc, char **argv, int i, const char *stop, struct etcd_op *ops, size_t *n)
{
	static const char *const kinds[] = {"put", "putl", "puti", "del", "delp", "get", "getp"};
	while (i < argc && (!stop || strcmp(argv[i], stop))) {
		int k = pick(argv[i], kinds, 7), need = k == 1 ? 3 : k <= 2 ? 2 : 1;
		if (i + need >= argc) {
			fprintf(stderr, "etcdtry: %s needs %d arguments\n", argv[i], need);
			exit(2);
		}
		struct etcd_op *o = &ops[(*n)++];
		*o = (struct etcd_op){.key = argv[i + 1]};
		o->kind = k <= 2 ? ETCD_OP_PUT : k <= 4 ? ETCD_OP_DELETE : ETCD_OP_RANGE;
		o->prefix = k == 4 || k == 6;
		if (k <= 2) {
			o->value = argv[i + 2];
			o->len = strlen(argv[i + 2]);
		}
		o->lease = k == 1 ? num(argv[i + 3]) : 0;
		o->ignore_lease = k == 2;
		i += need + 1;
	}
	return i + (i < argc);
}

static int txn(struct etcd *c, int argc, char **argv, struct err *e)
{
	static const char *const targets[] = {"version", "create", "mod", "value", "lease"};
	static const char *const results[] = {"=", "!=", "<", ">"};
	struct etcd_cmp cmp[16];
	struct etcd_op ok[16], fail[16];
	size_t ncmp = 0, nok = 0, nfail = 0;
	int i = 1;
	for (; i < argc && strcmp(argv[i], "ok:"); i += 4) {
		if (i + 3 >= argc || ncmp == 16) {
			fprintf(stderr, "etcdtry: a compare is KEY TARGET OP ARG\n");
			exit(2);
		}
		struct etcd_cmp *m = &cmp[ncmp++];
		*m = (struct etcd_cmp){.key = argv[i]};
		m->target = (enum etcd_target)pick(argv[i + 1], targets, 5);
		m->result = (enum etcd_result)pick(argv[i + 2], results, 4);
		if (m->target == ETCD_VALUE) {
			m->value = argv[i + 3];
			m->len = strlen(argv[i + 3]);
		} else {
			m->num = num(argv[i + 3]);
		}
	}
	i = txn_ops(argc, argv, i + 1, "fail:", ok, &nok);
	txn_ops(argc, argv, i, NULL, fail, &nfail);
	struct etcd_txn_result res;
	int r = etcd_txn(c, cmp, ncmp, ok, nok, fail, nfail, &res, e);
	txn_show(r, &res);
	etcd_txn_result_free(&res);
	return r;
}

static int txn_many(struct etcd *c, size_t n, struct err *e)
{
	struct etcd_cmp *cmp = calloc(n, sizeof(*cmp));
	struct etcd_op *ops = calloc(n, sizeof(*ops));
	char(*keys)[32] = calloc(n, 32);
	if (!cmp || !ops || !keys)
		exit(3);
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], 32, "/t/many/%zu", i);
		cmp[i] = (struct etcd_cmp){.key = keys[i], .target = ETCD_VERSION};
		ops[i] =
		    (struct etcd_op){.kind = ETCD_OP_PUT, .key = keys[i], .value = "v", .len = 1};
	}
	struct etcd_txn_result res;
	int r = etcd_txn(c, cmp, n, ops, n, NULL, 0, &res, e);
	txn_show(r, &res);
	etcd_txn_result_free(&res);
	free(cmp);
	free(ops);
	free(keys);
	return r;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int watch(const struct etcd_opts *o, char **argv, struct err *e)
{
	struct etcd_watch *w;
	int64_t want = num(argv[3]), got = 0;
	long end = now_ms() + num(argv[4]);
	int r = etcd_watch_open(o, argv[1], num(argv[2]), &w, e);
	if (r)
		return r;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bool over = false;
	while (!over && got < want) {
		long left = end - now_ms();
		struct pollfd p = {.fd = etcd_watch_fd(w), .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			r = err_set(e, ETIMEDOUT, "timed out after %" PRId64 " events", got);
			break;
		}
		struct etcd_wbatch b;
		etcd_watch_take(w, &b);
		for (size_t i = 0; i < b.n; i++, got++) {
			const struct etcd_kv *kv = &b.events[i].kv;
			if (b.events[i].type == ETCD_EV_PUT)
				printf("PUT %s=%.*s rev=%" PRId64 "\n", kv->key, (int)kv->value_len,
				       kv->value, kv->mod_revision);
			else
				printf("DELETE %s rev=%" PRId64 "\n", kv->key, kv->mod_revision);
		}
		if (b.status == ETCD_W_DOWN)
			printf("DOWN %s\n", b.why);
		else if (b.status == ETCD_W_UP)
			printf("UP\n");
		else if (b.status == ETCD_W_COMPACTED)
			printf("COMPACTED %" PRId64 " %s\n", b.compact_revision, b.why);
		over = b.status == ETCD_W_COMPACTED;
		etcd_wbatch_free(&b);
	}
	etcd_watch_close(w);
	return r;
}

static int run(struct etcd *c, int argc, char **argv, struct err *e)
{
	const char *cmd = argv[0];
	struct etcd_kv kv;
	int r;
#define NEED(n)                                                                                    \
	if (argc < (n) + 1) {                                                                      \
		fprintf(stderr, "etcdtry: %s needs %d arguments\n", cmd, n);                       \
		exit(2);                                                                           \
	}
	if (!strcmp(cmd, "get")) {
		NEED(1);
		bool found;
		if ((r = etcd_get(c, argv[1], &kv, &found, e)))
			return r;
		if (!found)
			printf("absent\n");
		else
			show(&kv);
		etcd_kv_free(&kv);
	} else if (!strcmp(cmd, "range")) {
		NEED(1);
		struct etcd_kvs kvs;
		if ((r = etcd_range_prefix(c, argv[1], &kvs, e)))
			return r;
		for (size_t i = 0; i < kvs.n; i++)
			show(&kvs.kv[i]);
		etcd_kvs_free(&kvs);
	} else if (!strcmp(cmd, "put")) {
		NEED(2);
		int64_t rev;
		if ((r = etcd_put(c, argv[1], argv[2], strlen(argv[2]), argc > 3 ? num(argv[3]) : 0,
				  &rev, e)))
			return r;
		printf("revision %" PRId64 "\n", rev);
	} else if (!strcmp(cmd, "del") || !strcmp(cmd, "delprefix")) {
		NEED(1);
		int64_t n;
		if ((r = etcd_delete(c, argv[1], cmd[3] == 'p', &n, e)))
			return r;
		printf("deleted %" PRId64 "\n", n);
	} else if (!strcmp(cmd, "claim")) {
		NEED(2);
		r = etcd_claim(c, argv[1], argv[2], strlen(argv[2]), argc > 3 ? num(argv[3]) : 0,
			       &kv, e);
		if (r < 0)
			return r;
		if (r == 1) {
			printf("created\n");
		} else {
			printf("exists: ");
			show(&kv);
			etcd_kv_free(&kv);
		}
	} else if (!strcmp(cmd, "cas")) {
		NEED(3);
		r = etcd_cas(c, argv[1], num(argv[2]), argv[3], strlen(argv[3]), 0, &kv, e);
		if (r < 0)
			return r;
		if (r == 1) {
			printf("swapped\n");
		} else if (!kv.key) {
			printf("conflict: absent\n");
		} else {
			printf("conflict: ");
			show(&kv);
			etcd_kv_free(&kv);
		}
	} else if (!strcmp(cmd, "grant")) {
		NEED(1);
		int64_t id, ttl;
		if ((r = etcd_lease_grant(c, num(argv[1]), &id, &ttl, e)))
			return r;
		printf("%" PRId64 "\n", id);
	} else if (!strcmp(cmd, "keep")) {
		NEED(2);
		int64_t id = num(argv[1]), ttl;
		struct timespec half = {0, 500000000};
		int n = 0;
		for (int64_t i = 0; i < num(argv[2]) * 2; i++, n++) {
			if ((r = etcd_lease_keepalive(c, id, &ttl, e)))
				return r;
			nanosleep(&half, NULL);
		}
		printf("kept %d times, ttl %" PRId64 "\n", n, ttl);
	} else if (!strcmp(cmd, "revoke")) {
		NEED(1);
		if ((r = etcd_lease_revoke(c, num(argv[1]), e)))
			return r;
		printf("revoked\n");
	} else if (!strcmp(cmd, "txn")) {
		return txn(c, argc, argv, e);
	} else if (!strcmp(cmd, "fill")) {
		NEED(3);
		int64_t rev = 0;
		for (int64_t i = 0; i < num(argv[2]); i++) {
			char key[ETCD_KEY_MAX + 1];
			snprintf(key, sizeof(key), "%.4000s%05" PRId64, argv[1], i);
			if ((r = etcd_put(c, key, argv[3], strlen(argv[3]), 0, &rev, e)))
				return r;
		}
		printf("revision %" PRId64 "\n", rev);
	} else if (!strcmp(cmd, "snapshot")) {
		NEED(2);
		struct etcd_kvs kvs;
		if ((r = etcd_range_snapshot(c, argv[1], num(argv[2]), &kvs, e)))
			return r;
		printf("revision %" PRId64 "\n", kvs.revision);
		for (size_t i = 0; i < kvs.n; i++)
			show(&kvs.kv[i]);
		etcd_kvs_free(&kvs);
	} else if (!strcmp(cmd, "auth")) {
		if ((r = etcd_authenticate(c, e)))
			return r;
		printf("authenticated\n");
	} else if (!strcmp(cmd, "twice")) {
		NEED(2);
		long ms = num(argv[1]);
		if ((r = run(c, argc - 2, argv + 2, e)))
			return r;
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
		return run(c, argc - 2, argv + 2, e);
	} else if (!strcmp(cmd, "txnmany")) {
		NEED(1);
		return txn_many(c, (size_t)num(argv[1]), e);
	} else {
		fprintf(stderr, "etcdtry: unknown command %s\n", cmd);
		exit(2);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct etcd_opts o = {0};
	int i = 1;
	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--ca"))
			o.ca = argv[i + 1];
		else if (!strcmp(argv[i], "--cert"))
			o.cert = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			o.key = argv[i + 1];
		else if (!strcmp(argv[i], "--user"))
			o.user = argv[i + 1];
		else if (!strcmp(argv[i], "--password-file"))
			o.password_file = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout"))
			o.timeout_ms = (int)num(argv[i + 1]);
		else
			break;
	}
	if (argc - i < 2) {
		fprintf(stderr,
			"usage: etcdtry [--ca F] [--cert F --key F] [--timeout MS] [--user U "
			"--password-file F] URLS CMD ARGS...\n");
		return 2;
	}
	o.endpoints = argv[i];
	struct etcd *c;
	struct err e;
	int r;
	if (!strcmp(argv[i + 1], "watch")) {
		if (argc - i - 1 < 5) {
			fprintf(stderr, "etcdtry: watch needs 4 arguments\n");
			return 2;
		}
		r = watch(&o, argv + i + 1, &e);
	} else if (!(r = etcd_open(&o, &c, &e))) {
		r = run(c, argc - i - 1, argv + i + 1, &e);
		etcd_close(c);
	}
	if (r) {
		fprintf(stderr, "etcdtry: %s [%s]\n", e.why, strerrorname_np(e.no));
		return 1;
	}
	return 0;
}
