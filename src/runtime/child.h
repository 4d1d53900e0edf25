// Everything the child needs, prepared by the parent before clone. The child only reads it:
// between clone and execve nothing allocates, logs or throws.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstddef>

#include "isolation/caps.h"
#include "isolation/mount_plan.h"

namespace isoexec::runtime {

struct ChildConfig {
  int sync_fd = -1;
  const isolation::MountPlan* plan = nullptr;
  bool no_pivot_root = false;
  bool run_init = false;          // be PID 1 and fork the task
  const char* hostname = nullptr; // new UTS namespace
  int netns_fd = -1;              // join this network namespace
  bool loopback_up = false;       // new empty netns: bring lo up
  int stdio[3] = {-1, -1, -1};    // dup2'ed onto 0, 1, 2 (-1: keep inherited)
  // cgroup v1: the task cgroup's `tasks` files, opened by the parent. The child writes "0" to
  // each and so moves itself in before anything else: a single-threaded process moving itself
  // skips the global threadgroup lock (and its RCU grace period, 10-15 ms) that a parent
  // writing the pid to cgroup.procs takes.
  static constexpr size_t kMaxCgroupFds = 16;
  int cgroup_join_fds[kMaxCgroupFds] = {};
  size_t ncgroup_join_fds = 0;
  int oom_score_adj = 0;
  const char* exec_path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* workdir = "/";
  // Identity and privileges.
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  size_t ngroups = 0;
  isolation::CapSets caps{};
  const sock_filter* seccomp = nullptr;
  size_t seccomp_len = 0;
  bool no_new_privs = true;
};

// Never returns: execve's the task or _exit()s after reporting a SyncMsg.
[[noreturn]] void ChildMain(const ChildConfig& cfg) noexcept;

}  // namespace isoexec::runtime
