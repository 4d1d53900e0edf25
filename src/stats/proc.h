// Per-process counters from /proc, read cheaply: the pid set comes from the cgroup, and each
// process costs one pread(2) of /proc/<pid>/stat on a descriptor kept open between samples
// (plus /proc/<pid>/status only when the task has swap in use). A kept descriptor stays
// bound to its process: once the process is gone it fails with ESRCH, even if the pid number
// was reused, so a new process is never mistaken for the old one.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/unique_fd.h"
#include "stats/compute.h"

namespace isoexec::stats {

// /proc/<pid>/stat: the fields we use (see proc(5)); the comm field may hold spaces and
// parentheses, so fields are counted after the last ')'.
struct ProcStat {
  uint64_t utime_ticks = 0, stime_ticks = 0, start_ticks = 0;
  uint64_t rss_pages = 0;  // field 24 (negative values read as 0)
};
std::optional<ProcStat> ParseProcStat(std::string_view text);

// /proc/<pid>/status: VmRSS and VmSwap in bytes (nullopt without them: kernel threads).
struct ProcStatusMemory {
  std::optional<uint64_t> rss_bytes, swap_bytes;
};
ProcStatusMemory ParseProcStatusMemory(std::string_view text);

// /proc/cpuinfo: the "cpu MHz" lines summed, and how many there were.
struct CpuinfoMhz {
  double total_mhz = 0;
  int cpus = 0;
};
CpuinfoMhz ParseCpuinfoMhz(std::string_view text);
// A kernel CPU list ("0-3,8,10-11\n") to CPU numbers; nullopt when malformed.
std::optional<std::vector<int>> ParseCpuList(std::string_view text);

// The host's CPU capacity, read once per process and cached: online CPUs
// (sysconf(_SC_NPROCESSORS_ONLN)) and their summed MHz, like Nomad's TotalCompute: the sum of
// /sys/devices/system/cpu/cpuN/cpufreq/cpuinfo_max_freq over the online CPUs when every one
// has it, else the sum of /proc/cpuinfo's "cpu MHz" (the current clock; VMs usually have no
// cpufreq), else 0 (then total_ticks is not measured).
const HostCpu& HostCpuInfo();
// The same from explicit roots (tests): `sys_cpu` = /sys/devices/system/cpu, `cpuinfo` the
// text of /proc/cpuinfo.
HostCpu DetectHostCpu(const std::string& sys_cpu, std::string_view cpuinfo, int online_cpus);

// MemTotal of /proc/meminfo in bytes, 0 when unknown (the table's limit for unlimited tasks).
uint64_t HostMemoryBytes();

// Reads ProcRaw for a set of pids, keeping /proc/<pid>/stat (and status) open between calls.
// Not thread-safe.
class ProcReader {
 public:
  // Descriptors are kept open within two bounds: `max_open_fds` for this reader, and a
  // process-wide budget shared by every ProcReader (ProcessFdBudget(): a quarter of
  // RLIMIT_NOFILE's soft limit, 64..4096, so 256 with the usual 1024), so many concurrent
  // samplers (one per `isoexec stats` client) cannot exhaust the process's descriptors.
  // Processes beyond the bounds are read with open/read/close each time (still correct, about
  // twice the cost).
  explicit ProcReader(std::string proc_root = "/proc", size_t max_open_fds = SIZE_MAX);
  ~ProcReader();
  ProcReader(ProcReader&& other) noexcept;
  ProcReader& operator=(ProcReader&& other) noexcept;
  ProcReader(const ProcReader&) = delete;
  ProcReader& operator=(const ProcReader&) = delete;

  static size_t ProcessFdBudget();
  // Descriptors kept open by every ProcReader of this process.
  static size_t ProcessKeptFds();

  // One entry per pid still alive; processes that vanished meanwhile are left out. Kept
  // descriptors of pids not in `pids` are closed. `want_swap`: also read VmSwap from status
  // (otherwise swap_bytes is 0).
  std::map<pid_t, ProcRaw> Read(const std::vector<pid_t>& pids, bool want_swap);

  size_t open_fds() const { return open_fds_; }

 private:
  struct Entry {
    UniqueFd stat, status;
  };
  enum class Got { kOk, kGone };
  bool CanKeep(size_t n) const;
  void Kept(size_t n);
  void Released(size_t n);
  // Reads `file` of `pid` into buf_ through the kept fd (opening it when needed).
  Got ReadProcFile(pid_t pid, UniqueFd& fd, const char* file, bool keep);

  std::string proc_root_;
  size_t max_open_fds_;
  size_t open_fds_ = 0;
  uint64_t hz_ = 100;
  uint64_t page_size_ = 0;
  std::unordered_map<pid_t, Entry> entries_;
  std::string buf_;
  size_t len_ = 0;
};

}  // namespace isoexec::stats
