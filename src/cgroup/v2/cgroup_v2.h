// cgroup v2 backend: one directory, <mount>/<parent>.slice/<id>.scope, with the controllers
// enabled top-down through cgroup.subtree_control. See the kernel's
// Documentation/admin-guide/cgroup-v2.rst.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "cgroup/backend.h"

namespace isoexec::cgroup {

class CgroupV2 final : public CgroupBackend {
 public:
  CgroupV2(const Layout& layout, const Options& options);

  Version version() const override { return Version::kV2; }
  std::string path() const override { return scope_; }
  std::vector<std::string> dirs() const override { return {scope_}; }
  Status Apply(const Limits& limits) override;
  Status AddProcess(pid_t pid) override;
  int CloneIntoFd() const override { return dir_fd_.get(); }
  Result<std::vector<pid_t>> Pids() const override;
  Status KillAll() override;
  Result<bool> OomKilled() const override;
  Result<RawStats> ReadStats() const override;
  Status Destroy() override;

  Status MakeDirs() override;
  void RollBack() override;
  Status OpenExisting() override;
  Status KillAllWithin(std::chrono::milliseconds timeout, KillMethod method) override;

 private:
  // Enables the controllers we use that `dir` offers (cgroup.controllers) for its children.
  Status EnableControllers(const std::string& dir) const;
  Status OpenDirFd();
  // Controllers the scope can use (its cgroup.controllers).
  Result<std::set<std::string>> Available() const;
  // Names the first directory from the root down where `controller` stops being offered.
  Error Missing(std::string_view controller, std::string_view limit) const;

  Status ApplyMemory(const Limits& limits);

  std::vector<std::string> chain_;  // the mount, then each parent dir
  std::string scope_;
  std::vector<std::string> created_;  // by MakeDirs, parents first
  UniqueFd dir_fd_;                   // the scope: CLONE_INTO_CGROUP and bpf attach
};

}  // namespace isoexec::cgroup
