#include "stats/compute.h"

#include <algorithm>
#include <cmath>

namespace isoexec::stats {

namespace {

bool Has(const std::vector<std::string>& v, std::string_view name) { return Measured(v, name); }

// 0.001 steps: the shortest decimal form of the result round-trips through JSON exactly.
double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

struct Rate {
  int64_t dwall_ns = 0;
  double ceiling = 0;  // 0 = none
  double Percent(uint64_t prev, uint64_t cur) const {
    if (dwall_ns <= 0 || cur < prev) return 0;
    double p = static_cast<double>(cur - prev) / static_cast<double>(dwall_ns) * 100.0;
    if (ceiling > 0) p = std::min(p, ceiling);
    return Round3(p);
  }
};

}  // namespace

Sample Compute(const std::string& id, const Reading* prev, const Reading& cur, const HostCpu& host,
               uint64_t max_usage_seen) {
  Sample s;
  s.id = id;
  s.timestamp_ns = cur.wall_ns;
  const cgroup::RawStats& r = cur.cgroup;

  // Memory: the names of RawStats::memory_measured are already the sample's.
  MemoryStats& m = s.memory;
  const auto& mm = r.memory_measured;
  auto take = [&](const char* name, uint64_t value, uint64_t& field) {
    if (!Has(mm, name)) return;
    field = value;
    m.measured.emplace_back(name);
  };
  take("rss", r.rss, m.rss_bytes);
  take("cache", r.cache, m.cache_bytes);
  take("swap", r.swap, m.swap_bytes);
  take("mapped_file", r.mapped_file, m.mapped_file_bytes);
  take("usage", r.usage, m.usage_bytes);
  if (Has(mm, "max_usage")) {
    // v1's max_usage_in_bytes and v2's memory.peak are kernel peaks; v2 without memory.peak
    // only has what we saw.
    const bool kernel_peak = cur.version == cgroup::Version::kV1 || r.max_usage_is_peak_file;
    if (kernel_peak) {
      m.max_usage_bytes = std::max(r.max_usage, m.usage_bytes);
      m.measured.emplace_back("max_usage");
    } else {
      m.max_usage_bytes = std::max({r.max_usage, m.usage_bytes, max_usage_seen});
      m.measured.emplace_back("max_usage_observed");
    }
  }
  take("kernel_usage", r.kernel_usage, m.kernel_usage_bytes);
  take("kernel_max_usage", r.kernel_max_usage, m.kernel_max_usage_bytes);
  take("limit", r.limit, m.limit_bytes);

  // CPU.
  CpuStats& c = s.cpu;
  const auto& cm = r.cpu_measured;
  const bool have_user = Has(cm, "cpu_user_ns"), have_system = Has(cm, "cpu_system_ns");
  const bool have_total = Has(cm, "cpu_total_ns") || (have_user && have_system);
  auto total_of = [](const cgroup::RawStats& x) {
    return Has(x.cpu_measured, "cpu_total_ns") ? x.cpu_total_ns : x.cpu_user_ns + x.cpu_system_ns;
  };
  if (have_user) c.user_ns = r.cpu_user_ns;
  if (have_system) c.system_ns = r.cpu_system_ns;
  if (Has(cm, "throttled_periods")) c.throttled_periods = r.throttled_periods;
  if (Has(cm, "throttled_ns")) c.throttled_ns = r.throttled_ns;

  Rate rate;
  rate.dwall_ns = prev ? cur.mono_ns - prev->mono_ns : 0;
  rate.ceiling = host.cores > 0 ? 100.0 * host.cores : 0;
  // A reading from another cgroup version (cannot happen within one Sampler) is no baseline.
  const cgroup::RawStats* p = prev && prev->version == cur.version ? &prev->cgroup : nullptr;
  if (p && have_total) c.percent = rate.Percent(total_of(*p), total_of(r));
  if (p && have_user) c.user_percent = rate.Percent(p->cpu_user_ns, r.cpu_user_ns);
  if (p && have_system) c.system_percent = rate.Percent(p->cpu_system_ns, r.cpu_system_ns);
  const bool ticks = have_total && host.total_mhz > 0 && host.cores > 0;
  if (ticks) c.total_ticks = Round3(c.percent / 100.0 * host.total_mhz / host.cores);

  if (have_total) c.measured.emplace_back("percent");
  if (have_user) c.measured.emplace_back("user_percent");
  if (have_system) c.measured.emplace_back("system_percent");
  if (have_user) c.measured.emplace_back("user_ns");
  if (have_system) c.measured.emplace_back("system_ns");
  if (Has(cm, "throttled_periods")) c.measured.emplace_back("throttled_periods");
  if (Has(cm, "throttled_ns")) c.measured.emplace_back("throttled_ns");
  if (ticks) c.measured.emplace_back("total_ticks");

  // Processes.
  for (const auto& [pid, now] : cur.procs) {
    ProcessStats& ps = s.pids[pid];
    ps.rss_bytes = now.rss_bytes;
    ps.swap_bytes = now.swap_bytes;
    if (!prev) continue;
    auto it = prev->procs.find(pid);
    if (it == prev->procs.end() || it->second.start_ticks != now.start_ticks) continue;
    const ProcRaw& before = it->second;
    ps.cpu_percent = rate.Percent(before.user_ns + before.system_ns, now.user_ns + now.system_ns);
    ps.user_percent = rate.Percent(before.user_ns, now.user_ns);
    ps.system_percent = rate.Percent(before.system_ns, now.system_ns);
  }
  return s;
}

}  // namespace isoexec::stats
