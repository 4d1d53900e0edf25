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
#include <string_view>
#include <vector>

#include "base/result.h"
#include "spec/task_spec.h"

namespace isoexec::cgroup {

enum class Version { kV1, kV2 };

// Where each controller lives. Hybrid hosts (v1 controllers + an almost empty cgroup2 at
// /sys/fs/cgroup/unified) are common; so are pure v1 and pure v2.
struct Layout {
  std::string v2_mount;                          // "" when no cgroup2 is mounted
  std::set<std::string> v2_controllers;          // from <v2_mount>/cgroup.controllers
  std::map<std::string, std::string> v1_mounts;  // controller -> mount dir
  bool pure_v2() const { return !v2_mount.empty() && v1_mounts.empty(); }
  // The backend used for task cgroups: v2 when cgroup2 is mounted and none of memory/cpu/pids
  // is bound to a v1 hierarchy (pure v2, possibly with leftovers like net_cls); v1 otherwise
  // (pure v1 and hybrid).
  Version version() const;
};

// Reads /proc/self/mountinfo (or `mountinfo_text` for tests) and the v2 controllers file.
Result<Layout> DetectLayout();
Result<Layout> ParseLayout(const std::string& mountinfo_text, const std::string& fs_prefix = "");

struct DeviceRule {
  char type = 'a';     // 'c', 'b' or 'a' (all)
  int64_t major = -1;  // -1 = '*'
  int64_t minor = -1;
  std::string access = "rwm";
  bool operator==(const DeviceRule&) const = default;
};

// The allow-list every task gets (the launcher appends the spec's --device nodes):
// null, zero, full, random, urandom, tty, ptmx and every pts, all "rwm". There is deliberately
// no blanket mknod rule (runc's `c *:* m` / `b *:* m`): a task must not create device nodes
// it was not given.
std::vector<DeviceRule> DefaultDeviceRules();
// "c 1:3 rwm", "b 8:* r", "a": the v1 devices.allow syntax, also used in messages.
std::string FormatDeviceRule(const DeviceRule& rule);
// Type 'a'/'b'/'c', major/minor -1 or 0..2^31-1, access a non-empty subset of "rwm".
// `field` names the list in the error ("devices").
Status ValidateDeviceRules(const std::vector<DeviceRule>& rules, std::string_view field);

// The one resource model both backends apply (Nomad's rules live in FromResources).
// Apply() sets the whole state, so a live update with a field left unset resets it to the
// kernel default (no limit) -- except cpuset_cpus and devices, where unset means "leave as is".
// An unset field whose controller is missing is skipped; a set one is an error naming the
// controller.
struct Limits {
  std::optional<uint64_t> memory_hard;  // bytes; nullopt = no hard limit ("max")
  std::optional<uint64_t> memory_soft;  // bytes; reservation; nullopt = none
  // 2..262144 (v2: converted with SharesToWeight); nullopt = the default (1024 / weight 100)
  std::optional<uint64_t> cpu_shares;
  std::optional<std::string> cpuset_cpus;          // nullopt = inherit / leave
  std::optional<int64_t> pids_max;                 // nullopt = "max"
  std::optional<std::vector<DeviceRule>> devices;  // allow-list; nullopt = do not touch
};

// cpu_shares 2..262144, pids_max >= 1, memory_hard >= 1 and >= memory_soft, device rules
// (ValidateDeviceRules). Create and Apply call it; the launcher may call it earlier.
Status ValidateLimits(const Limits& limits);

// Nomad memory rules: memory only -> hard; memory + memory_max -> hard=max, soft=memory;
// memory_max unlimited -> no hard, soft=memory.
Limits FromResources(const spec::Resources& r);
// Quadratic fit used by crun and current Nomad: 2->1, 1024->100, 262144->10000.
uint64_t SharesToWeight(uint64_t shares);

// Raw counters; stats/ turns them into samples (percentages need two readings).
struct RawStats {
  // limit: the hard memory limit in bytes, 0 when there is none.
  uint64_t rss = 0, cache = 0, swap = 0, mapped_file = 0, usage = 0, max_usage = 0,
           kernel_usage = 0, kernel_max_usage = 0, limit = 0;
  uint64_t cpu_user_ns = 0, cpu_system_ns = 0, cpu_total_ns = 0;
  uint64_t throttled_periods = 0, throttled_ns = 0;
  // Exactly the fields really read, named like the members: "rss", "cache", "swap",
  // "mapped_file", "usage", "max_usage", "kernel_usage", "kernel_max_usage", "limit";
  // "cpu_user_ns", "cpu_system_ns", "cpu_total_ns", "throttled_periods", "throttled_ns".
  std::vector<std::string> memory_measured;
  std::vector<std::string> cpu_measured;
  bool max_usage_is_peak_file = false;  // v2 without memory.peak: caller tracks the max
};

// v1: <mount>/<parent>/<id> in every controller used. v2: <mount>/<parent>.slice/<id>.scope
// (".slice" is not doubled when `parent` already ends with it). `parent` may be nested
// ("nomad/share"); it must be relative without "." or ".." components; `id` is one component.
struct Options {
  std::string parent = "isoexec";  // --cgroup-parent
  std::string id;                  // task id
};

// Lifetime: destroying a Cgroup object never touches the kernel state (the task may outlive
// this process, e.g. `isoexec run -d`); call Destroy() explicitly, or hold a DestroyGuard.
//
// Launcher call order:
//   v2: Create -> clone3(CLONE_INTO_CGROUP, CloneIntoFd()) -> ... -> wait -> OomKilled ->
//       Destroy.  Without clone3 (CloneIntoFd() unused): AddProcess(pid) before releasing
//       the child, as on v1.
//   v1: Create -> clone -> AddProcess(pid) while the child waits on the sync socket ->
//       release -> ... -> wait -> OomKilled -> Destroy.
// The supervisor itself never joins the task cgroup.
class Cgroup {
 public:
  virtual ~Cgroup() = default;
  virtual Version version() const = 0;
  // The path users see: v2 scope dir, or the v1 memory (else first) controller dir.
  virtual std::string path() const = 0;
  // For /proc/self/cgroup-style display and checks: every dir this cgroup owns.
  virtual std::vector<std::string> dirs() const = 0;

  virtual Status Apply(const Limits& limits) = 0;       // create-time and live update
  virtual Status AddProcess(pid_t pid) = 0;             // v1 join (before the child is released)
  virtual int CloneIntoFd() const = 0;                  // v2: dir fd for CLONE_INTO_CGROUP, else -1
  virtual Result<std::vector<pid_t>> Pids() const = 0;  // every process, recursive
  // SIGKILLs every process, forking or not, and waits (bounded) until none is left.
  virtual Status KillAll() = 0;  // v2 cgroup.kill | freeze, kill, thaw
  // Whether the kernel OOM killer killed a process of this cgroup. Stays readable after the
  // task ended, until Destroy. False when there is no memory controller.
  virtual Result<bool> OomKilled() const = 0;  // memory.events / memory.oom_control
  virtual Result<RawStats> ReadStats() const = 0;
  // Kill stragglers and remove the directories. Idempotent; a missing dir is success.
  // Parents (--cgroup-parent) are shared with other tasks and are never removed.
  virtual Status Destroy() = 0;
};

// Calls Destroy() when it goes out of scope unless Release()d (errors are dropped: use
// Destroy() directly where they matter).
class DestroyGuard {
 public:
  explicit DestroyGuard(Cgroup* cgroup) : cgroup_(cgroup) {}
  DestroyGuard(const DestroyGuard&) = delete;
  DestroyGuard& operator=(const DestroyGuard&) = delete;
  ~DestroyGuard() {
    if (cgroup_) (void)cgroup_->Destroy();
  }
  void Release() { cgroup_ = nullptr; }

 private:
  Cgroup* cgroup_;
};

// Creates the task's cgroup (enabling controllers in the parents on v2), kills processes that
// already sit in it (Nomad #20500), and applies `limits`.
Result<std::unique_ptr<Cgroup>> Create(const Layout& layout, const Options& options,
                                       const Limits& limits);
// Opens an existing task cgroup (later verbs: update, stats, delete --force).
Result<std::unique_ptr<Cgroup>> Open(const Layout& layout, const Options& options);

}  // namespace isoexec::cgroup
