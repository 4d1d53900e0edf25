// What the v1 and v2 backends share beyond the public Cgroup interface: the steps Create()
// and Open() drive (create.cc), and small helpers both use.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup/cgroup.h"

namespace isoexec::cgroup {

enum class KillMethod {
  kBest,    // v2: cgroup.kill when the kernel has it (5.14+), else freeze + kill + thaw
  kFreeze,  // always freeze + kill + thaw (tests the fallback on new kernels)
};

class CgroupBackend : public Cgroup {
 public:
  // Creates the parents and the task directories, remembering which ones it created.
  virtual Status MakeDirs() = 0;
  // Removes the directories MakeDirs created (Create failed); best effort.
  virtual void RollBack() = 0;
  // Open(): the task directories must exist (NotFound otherwise).
  virtual Status OpenExisting() = 0;
  virtual Status KillAllWithin(std::chrono::milliseconds timeout, KillMethod method) = 0;
};

std::unique_ptr<CgroupBackend> NewCgroupV1(const Layout& layout, const Options& options);
std::unique_ptr<CgroupBackend> NewCgroupV2(const Layout& layout, const Options& options);

// A limit was asked for but its controller is not there; `where` says where we looked.
Error MissingController(std::string_view limit, std::string_view controller,
                        std::string_view where);

// pids.max value: the number, or "max".
std::string PidsMaxValue(std::optional<int64_t> pids_max);

// Sets `field` and lists `name` in `measured` when `value` was read.
void Record(std::optional<uint64_t> value, uint64_t& field, std::vector<std::string>& measured,
            const char* name);

// "No limit" normalisation: v1 reports "unlimited" as the page
// counter maximum (9223372036854771712 with 4 KiB pages); RawStats uses 0.
uint64_t NormalizeLimit(uint64_t limit);

// cpuset.cpus was refused (EINVAL/ERANGE): says which CPUs `parent`/`allowed_file` offers.
Error CpusetError(Error e, const std::string& parent, std::string_view allowed_file);

}  // namespace isoexec::cgroup
