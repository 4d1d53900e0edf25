// Pseudo-terminals for `exec -t`. The pty is allocated by the exec'd process itself, inside the
// task's root, so it comes from the task's own devpts instance (the task sees /dev/pts/N, and
// the host's devpts never enters the task); the master goes back to the caller. See pty(7),
// ioctl_tty(2) (TIOCGPTPEER, Linux 4.13+).
#pragma once

#include <sys/ioctl.h>

#include "base/result.h"

namespace isoexec::runtime {

// Child side, allocation-free and async-signal-safe: opens /dev/ptmx in the current root,
// checks that it really is a pty multiplexer (a task may have replaced its /dev/ptmx), unlocks
// it, applies `size` (skipped when rows or cols is 0), and opens the slave through the master
// (TIOCGPTPEER: no path lookup, so no symlink race on /dev/pts/N). Both fds are O_CLOEXEC; the
// master is blocking. Returns the master and sets *slave, or returns -1 with errno set and
// *failed_step naming the step ("open", "not a pty master", "unlockpt", "TIOCSWINSZ",
// "TIOCGPTPEER").
int OpenPtyPair(const struct winsize& size, int* slave, const char** failed_step) noexcept;

// Caller side: sets the terminal size on the master; the kernel sends SIGWINCH to the
// terminal's foreground process group. Errors name the ioctl.
Status ResizePty(int master, unsigned rows, unsigned cols);

}  // namespace isoexec::runtime
