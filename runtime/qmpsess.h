/* A QMP connection held for the length of a task (a migration), unlike runtime/qmp.c's one
 * command per connection: the task needs the events QEMU sends between its commands (STOP,
 * BLOCK_JOB_READY, MIGRATION), each with QEMU's timestamp. Every line is parsed with json-c
 * and type-checked: nothing from QEMU is trusted. A session is used by one thread at a time;
 * sessions are independent (no shared buffer). */
#ifndef VMFS_QMPSESS_H
#define VMFS_QMPSESS_H
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/err.h"

struct qsess {
	int fd;
	size_t len;
	/* told of each event as it comes: its name, data (may be NULL) and QEMU's wall-clock
	 * timestamp in microseconds (0 if it had none) */
	void (*event)(void *ctx, const char *name, json_object *data, long long usec);
	void *ctx;
	char buf[65536];
	char line[65536]; /* the line being read: a session is one thread's */
};

/* Connects to qmp.sock in dirfd and negotiates capabilities. 0 or -errno (why in e). */
int qsess_open(struct qsess *s, int dirfd, int timeout_ms, struct err *e);
void qsess_close(struct qsess *s);
/* Sends cmd and waits for its answer (events meanwhile go to s->event): 0 with the "return"
 * value as JSON text in reply (if given), or -errno (EIO: QEMU's error, in e). */
int qsess_cmd(struct qsess *s, const char *cmd, int timeout_ms, char *reply, size_t replylen,
	      struct err *e);
/* The same with fd passed along (SCM_RIGHTS), as getfd wants it. */
int qsess_cmd_fd(struct qsess *s, const char *cmd, int fd, int timeout_ms, char *reply,
		 size_t replylen, struct err *e);
/* Reads events until done(ctx) is true: 0, or -ETIMEDOUT / -ECONNRESET. */
int qsess_wait(struct qsess *s, int timeout_ms, bool (*done)(void *ctx));
/* The value of key in obj as a string or an integer; NULL / -1 when absent or of another
 * type. */
const char *qjstr(json_object *obj, const char *key);
long long qjint(json_object *obj, const char *key);
#endif
