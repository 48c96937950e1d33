/* What a user who is not host root may send through an object's qmp file: query-* and the
 * guest's lifecycle (docs/security.md). Everything else QEMU takes can reach the host:
 * migrate to exec:, screendump and dump-guest-memory to a file, human-monitor-command (the
 * whole HMP), blockdev-add and device_add of host files, chardev-add, object-add... */
#ifndef VMFS_QMP_ALLOW_H
#define VMFS_QMP_ALLOW_H
#include <stddef.h>

/* cmd is one line written to qmp. 0: allowed, *plain (malloc'd) the command re-written
 * from what was parsed, so that QEMU sees what was checked (a second "execute" key, which
 * parsers may take either of, is gone). -EINVAL: not one JSON object with a string
 * "execute"; -EPERM: not on the list. why says which, in words. */
int qmp_allow(const char *cmd, char **plain, char *why, size_t whylen);
#endif
