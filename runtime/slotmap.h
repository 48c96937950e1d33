/* key -> pointer, for turning inode numbers back into objects in O(1). Keys are never
 * reused (persistent ids, or slots handed out once per run), so a stale inode can never
 * reach a new object. Key 0 is never found. */
#ifndef VMFS_SLOTMAP_H
#define VMFS_SLOTMAP_H
#include <stddef.h>
#include <stdint.h>

struct slotmap;
struct slotmap *slotmap_new(void);
void slotmap_free(struct slotmap *s);
int slotmap_put(struct slotmap *s, uint64_t slot, int kind, void *p); /* 0 or -ENOMEM */
void *slotmap_get(const struct slotmap *s, uint64_t slot, int kind);
void slotmap_del(struct slotmap *s, uint64_t slot);
#endif
