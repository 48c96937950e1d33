/* Capabilities: the container keeps Docker's default set (docs/tree.md lists it) and
 * loses every other one from the bounding set too, so nothing it execs can regain them:
 * no CAP_SYS_ADMIN (mounts), no CAP_SYS_MODULE, no CAP_NET_ADMIN, no CAP_SYS_PTRACE. */
#include <errno.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "runtime/shim/caps_list.h"
#include "runtime/shim/shim_int.h"

const cap_value_t shim_caps[] = {SHIM_CAPS};
const int shim_ncaps = sizeof(shim_caps) / sizeof(*shim_caps);

/* CAP_MKNOD is kept on cgroup v2 too: the group's device program refuses what the v1 list
 * would (runtime/cgdev.c). */
static bool kept(cap_value_t c)
{
	for (int i = 0; i < shim_ncaps; i++)
		if (shim_caps[i] == c)
			return true;
	return false;
}

/* Called last before exec: dropping the bounding set needs CAP_SETPCAP, which is kept.
 * Init runs as root, so after exec its permitted and effective sets are the bounding set;
 * the inheritable set is the same, as Docker has it. */
int caps_drop(char *err)
{
	int max = cap_max_bits(); /* the kernel's, which may know more than libcap's headers */
	for (cap_value_t c = 0; c < max; c++)
		if (!kept(c) && cap_drop_bound(c) < 0 && errno != EINVAL)
			return shim_fail(err, NULL, "drop capability %d from the bounding set", c);
	cap_t caps = cap_init();
	if (!caps)
		return shim_fail(err, NULL, "cap_init");
	cap_value_t keep[32];
	int n = 0;
	for (int i = 0; i < shim_ncaps; i++)
		if (kept(shim_caps[i]))
			keep[n++] = shim_caps[i];
	int r = 0;
	if (cap_set_flag(caps, CAP_EFFECTIVE, n, keep, CAP_SET) ||
	    cap_set_flag(caps, CAP_PERMITTED, n, keep, CAP_SET) ||
	    cap_set_flag(caps, CAP_INHERITABLE, n, keep, CAP_SET) ||
	    cap_set_proc(caps))
		r = shim_fail(err, NULL, "set the container's capabilities");
	cap_free(caps);
	if (!r && cap_reset_ambient() < 0 && errno != EINVAL)
		r = shim_fail(err, NULL, "clear the ambient capabilities");
	return r;
}
