#ifndef VMFS_STORE_H
#define VMFS_STORE_H
#include "runtime/model.h"

void store_kv(struct sbuf *b, const char *key, const char *value);
/* Calls fn for every "key=value" line of text (modified in place); stops at fn's non-zero. */
int store_parse(char *text, int (*fn)(const char *key, const char *value, void *arg), void *arg);
/* Appends "PREFIXname=value" for every parameter set in cfg. */
void store_params(struct sbuf *b, const char *prefix, char *const *cfg);
#endif
