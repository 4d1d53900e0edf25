// The pure part of sampling: two raw readings (cgroup counters + per-process /proc counters)
// and their timestamps in, one Sample out. No I/O, so every rule is unit-tested.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "cgroup/cgroup.h"
#include "stats/sample.h"

namespace isoexec::stats {

// One process as read from /proc/<pid>/stat (+ status for swap).
struct ProcRaw {
  uint64_t user_ns = 0, system_ns = 0;  // utime / stime (USER_HZ ticks, converted)
  uint64_t start_ticks = 0;             // starttime: tells a reused pid from the same process
  uint64_t rss_bytes = 0, swap_bytes = 0;
  bool operator==(const ProcRaw&) const = default;
};

// Everything read at one instant.
struct Reading {
  cgroup::Version version = cgroup::Version::kV1;
  cgroup::RawStats cgroup;
  std::map<pid_t, ProcRaw> procs;
  int64_t mono_ns = 0;  // CLOCK_MONOTONIC: the deltas (immune to wall-clock steps)
  int64_t wall_ns = 0;  // CLOCK_REALTIME: the sample's timestamp
};

// The host's CPU capacity, for total_ticks and the percentage ceiling.
struct HostCpu {
  int cores = 0;         // online CPUs; 0 = unknown (no ceiling)
  double total_mhz = 0;  // summed over the online CPUs; 0 = unknown (no total_ticks)
};

// `prev` is the previous reading of the same task (nullptr for the first sample: every rate
// is 0). `max_usage_seen` is the highest usage_bytes of the earlier samples (for
// "max_usage_observed"). Rules:
// - percent = Δcpu_ns / Δwall_ns x 100, cpu_ns = cpu_total_ns, or user + system when the total
//   is not measured; user_percent / system_percent likewise from user / system ns.
// - A counter that went backwards (cgroup recreated, counter reset) or Δwall <= 0 gives 0.
// - Every percentage is clamped to [0, 100 x host.cores] (when cores is known): counters and
//   clocks are not read atomically, so a short interval can overshoot (Nomad #3228, #25594).
// - A process counts from the second time it is seen with the same start time (a reused pid
//   is a new process).
Sample Compute(const std::string& id, const Reading* prev, const Reading& cur, const HostCpu& host,
               uint64_t max_usage_seen);

}  // namespace isoexec::stats
