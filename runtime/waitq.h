/* Parked readers. A read that has nothing to return yet (a console with no new output, a
 * log being followed) is not answered by a blocked thread: its front end (FUSE, HTTP)
 * parks a waiter here and the single event loop answers it when the object's data grows.
 * Hundreds of waiters cost a list node each, nothing more. */
#ifndef VMFS_WAITQ_H
#define VMFS_WAITQ_H
#include <stddef.h>

struct waiter {
	struct waiter *next, *prev;
	void (*wake)(struct waiter *w); /* called once; the waiter is already unlinked */
};

struct waitq {
	struct waiter head; /* circular list; an empty queue points at itself */
};

static inline void waitq_init(struct waitq *q) { q->head.next = q->head.prev = &q->head; }
static inline int waiter_parked(const struct waiter *w) { return w->next != NULL; }

static inline void waitq_add(struct waitq *q, struct waiter *w)
{
	w->prev = q->head.prev;
	w->next = &q->head;
	q->head.prev->next = w;
	q->head.prev = w;
}

static inline void waiter_del(struct waiter *w)
{
	if (!w->next)
		return;
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->next = w->prev = NULL;
}

/* Wakes every waiter parked now; ones that park again during a wake wait for the next. */
static inline void waitq_wake_all(struct waitq *q)
{
	struct waitq batch;
	waitq_init(&batch);
	if (q->head.next == &q->head)
		return;
	batch.head.next = q->head.next;
	batch.head.prev = q->head.prev;
	batch.head.next->prev = &batch.head;
	batch.head.prev->next = &batch.head;
	waitq_init(q);
	while (batch.head.next != &batch.head) {
		struct waiter *w = batch.head.next;
		waiter_del(w);
		w->wake(w);
	}
}
#endif
