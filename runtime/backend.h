/* What runs an object: QEMU for VMs (runtime/qemu.c), vmfs-shim for containers
 * (runtime/container.c). The lifecycle (runtime/lifecycle.c) calls these once its table has
 * allowed a verb; a backend never names a state, it raises lifecycle events. Each operation
 * returns 0 (start_spawn: a descriptor) or -errno with the reason in e (runtime/err.h). */
#ifndef VMFS_BACKEND_H
#define VMFS_BACKEND_H
#include "runtime/err.h"
#include "runtime/model.h"

struct backend {
	const char *what; /* "QEMU VMs", "containers" */
	/* A start in two halves, so that many objects set up side by side: start_spawn
	 * returns a descriptor (or -errno, the object then ERROR) that start_finish waits on,
	 * at most timeout_ms; a start of one object is the one then the other. */
	int (*start_spawn)(struct model *m, struct object *o, struct err *e);
	int (*start_finish)(struct model *m, struct object *o, int fd, int timeout_ms,
			    struct err *e);
	int start_timeout_ms; /* how long start_finish may wait in all */
	/* A kill in two halves, for the same reason: the signal, then the wait for the end. */
	int (*kill_signal)(struct model *m, struct object *o, struct err *e);
	int (*kill_wait)(struct model *m, struct object *o, struct err *e);
	int (*stop)(struct model *m, struct object *o, struct err *e);
	int (*pause)(struct model *m, struct object *o, struct err *e);
	int (*resume)(struct model *m, struct object *o, struct err *e);
	int (*restart)(struct model *m, struct object *o, struct err *e);
};

extern const struct backend qemu_backend, container_backend;

static inline const struct backend *backend_of(const struct object *o)
{
	return o->type == OT_VM ? &qemu_backend : &container_backend;
}
#endif
