/* A QMP client for one command at a time: connect to run/qmp.sock, read the greeting,
 * negotiate capabilities, send the command, and wait for its return, skipping the events
 * that may come first. Every field is parsed with json-c and type-checked; nothing from
 * QEMU is trusted. The connection is closed after each command (QEMU serves one client at
 * a time, and the qmp file of the tree needs it too). */
#ifndef VMFS_QMP_H
#define VMFS_QMP_H
#include <stddef.h>

/* Runs cmd (a JSON object, e.g. {"execute":"stop"}) against the QMP socket in dirfd. On
 * success returns 0 and, if reply is given, the "return" value as JSON text; on failure
 * -errno (ETIMEDOUT: QEMU silent; EIO: QEMU's error, with its class and desc in err). */
int qmp_run(int dirfd, const char *cmd, int timeout_ms, char *reply, size_t replylen, char *err,
	    size_t errlen);
/* One line QEMU sent, parsed: 0 for {"return": V} (V as JSON text in reply, if given),
 * -EIO for {"error": ...} (its class and desc in err), 1 for anything else (an event, the
 * greeting, not JSON), which the caller skips. */
int qmp_reply_parse(const char *line, char *reply, size_t replylen, char *err, size_t errlen);
#endif
