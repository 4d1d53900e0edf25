#include "sys/syscalls.h"

#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

namespace isoexec::sys {

namespace {
// The kernel's struct clone_args (v2 layout, with cgroup).
struct KernelCloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};

struct KernelMountAttr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
}  // namespace

pid_t Clone(const CloneArgs& args, bool* used_clone3) {
  KernelCloneArgs ka;
  std::memset(&ka, 0, sizeof ka);
  ka.flags = args.flags;
  ka.pidfd = reinterpret_cast<uint64_t>(args.pidfd);
  ka.exit_signal = static_cast<uint64_t>(args.exit_signal);
  if (args.cgroup_fd >= 0) {
    ka.flags |= CLONE_INTO_CGROUP;
    ka.cgroup = static_cast<uint64_t>(args.cgroup_fd);
  }
  long ret = ::syscall(SYS_clone3, &ka, sizeof ka);
  if (ret >= 0 || errno != ENOSYS) {
    if (used_clone3) *used_clone3 = true;
    return static_cast<pid_t>(ret);
  }
  if (used_clone3) *used_clone3 = false;
  // clone(2) fallback: no CLONE_INTO_CGROUP; pidfd via pidfd_open in the parent.
  uint64_t flags = args.flags & ~static_cast<uint64_t>(CLONE_PIDFD | CLONE_INTO_CGROUP);
  ret = ::syscall(SYS_clone, static_cast<unsigned long>(flags) | static_cast<unsigned>(args.exit_signal),
                  nullptr, nullptr, nullptr, nullptr);
  if (ret > 0 && args.pidfd) {
    *args.pidfd = PidfdOpen(static_cast<pid_t>(ret));
  }
  return static_cast<pid_t>(ret);
}

pid_t RawFork() {
  return static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

int PidfdOpen(pid_t pid, unsigned flags) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags));
}

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

int PidfdGetFd(int pidfd, int target_fd) {
  return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, target_fd, 0));
}

int Openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int PivotRoot(const char* new_root, const char* put_old) {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

int CloseRange(unsigned first, unsigned last, unsigned flags) {
  return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

int OpenTree(int dirfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
}

int MoveMount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
              unsigned flags) {
  return static_cast<int>(
      ::syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
}

int MountSetattr(int dirfd, const char* path, unsigned flags, uint64_t attr_set,
                 uint64_t attr_clr, uint64_t propagation) {
  KernelMountAttr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.attr_set = attr_set;
  attr.attr_clr = attr_clr;
  attr.propagation = propagation;
  return static_cast<int>(::syscall(__NR_mount_setattr, dirfd, path, flags, &attr, sizeof attr));
}

char* FormatUint(char* buf, size_t size, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && n < sizeof tmp);
  size_t i = 0;
  while (n && i + 1 < size) buf[i++] = tmp[--n];
  buf[i] = '\0';
  return buf;
}

char* FdPath(char* buf, size_t size, int fd) {
  static constexpr char kPrefix[] = "/proc/self/fd/";
  size_t p = sizeof kPrefix - 1;
  if (size < p + 12) {
    if (size) buf[0] = '\0';
    return buf;
  }
  std::memcpy(buf, kPrefix, p);
  FormatUint(buf + p, size - p, static_cast<uint64_t>(fd));
  return buf;
}

}  // namespace isoexec::sys
