#ifndef VMFS_STORE_H
#define VMFS_STORE_H
#include "runtime/model.h"

/* The largest state file read back: far above what a config of valid values takes. */
#define STORE_FILE_MAX (1u << 20)

void store_kv(struct sbuf *b, const char *key, const char *value);

/* Checks one key's value and takes it; on refusal returns non-zero, with why in err.
 * Unknown keys are refused: a key added to what obj_render (object.c) or ns_save (model.c)
 * writes must be taken by obj_kv or ns_kv (load.c), or the next start sets it aside (a knob's
 * name: its value dropped) or moves every object or namespace that has it to damaged/. */
typedef int (*store_fn)(const char *key, const char *value, void *arg, char *err, size_t errlen);
/* Checks that text[0..len) is what vmfs writes: one or more "KEY=VALUE\n" lines, no NUL,
 * no empty line, no key twice, keys of letters, digits, '.', '_', '-'; then calls fn for
 * each line in order (text is modified in place). On the first fault returns non-zero with
 * "line N: ..." in err, and (when the fault is in the shape) before fn saw anything. */
int store_parse(char *text, size_t len, store_fn fn, void *arg, char *err, size_t errlen);
/* v as a number in base 8 or 10: digits only (no sign, blank or prefix), lo <= v <= hi. */
int store_num(const char *v, int base, unsigned long long lo, unsigned long long hi,
	      unsigned long long *out, char *err, size_t errlen);
/* v as one of the state names, exactly. */
int store_state(const char *v, enum ostate *out, char *err, size_t errlen);
/* Appends "PREFIXname=value" for every parameter set in cfg. */
void store_params(struct sbuf *b, const char *prefix, char *const *cfg);
#endif
