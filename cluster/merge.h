/* Tables of members (tab-separated, a header line, a row per object) read and merged. */
#ifndef VMFS_CLUSTER_MERGE_H
#define VMFS_CLUSTER_MERGE_H
#include <stdbool.h>
#include <stddef.h>

#include "runtime/util.h"

/* Appends table's rows (not its header) to out, with host in the host column and, when
 * unknown, UNKNOWN in the state column. */
void merge_rows(struct sbuf *out, const char *table, size_t len, const char *host, bool unknown);
/* Has table a row named name (of type, "vm" or "container", unless NULL)? */
bool table_has(const char *table, size_t len, const char *name, const char *type);
/* Calls fn with the name of each row of type (any if NULL) until it returns non-zero. */
int table_names(const char *table, size_t len, const char *type,
		int (*fn)(void *ctx, const char *name), void *ctx);
#endif
