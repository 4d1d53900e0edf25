// The capability sets and seccomp program of a task's processes, computed once for the launch
// and for every exec, so both always get the same privileges.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <vector>

#include "base/result.h"
#include "isolation/caps.h"
#include "spec/task_spec.h"

namespace isoexec::runtime {

struct SecurityPlan {
  isolation::CapSets caps{};
  std::vector<sock_filter> seccomp;  // empty: unconfined
};

// `uid` is the process's user. The default seccomp profile comes precompiled (build time).
Result<SecurityPlan> PrepareSecurity(const spec::TaskSpec& spec, uid_t uid);

}  // namespace isoexec::runtime
