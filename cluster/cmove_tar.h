/* What a cold move's export.tar may hold (docs/cluster-design.md, "Drain, move, live
 * migration"): the destination checks every member before tar extracts anything, since the
 * archive is peer input. The source makes it with GNU tar --format=posix (pax headers,
 * --sparse 1.0, --xattrs), and only that shape is taken:
 *
 * - paths relative, without "..", at most CTAR_PATH_MAX bytes;
 * - regular files, directories; hard links to a path named before;
 * - symbolic links, FIFOs and overlayfs whiteouts (character device 0,0) only inside a
 *   container's upper directory (run/upper/): its own tree, where a link means what it means
 *   to the container. A link anywhere else (an overlay disk made a link to /dev/sda, a config
 *   to /etc/shadow) would be followed by vmfs or QEMU on the destination;
 * - no member below a path that was a symbolic link (tar would write through it);
 * - no other device node, no GNU multi-volume or old sparse header.
 *
 * Pure: reads the archive from a descriptor, runs nothing. */
#ifndef VMFS_CLUSTER_CMOVE_TAR_H
#define VMFS_CLUSTER_CMOVE_TAR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTAR_PATH_MAX 4095
#define CTAR_PAX_MAX (1u << 20) /* a pax header's records */
#define CTAR_UPPER "run/upper"	/* a container's own tree, inside the object's directory */

/* The symbolic links seen so far, to refuse a member below one. */
struct ctar_state {
	char **links;
	size_t n, cap;
	uint64_t members, bytes;
};
void ctar_state_free(struct ctar_state *s);

/* One member: type is its tar typeflag ('0', '5', '2', '1', '3', '6'...), path and link as
 * the archive names them ("./" prefixes and a trailing '/' allowed). 0, or -EPERM (refused)
 * / -ENOMEM with why in words. A symbolic link that passes is remembered in s. */
int ctar_member_check(struct ctar_state *s, char type, const char *path, const char *link,
		      unsigned major, unsigned minor, char *why, size_t whylen);

/* The whole archive on fd, from offset 0: every header read (checksums, pax records) and each
 * member checked. 0, or -EPERM / -EINVAL (not such a tar) / -EIO with why; s holds the counts. */
int ctar_check_fd(int fd, struct ctar_state *s, char *why, size_t whylen);
#endif
