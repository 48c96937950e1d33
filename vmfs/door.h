/* A door: a way into the tree (the FUSE mount, the HTTP server, the 9P one to come). The
 * daemon (vmfs/daemon.c) knows doors only through this; each door's constructor (main.c
 * calls them: fuse_door_open, web_door_open) opens it and fills one in. */
#ifndef VMFS_DOOR_H
#define VMFS_DOOR_H

struct loop;

struct door_ops {
	/* Joins the event loop: the door's descriptors and timers. */
	int (*attach)(void *self, struct loop *l);
	/* The loop has ended: every request the door holds waiting is answered. NULL: its
	 * requests wait on the model's queues, which the daemon wakes after (struct vmfs's
	 * exiting then says to answer them). */
	void (*stop)(void *self);
	/* After the loop is gone: the door closes and frees itself. NULL: stop did it all. */
	void (*close)(void *self);
};

struct door {
	const struct door_ops *ops;
	void *self;
	/* readable when a request waits: long work in slices yields to it (vmfs/slice.h); -1 */
	int urgent_fd;
};
#endif
