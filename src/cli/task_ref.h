// Finding a task by id and telling the truth about it: a task whose supervisor died is
// `lost`, and the verb that notices kills whatever is left in its cgroup.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/result.h"
#include "cli/common.h"
#include "runtime/task_state.h"

namespace isoexec::cli {

struct TaskRef {
  std::string id;
  std::string dir;
  runtime::TaskState state;
};

// Reads the task's state; a running task whose supervisor is gone is turned into `lost`
// (its cgroup killed and removed, the state file updated), and so is a task directory without
// state whose launcher is gone. kUnavailable: a launch in progress, no state yet.
Result<TaskRef> LoadTask(const GlobalOptions& global, const std::string& id);
// LoadTask, waiting up to `patience` while the task is still being launched (state `created`
// or no state yet, its launcher alive).
Result<TaskRef> LoadLaunchedTask(const GlobalOptions& global, const std::string& id,
                                 std::chrono::milliseconds patience = std::chrono::seconds(30));
// LoadTask after the supervisor dropped our connection without answering: waits (up to 2 s)
// while the task still looks running, as a killed supervisor takes a moment to be gone.
Result<TaskRef> LoadAfterDisconnect(const GlobalOptions& global, const std::string& id);
// Every task id under the state dir, sorted (stale hidden launch claims are swept).
std::vector<std::string> TaskIds(const GlobalOptions& global);
// Is the supervisor recorded in `s` still that process?
bool SupervisorAlive(const runtime::TaskState& s);
// Kills and removes the task's cgroup (idempotent).
Status CleanupCgroup(const runtime::TaskState& s, const std::string& fallback_parent);

}  // namespace isoexec::cli
