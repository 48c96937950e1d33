/* Open addressing with linear probing and tombstones; grows at 50% load. */
#include "runtime/slotmap.h"

#include <errno.h>
#include <stdlib.h>

struct slotent {
	uint64_t slot; /* 0: empty; slots start at 1 */
	int kind;      /* 0 with slot != 0: a tombstone */
	void *p;
};

struct slotmap {
	struct slotent *t;
	size_t cap, used; /* used counts tombstones too: they lengthen probes */
};

struct slotmap *slotmap_new(void)
{
	struct slotmap *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cap = 64;
	s->t = calloc(s->cap, sizeof(*s->t));
	if (!s->t) {
		free(s);
		return NULL;
	}
	return s;
}

void slotmap_free(struct slotmap *s)
{
	if (!s)
		return;
	free(s->t);
	free(s);
}

/* keys are ids in fields (ns << 28 | object): every bit must reach the low ones */
static size_t slot_hash(uint64_t slot)
{
	uint64_t h = slot * 0x9e3779b97f4a7c15ull;
	return (size_t)(h ^ h >> 29);
}

static int slotmap_grow(struct slotmap *s)
{
	size_t ncap = s->cap * 2;
	struct slotent *nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	size_t used = 0;
	for (size_t i = 0; i < s->cap; i++) {
		struct slotent *e = &s->t[i];
		if (!e->slot || !e->kind)
			continue;
		size_t j = slot_hash(e->slot) & (ncap - 1);
		while (nt[j].slot)
			j = (j + 1) & (ncap - 1);
		nt[j] = *e;
		used++;
	}
	free(s->t);
	s->t = nt;
	s->cap = ncap;
	s->used = used;
	return 0;
}

int slotmap_put(struct slotmap *s, uint64_t slot, int kind, void *p)
{
	if ((s->used + 1) * 2 > s->cap && slotmap_grow(s) < 0)
		return -ENOMEM;
	size_t j = slot_hash(slot) & (s->cap - 1);
	while (s->t[j].slot && s->t[j].slot != slot)
		j = (j + 1) & (s->cap - 1);
	if (!s->t[j].slot)
		s->used++;
	s->t[j] = (struct slotent){slot, kind, p};
	return 0;
}

static struct slotent *slotmap_at(const struct slotmap *s, uint64_t slot)
{
	size_t j = slot_hash(slot) & (s->cap - 1);
	while (s->t[j].slot) {
		if (s->t[j].slot == slot)
			return &s->t[j];
		j = (j + 1) & (s->cap - 1);
	}
	return NULL;
}

void *slotmap_get(const struct slotmap *s, uint64_t slot, int kind)
{
	struct slotent *e = slotmap_at(s, slot);
	return e && e->kind == kind ? e->p : NULL;
}

void slotmap_del(struct slotmap *s, uint64_t slot)
{
	struct slotent *e = slotmap_at(s, slot);
	if (e) {
		e->kind = 0;
		e->p = NULL;
	}
}
