/* slot -> pointer, for turning inode numbers back into objects in O(1). Slots are handed
 * out once per run and never reused, so a stale inode can never reach a new object. */
#ifndef VMFS_SLOTMAP_H
#define VMFS_SLOTMAP_H
#include <stddef.h>
#include <stdint.h>

struct slotmap;
struct slotmap *slotmap_new(void);
void slotmap_free(struct slotmap *s);
int slotmap_put(struct slotmap *s, uint32_t slot, int kind, void *p); /* 0 or -ENOMEM */
void *slotmap_get(const struct slotmap *s, uint32_t slot, int kind);
void slotmap_del(struct slotmap *s, uint32_t slot);
#endif
