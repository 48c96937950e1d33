/* The devices a container may use, in one table, and the two ways the kernel is told:
 * cgroup v1's devices.allow lines, and, for cgroup v2 (which has no devices controller), a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's group. On a hybrid layout
 * both apply: the kernel asks the v2 program first, then the v1 list, and either refuses.
 *
 * The list is runc's default one without its "c *:* m" and "b *:* m": a node can be made
 * only for a device that may also be opened, so no block device at all. */
#ifndef VMFS_CGDEV_H
#define VMFS_CGDEV_H
#include <linux/bpf.h>
#include <stddef.h>

struct cgdev_rule {
	char type;          /* 'c' (character) or 'b' (block) */
	int major, minor;   /* -1: any */
	const char *access; /* of "rwm": read, write, mknod */
	const char *what;   /* its name in /dev, for the reader */
};
extern const struct cgdev_rule cgdev_rules[];
extern const size_t cgdev_nrules;

/* The devices.allow line of a rule ("c 136:* rwm"); 0, or -ENAMETOOLONG. */
int cgdev_v1_line(const struct cgdev_rule *r, char *buf, size_t len);

/* The program allowing the table's devices and nothing else into out (room for max
 * instructions); returns how many it wrote, or 0 if max is too small. */
size_t cgdev_program(struct bpf_insn *out, size_t max);
/* The same for another list (the tests'). */
size_t cgdev_program_of(const struct cgdev_rule *rules, size_t nrules, struct bpf_insn *out,
			size_t max);

/* Loads the program and attaches it to the cgroup v2 directory cgfd, with no flag: a group
 * below cannot attach a program of its own (EPERM), and one already attached there is
 * replaced. Needs CAP_SYS_ADMIN (or CAP_BPF and CAP_NET_ADMIN). 0, or -errno with a reason
 * in err. */
int cgdev_attach(int cgfd, char *err, size_t errlen);
#endif
