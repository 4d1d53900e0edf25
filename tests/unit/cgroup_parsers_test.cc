#include <gtest/gtest.h>

#include "cgroup/parsers.h"

namespace isoexec::cgroup {
namespace {

// Captured from a 6.18 hybrid host (v1 memory controller), trimmed.
constexpr char kMemoryStatV1[] = R"(cache 11460608
rss 1736704
rss_huge 0
shmem 0
mapped_file 462848
dirty 40960
swap 0
pgfault 44601
hierarchical_memory_limit 9223372036854771712
hierarchical_memsw_limit 9223372036854771712
total_cache 22921216
total_rss 3473408
total_rss_huge 0
total_mapped_file 925696
total_swap 4096
total_unevictable 0
)";

// Linux 6.1, pure v2.
constexpr char kMemoryStatV2[] = R"(anon 1261568
file 3375104
kernel 319488
kernel_stack 32768
pagetables 53248
sec_pagetables 0
percpu 0
sock 0
vmalloc 0
shmem 0
zswap 0
zswapped 0
file_mapped 1622016
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 0
pgfault 1410
workingset_refault_anon 0
)";

TEST(CgroupParsers, MemoryStatV1PrefersHierarchicalTotals) {
  MemoryStatV1 s = ParseMemoryStatV1(kMemoryStatV1);
  EXPECT_EQ(s.rss, 3473408u);
  EXPECT_EQ(s.cache, 22921216u);
  EXPECT_EQ(s.mapped_file, 925696u);
  EXPECT_EQ(s.swap, 4096u);
}

TEST(CgroupParsers, MemoryStatV1FallsBackToLocalKeys) {
  MemoryStatV1 s = ParseMemoryStatV1("cache 10\nrss 20\nmapped_file 30\n");
  EXPECT_EQ(s.rss, 20u);
  EXPECT_EQ(s.cache, 10u);
  EXPECT_EQ(s.mapped_file, 30u);
  EXPECT_FALSE(s.swap);  // no swap accounting: not measured
}

TEST(CgroupParsers, MemoryStatV2) {
  MemoryStatV2 s = ParseMemoryStatV2(kMemoryStatV2);
  EXPECT_EQ(s.anon, 1261568u);
  EXPECT_EQ(s.file, 3375104u);
  EXPECT_EQ(s.file_mapped, 1622016u);
}

TEST(CgroupParsers, CpuStatV2InNanoseconds) {
  CpuStat s = ParseCpuStat(
      "usage_usec 149131540\nuser_usec 108301905\nsystem_usec 40829634\nnice_usec 0\n"
      "core_sched.force_idle_usec 0\nnr_periods 10\nnr_throttled 3\nthrottled_usec 1500\n"
      "nr_bursts 0\nburst_usec 0\n");
  EXPECT_EQ(s.usage_ns, 149131540000u);
  EXPECT_EQ(s.user_ns, 108301905000u);
  EXPECT_EQ(s.system_ns, 40829634000u);
  EXPECT_EQ(s.nr_throttled, 3u);
  EXPECT_EQ(s.throttled_ns, 1500000u);
}

TEST(CgroupParsers, CpuStatCoreOnlyOnHybridUnified) {
  // A cgroup2 child without the cpu controller still has the core fields.
  CpuStat s = ParseCpuStat("usage_usec 0\nuser_usec 0\nsystem_usec 0\nnice_usec 0\n");
  EXPECT_EQ(s.usage_ns, 0u);
  EXPECT_FALSE(s.nr_throttled);
  EXPECT_FALSE(s.throttled_ns);
}

TEST(CgroupParsers, CpuStatV1ThrottledTimeIsNanoseconds) {
  CpuStat s = ParseCpuStat(
      "nr_periods 0\nnr_throttled 7\nthrottled_time 123456\nnr_bursts 0\nburst_time 0\n");
  EXPECT_EQ(s.nr_throttled, 7u);
  EXPECT_EQ(s.throttled_ns, 123456u);
  EXPECT_FALSE(s.usage_ns);
}

TEST(CgroupParsers, CpuacctStatTicks) {
  CpuacctStat s = ParseCpuacctStat("user 11162\nsystem 4208\n");
  EXPECT_EQ(s.user_ticks, 11162u);
  EXPECT_EQ(s.system_ticks, 4208u);
  EXPECT_EQ(TicksToNs(11162, 100), 111620000000u);
  EXPECT_EQ(TicksToNs(1, 3), 333333333u);
  EXPECT_EQ(TicksToNs(UINT64_MAX / 1000, 100),
            UINT64_MAX / 1000 / 100 * 1000000000 + UINT64_MAX / 1000 % 100 * 10000000);
  EXPECT_EQ(TicksToNs(5, 0), 0u);
}

TEST(CgroupParsers, MemoryEventsOomKillNotOom) {
  MemoryEvents e =
      ParseMemoryEvents("low 0\nhigh 0\nmax 12\noom 3\noom_kill 1\noom_group_kill 1\n");
  EXPECT_EQ(e.oom, 3u);
  EXPECT_EQ(e.oom_kill, 1u);
  // Hitting the limit without a kill is not an OOM kill.
  EXPECT_EQ(ParseMemoryEvents("low 0\nhigh 0\nmax 2\noom 2\noom_kill 0\n").oom_kill, 0u);
}

TEST(CgroupParsers, OomControl) {
  OomControl o = ParseOomControl("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  EXPECT_EQ(o.oom_kill_disable, 0u);
  EXPECT_EQ(o.under_oom, 0u);
  EXPECT_EQ(o.oom_kill, 2u);
  // Before Linux 4.13 the counter is missing.
  EXPECT_FALSE(ParseOomControl("oom_kill_disable 0\nunder_oom 0\n").oom_kill);
}

TEST(CgroupParsers, CgroupEvents) {
  CgroupEvents e = ParseCgroupEvents("populated 1\nfrozen 0\n");
  EXPECT_EQ(e.populated, 1u);
  EXPECT_EQ(e.frozen, 0u);
}

TEST(CgroupParsers, KeyedCountersSkipOddLines) {
  auto m = ParseKeyedCounters(
      "a 1\nbad\n 2\nb x\nc -1\nd 18446744073709551615\ne 18446744073709551616\n");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("a"), 1u);
  EXPECT_EQ(m.at("d"), UINT64_MAX);
}

TEST(CgroupParsers, Procs) {
  auto pids = ParseProcs("1\n42\n4194304\n", "x/cgroup.procs");
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, (std::vector<pid_t>{1, 42, 4194304}));
  EXPECT_TRUE(ParseProcs("", "p")->empty());
  auto bad = ParseProcs("12\nabc\n", "/x/cgroup.procs");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().str().find("/x/cgroup.procs"), std::string::npos);
}

TEST(CgroupParsers, SplitWords) {
  EXPECT_EQ(SplitWords("cpuset cpu io memory\n"),
            (std::vector<std::string>{"cpuset", "cpu", "io", "memory"}));
  EXPECT_TRUE(SplitWords("\n").empty());
}

}  // namespace
}  // namespace isoexec::cgroup
