// cgroup v1: a new process moves itself into the task's cgroups by writing "0" to each
// `tasks` file (opened for it by the parent). A single-threaded process moving itself skips
// the global threadgroup lock that a parent writing the pid to cgroup.procs takes, and with it
// an RCU grace period of 10-15 ms per launch or exec. On v2, CLONE_INTO_CGROUP does better and
// none of this is used.
#pragma once

#include <cstddef>
#include <vector>

#include "base/unique_fd.h"
#include "cgroup/cgroup.h"

namespace isoexec::runtime {

// Plain data, read by the child between clone and exec.
struct SelfJoinFds {
  static constexpr size_t kMax = 16;
  int fd[kMax] = {};
  size_t n = 0;
};

// Parent side. Fills `out` and returns the owning fds (keep them open until the child has
// joined). Empty when the cgroup is entered with CLONE_INTO_CGROUP, or when any `tasks` file
// cannot be opened: the parent then moves the child by pid (Cgroup::AddProcess).
std::vector<UniqueFd> OpenSelfJoin(const cgroup::Cgroup& cg, SelfJoinFds* out);

// Child side, async-signal-safe: 0, or the errno of the first failed join.
int SelfJoin(const SelfJoinFds& j) noexcept;

}  // namespace isoexec::runtime
