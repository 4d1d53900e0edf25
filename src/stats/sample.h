// One resource sample of a task (Nomad's TaskResourceUsage) and its JSON form, the contract of
// `isoexec stats --json`, `run --stats-file` and the executor (docs: /work/shared/spec/cli.md,
// "Stats sample").
//
// Conventions:
// - Sizes in bytes, CPU times in ns, percentages host-relative like Nomad: 100 = one core
//   fully busy, so a task can show up to 100 x online CPUs (#3425: not relative to the
//   reservation). Percentages and total_ticks are rounded to 0.001.
// - A field the host's cgroup version cannot measure is 0 and absent from `measured`.
// - memory.measured names: "rss", "cache", "swap", "mapped_file", "usage", "max_usage",
//   "kernel_usage", "kernel_max_usage", "limit". max_usage_bytes is the kernel's peak counter
//   (v1 memory.max_usage_in_bytes, v2 memory.peak) and listed as "max_usage"; on cgroup v2
//   without memory.peak (Linux < 5.19) it is the highest usage this Sampler has seen, which
//   can be below the true peak, and is listed as "max_usage_observed" instead.
//   limit_bytes 0 with "limit" measured means: no limit.
// - cpu.measured names: "percent", "user_percent", "system_percent", "user_ns", "system_ns",
//   "throttled_periods", "throttled_ns", "total_ticks". The first sample has every percentage
//   (and total_ticks) 0, still listed as measured: it is a rate and needs two readings.
// - total_ticks = percent / 100 x host MHz per core (Nomad's TotalTicks: MHz consumed).
// - pids: every process of the task cgroup (host pids, thread group leaders). With a private
//   PID namespace this includes isoexec's init.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace isoexec::stats {

struct MemoryStats {
  uint64_t rss_bytes = 0, cache_bytes = 0, swap_bytes = 0, mapped_file_bytes = 0, usage_bytes = 0,
           max_usage_bytes = 0, kernel_usage_bytes = 0, kernel_max_usage_bytes = 0, limit_bytes = 0;
  std::vector<std::string> measured;
  bool operator==(const MemoryStats&) const = default;
};

struct CpuStats {
  double percent = 0, user_percent = 0, system_percent = 0;
  uint64_t user_ns = 0, system_ns = 0, throttled_periods = 0, throttled_ns = 0;
  double total_ticks = 0;
  std::vector<std::string> measured;
  bool operator==(const CpuStats&) const = default;
};

// One process: RSS (resident anon + file + shmem, like ps), swap, and its CPU share since the
// previous sample (0 the first time the process is seen).
struct ProcessStats {
  uint64_t rss_bytes = 0, swap_bytes = 0;
  double cpu_percent = 0, user_percent = 0, system_percent = 0;
  bool operator==(const ProcessStats&) const = default;
};

struct Sample {
  std::string id;
  int64_t timestamp_ns = 0;  // CLOCK_REALTIME, ns since the epoch
  MemoryStats memory;
  CpuStats cpu;
  std::map<pid_t, ProcessStats> pids;
  bool operator==(const Sample&) const = default;
};

// The JSON object of cli.md's schema on one line, without a trailing newline.
std::string SampleJson(const Sample& sample);
// The inverse: ParseSampleJson(SampleJson(s)) == s. "id", "timestamp_ns", "memory", "cpu"
// and "pids" are required; inside them a missing number or "measured" reads as 0 / empty
// (newer writers may add fields, older ones may lack some); unknown keys are ignored. A
// value of the wrong type is an error naming its path, e.g. "memory.rss_bytes".
Result<Sample> ParseSampleJson(std::string_view json);

// Whether `measured` lists `name`.
bool Measured(const std::vector<std::string>& measured, std::string_view name);

}  // namespace isoexec::stats
