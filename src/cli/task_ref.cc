#include "cli/task_ref.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "base/file.h"
#include "cgroup/cgroup.h"
#include "runtime/task_dir.h"
#include "spec/flag_parse.h"

namespace isoexec::cli {

bool SupervisorAlive(const runtime::TaskState& s) {
  if (s.supervisor_pid <= 0) return false;
  uint64_t start = runtime::ProcessStartTime(s.supervisor_pid);
  return start != 0 && start == s.supervisor_start;
}

Status CleanupCgroup(const runtime::TaskState& s, const std::string& fallback_parent) {
  ISOEXEC_ASSIGN_OR_RETURN(auto layout, cgroup::DetectLayout());
  cgroup::Options o{s.cgroup_parent.empty() ? fallback_parent : s.cgroup_parent, s.id};
  auto cg = cgroup::Open(layout, o);
  if (!cg) return cg.error().code() == Code::kNotFound ? Ok() : Fail(std::move(cg.error()));
  ISOEXEC_TRY((*cg)->KillAll());
  return (*cg)->Destroy();
}

Result<TaskRef> LoadTask(const GlobalOptions& global, const std::string& id) {
  if (auto v = spec::ValidateId(id); !v)
    return Fail(Error::Invalid("ID", v.error().message().substr(v.error().message().find(": ") + 2)));
  TaskRef t{id, global.state_dir + "/" + id, {}};
  struct stat st {};
  if (::stat(t.dir.c_str(), &st) != 0)
    return Fail(Error::Make(Code::kNotFound, fmt::format("no such task: {}", id)));
  auto state = runtime::ReadTaskState(t.dir);
  if (!state && state.error().sys_errno() == ENOENT) {
    // No state yet: a launch in progress holds the dir's lock (runtime/task_dir.h); a free lock
    // means whoever launched it died before recording anything.
    auto lock = runtime::TryLockTaskDir(t.dir);
    if (!lock) {
      if (lock.error().code() == Code::kUnavailable)
        return Fail(Error::Make(Code::kUnavailable, fmt::format("task {} is being launched (no state yet)", id)));
      return Fail(std::move(lock.error()));
    }
    state = runtime::ReadTaskState(t.dir);  // it may have been written just before its owner died
    if (!state && state.error().sys_errno() == ENOENT) {
      t.state.id = id;
      t.state.status = runtime::TaskStatus::kLost;
      t.state.cgroup_parent = global.cgroup_parent;
      t.state.lost_reason =
          "its launch was interrupted (the launching process exited before recording the task); "
          "every process of the task was killed";
      if (auto s = CleanupCgroup(t.state, global.cgroup_parent); !s)
        t.state.warnings.push_back(s.error().str());
      (void)runtime::WriteTaskState(t.dir, t.state);
      return t;
    }
  }
  if (!state)
    return Fail(Error::Make(Code::kUnavailable, fmt::format("task {}: {}", id, state.error().str())));
  t.state = std::move(*state);
  if ((t.state.status == runtime::TaskStatus::kRunning ||
       t.state.status == runtime::TaskStatus::kCreated) &&
      !SupervisorAlive(t.state)) {
    // Re-read: the supervisor may have finished between our read and the liveness check.
    if (auto again = runtime::ReadTaskState(t.dir); again) t.state = std::move(*again);
    if (t.state.status == runtime::TaskStatus::kRunning ||
        t.state.status == runtime::TaskStatus::kCreated) {
      t.state.status = runtime::TaskStatus::kLost;
      t.state.lost_reason = fmt::format(
          "supervisor (pid {}) exited without recording how the task ended; every process of "
          "the task was killed",
          t.state.supervisor_pid);
      if (auto s = CleanupCgroup(t.state, global.cgroup_parent); !s)
        t.state.warnings.push_back(s.error().str());
      (void)runtime::WriteTaskState(t.dir, t.state);
    }
  }
  return t;
}

Result<TaskRef> LoadAfterDisconnect(const GlobalOptions& global, const std::string& id) {
  // A SIGKILLed supervisor closes its sockets before it becomes a zombie: give it a moment to
  // finish dying, so the task is seen as lost rather than as running.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    auto t = LoadTask(global, id);
    if (!t || t->state.status != runtime::TaskStatus::kRunning ||
        std::chrono::steady_clock::now() >= deadline)
      return t;
    ::usleep(10000);
  }
}

Result<TaskRef> LoadLaunchedTask(const GlobalOptions& global, const std::string& id,
                                 std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto t = LoadTask(global, id);
    bool launching = t ? t->state.status == runtime::TaskStatus::kCreated
                       : t.error().code() == Code::kUnavailable;
    if (!launching || std::chrono::steady_clock::now() >= deadline) return t;
    ::usleep(10000);
  }
}

std::vector<std::string> TaskIds(const GlobalOptions& g) {
  std::vector<std::string> ids;
  DIR* d = ::opendir(g.state_dir.c_str());
  if (!d) return ids;
  while (dirent* e = ::readdir(d)) {
    // A claim left by a launcher killed between its mkdir and rename (runtime/task_dir.h).
    if (runtime::StaleClaim(e->d_name)) {
      (void)RemoveTree(g.state_dir + "/" + e->d_name);
      continue;
    }
    if (e->d_name[0] == '.') continue;
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    ids.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace isoexec::cli
