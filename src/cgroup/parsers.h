// Pure parsers for cgroup control files (v1 and v2). No I/O: unit-tested on captured text.
// Kernels add keys over time, so unknown keys are ignored and absent ones stay nullopt.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace isoexec::cgroup {

// A plain decimal uint64 (no sign, no spaces); nullopt otherwise.
std::optional<uint64_t> ParseUint(std::string_view text);

// "<key> <uint>" lines (memory.stat, cpu.stat, memory.events, memory.oom_control, ...). Lines
// of another shape are skipped.
std::map<std::string, uint64_t, std::less<>> ParseKeyedCounters(std::string_view text);

// cgroup.procs: one pid per line. `path` is only used in the error.
Result<std::vector<pid_t>> ParseProcs(std::string_view text, std::string_view path);

// v1 memory.stat. The hierarchical total_* keys win over the local ones.
struct MemoryStatV1 {
  std::optional<uint64_t> rss, cache, swap, mapped_file;
};
MemoryStatV1 ParseMemoryStatV1(std::string_view text);

// v2 memory.stat: anon (Nomad's RSS), file (cache), file_mapped.
struct MemoryStatV2 {
  std::optional<uint64_t> anon, file, file_mapped;
};
MemoryStatV2 ParseMemoryStatV2(std::string_view text);

// cpu.stat of either version, in ns: v2 usage_usec/user_usec/system_usec/throttled_usec
// (usec -> ns), v1 (cpu controller) throttled_time (already ns); nr_throttled in both.
struct CpuStat {
  std::optional<uint64_t> usage_ns, user_ns, system_ns, nr_throttled, throttled_ns;
};
CpuStat ParseCpuStat(std::string_view text);

// v1 cpuacct.stat: "user" and "system" in USER_HZ ticks.
struct CpuacctStat {
  std::optional<uint64_t> user_ticks, system_ticks;
};
CpuacctStat ParseCpuacctStat(std::string_view text);
// Ticks of sysconf(_SC_CLK_TCK) Hz to ns, without overflowing for huge tick counts.
uint64_t TicksToNs(uint64_t ticks, uint64_t hz);

// v2 memory.events. `oom` counts limit hits (reclaim may still succeed); `oom_kill` counts
// processes the OOM killer actually killed, which is what "OOM killed" means.
struct MemoryEvents {
  std::optional<uint64_t> oom, oom_kill;
};
MemoryEvents ParseMemoryEvents(std::string_view text);

// v1 memory.oom_control; oom_kill exists since Linux 4.13.
struct OomControl {
  std::optional<uint64_t> oom_kill_disable, under_oom, oom_kill;
};
OomControl ParseOomControl(std::string_view text);

// v2 cgroup.events: populated / frozen.
struct CgroupEvents {
  std::optional<uint64_t> populated, frozen;
};
CgroupEvents ParseCgroupEvents(std::string_view text);

// Space-separated names (cgroup.controllers, cgroup.subtree_control).
std::vector<std::string> SplitWords(std::string_view text);

}  // namespace isoexec::cgroup
