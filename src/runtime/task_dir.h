// Per-task state directory: <state-dir>/<id>/ (0700). Creating it is how a task id is
// claimed, so two tasks can never share an id.
#pragma once

#include <string>

#include "base/result.h"

namespace isoexec::runtime {

inline constexpr char kDefaultStateDir[] = "/run/isoexec";

// A fresh id for unnamed tasks: "t-" + 12 hex digits.
std::string GenerateTaskId();
// mkdir <state_dir>/<id> exclusively; kAlreadyExists when the id is taken.
Result<std::string> CreateTaskDir(const std::string& state_dir, const std::string& id);
// Removes the task dir (never crossing a mount point).
Status RemoveTaskDir(const std::string& task_dir);

}  // namespace isoexec::runtime
