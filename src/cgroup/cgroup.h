// One cgroup interface for a task, with thin v1 and v2 backends (cgroup/v1, cgroup/v2).
// Every task gets its own cgroup, limits or not: it is how we find, measure and kill every
// process of the task. The supervisor itself never joins it (Nomad #4491).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "spec/task_spec.h"

namespace isoexec::cgroup {

enum class Version { kV1, kV2 };

// Where each controller lives. Hybrid hosts (v1 controllers + an almost empty cgroup2 at
// /sys/fs/cgroup/unified) are common; so are pure v1 and pure v2.
struct Layout {
  std::string v2_mount;                              // "" when no cgroup2 is mounted
  std::set<std::string> v2_controllers;              // from <v2_mount>/cgroup.controllers
  std::map<std::string, std::string> v1_mounts;      // controller -> mount dir
  bool pure_v2() const { return !v2_mount.empty() && v1_mounts.empty(); }
  // The backend used for task cgroups: v2 when the memory/cpu/pids controllers are on cgroup2
  // (pure v2), v1 otherwise.
  Version version() const;
};

// Reads /proc/self/mountinfo (or `mountinfo_text` for tests) and the v2 controllers file.
Result<Layout> DetectLayout();
Result<Layout> ParseLayout(const std::string& mountinfo_text, const std::string& fs_prefix = "");

struct DeviceRule {
  char type = 'a';        // 'c', 'b' or 'a' (all)
  int64_t major = -1;     // -1 = '*'
  int64_t minor = -1;
  std::string access = "rwm";
};

// The one resource model both backends apply (Nomad's rules live in FromResources).
struct Limits {
  std::optional<uint64_t> memory_hard;  // bytes; nullopt = no hard limit ("max")
  std::optional<uint64_t> memory_soft;  // bytes; reservation
  std::optional<uint64_t> cpu_shares;   // 2..262144 (v2: converted with SharesToWeight)
  std::optional<std::string> cpuset_cpus;
  std::optional<int64_t> pids_max;
  std::optional<std::vector<DeviceRule>> devices;  // allow-list; nullopt = do not touch
};

// Nomad memory rules: memory only -> hard; memory + memory_max -> hard=max, soft=memory;
// memory_max unlimited -> no hard, soft=memory.
Limits FromResources(const spec::Resources& r);
// Quadratic fit used by crun and current Nomad: 2->1, 1024->100, 262144->10000.
uint64_t SharesToWeight(uint64_t shares);

// Raw counters; stats/ turns them into samples (percentages need two readings).
struct RawStats {
  uint64_t rss = 0, cache = 0, swap = 0, mapped_file = 0, usage = 0, max_usage = 0,
           kernel_usage = 0, kernel_max_usage = 0, limit = 0;
  uint64_t cpu_user_ns = 0, cpu_system_ns = 0, cpu_total_ns = 0;
  uint64_t throttled_periods = 0, throttled_ns = 0;
  std::vector<std::string> memory_measured;  // names like "rss", "cache", "max_usage"
  std::vector<std::string> cpu_measured;
  bool max_usage_is_peak_file = false;       // v2 without memory.peak: caller tracks the max
};

struct Options {
  std::string parent = "isoexec";  // --cgroup-parent
  std::string id;                  // task id
};

class Cgroup {
 public:
  virtual ~Cgroup() = default;
  virtual Version version() const = 0;
  // The path users see: v2 scope dir, or the v1 memory (else first) controller dir.
  virtual std::string path() const = 0;
  // For /proc/self/cgroup-style display and checks: every dir this cgroup owns.
  virtual std::vector<std::string> dirs() const = 0;

  virtual Status Apply(const Limits& limits) = 0;  // create-time and live update
  virtual Status AddProcess(pid_t pid) = 0;         // v1 join (before the child is released)
  virtual int CloneIntoFd() const = 0;              // v2: dir fd for CLONE_INTO_CGROUP, else -1
  virtual Result<std::vector<pid_t>> Pids() const = 0;  // every process, recursive
  virtual Status KillAll() = 0;                     // v2 cgroup.kill | freeze, kill, thaw
  virtual Result<bool> OomKilled() const = 0;       // memory.events / memory.oom_control
  virtual Result<RawStats> ReadStats() const = 0;
  // Kill stragglers and remove the directories. Idempotent; a missing dir is success.
  virtual Status Destroy() = 0;
};

// Creates the task's cgroup (enabling controllers in the parents on v2), kills processes that
// already sit in it (Nomad #20500), and applies `limits`.
Result<std::unique_ptr<Cgroup>> Create(const Layout& layout, const Options& options,
                                       const Limits& limits);
// Opens an existing task cgroup (later verbs: update, stats, delete --force).
Result<std::unique_ptr<Cgroup>> Open(const Layout& layout, const Options& options);

}  // namespace isoexec::cgroup
