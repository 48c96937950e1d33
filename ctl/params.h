/* The configuration parameters of VMs and containers: one table that the namespace
 * template (ns/X/config/), every object's config/, validation, defaults and the docs read,
 * so they cannot disagree. */
#ifndef VMFS_PARAMS_H
#define VMFS_PARAMS_H
#include <stdbool.h>
#include <stddef.h>

enum param_type {
	PT_STRING,   /* free text on one line */
	PT_SIZE,     /* value_size */
	PT_COUNT,    /* value_count within [min, max] */
	PT_BOOL,     /* value_bool */
	PT_PATH,     /* one path: absolute, or relative to the image store; must exist */
	PT_PATHS,    /* space-separated PT_PATH list (disks) */
	PT_NET,      /* value_net */
	PT_CHOICE,   /* one of choices[] */
	PT_UUID,     /* value_uuid */
	PT_HOSTNAME, /* a name (name_check) */
	PT_VOLUMES,  /* value_volumes */
	PT_TAGS,     /* value_tags */
	PT_WORD,     /* [A-Za-z0-9._,=+/:-]+ : machine, cpu, host, qemu (a name or a path) */
	PT_LISTEN,   /* value_listen: an IPv4 address, or none */
};

#define PARAM_VM 1u
#define PARAM_CT 2u

/* Which values of a parameter reach past the object into the host (docs/security.md, "Who
 * may do what"): only host root through the mount may write those. */
enum param_reach {
	PR_NONE,    /* ordinary: the guest's own business */
	PR_ALWAYS,  /* any value but "" and the default (preinit, volume, qemu, privileged...) */
	PR_PATHS,   /* an absolute path: a file outside the image store */
	PR_NET,     /* a named bridge, or a VLAN number that is not one of the namespace's */
	PR_OPTIONS, /* a word with options after a comma (-machine pc,dumpdtb=FILE) */
};

struct param {
	const char *name;
	unsigned applies; /* PARAM_VM | PARAM_CT */
	enum param_type type;
	const char *def;  /* the value an unset parameter reads as */
	long min, max;    /* PT_COUNT */
	const char *const *choices; /* PT_CHOICE, NULL-terminated */
	const char *help; /* one line for docs and errors */
	size_t maxlen;    /* longest value in bytes; 0: PARAM_VALUE_MAX */
	enum param_reach reach;
	const char *reach_why; /* what a host-reaching value does, where help does not say */
};

/* Most values fit in a line of this many bytes; lists of paths and QEMU's extra arguments
 * may take PARAM_LIST_MAX. All of them together stay far below what the state files'
 * reader takes (1 MiB). */
#define PARAM_VALUE_MAX 4096
#define PARAM_LIST_MAX 16384

extern const struct param params[];
extern const size_t nparams;

/* The longest value p takes, in bytes. */
size_t param_max_len(const struct param *p);

/* Index into params[] by name, or -1. */
int param_index(const char *name);

/* Checks the syntax of value for p (already stripped of its trailing newline and of
 * surrounding blanks; "" always passes: it means "back to the default"). A value longer than
 * param_max_len is -EFBIG; any other fault -EINVAL. Existence of
 * PT_PATH/PT_PATHS files is the caller's job (it needs the image store): after a
 * successful check, param_paths() lists the paths to check. */
int param_check(const struct param *p, const char *value, char *err, size_t errlen);

/* For PT_PATH/PT_PATHS: calls fn for each path in value (the path part of a disk spec
 * "path[,if][,cache]" too). Stops and returns fn's first non-zero result. */
int param_paths(const struct param *p, const char *value, int (*fn)(const char *path, void *arg),
		void *arg);

/* Whether value of p reaches the host by itself (PR_ALWAYS, PR_PATHS, PR_OPTIONS; PR_NET
 * needs the namespace's VLANs: param_host_reaching in runtime/param.c asks runtime/vlan.c
 * through the model), with why in words. */
bool param_reaches_host(const struct param *p, const char *value, char *why, size_t whylen);
#endif
