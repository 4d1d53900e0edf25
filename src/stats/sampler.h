// Sampler: successive Samples of one task's cgroup, and Stream: a sample now, then one per
// interval. What a sample costs: the cgroup's ReadStats(), one read of cgroup.procs through a
// directory fd kept open (the recursive walk of Cgroup::Pids() only when the task made child
// cgroups), and per process one pread of /proc/<pid>/stat on a kept fd, plus
// /proc/<pid>/status only while the cgroup reports swap in use. /proc is never scanned.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "stats/compute.h"
#include "stats/proc.h"
#include "stats/sample.h"

namespace isoexec::stats {

class Sampler {
 public:
  // `cg` must outlive the Sampler (runtime::Container::Destroy() frees its Cgroup: drop or
  // stop using samplers first); `id` is the sample's "id". Not thread-safe.
  explicit Sampler(cgroup::Cgroup* cg, std::string id);
  Sampler(Sampler&&) = default;
  Sampler& operator=(Sampler&&) = default;

  // The first call has every percentage 0; later ones are rates since the previous call.
  // Errors: the cgroup's (kNotFound once it is gone).
  Result<Sample> Next();

  const std::string& id() const { return id_; }

 private:
  Result<std::vector<pid_t>> TaskPids();

  cgroup::Cgroup* cg_;
  std::string id_;
  HostCpu host_;
  ProcReader procs_;
  std::optional<Reading> prev_;
  uint64_t max_usage_seen_ = 0;
  UniqueFd cgroup_dir_;  // cg_->path(), for cgroup.procs
  std::string procs_buf_;
};

// Samples until the task ends or the consumer says stop: the first sample at once, then one
// every `interval` (<= 0 means 1 s; deadlines do not drift, and a slow consumer skips ticks
// rather than bunching them). `task_alive` is polled at least every 100 ms while waiting,
// so the stream ends promptly with the task. Blocks the calling thread.
// Returns Ok when the task ended or `consumer` returned false; a sampling error while the
// task is still alive is returned (an error after it ended is just the end).
Status Stream(Sampler& sampler, std::chrono::nanoseconds interval,
              const std::function<bool(const Sample&)>& consumer,
              const std::function<bool()>& task_alive);

}  // namespace isoexec::stats
