// Finding a task by id and telling the truth about it: a task whose supervisor died is
// `lost`, and the verb that notices kills whatever is left in its cgroup.
#pragma once

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
// (its cgroup killed and removed, the state file updated).
Result<TaskRef> LoadTask(const GlobalOptions& global, const std::string& id);
// Every task id under the state dir, sorted.
std::vector<std::string> TaskIds(const GlobalOptions& global);
// Is the supervisor recorded in `s` still that process?
bool SupervisorAlive(const runtime::TaskState& s);
// Kills and removes the task's cgroup (idempotent).
Status CleanupCgroup(const runtime::TaskState& s, const std::string& fallback_parent);

}  // namespace isoexec::cli
