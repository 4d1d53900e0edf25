// Thin, errno-preserving wrappers for syscalls glibc 2.36 lacks or wraps unhelpfully.
// Every function here is async-signal-safe and allocation-free, so the child may call them
// between clone and execve. They return -1 and set errno on failure, like libc.
#pragma once

#include <linux/openat2.h>
#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace isoexec::sys {

struct CloneArgs {
  uint64_t flags = 0;
  int* pidfd = nullptr;   // CLONE_PIDFD: receives the child's pidfd
  int exit_signal = SIGCHLD;
  int cgroup_fd = -1;     // CLONE_INTO_CGROUP
};

// clone3 with fork semantics (no CLONE_VM). Returns the child pid in the parent, 0 in the
// child. Falls back to clone(2) + pidfd_open when clone3 is missing (ENOSYS); then
// CLONE_INTO_CGROUP is not available and the caller must join the cgroup by pid.
pid_t Clone(const CloneArgs& args, bool* used_clone3);

// fork(2) as a raw syscall: no atfork handlers, no malloc locks (safe after a raw clone3).
pid_t RawFork();

int PidfdOpen(pid_t pid, unsigned flags = 0);
int PidfdSendSignal(int pidfd, int sig);
int PidfdGetFd(int pidfd, int target_fd);

int Openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve);
int PivotRoot(const char* new_root, const char* put_old);
int CloseRange(unsigned first, unsigned last, unsigned flags);

// New mount API (Linux 5.2+; mount_setattr 5.12+).
int OpenTree(int dirfd, const char* path, unsigned flags);
int MoveMount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
              unsigned flags);
int MountSetattr(int dirfd, const char* path, unsigned flags, uint64_t attr_set,
                 uint64_t attr_clr, uint64_t propagation);

// Writes the decimal of `v` into buf (no allocation); returns buf.
char* FormatUint(char* buf, size_t size, uint64_t v);
// "/proc/self/fd/<fd>" into buf; returns buf. The way to name an O_PATH fd for mount(2).
char* FdPath(char* buf, size_t size, int fd);

}  // namespace isoexec::sys
