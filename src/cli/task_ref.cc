#include "cli/task_ref.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>

#include "cgroup/cgroup.h"
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
  if (!state) {
    // The supervisor claims the dir first and writes the state right after; a dir without
    // state is a launch in progress or a crash during it.
    return Fail(Error::Make(Code::kUnavailable, fmt::format("task {} has no state yet ({})", id, state.error().str())));
  }
  t.state = std::move(*state);
  if ((t.state.status == runtime::TaskStatus::kRunning ||
       t.state.status == runtime::TaskStatus::kCreated) &&
      !SupervisorAlive(t.state)) {
    // Re-read: the supervisor may have finished between our read and the liveness check.
    if (auto again = runtime::ReadTaskState(t.dir); again) t.state = std::move(*again);
    if (t.state.status == runtime::TaskStatus::kRunning ||
        t.state.status == runtime::TaskStatus::kCreated) {
      t.state.status = runtime::TaskStatus::kLost;
      t.state.lost_reason = fmt::format("supervisor (pid {}) exited unexpectedly; every process of the task was killed",
                                        t.state.supervisor_pid);
      if (auto s = CleanupCgroup(t.state, global.cgroup_parent); !s)
        t.state.warnings.push_back(s.error().str());
      (void)runtime::WriteTaskState(t.dir, t.state);
    }
  }
  return t;
}


std::vector<std::string> TaskIds(const GlobalOptions& g) {
  std::vector<std::string> ids;
  DIR* d = ::opendir(g.state_dir.c_str());
  if (!d) return ids;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    ids.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace isoexec::cli
