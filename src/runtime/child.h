// Everything the child needs, prepared by the parent before clone. The child only reads it:
// between clone and execve nothing allocates, logs or throws.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstddef>

#include "isolation/caps.h"
#include "isolation/mount_plan.h"
#include "runtime/cgroup_join.h"
#include "sys/resident.h"

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
  SelfJoinFds cgroup_join;  // cgroup v1: joined first thing (see cgroup_join.h)
  const sys::TextRanges* text = nullptr;  // init drops it from its resident set
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
