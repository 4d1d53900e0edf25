// RawStats on cgroup v2: memory.stat/current/swap.current/peak/max and cpu.stat (the core
// cpu.stat fields exist without the cpu controller, so CPU usage works on hybrid hosts too).
#include <fmt/format.h>

#include "cgroup/fs.h"
#include "cgroup/parsers.h"
#include "cgroup/v2/cgroup_v2.h"

namespace isoexec::cgroup {

Result<RawStats> CgroupV2::ReadStats() const {
  if (!PathExists(scope_))
    return Fail(Error::Make(Code::kNotFound, fmt::format("cgroup `{}` does not exist", scope_)));
  RawStats s;
  auto& m = s.memory_measured;
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> mstat,
                           ReadOptionalControl(scope_, "memory.stat"));
  if (mstat) {
    MemoryStatV2 ms = ParseMemoryStatV2(*mstat);
    Record(ms.anon, s.rss, m, "rss");
    Record(ms.file, s.cache, m, "cache");
    Record(ms.file_mapped, s.mapped_file, m, "mapped_file");
  }
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<uint64_t> swap,
                           ReadOptionalUint(scope_, "memory.swap.current"));
  Record(swap, s.swap, m, "swap");
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<uint64_t> current,
                           ReadOptionalUint(scope_, "memory.current"));
  Record(current, s.usage, m, "usage");
  if (current) {
    // memory.peak: Linux 5.19+. Without it the caller keeps the max of its samples.
    ISOEXEC_ASSIGN_OR_RETURN(std::optional<uint64_t> peak, ReadOptionalUint(scope_, "memory.peak"));
    s.max_usage_is_peak_file = peak.has_value();
    s.max_usage = peak.value_or(*current);
    m.emplace_back("max_usage");
  }
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> max,
                           ReadOptionalControl(scope_, "memory.max"));
  if (max) {
    s.limit = *max == "max" ? 0 : ParseUint(*max).value_or(0);
    m.emplace_back("limit");
  }

  ISOEXEC_ASSIGN_OR_RETURN(std::optional<std::string> cstat,
                           ReadOptionalControl(scope_, "cpu.stat"));
  if (cstat) {
    CpuStat cs = ParseCpuStat(*cstat);
    auto& c = s.cpu_measured;
    Record(cs.user_ns, s.cpu_user_ns, c, "cpu_user_ns");
    Record(cs.system_ns, s.cpu_system_ns, c, "cpu_system_ns");
    Record(cs.usage_ns, s.cpu_total_ns, c, "cpu_total_ns");
    Record(cs.nr_throttled, s.throttled_periods, c, "throttled_periods");
    Record(cs.throttled_ns, s.throttled_ns, c, "throttled_ns");
  }
  return s;
}

}  // namespace isoexec::cgroup
