// cgroup v1 backend: one directory per controller hierarchy, <mount>/<parent>/<id>
// (co-mounted controllers such as "cpu,cpuacct" share one). See cgroups(7) and the kernel's
// Documentation/admin-guide/cgroup-v1/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup/backend.h"

namespace isoexec::cgroup {

struct ControlWrite {
  std::string file;
  std::string value;
  bool operator==(const ControlWrite&) const = default;
};

// The hard limit writes in an order the kernel accepts: memory.memsw.limit_in_bytes (when the
// file exists, i.e. `current_memsw` is set) must stay >= memory.limit_in_bytes at every
// step, so raising writes memsw first and lowering writes the limit first. memsw is set to the
// same value as the limit, so swap cannot extend the limit. nullopt `hard` = unlimited (-1).
std::vector<ControlWrite> PlanV1MemoryLimit(std::optional<uint64_t> hard,
                                            std::optional<uint64_t> current_memsw);

class CgroupV1 final : public CgroupBackend {
 public:
  CgroupV1(const Layout& layout, const Options& options);

  Version version() const override { return Version::kV1; }
  std::string path() const override;
  std::vector<std::string> dirs() const override;
  Status Apply(const Limits& limits) override;
  Status AddProcess(pid_t pid) override;
  int CloneIntoFd() const override { return -1; }
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
  struct Dir {
    std::string mount;                     // the hierarchy's mount point
    std::string path;                      // <mount>/<parent>/<id>
    std::vector<std::string> controllers;  // those of ours mounted there
  };

  // nullptr when the controller is not mounted (or its directory is gone, after Open).
  const Dir* DirFor(std::string_view controller) const;
  // A new cpuset cgroup starts with empty cpuset.cpus/mems, and no task can join it until
  // they are set: copy them from the parent.
  Status InitCpuset(const std::string& parent, const std::string& dir) const;

  Status ApplyMemory(const Limits& limits);
  Status ApplyCpu(const Limits& limits);
  Status ApplyCpuset(const Limits& limits);
  Status ApplyPids(const Limits& limits);
  Status ApplyDevices(const Limits& limits);

  Options options_;
  std::vector<Dir> dirs_;
  std::vector<std::string> created_;  // by MakeDirs, in creation order (parents first)
};

}  // namespace isoexec::cgroup
