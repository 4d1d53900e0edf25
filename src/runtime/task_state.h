// The per-task state file <task_dir>/state.json, written atomically (write, fsync, rename) by
// the supervisor on every transition, read by every other verb. Versioned.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "runtime/exit_state.h"

namespace isoexec::runtime {

enum class TaskStatus { kCreated, kRunning, kExited, kLost };
const char* StatusName(TaskStatus s);

struct TaskState {
  int version = 1;
  std::string id;
  TaskStatus status = TaskStatus::kCreated;
  pid_t pid = 0;                 // host pid of the task's main process
  pid_t supervisor_pid = 0;
  uint64_t supervisor_start = 0; // /proc/<pid>/stat starttime: detects a recycled pid
  std::string cgroup;            // user-visible cgroup path
  std::string cgroup_parent;
  bool detached = false;
  bool remove_on_exit = false;   // run --rm
  std::vector<std::string> command;
  std::string spec_json;         // the task spec as JSON (spec/spec_json.h), "" if unknown
  std::string created_at;
  std::optional<ExitState> exit;
  std::string lost_reason;
  std::vector<std::string> warnings;  // e.g. "stdout log: No space left on device"
};

std::string TaskStateJson(const TaskState& s);  // pretty, with a trailing newline
Result<TaskState> ParseTaskState(const std::string& text);
Status WriteTaskState(const std::string& task_dir, const TaskState& s);
Result<TaskState> ReadTaskState(const std::string& task_dir);

// ExitState <-> JSON (shared with the status file and the control protocol).
std::string ExitStateJsonObject(const std::string& id, const ExitState& s);
Result<ExitState> ParseExitState(const std::string& json_object);

// /proc/<pid>/stat field 22; 0 when the process does not exist or is a zombie.
uint64_t ProcessStartTime(pid_t pid);

}  // namespace isoexec::runtime
