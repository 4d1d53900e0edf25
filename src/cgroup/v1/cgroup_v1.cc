#include "cgroup/v1/cgroup_v1.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "cgroup/fs.h"
#include "cgroup/kill.h"
#include "cgroup/parsers.h"
#include "cgroup/paths.h"

namespace isoexec::cgroup {

namespace {

// freezer comes first so Pids() and KillAll() see the hierarchy the kill relies on.
constexpr std::array<const char*, 7> kControllers = {"freezer", "memory", "cpu",    "cpuacct",
                                                     "pids",    "cpuset", "devices"};

}  // namespace

std::unique_ptr<CgroupBackend> NewCgroupV1(const Layout& layout, const Options& options) {
  return std::make_unique<CgroupV1>(layout, options);
}

CgroupV1::CgroupV1(const Layout& layout, const Options& options) : options_(options) {
  std::vector<std::string> rel = ParentComponents(options.parent);
  rel.push_back(options.id);
  for (const char* controller : kControllers) {
    auto it = layout.v1_mounts.find(controller);
    if (it == layout.v1_mounts.end()) continue;
    auto same = std::find_if(dirs_.begin(), dirs_.end(),
                             [&](const Dir& d) { return d.mount == it->second; });
    if (same != dirs_.end()) {
      same->controllers.emplace_back(controller);
      continue;
    }
    Dir dir{.mount = it->second, .path = it->second, .controllers = {controller}};
    for (const std::string& c : rel) dir.path = JoinPath(dir.path, c);
    dirs_.push_back(std::move(dir));
  }
}

const CgroupV1::Dir* CgroupV1::DirFor(std::string_view controller) const {
  for (const Dir& d : dirs_)
    if (std::find(d.controllers.begin(), d.controllers.end(), controller) != d.controllers.end())
      return &d;
  return nullptr;
}

std::string CgroupV1::path() const {
  if (const Dir* d = DirFor("memory")) return d->path;
  return dirs_.empty() ? std::string() : dirs_.front().path;
}

std::vector<std::string> CgroupV1::dirs() const {
  std::vector<std::string> out;
  for (const Dir& d : dirs_) out.push_back(d.path);
  return out;
}

Status CgroupV1::InitCpuset(const std::string& parent, const std::string& dir) const {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    ISOEXEC_ASSIGN_OR_RETURN(std::string value, ReadControl(dir, file));
    if (!value.empty()) continue;
    ISOEXEC_ASSIGN_OR_RETURN(std::string inherited, ReadControl(parent, file));
    ISOEXEC_TRY(WriteControl(dir, file, inherited));
  }
  return Ok();
}

Status CgroupV1::MakeDirs() {
  if (dirs_.empty())
    return Fail(MissingController("a task cgroup", "freezer, memory, cpu, pids, ...",
                                  "(no cgroup v1 hierarchy of ours is mounted)"));
  for (const Dir& d : dirs_) {
    bool cpuset =
        std::find(d.controllers.begin(), d.controllers.end(), "cpuset") != d.controllers.end();
    std::string cur = d.mount;
    std::string rel = d.path.substr(d.mount.size());
    for (const std::string& c : ParentComponents(rel)) {
      std::string parent = cur;
      cur = JoinPath(cur, c);
      ISOEXEC_ASSIGN_OR_RETURN(bool created, MakeCgroupDir(cur));
      if (created) created_.push_back(cur);
      if (cpuset) ISOEXEC_TRY(InitCpuset(parent, cur));
    }
  }
  // A cgroup left frozen by an interrupted KillAll would freeze the new task at birth.
  if (const Dir* d = DirFor("freezer")) {
    ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> state,
                             ReadOptionalControl(d->path, "freezer.state"));
    if (state && *state != "THAWED") ISOEXEC_TRY(WriteControl(d->path, "freezer.state", "THAWED"));
  }
  return Ok();
}

void CgroupV1::RollBack() {
  // Our own cgroups go with whatever is in them; a parent we created may meanwhile hold another
  // task's cgroup (a concurrent first launch under the same --cgroup-parent): only if empty.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    const bool ours = std::any_of(dirs_.begin(), dirs_.end(), [&](const Dir& d) { return d.path == *it; });
    if (ours) (void)RemoveCgroupTree(*it, std::chrono::milliseconds(200));
    else (void)RemoveIfEmpty(*it);
  }
  created_.clear();
}

Status CgroupV1::OpenExisting() {
  std::erase_if(dirs_, [](const Dir& d) { return !PathExists(d.path); });
  if (dirs_.empty())
    return Fail(Error::Make(Code::kNotFound,
                            fmt::format("no cgroup for task `{}` under `{}` in any cgroup v1 "
                                        "hierarchy",
                                        options_.id, options_.parent)));
  return Ok();
}

Status CgroupV1::AddProcess(pid_t pid) {
  std::string value = std::to_string(pid);
  for (const Dir& d : dirs_) {
    Status s = WriteControl(d.path, "cgroup.procs", value);
    if (!s && s.error().sys_errno() == ENOSPC)
      return Fail(WithHint(std::move(s.error()),
                           "cpuset.cpus or cpuset.mems of this cgroup is "
                           "empty"));
    ISOEXEC_TRY(std::move(s));
  }
  return Ok();
}

Result<std::vector<pid_t>> CgroupV1::Pids() const {
  // Every hierarchy should hold the same processes; the union also catches one that was
  // moved in a single hierarchy by someone else.
  std::vector<pid_t> all;
  for (const Dir& d : dirs_) {
    Result<std::vector<pid_t>> pids = ReadProcsRecursive(d.path);
    if (!pids) {
      if (pids.error().sys_errno() == ENOENT) continue;
      return pids;
    }
    all.insert(all.end(), pids->begin(), pids->end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

Status CgroupV1::KillAll() { return KillAllWithin(kKillTimeout, KillMethod::kBest); }

Status CgroupV1::KillAllWithin(std::chrono::milliseconds timeout, KillMethod /*method*/) {
  PidLister list = [this] { return Pids(); };
  const Dir* freezer_dir = DirFor("freezer");
  if (!freezer_dir) return FreezeAndKill(list, nullptr, timeout, path());
  const std::string dir = freezer_dir->path;
  Freezer freezer{
      .freeze = [dir] { return WriteControl(dir, "freezer.state", "FROZEN"); },
      .frozen = [dir]() -> Result<bool> {
        ISOEXEC_ASSIGN_OR_RETURN(std::string state, ReadControl(dir, "freezer.state"));
        return state == "FROZEN";
      },
      .thaw = [dir] { return WriteControl(dir, "freezer.state", "THAWED"); },
  };
  return FreezeAndKill(list, &freezer, timeout, dir);
}

Result<bool> CgroupV1::OomKilled() const {
  const Dir* d = DirFor("memory");
  if (!d) return false;
  ISOEXEC_ASSIGN_OR_RETURN(std::string text, ReadControl(d->path, "memory.oom_control"));
  // Kernels before 4.13 have no oom_kill counter: no verdict, so "not OOM killed".
  std::optional<uint64_t> kills = ParseOomControl(text).oom_kill;
  return kills.value_or(0) > 0;
}

Status CgroupV1::Destroy() {
  // Usually nothing is left (the task's PID namespace died with its init): one rmdir per
  // hierarchy, without listing processes or children first.
  bool all_gone = true;
  for (const Dir& d : dirs_) all_gone = RemoveIfEmpty(d.path) && all_gone;
  if (all_gone) return Ok();
  ISOEXEC_ASSIGN_OR_RETURN(std::vector<pid_t> pids, Pids());
  if (!pids.empty()) ISOEXEC_TRY(KillAll());
  Status result = Ok();
  for (const Dir& d : dirs_) {
    Status s = RemoveCgroupTree(d.path, std::chrono::milliseconds(1000));
    if (!s && result) result = std::move(s);
  }
  return result;
}

}  // namespace isoexec::cgroup
