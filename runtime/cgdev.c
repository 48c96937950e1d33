/* The container's device allowlist and its cgroup v2 program: see cgdev.h. */
#include "runtime/cgdev.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Not 5:1: the container's /dev/console is its pty (136:N); 5:1 would be the host's
 * console. Not 10:200 (tun), which runc once allowed: no network device is made inside. */
const struct cgdev_rule cgdev_rules[] = {
    {'c', 1, 3, "rwm", "null"},	     {'c', 1, 5, "rwm", "zero"},
    {'c', 1, 7, "rwm", "full"},	     {'c', 1, 8, "rwm", "random"},
    {'c', 1, 9, "rwm", "urandom"},     {'c', 5, 0, "rwm", "tty"},
    {'c', 5, 2, "rwm", "ptmx"},	     {'c', 136, -1, "rwm", "pts/*"},
};
const size_t cgdev_nrules = sizeof cgdev_rules / sizeof *cgdev_rules;

int cgdev_v1_line(const struct cgdev_rule *r, char *buf, size_t len)
{
	char maj[16] = "*", min[16] = "*";
	if (r->major >= 0)
		snprintf(maj, sizeof maj, "%d", r->major);
	if (r->minor >= 0)
		snprintf(min, sizeof min, "%d", r->minor);
	int n = snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, r->access);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The kernel's access bits for "rwm". */
static int access_bits(const char *s)
{
	return (strchr(s, 'r') ? BPF_DEVCG_ACC_READ : 0) | (strchr(s, 'w') ? BPF_DEVCG_ACC_WRITE : 0) |
	       (strchr(s, 'm') ? BPF_DEVCG_ACC_MKNOD : 0);
}

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

static struct bpf_insn insn(int code, int dst, int src, int off, int imm)
{
	return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* One rule's tests, each jumping past the rule (to the next one) when it does not match:
 * the device type in r3, major in r4, minor in r5, the access asked for in r2; a match
 * returns 1 (allowed). Returns the number of instructions, written to out if not NULL. */
static size_t rule_code(const struct cgdev_rule *r, struct bpf_insn *out)
{
	struct bpf_insn b[9];
	size_t n = 0;
	int acc = access_bits(r->access);
	b[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, 3, 0, 0,
		      r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	if (r->major >= 0)
		b[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, r->major);
	if (r->minor >= 0)
		b[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, r->minor);
	if (acc != ACC_ALL) { /* every bit asked for must be one of the rule's */
		b[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 2, 0, 0);
		b[n++] = insn(BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, ~acc & ACC_ALL);
		b[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, 6, 0, 0, 0);
	}
	b[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
	b[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (size_t i = 0; out && i < n; i++) {
		out[i] = b[i];
		if (BPF_OP(b[i].code) == BPF_JNE)
			out[i].off = (short)(n - i - 1); /* to the first instruction after the rule */
	}
	return n;
}

size_t cgdev_program_of(const struct cgdev_rule *rules, size_t nrules, struct bpf_insn *out,
			size_t max)
{
	/* struct bpf_cgroup_dev_ctx: access_type = access << 16 | type, major, minor (u32 each) */
	const struct bpf_insn head[] = {
	    insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0),
	    insn(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0),
	    insn(BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 0xffff),
	    insn(BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 16),
	    insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0),
	    insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0),
	};
	const struct bpf_insn deny[] = {insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
					insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
	size_t n = sizeof head / sizeof *head, total = n + sizeof deny / sizeof *deny;
	for (size_t i = 0; i < nrules; i++)
		total += rule_code(&rules[i], NULL);
	if (total > max)
		return 0;
	memcpy(out, head, sizeof head);
	for (size_t i = 0; i < nrules; i++)
		n += rule_code(&rules[i], out + n);
	memcpy(out + n, deny, sizeof deny);
	return total;
}

size_t cgdev_program(struct bpf_insn *out, size_t max)
{
	return cgdev_program_of(cgdev_rules, cgdev_nrules, out, max);
}

static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof *a); }

/* The program's file descriptor, or -errno with the verifier's first complaint in err. */
static int load(char *err, size_t errlen)
{
	struct bpf_insn prog[256];
	char log[1024] = "";
	size_t n = cgdev_program(prog, sizeof prog / sizeof *prog);
	union bpf_attr a;
	int fd = -1;
	/* No helper is called, so the license does not matter to the kernel (only GPL-only
	 * helpers ask for a GPL one). The second try is only for the verifier's words. */
	for (int try = 0; n && fd < 0 && try < 2; try++) {
		memset(&a, 0, sizeof a);
		a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
		a.expected_attach_type = BPF_CGROUP_DEVICE;
		a.insns = (unsigned long)prog;
		a.insn_cnt = (unsigned)n;
		a.license = (unsigned long)"none";
		if (try) {
			a.log_buf = (unsigned long)log;
			a.log_size = sizeof log;
			a.log_level = 1;
		}
		fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
		if (fd < 0 && errno != EINVAL && errno != EACCES)
			break; /* not the verifier: EPERM, ENOSYS... */
	}
	if (fd >= 0)
		return fd;
	int e = n ? errno : E2BIG;
	log[strcspn(log, "\n")] = 0;
	if (err && errlen)
		snprintf(err, errlen, "cannot load the devices program (cgroup v2): %s%s%s",
			 strerror(e), *log ? ": " : "", log);
	return -e;
}

int cgdev_attach(int cgfd, char *err, size_t errlen)
{
	int fd = load(err, errlen);
	if (fd < 0)
		return fd;
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.target_fd = cgfd;
	a.attach_bpf_fd = fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	int rc = sys_bpf(BPF_PROG_ATTACH, &a) < 0 ? -errno : 0;
	if (rc && err && errlen)
		snprintf(err, errlen, "cannot attach the devices program to the cgroup: %s%s",
			 strerror(-rc),
			 rc == -EPERM ? " (a group above has a program that allows no other)" : "");
	close(fd); /* the attachment holds the program until the group goes */
	return rc;
}
