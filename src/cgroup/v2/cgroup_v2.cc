#include "cgroup/v2/cgroup_v2.h"

#include <fcntl.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cgroup/fs.h"
#include "cgroup/kill.h"
#include "cgroup/parsers.h"
#include "cgroup/paths.h"

namespace isoexec::cgroup {

namespace {

// Domain controllers first: once a threaded one (cpu, cpuset, pids) is on in a cgroup with
// processes, the kernel makes it a thread root and refuses memory with EOPNOTSUPP instead of
// the telling EBUSY.
constexpr const char* kControllers[] = {"memory", "pids", "cpu", "cpuset"};

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  for (const std::string& x : v)
    if (x == s) return true;
  return false;
}

std::string InternalProcessesHint(const std::string& dir) {
  return fmt::format(
      "`{}` has processes of its own, and cgroup v2 enables controllers only for cgroups "
      "without them (the \"no internal processes\" rule); move them into a child cgroup or "
      "choose another --cgroup-parent",
      dir);
}

}  // namespace

std::unique_ptr<CgroupBackend> NewCgroupV2(const Layout& layout, const Options& options) {
  return std::make_unique<CgroupV2>(layout, options);
}

CgroupV2::CgroupV2(const Layout& layout, const Options& options) {
  chain_.push_back(layout.v2_mount);
  for (const std::string& c : V2ParentComponents(options.parent))
    chain_.push_back(JoinPath(chain_.back(), c));
  scope_ = JoinPath(chain_.back(), V2ScopeName(options.id));
}

Status CgroupV2::EnableControllers(const std::string& dir) const {
  ISOEXEC_ASSIGN_OR_RETURN(std::string offered, ReadControl(dir, "cgroup.controllers"));
  ISOEXEC_ASSIGN_OR_RETURN(std::string enabled, ReadControl(dir, "cgroup.subtree_control"));
  std::vector<std::string> have = SplitWords(offered), on = SplitWords(enabled);
  std::vector<const char*> missing;
  for (const char* c : kControllers)
    if (Contains(have, c) && !Contains(on, c)) missing.push_back(c);
  if (missing.empty()) return Ok();
  // Only the real root cgroup (no cgroup.type) may hold processes and enable controllers.
  // Checked up front: a refused write could leave the dir half converted to a thread root.
  if (PathExists(JoinPath(dir, "cgroup.type"))) {
    ISOEXEC_ASSIGN_OR_RETURN(std::string procs, ReadControl(dir, "cgroup.procs"));
    if (!procs.empty())
      return Fail(Error::Make(
          Code::kFailedPrecondition,
          fmt::format("cannot enable {} in `{}`: {}", fmt::join(missing, ", "),
                      JoinPath(dir, "cgroup.subtree_control"), InternalProcessesHint(dir))));
  }
  for (const char* c : missing) {
    // One controller per write, so an error names the one the kernel refused.
    Status s = WriteControl(dir, "cgroup.subtree_control", fmt::format("+{}", c));
    if (s) continue;
    int e = s.error().sys_errno();
    if (e == EBUSY || e == EOPNOTSUPP)
      return Fail(WithHint(std::move(s.error()), InternalProcessesHint(dir)));
    return Fail(WithHint(std::move(s.error()),
                         fmt::format("the kernel refused to enable the `{}` controller for the "
                                     "children of `{}`",
                                     c, dir)));
  }
  return Ok();
}

Status CgroupV2::OpenDirFd() {
  dir_fd_.reset(::open(scope_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd_) {
    if (errno == ENOENT)
      return Fail(Error::Make(Code::kNotFound, fmt::format("cgroup `{}` does not exist", scope_)));
    return Fail(Error::Errno(errno, fmt::format("open `{}`", scope_)));
  }
  return Ok();
}

Status CgroupV2::MakeDirs() {
  for (size_t i = 0; i < chain_.size(); ++i) {
    if (i > 0) {
      ISOEXEC_ASSIGN_OR_RETURN(bool created, MakeCgroupDir(chain_[i]));
      if (created) created_.push_back(chain_[i]);
    }
    ISOEXEC_TRY(EnableControllers(chain_[i]));
  }
  ISOEXEC_ASSIGN_OR_RETURN(bool created, MakeCgroupDir(scope_));
  if (created) created_.push_back(scope_);
  // A scope left frozen by an interrupted KillAll would freeze the new task at birth.
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> frozen,
                           ReadOptionalControl(scope_, "cgroup.freeze"));
  if (frozen && *frozen != "0") ISOEXEC_TRY(WriteControl(scope_, "cgroup.freeze", "0"));
  return OpenDirFd();
}

void CgroupV2::RollBack() {
  dir_fd_.reset();
  // Our own cgroup goes with whatever is in it; a parent we created may meanwhile hold another
  // task's cgroup (a concurrent first launch under the same --cgroup-parent): only if empty.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    if (*it == scope_) (void)RemoveCgroupTree(*it, std::chrono::milliseconds(200));
    else (void)RemoveIfEmpty(*it);
  }
  created_.clear();
}

Status CgroupV2::OpenExisting() { return OpenDirFd(); }

Result<std::set<std::string>> CgroupV2::Available() const {
  ISOEXEC_ASSIGN_OR_RETURN(std::string text, ReadControl(scope_, "cgroup.controllers"));
  std::set<std::string> out;
  for (std::string& c : SplitWords(text)) out.insert(std::move(c));
  return out;
}

Error CgroupV2::Missing(std::string_view controller, std::string_view limit) const {
  for (const std::string& dir : chain_) {
    Result<std::string> offered = ReadControl(dir, "cgroup.controllers");
    if (offered && !Contains(SplitWords(*offered), controller))
      return MissingController(
          limit, controller,
          fmt::format("in `{}` (cgroup.controllers): it must be delegated to this subtree, e.g. "
                      "systemd Delegate=yes, or choose another --cgroup-parent",
                      dir));
  }
  return MissingController(limit, controller, fmt::format("in `{}` (cgroup.controllers)", scope_));
}

Status CgroupV2::AddProcess(pid_t pid) {
  return WriteControl(scope_, "cgroup.procs", std::to_string(pid));
}

Result<std::vector<pid_t>> CgroupV2::Pids() const {
  Result<std::vector<pid_t>> pids = ReadProcsRecursive(scope_);
  if (!pids && pids.error().sys_errno() == ENOENT) return std::vector<pid_t>();
  return pids;
}

Status CgroupV2::KillAll() { return KillAllWithin(kKillTimeout, KillMethod::kBest); }

Status CgroupV2::KillAllWithin(std::chrono::milliseconds timeout, KillMethod method) {
  PidLister list = [this] { return Pids(); };
  // cgroup.kill (Linux 5.14+) kills every member, including children forked meanwhile.
  if (method == KillMethod::kBest && PathExists(JoinPath(scope_, "cgroup.kill"))) {
    ISOEXEC_TRY(WriteControl(scope_, "cgroup.kill", "1"));
    return WaitUntilEmpty(list, timeout, scope_);
  }
  if (!PathExists(JoinPath(scope_, "cgroup.freeze")))  // before Linux 5.2
    return FreezeAndKill(list, nullptr, timeout, scope_);
  const std::string dir = scope_;
  Freezer freezer{
      .freeze = [dir] { return WriteControl(dir, "cgroup.freeze", "1"); },
      .frozen = [dir]() -> Result<bool> {
        ISOEXEC_ASSIGN_OR_RETURN(std::string events, ReadControl(dir, "cgroup.events"));
        return ParseCgroupEvents(events).frozen.value_or(0) == 1;
      },
      .thaw = [dir] { return WriteControl(dir, "cgroup.freeze", "0"); },
  };
  return FreezeAndKill(list, &freezer, timeout, scope_);
}

Result<bool> CgroupV2::OomKilled() const {
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> events,
                           ReadOptionalControl(scope_, "memory.events"));
  // No memory controller: no limit, so no verdict.
  if (!events) return false;
  // "oom" only counts hitting the limit; "oom_kill" is the OOM killer actually killing.
  return ParseMemoryEvents(*events).oom_kill.value_or(0) > 0;
}

Status CgroupV2::Destroy() {
  // Usually nothing is left (the task's PID namespace died with its init): one rmdir.
  if (RemoveIfEmpty(scope_)) {
    dir_fd_.reset();
    return Ok();
  }
  ISOEXEC_ASSIGN_OR_RETURN(std::vector<pid_t> pids, Pids());
  if (!pids.empty()) ISOEXEC_TRY(KillAll());
  ISOEXEC_TRY(RemoveCgroupTree(scope_, std::chrono::milliseconds(1000)));
  dir_fd_.reset();
  return Ok();
}

}  // namespace isoexec::cgroup
