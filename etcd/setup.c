#include "etcd/setup.h"

#include <stdbool.h>
#include <string.h>

#include "cluster/ckey.h"
#include "ctl/ctl.h"

/* What every host writes besides its own P/h/H/: the shared area (docs/cluster-design.md,
 * "Keys"); prefixes end in '/', the others are single keys. */
static const char *const shared[] = {"ns/",	"nsid/", "name/",      "cap/",	     "cmd/",
				     "intent/", "down/", "forgotten/", "next-ns-id", "layout"};

static int usage(FILE *err, const char *why)
{
	fprintf(err,
		"vmfs cluster-setup: %s\n"
		"usage: vmfs cluster-setup [--cluster NAME] [--password-file FILE] HOST\n"
		"  prints the etcdctl commands (to run as etcd's root) that make HOST's etcd user\n"
		"  and its role in cluster NAME (default: default)\n",
		why);
	return 2;
}

int cluster_setup_main(int argc, char **argv, FILE *out, FILE *err)
{
	const char *cluster = "default", *pwfile = NULL, *host = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cluster") && i + 1 < argc)
			cluster = argv[++i];
		else if (!strcmp(argv[i], "--password-file") && i + 1 < argc)
			pwfile = argv[++i];
		else if (argv[i][0] == '-' || host)
			return usage(err, "unexpected argument");
		else
			host = argv[i];
	}
	if (!host)
		return usage(err, "which host?");
	char why[256], p[CKEY_MAX + 1], own[CKEY_MAX + 1];
	if (name_check(cluster, why, sizeof(why)) || name_check(host, why, sizeof(why)))
		return usage(err, why);
	if (pwfile && strchr(pwfile, '\''))
		return usage(err, "the password file's path holds a ': quote it yourself");
	if (ckey_prefix(p, sizeof(p), cluster) < 0 ||
	    ckey_host_prefix(own, sizeof(own), cluster, host) < 0)
		return usage(err, "the cluster's keys would be too long");
	char role[2 * NAME_MAX_LEN + 8];
	snprintf(role, sizeof(role), "vmfs-%s-%s", cluster, host);
	fprintf(
	    out,
	    "# etcd's user and role for host %s of cluster %s: run as etcd's root, e.g. with\n"
	    "# ETCDCTL_API=3 ETCDCTL_ENDPOINTS=URL ETCDCTL_USER=root:PASSWORD in the environment\n",
	    host, cluster);
	fprintf(out, "etcdctl role add %s\n", role);
	fprintf(out, "etcdctl role grant-permission %s read %s --prefix\n", role, p);
	fprintf(out, "etcdctl role grant-permission %s readwrite %s --prefix\n", role, own);
	for (size_t i = 0; i < sizeof(shared) / sizeof(*shared); i++) {
		bool prefix = shared[i][strlen(shared[i]) - 1] == '/';
		fprintf(out, "etcdctl role grant-permission %s readwrite %s%s%s\n", role, p,
			shared[i], prefix ? " --prefix" : "");
	}
	if (pwfile)
		fprintf(out, "etcdctl user add %s --interactive=false <'%s'\n", host, pwfile);
	else
		fprintf(out, "etcdctl user add %s\n", host);
	fprintf(out, "etcdctl user grant-role %s %s\n", host, role);
	return 0;
}
