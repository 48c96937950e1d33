/* Whether a FUSE interrupt means the caller wants out. The kernel sends FUSE_INTERRUPT for any
 * signal that reaches a process blocked in a request, also for one it merely catches and whose
 * default is to be ignored: a shell gets SIGCHLD when a background job ends, or SIGWINCH when
 * its terminal is resized, in the middle of `echo start > ctl`. Answering those with EINTR
 * fails a write the user never meant to stop ("write error: Interrupted system call"), so the
 * FUSE door looks at what is pending first. */
#ifndef VMFS_SIGPEND_H
#define VMFS_SIGPEND_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* From the text of /proc/PID/status: the signals pending for the thread (SigPnd) and its
 * process (ShdPnd), bit N-1 for signal N. false if neither line is there. */
bool sigpend_parse(const char *status, uint64_t *mask);
/* true if every signal in mask is one whose default action is to be ignored (SIGCHLD,
 * SIGWINCH, SIGURG) or SIGCONT; an empty mask is not (the signal may have gone already). */
bool sigpend_only_ignorable(uint64_t mask);
/* Whether the interrupted caller tid should be let go: false only when its pending signals
 * are all ignorable ones; true when it cannot be told (no tid, no /proc entry). */
bool sigpend_wants_out(pid_t tid);
#endif
