/* `vmfs cluster-setup [--cluster NAME] [--password-file FILE] HOST`: prints the etcdctl
 * commands that make host HOST's etcd user and role (docs/cluster-design.md, "Security"): read
 * the cluster's keys, read-write its own P/h/HOST/ and the shared prefixes. vmfs never holds
 * etcd's root: the admin runs them, as root of etcd. */
#ifndef VMFS_ETCD_SETUP_H
#define VMFS_ETCD_SETUP_H
#include <stdio.h>

/* argv[0] is "cluster-setup". 0, or 2 with the reason on err. */
int cluster_setup_main(int argc, char **argv, FILE *out, FILE *err);
#endif
