// The built-in seccomp profile, kDefaultSeccompProfileName. Rationale per group in
// docs/seccomp.md; change the version in the name whenever a rule changes.
#include <linux/sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <iterator>

#include "isolation/seccomp.h"  // this file defines DefaultSeccompProfile()

namespace isoexec::isolation {

namespace {

// Docker's default allow-list (moby profiles/seccomp/default.json), without the entries we
// deny (adjtimex, clock_adjtime*, name_to_handle_at) or leave to the default action
// (io_uring_*: a large kernel attack surface, also dropped by newer Docker; liburing users get
// ENOSYS and fall back), plus chroot (CAP_SYS_CHROOT is a default capability), the
// architecture-specific entries, and syscalls newer than Docker's list that glibc or the
// kernel itself may use (skipped when libseccomp does not know them yet).
constexpr const char* kAllowed[] = {
    "accept", "accept4", "access", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
    "chmod", "chown", "chown32", "chroot", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
    "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
    "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
    "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
    "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
    "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64",
    "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue",
    "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
    "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
    "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
    "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
    "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
    "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
    "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
    "linkat", "listen", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr",
    "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
    "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
    "munmap", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause",
    "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
    "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename",
    "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair",
    "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
    "unlink", "unlinkat", "uprobe", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes",
    "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    // Architecture-specific; absent names are skipped per architecture.
    "arch_prctl", "modify_ldt",                                         // x86
    "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",      // arm
    "breakpoint", "cacheflush", "set_tls",                              // arm
    "riscv_flush_icache",                                               // riscv64
    "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr",  // s390x
    "swapcontext",                                                      // ppc64le
};

// Known-dangerous: EPERM ("not permitted"), not the default ENOSYS, so that programs report a
// permission problem instead of assuming an old kernel. Most need a capability the task does
// not have by default; the filter is the second line of defence (and holds if a capability is
// added), or they reach kernel state that is not namespaced.
constexpr const char* kDenied[] = {
    // Mounts, old and new API (escape, host-state changes).
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    // Namespaces: new ones expose more kernel attack surface (user ns + CAP_*), joining one
    // could escape. clone/clone3 below.
    "unshare",
    "setns",
    // Kernel code and boot.
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "reboot",
    "uselib",
    "nfsservctl",
    // Large attack surfaces / host-wide state.
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "lookup_dcookie",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "acct",
    "swapon",
    "swapoff",
    "sethostname",
    "setdomainname",
    // Kernel keyrings are not namespaced.
    "keyctl",
    "add_key",
    "request_key",
    // File handles bypass path-based confinement ("shocker").
    "open_by_handle_at",
    "name_to_handle_at",
    // Clocks are host-wide.
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_settime64",
    "clock_adjtime",
    "clock_adjtime64",
    "adjtimex",
    // Raw I/O ports, virtual 8086 mode.
    "iopl",
    "ioperm",
    "vm86",
    "vm86old",
    // Cross-process inspection. Docker allows ptrace on kernels >= 4.8; we do not by default
    // (debuggers/strace inside a task need --seccomp with a custom profile).
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "kcmp",
    "pidfd_getfd",
};

// clone(2) flags that create namespaces (CLONE_NEWTIME is only accepted by clone3/unshare).
constexpr uint64_t kCloneNsFlags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                      CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

SeccompProfile BuildDefault() {
  SeccompProfile p;
  p.default_action = SeccompAction::kErrno;
  p.default_errno = ENOSYS;
  p.ignore_unknown_syscalls = true;

  p.rules.push_back({std::vector<std::string>(std::begin(kAllowed), std::end(kAllowed)),
                     SeccompAction::kAllow,
                     0,
                     {}});
  p.rules.push_back({std::vector<std::string>(std::begin(kDenied), std::end(kDenied)),
                     SeccompAction::kErrno,
                     EPERM,
                     {}});

  // personality(2): only the personas Docker allows (PER_LINUX, PER_LINUX32, UNAME26 and their
  // combination, and the 0xffffffff query). Others fall to the default action: libseccomp 2.5
  // allows one comparison per argument, so "none of these values" is not expressible.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL}) {
    p.rules.push_back(
        {{"personality"}, SeccompAction::kAllow, 0, {{0, SeccompOp::kEq, persona, 0}}});
  }

  // clone(2) without namespace flags is fork/threads; with any, EPERM. One deny rule per flag
  // because a rule can only test one pattern per argument.
  uint64_t ns_mask = 0;
  for (uint64_t flag : kCloneNsFlags) ns_mask |= flag;
  p.rules.push_back({{"clone"}, SeccompAction::kAllow, 0, {{0, SeccompOp::kMaskedEq, ns_mask, 0}}});
  for (uint64_t flag : kCloneNsFlags) {
    p.rules.push_back(
        {{"clone"}, SeccompAction::kErrno, EPERM, {{0, SeccompOp::kMaskedEq, flag, flag}}});
  }
  // clone3(2) passes its flags in memory, which seccomp cannot read. ENOSYS makes glibc (2.34+)
  // fall back to clone(2), which the rules above filter: what Docker does. (Same as the default
  // action, so the compiler drops the rule; kept for profiles derived from this one.)
  p.rules.push_back({{"clone3"}, SeccompAction::kErrno, ENOSYS, {}});

  // socket(2): every family but AF_VSOCK, which reaches the hypervisor/host and is not
  // namespaced. socket() takes an int but seccomp sees 64 bits and the kernel ignores the upper
  // half, so a plain "!= AF_VSOCK" could be bypassed with garbage in bits 32..63. Instead allow
  // only 64-bit values 0..63 other than AF_VSOCK (AF_MAX is 46), as prefix ranges, and deny
  // AF_VSOCK in the low 32 bits whatever the upper ones; other values (invalid families,
  // garbage upper bits) get the default action.
  static_assert(AF_VSOCK == 40 && AF_MAX <= 64, "recompute the socket ranges");
  p.rules.push_back({{"socket"}, SeccompAction::kAllow, 0, {{0, SeccompOp::kLt, 40, 0}}});
  p.rules.push_back({{"socket"}, SeccompAction::kAllow, 0, {{0, SeccompOp::kEq, 41, 0}}});
  p.rules.push_back(  // 42..43
      {{"socket"}, SeccompAction::kAllow, 0, {{0, SeccompOp::kMaskedEq, ~uint64_t{1}, 42}}});
  p.rules.push_back(  // 44..47
      {{"socket"}, SeccompAction::kAllow, 0, {{0, SeccompOp::kMaskedEq, ~uint64_t{3}, 44}}});
  p.rules.push_back(  // 48..63
      {{"socket"}, SeccompAction::kAllow, 0, {{0, SeccompOp::kMaskedEq, ~uint64_t{15}, 48}}});
  p.rules.push_back({{"socket"},
                     SeccompAction::kErrno,
                     EPERM,
                     {{0, SeccompOp::kMaskedEq, 0xffffffffULL, AF_VSOCK}}});
  return p;
}

}  // namespace

const SeccompProfile& DefaultSeccompProfile() {
  static const SeccompProfile* const kProfile = new SeccompProfile(BuildDefault());
  return *kProfile;
}

}  // namespace isoexec::isolation
