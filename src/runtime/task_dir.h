// Per-task state directory: <state-dir>/<id>/ (0700). Creating it is how a task id is
// claimed, so two tasks can never share an id. Whoever launches the task holds an exclusive
// flock(2) on the directory for as long as it (or the supervisor it forks) lives: a directory
// without state.json whose lock is free was abandoned during a launch.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace isoexec::runtime {

inline constexpr char kDefaultStateDir[] = "/run/isoexec";

// A fresh id for unnamed tasks: "t-" + 12 hex digits.
std::string GenerateTaskId();

struct TaskDirClaim {
  std::string dir;  // <state_dir>/<id>
  UniqueFd lock;    // O_CLOEXEC fd of `dir` holding LOCK_EX; keep it open while launching/supervising
};
// Creates <state_dir>/<id> exclusively and already locked (built under a hidden temporary
// name, then renamed into place); kAlreadyExists when the id is taken.
Result<TaskDirClaim> CreateTaskDir(const std::string& state_dir, const std::string& id);
// A task dir being claimed: <state_dir>/.claim-<pid>-<starttime>-<id> (hidden from verbs).
inline constexpr char kClaimPrefix[] = ".claim-";
// Whether the state dir entry `name` is a claim whose creator is gone (killed between its
// mkdir and rename): safe to remove.
bool StaleClaim(const std::string& name);
// Tries to take the task dir's lock without waiting: the fd when nobody holds it (the
// launcher and supervisor are gone), kUnavailable while someone does.
Result<UniqueFd> TryLockTaskDir(const std::string& task_dir);
// Removes the task dir (never crossing a mount point).
Status RemoveTaskDir(const std::string& task_dir);

}  // namespace isoexec::runtime
