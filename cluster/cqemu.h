/* What P/h/H/info says of this host's QEMU (docs/cluster-design.md, "Keys"): its version and
 * machine types, asked of the binary VMs run by default (config/qemu's default) once, by the
 * publisher's thread (it blocks: a child process, bounded in time). Another host's scheduler and
 * a live migration compare them. */
#ifndef VMFS_CLUSTER_CQEMU_H
#define VMFS_CLUSTER_CQEMU_H
#include <stddef.h>

#define CQEMU_TIMEOUT_MS 5000

/* Fills version ("7.2.22") and machines ("microvm pc pc-i440fx-7.2 ...", as far as they fit);
 * "" for what could not be learned. 0, or -errno with the reason in why. */
int cqemu_probe(char *version, size_t vlen, char *machines, size_t mlen, char *why,
		size_t whylen);
/* The parsers, for tests: QEMU's --version text, its -machine help text. */
void cqemu_version(const char *text, char *out, size_t outlen);
void cqemu_machines(const char *text, char *out, size_t outlen);
#endif
