// Killing every process of a cgroup, including a fork bomb that forks faster than we can
// signal: freeze first (the kernel stops every member, so the pid list is final), SIGKILL
// each, then thaw so the signals are delivered. Used by v1 (freezer.state) and by v2 kernels
// older than 5.14 (cgroup.freeze); newer v2 kernels write cgroup.kill instead.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace isoexec::cgroup {

using PidLister = std::function<Result<std::vector<pid_t>>()>;

struct Freezer {
  std::function<Status()> freeze;
  std::function<Result<bool>()> frozen;  // the kernel finished freezing every member
  std::function<Status()> thaw;
};

// Freeze (when `freezer` is non-null), SIGKILL every pid, thaw (always, even on error);
// repeated until `list` is empty or `timeout` has passed. `what` names the cgroup in errors.
Status FreezeAndKill(const PidLister& list, const Freezer* freezer,
                     std::chrono::milliseconds timeout, std::string_view what);

// Polls `list` until it is empty; DeadlineExceeded listing the survivors otherwise.
Status WaitUntilEmpty(const PidLister& list, std::chrono::milliseconds timeout,
                      std::string_view what);

// How long KillAll waits for killed processes to leave (a large process can take a while
// to free its memory), and the shorter budget Create allows for stray processes.
inline constexpr std::chrono::milliseconds kKillTimeout{5000};
inline constexpr std::chrono::milliseconds kStrayKillTimeout{1000};

}  // namespace isoexec::cgroup
