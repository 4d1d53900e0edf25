// The per-task state file <task_dir>/state.json, written atomically (write, fsync, rename) by
// the supervisor on every transition, read by every other verb. Versioned.
//
// A full file system must not cost the task its recorded exit: the supervisor keeps a small
// reserve file next to the state (ReserveStateSpace); a state write that fails for lack of
// space releases the reserve and tries once more.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "runtime/exit_state.h"

namespace isoexec::runtime {

enum class TaskStatus { kCreated, kRunning, kExited, kLost };
const char* StatusName(TaskStatus s);

// How one of a detached task's log files (stdout.log, stderr.log) fares.
struct LogHealth {
  uint64_t dropped_bytes = 0;  // output read from the task but not written (never blocks the task)
  bool failing = false;        // the latest write failed (e.g. the state dir's file system is full)
  std::string error;           // the latest write/open error, "" if there never was one
};

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
  // Detached tasks whose output goes to log files: {stdout, stderr}.
  std::optional<LogHealth> logs[2];
};

std::string TaskStateJson(const TaskState& s);  // pretty, with a trailing newline
Result<TaskState> ParseTaskState(const std::string& text);
// Atomic (unique temporary file, fsync, rename), so concurrent writers never mix their bytes.
// A failed write leaves the previous state.json untouched. With `use_reserve`, ENOSPC/EDQUOT
// releases the reserve and the write is tried once more: for the writes that must not be lost
// (the exit, `lost`); interim ones (log health) pass false and keep the reserve for those.
Status WriteTaskState(const std::string& task_dir, const TaskState& s, bool use_reserve = true);
// Creates <task_dir>/state.reserve, large enough for a few state files like `s`.
Status ReserveStateSpace(const std::string& task_dir, const TaskState& s);
Result<TaskState> ReadTaskState(const std::string& task_dir);

// ExitState <-> JSON (shared with the status file and the control protocol).
std::string ExitStateJsonObject(const std::string& id, const ExitState& s);
Result<ExitState> ParseExitState(const std::string& json_object);

// /proc/<pid>/stat field 22; 0 when the process does not exist or is a zombie.
uint64_t ProcessStartTime(pid_t pid);

}  // namespace isoexec::runtime
