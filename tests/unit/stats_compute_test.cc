// stats::Compute: the percent math, first sample, counter resets, measured lists.
#include <gtest/gtest.h>

#include "stats/compute.h"

namespace isoexec::stats {
namespace {

constexpr int64_t kSec = 1'000'000'000;

cgroup::RawStats V1Raw(uint64_t total_ns, uint64_t user_ns, uint64_t system_ns) {
  cgroup::RawStats r;
  r.rss = 100;
  r.cache = 200;
  r.swap = 0;
  r.mapped_file = 50;
  r.usage = 1000;
  r.max_usage = 1500;
  r.kernel_usage = 30;
  r.kernel_max_usage = 40;
  r.limit = 4096;
  r.memory_measured = {"rss",   "cache",     "swap",         "mapped_file",
                       "usage", "max_usage", "kernel_usage", "kernel_max_usage",
                       "limit"};
  r.cpu_total_ns = total_ns;
  r.cpu_user_ns = user_ns;
  r.cpu_system_ns = system_ns;
  r.throttled_periods = 7;
  r.throttled_ns = 8;
  r.cpu_measured = {"cpu_user_ns", "cpu_system_ns", "cpu_total_ns", "throttled_periods",
                    "throttled_ns"};
  return r;
}

Reading At(int64_t mono_ns, cgroup::RawStats raw, cgroup::Version v = cgroup::Version::kV1) {
  Reading r;
  r.version = v;
  r.cgroup = std::move(raw);
  r.mono_ns = mono_ns;
  r.wall_ns = 1'764'500'000'000'000'000 + mono_ns;
  return r;
}

const HostCpu kHost{.cores = 2, .total_mhz = 5000};

TEST(StatsCompute, FirstSampleHasZeroRatesButEveryCounter) {
  Reading cur = At(5 * kSec, V1Raw(3 * kSec, 2 * kSec, kSec));
  cur.procs[42] = {
      .user_ns = kSec, .system_ns = 0, .start_ticks = 9, .rss_bytes = 4096, .swap_bytes = 8192};
  Sample s = Compute("web", nullptr, cur, kHost, 0);
  EXPECT_EQ(s.id, "web");
  EXPECT_EQ(s.timestamp_ns, cur.wall_ns);
  EXPECT_EQ(s.cpu.percent, 0);
  EXPECT_EQ(s.cpu.user_percent, 0);
  EXPECT_EQ(s.cpu.system_percent, 0);
  EXPECT_EQ(s.cpu.total_ticks, 0);
  EXPECT_EQ(s.cpu.user_ns, 2 * kSec);
  EXPECT_EQ(s.cpu.system_ns, kSec);
  EXPECT_EQ(s.cpu.throttled_periods, 7u);
  EXPECT_EQ(s.cpu.throttled_ns, 8u);
  EXPECT_EQ(s.memory.rss_bytes, 100u);
  EXPECT_EQ(s.memory.cache_bytes, 200u);
  EXPECT_EQ(s.memory.mapped_file_bytes, 50u);
  EXPECT_EQ(s.memory.usage_bytes, 1000u);
  EXPECT_EQ(s.memory.max_usage_bytes, 1500u);
  EXPECT_EQ(s.memory.kernel_usage_bytes, 30u);
  EXPECT_EQ(s.memory.kernel_max_usage_bytes, 40u);
  EXPECT_EQ(s.memory.limit_bytes, 4096u);
  EXPECT_EQ(s.memory.measured,
            (std::vector<std::string>{"rss", "cache", "swap", "mapped_file", "usage", "max_usage",
                                      "kernel_usage", "kernel_max_usage", "limit"}));
  EXPECT_EQ(s.cpu.measured, (std::vector<std::string>{"percent", "user_percent", "system_percent",
                                                      "user_ns", "system_ns", "throttled_periods",
                                                      "throttled_ns", "total_ticks"}));
  ASSERT_EQ(s.pids.size(), 1u);
  EXPECT_EQ(s.pids[42].rss_bytes, 4096u);
  EXPECT_EQ(s.pids[42].swap_bytes, 8192u);
  EXPECT_EQ(s.pids[42].cpu_percent, 0);
}

TEST(StatsCompute, PercentIsCpuDeltaOverWallDelta) {
  Reading a = At(10 * kSec, V1Raw(1 * kSec, kSec / 2, kSec / 2));
  // 2 s later the task used 1.5 s more CPU: 1.2 s user, 0.3 s system -> 75%, 60%, 15%.
  Reading b = At(12 * kSec, V1Raw(kSec * 5 / 2, kSec / 2 + kSec * 6 / 5, kSec / 2 + kSec * 3 / 10));
  Sample s = Compute("t", &a, b, kHost, 0);
  EXPECT_DOUBLE_EQ(s.cpu.percent, 75.0);
  EXPECT_DOUBLE_EQ(s.cpu.user_percent, 60.0);
  EXPECT_DOUBLE_EQ(s.cpu.system_percent, 15.0);
  // TotalTicks = 75/100 x 5000 MHz / 2 cores.
  EXPECT_DOUBLE_EQ(s.cpu.total_ticks, 1875.0);
}

TEST(StatsCompute, TwoBusyCoresIs200Percent) {
  Reading a = At(0, V1Raw(0, 0, 0));
  Reading b = At(kSec, V1Raw(2 * kSec, 2 * kSec, 0));
  Sample s = Compute("t", &a, b, kHost, 0);
  EXPECT_DOUBLE_EQ(s.cpu.percent, 200.0);
  EXPECT_DOUBLE_EQ(s.cpu.total_ticks, 5000.0);
}

TEST(StatsCompute, PercentIsClampedToTheHostsCores) {
  Reading a = At(0, V1Raw(0, 0, 0));
  Reading b = At(kSec, V1Raw(3 * kSec, 3 * kSec, 0));  // 300% on a 2-core host
  Sample s = Compute("t", &a, b, kHost, 0);
  EXPECT_DOUBLE_EQ(s.cpu.percent, 200.0);
  EXPECT_DOUBLE_EQ(s.cpu.user_percent, 200.0);
  // Unknown core count: no ceiling, no total_ticks.
  Sample u = Compute("t", &a, b, HostCpu{}, 0);
  EXPECT_DOUBLE_EQ(u.cpu.percent, 300.0);
  EXPECT_EQ(u.cpu.total_ticks, 0);
  EXPECT_FALSE(Measured(u.cpu.measured, "total_ticks"));
  EXPECT_TRUE(Measured(u.cpu.measured, "percent"));
}

TEST(StatsCompute, CounterResetsAndClockStallsGiveZero) {
  Reading a = At(10 * kSec, V1Raw(5 * kSec, 4 * kSec, kSec));
  Reading reset = At(11 * kSec, V1Raw(kSec / 10, 0, kSec / 10));  // cgroup recreated
  Sample s = Compute("t", &a, reset, kHost, 0);
  EXPECT_EQ(s.cpu.percent, 0);
  EXPECT_EQ(s.cpu.user_percent, 0);
  EXPECT_EQ(s.cpu.system_percent, 0);
  EXPECT_EQ(s.cpu.total_ticks, 0);
  Reading same_time = At(10 * kSec, V1Raw(6 * kSec, 5 * kSec, kSec));
  EXPECT_EQ(Compute("t", &a, same_time, kHost, 0).cpu.percent, 0);
  Reading earlier = At(9 * kSec, V1Raw(6 * kSec, 5 * kSec, kSec));
  EXPECT_EQ(Compute("t", &a, earlier, kHost, 0).cpu.percent, 0);
}

TEST(StatsCompute, PercentIsRoundedToThousandths) {
  Reading a = At(0, V1Raw(0, 0, 0));
  Reading b = At(3 * kSec, V1Raw(kSec, kSec, 0));  // 33.333...%
  Sample s = Compute("t", &a, b, kHost, 0);
  EXPECT_DOUBLE_EQ(s.cpu.percent, 33.333);
}

TEST(StatsCompute, TotalFromUserPlusSystemWhenTotalIsMissing) {
  cgroup::RawStats ra = V1Raw(0, kSec, kSec);
  cgroup::RawStats rb = V1Raw(0, 2 * kSec, kSec);
  for (auto* r : {&ra, &rb}) r->cpu_measured = {"cpu_user_ns", "cpu_system_ns"};
  Sample s = Compute("t", nullptr, At(0, ra), kHost, 0);
  EXPECT_TRUE(Measured(s.cpu.measured, "percent"));
  Reading a = At(0, ra), b = At(2 * kSec, rb);
  EXPECT_DOUBLE_EQ(Compute("t", &a, b, kHost, 0).cpu.percent, 50.0);
}

TEST(StatsCompute, NothingMeasuredIsZeroAndUnlisted) {
  cgroup::RawStats r;  // no memory controller, no cpuacct
  r.rss = 5;           // ignored: not listed as read
  Reading a = At(0, r), b = At(kSec, r);
  Sample s = Compute("t", &a, b, kHost, 0);
  EXPECT_TRUE(s.memory.measured.empty());
  EXPECT_TRUE(s.cpu.measured.empty());
  EXPECT_EQ(s.memory.rss_bytes, 0u);
  EXPECT_EQ(s.cpu.percent, 0);
}

TEST(StatsCompute, V2MeasuredListHasNoKernelCounters) {
  cgroup::RawStats r;
  r.rss = 1;
  r.cache = 2;
  r.swap = 3;
  r.mapped_file = 4;
  r.usage = 10;
  r.max_usage = 20;
  r.max_usage_is_peak_file = true;
  r.limit = 0;
  r.memory_measured = {"rss", "cache", "mapped_file", "swap", "usage", "max_usage", "limit"};
  Sample s = Compute("t", nullptr, At(0, r, cgroup::Version::kV2), kHost, 0);
  EXPECT_EQ(s.memory.measured, (std::vector<std::string>{"rss", "cache", "swap", "mapped_file",
                                                         "usage", "max_usage", "limit"}));
  EXPECT_EQ(s.memory.max_usage_bytes, 20u);
  EXPECT_EQ(s.memory.limit_bytes, 0u);
}

TEST(StatsCompute, V2WithoutPeakFileReportsTheObservedMaximum) {
  cgroup::RawStats r;
  r.usage = 300;
  r.max_usage = 300;  // the backend copies memory.current
  r.max_usage_is_peak_file = false;
  r.memory_measured = {"usage", "max_usage"};
  Reading cur = At(0, r, cgroup::Version::kV2);
  Sample s = Compute("t", nullptr, cur, kHost, 500);
  EXPECT_EQ(s.memory.max_usage_bytes, 500u);  // an earlier sample saw 500
  EXPECT_TRUE(Measured(s.memory.measured, "max_usage_observed"));
  EXPECT_FALSE(Measured(s.memory.measured, "max_usage"));
  s = Compute("t", nullptr, cur, kHost, 100);
  EXPECT_EQ(s.memory.max_usage_bytes, 300u);
  // v1's max_usage_in_bytes is a kernel peak even though the flag is only set for memory.peak.
  cgroup::RawStats v1 = r;
  v1.max_usage = 800;
  Sample k = Compute("t", nullptr, At(0, v1, cgroup::Version::kV1), kHost, 900);
  EXPECT_EQ(k.memory.max_usage_bytes, 800u);
  EXPECT_TRUE(Measured(k.memory.measured, "max_usage"));
}

TEST(StatsCompute, MaxUsageNeverBelowUsage) {
  cgroup::RawStats r = V1Raw(0, 0, 0);
  r.usage = 2000;
  r.max_usage = 1500;  // read a moment before usage grew
  EXPECT_EQ(Compute("t", nullptr, At(0, r), kHost, 0).memory.max_usage_bytes, 2000u);
}

TEST(StatsCompute, PerProcessRatesAndPidReuse) {
  Reading a = At(0, V1Raw(0, 0, 0));
  a.procs[10] = {.user_ns = kSec, .system_ns = kSec, .start_ticks = 100};
  a.procs[11] = {.user_ns = 0, .system_ns = 0, .start_ticks = 200};
  a.procs[12] = {.user_ns = 0, .system_ns = 0, .start_ticks = 300};  // exits
  Reading b = At(2 * kSec, V1Raw(0, 0, 0));
  b.procs[10] = {
      .user_ns = 2 * kSec, .system_ns = kSec + kSec / 2, .start_ticks = 100, .rss_bytes = 1 << 20};
  b.procs[11] = {.user_ns = 5 * kSec, .system_ns = 0, .start_ticks = 999};  // pid reused
  b.procs[13] = {.user_ns = kSec, .system_ns = 0, .start_ticks = 400};      // new
  Sample s = Compute("t", &a, b, kHost, 0);
  ASSERT_EQ(s.pids.size(), 3u);
  EXPECT_FALSE(s.pids.count(12));
  EXPECT_DOUBLE_EQ(s.pids[10].cpu_percent, 75.0);
  EXPECT_DOUBLE_EQ(s.pids[10].user_percent, 50.0);
  EXPECT_DOUBLE_EQ(s.pids[10].system_percent, 25.0);
  EXPECT_EQ(s.pids[10].rss_bytes, 1u << 20);
  EXPECT_EQ(s.pids[11].cpu_percent, 0);
  EXPECT_EQ(s.pids[13].cpu_percent, 0);
}

TEST(StatsCompute, VersionChangeIsNoBaseline) {
  Reading a = At(0, V1Raw(0, 0, 0), cgroup::Version::kV1);
  Reading b = At(kSec, V1Raw(kSec, kSec, 0), cgroup::Version::kV2);
  EXPECT_EQ(Compute("t", &a, b, kHost, 0).cpu.percent, 0);
}

}  // namespace
}  // namespace isoexec::stats
