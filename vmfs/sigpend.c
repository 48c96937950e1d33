/* What a FUSE interrupt's caller has pending (vmfs/sigpend.h). */
#include "vmfs/sigpend.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool field(const char *status, const char *name, uint64_t *out)
{
	size_t n = strlen(name);
	for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ':') {
			char *end;
			unsigned long long v = strtoull(p + n + 1, &end, 16);
			if (end == p + n + 1)
				return false;
			*out = v;
			return true;
		}
	return false;
}

bool sigpend_parse(const char *status, uint64_t *mask)
{
	uint64_t thread = 0, shared = 0;
	bool t = field(status, "SigPnd", &thread), s = field(status, "ShdPnd", &shared);
	*mask = thread | shared;
	return t || s;
}

#define BIT(sig) ((uint64_t)1 << ((sig) - 1))

bool sigpend_only_ignorable(uint64_t mask)
{
	const uint64_t ignorable = BIT(SIGCHLD) | BIT(SIGWINCH) | BIT(SIGURG) | BIT(SIGCONT);
	return mask && !(mask & ~ignorable);
}

bool sigpend_wants_out(pid_t tid)
{
	if (tid <= 0)
		return true;
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	uint64_t mask;
	return !sigpend_parse(buf, &mask) || !sigpend_only_ignorable(mask);
}
