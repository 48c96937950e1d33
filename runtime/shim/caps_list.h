/* The capabilities a container keeps: Docker's default set. Read by caps.c, which drops
 * every other one, and by the system-call filter's generator (gen/seccomp_gen.c), which
 * allows the calls Docker gates on a capability only if it is in this list. */
#ifndef VMFS_SHIM_CAPS_LIST_H
#define VMFS_SHIM_CAPS_LIST_H
#include <linux/capability.h>

#define SHIM_CAPS                                                                        \
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,     \
	    CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,      \
	    CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE
#endif
