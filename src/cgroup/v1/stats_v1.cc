// RawStats on cgroup v1: memory (memory.stat, usage, max usage, kmem), cpuacct (USER_HZ
// ticks and ns) and cpu.stat throttling.
#include <unistd.h>

#include <fmt/format.h>

#include "cgroup/fs.h"
#include "cgroup/parsers.h"
#include "cgroup/v1/cgroup_v1.h"

namespace isoexec::cgroup {

namespace {

Status ReadMemory(const std::string& dir, RawStats& s) {
  auto& m = s.memory_measured;
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> stat,
                           ReadOptionalControl(dir, "memory.stat"));
  if (stat) {
    MemoryStatV1 ms = ParseMemoryStatV1(*stat);
    Record(ms.rss, s.rss, m, "rss");
    Record(ms.cache, s.cache, m, "cache");
    Record(ms.swap, s.swap, m, "swap");
    Record(ms.mapped_file, s.mapped_file, m, "mapped_file");
  }
  struct {
    const char* file;
    uint64_t RawStats::*field;
    const char* name;
  } const counters[] = {
      {"memory.usage_in_bytes", &RawStats::usage, "usage"},
      {"memory.max_usage_in_bytes", &RawStats::max_usage, "max_usage"},
      {"memory.kmem.usage_in_bytes", &RawStats::kernel_usage, "kernel_usage"},
      {"memory.kmem.max_usage_in_bytes", &RawStats::kernel_max_usage, "kernel_max_usage"},
      {"memory.limit_in_bytes", &RawStats::limit, "limit"},
  };
  for (const auto& c : counters) {
    ISOEXEC_ASSIGN_OR_RETURN(std::optional<uint64_t> v, ReadOptionalUint(dir, c.file));
    Record(v, s.*c.field, m, c.name);
  }
  s.limit = NormalizeLimit(s.limit);
  return Ok();
}

Status ReadCpuacct(const std::string& dir, RawStats& s) {
  auto& m = s.cpu_measured;
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> stat,
                           ReadOptionalControl(dir, "cpuacct.stat"));
  if (stat) {
    CpuacctStat cs = ParseCpuacctStat(*stat);
    long hz = ::sysconf(_SC_CLK_TCK);
    auto to_ns = [&](std::optional<uint64_t> ticks) -> std::optional<uint64_t> {
      if (!ticks || hz <= 0) return std::nullopt;
      return TicksToNs(*ticks, static_cast<uint64_t>(hz));
    };
    Record(to_ns(cs.user_ticks), s.cpu_user_ns, m, "cpu_user_ns");
    Record(to_ns(cs.system_ticks), s.cpu_system_ns, m, "cpu_system_ns");
  }
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<uint64_t> total, ReadOptionalUint(dir, "cpuacct.usage"));
  Record(total, s.cpu_total_ns, m, "cpu_total_ns");
  return Ok();
}

Status ReadCpu(const std::string& dir, RawStats& s) {
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> stat, ReadOptionalControl(dir, "cpu.stat"));
  if (!stat) return Ok();
  CpuStat cs = ParseCpuStat(*stat);
  Record(cs.nr_throttled, s.throttled_periods, s.cpu_measured, "throttled_periods");
  Record(cs.throttled_ns, s.throttled_ns, s.cpu_measured, "throttled_ns");
  return Ok();
}

}  // namespace

Result<RawStats> CgroupV1::ReadStats() const {
  if (dirs_.empty() || !PathExists(path()))
    return Fail(Error::Make(Code::kNotFound, fmt::format("cgroup `{}` does not exist", path())));
  RawStats s;
  if (const Dir* d = DirFor("memory")) ISOEXEC_TRY(ReadMemory(d->path, s));
  if (const Dir* d = DirFor("cpuacct")) ISOEXEC_TRY(ReadCpuacct(d->path, s));
  if (const Dir* d = DirFor("cpu")) ISOEXEC_TRY(ReadCpu(d->path, s));
  return s;
}

}  // namespace isoexec::cgroup
