/* Membership by lease (issue 18's first step): with `etcd = URL[,URL...]` in vmfs.conf, vmfs
 * keeps a lease of MEMBER_TTL_S seconds alive, renewed every MEMBER_RENEW_MS from a thread of
 * its own (etcd/client.h's calls block), and holds the key /vmfs/hosts/NAME (NAME: the host's
 * name) on it, its value JSON: {"host", "vmfs" (version), "since" (Unix time), "web" and "p9"
 * (the doors' URLs, http(s)://ADDR:PORT/ and 9p://ADDR:PORT, when configured)}. A vmfs that stops
 * revokes the lease, so its key goes at once; one that dies or cannot reach etcd loses it within
 * MEMBER_TTL_S + 1 s, with no probing by anyone. The key is claimed (etcd/client.h's etcd_claim): a
 * second host of the same name does not take it over while the first holds it. What happens goes to
 * host/log ("etcd: ...").
 *
 * Nothing reads the keys yet: the other hosts' view (a watch on /vmfs/hosts/) is next. */
#ifndef VMFS_ETCD_MEMBER_H
#define VMFS_ETCD_MEMBER_H
#include <stddef.h>

#define MEMBER_TTL_S 2
#define MEMBER_RENEW_MS 500
#define MEMBER_PREFIX "/vmfs/hosts/"

struct vmfs;
struct vmfs_conf;
struct door;

/* Checks conf's etcd keys (the endpoints, the TLS files) and fills out with the door that
 * keeps the membership while the daemon runs (vmfs/door.h). -1 with the reason in err: the
 * start fails, as with any other key that cannot be used. etcd itself need not be up. */
int member_door_open(struct vmfs *v, const struct vmfs_conf *conf, struct door *out, char *err,
		     size_t errlen);
#endif
