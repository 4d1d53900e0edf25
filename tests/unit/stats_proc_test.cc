// stats/proc: /proc parsers, host CPU detection and the per-process reader.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "base/file.h"
#include "stats/proc.h"

namespace isoexec::stats {
namespace {

// Linux 6.18, a busy `sleep` with a comm that has spaces and parentheses.
constexpr char kStat[] =
    "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 120 0 0 0 257 31 0 0 20 0 1 0 "
    "987654 8683520 1234 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
    "0 0 0 0 0 0 0 0\n";

TEST(StatsProc, ParseProcStat) {
  auto st = ParseProcStat(kStat);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->utime_ticks, 257u);
  EXPECT_EQ(st->stime_ticks, 31u);
  EXPECT_EQ(st->start_ticks, 987654u);
  EXPECT_EQ(st->rss_pages, 1234u);
}

TEST(StatsProc, ParseProcStatRejectsGarbage) {
  EXPECT_FALSE(ParseProcStat(""));
  EXPECT_FALSE(ParseProcStat("12 (x) S 1 2 3"));  // truncated
  EXPECT_FALSE(ParseProcStat("no paren at all 1 2 3 4 5"));
  EXPECT_FALSE(ParseProcStat(
      "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 0 0 0 20 0 1 0 5 0 7 0"));  // utime not a number
  // A negative rss (never seen, but signed in the kernel) reads as 0; a kernel thread works.
  auto k = ParseProcStat(
      "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 3 0 0 20 0 1 0 10 0 -1 "
      "18446744073709551615 0 0");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->rss_pages, 0u);
  EXPECT_EQ(k->stime_ticks, 3u);
}

TEST(StatsProc, ParseProcStatusMemory) {
  auto m = ParseProcStatusMemory(
      "Name:\tsleep\nVmPeak:\t    8480 kB\nVmRSS:\t     1024 kB\nRssAnon:\t 128 kB\n"
      "VmSwap:\t      12 kB\nThreads:\t1\n");
  EXPECT_EQ(m.rss_bytes, 1024u * 1024);
  EXPECT_EQ(m.swap_bytes, 12u * 1024);
  auto kthread = ParseProcStatusMemory("Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n");
  EXPECT_FALSE(kthread.rss_bytes);
  EXPECT_FALSE(kthread.swap_bytes);
  // Only at line start: "XVmSwap:" is not VmSwap.
  EXPECT_FALSE(ParseProcStatusMemory("XVmSwap:\t 5 kB\n").swap_bytes);
}

TEST(StatsProc, ParseCpuinfoMhz) {
  auto c = ParseCpuinfoMhz(
      "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2596.140\ncache size\t: 512 KB\n\n"
      "processor\t: 1\ncpu MHz\t\t: 2400.000\n\n");
  EXPECT_EQ(c.cpus, 2);
  EXPECT_DOUBLE_EQ(c.total_mhz, 4996.14);
  EXPECT_EQ(ParseCpuinfoMhz("processor : 0\nBogoMIPS : 50.00\n").cpus, 0);  // arm64
  EXPECT_EQ(ParseCpuinfoMhz("cpu MHz : fast\n").cpus, 0);
}

TEST(StatsProc, ParseCpuList) {
  EXPECT_EQ(*ParseCpuList("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(*ParseCpuList("0\n"), (std::vector<int>{0}));
  EXPECT_TRUE(ParseCpuList("")->empty());
  EXPECT_FALSE(ParseCpuList("3-1"));
  EXPECT_FALSE(ParseCpuList("a"));
  EXPECT_FALSE(ParseCpuList("1,,2"));
}

class TempTree {
 public:
  TempTree() {
    char t[] = "/tmp/stats-proc-test-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempTree() { (void)RemoveTree(path_); }
  void Write(const std::string& rel, const std::string& text) {
    if (size_t slash = rel.rfind('/'); slash != std::string::npos)
      (void)MakeDirs(path_ + "/" + rel.substr(0, slash));
    std::ofstream(path_ + "/" + rel) << text;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(StatsProc, DetectHostCpuPrefersCpufreqMaxFreq) {
  TempTree t;
  t.Write("online", "0-1\n");
  t.Write("cpu0/cpufreq/cpuinfo_max_freq", "3000000\n");
  t.Write("cpu1/cpufreq/cpuinfo_max_freq", "2000000\n");
  HostCpu h = DetectHostCpu(t.path(), "cpu MHz : 1000\ncpu MHz : 1000\n", 2);
  EXPECT_EQ(h.cores, 2);
  EXPECT_DOUBLE_EQ(h.total_mhz, 5000);
}

TEST(StatsProc, DetectHostCpuFallsBackToCpuinfo) {
  TempTree t;
  t.Write("online", "0-1\n");
  t.Write("cpu0/cpufreq/cpuinfo_max_freq", "3000000\n");  // cpu1 has none: not all CPUs
  HostCpu h = DetectHostCpu(t.path(), "cpu MHz : 1000.5\ncpu MHz : 1000.5\n", 2);
  EXPECT_EQ(h.cores, 2);
  EXPECT_DOUBLE_EQ(h.total_mhz, 2001);
  HostCpu none = DetectHostCpu(t.path() + "/missing", "", 4);
  EXPECT_EQ(none.cores, 4);
  EXPECT_EQ(none.total_mhz, 0);
}

TEST(StatsProc, HostCpuInfoIsSane) {
  const HostCpu& h = HostCpuInfo();
  EXPECT_EQ(h.cores, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_GE(h.total_mhz, 0);
  EXPECT_GT(HostMemoryBytes(), 0u);
}

pid_t Child(bool busy) {
  pid_t p = ::fork();
  if (p == 0) {
    if (busy) {
      volatile unsigned long x = 0;
      for (;;) x = x + 1;
    }
    ::pause();
    ::_exit(0);
  }
  return p;
}

void Reap(pid_t p) {
  ::kill(p, SIGKILL);
  ::waitpid(p, nullptr, 0);
}

TEST(StatsProc, ReaderReadsLiveProcessesAndDropsGoneOnes) {
  ProcReader r;
  pid_t busy = Child(true), idle = Child(false);
  pid_t self = ::getpid();
  auto first = r.Read({busy, idle, self}, /*want_swap=*/true);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_GT(first[self].rss_bytes, 0u);
  EXPECT_GT(first[self].start_ticks, 0u);
  EXPECT_EQ(r.open_fds(), 6u);  // stat + status each
  ::usleep(300'000);
  auto second = r.Read({busy, idle, self}, /*want_swap=*/false);
  EXPECT_EQ(r.open_fds(), 3u);  // status fds dropped with want_swap off
  EXPECT_GT(second[busy].user_ns + second[busy].system_ns,
            first[busy].user_ns + first[busy].system_ns);  // kept fds give fresh data
  EXPECT_EQ(second[busy].start_ticks, first[busy].start_ticks);
  Reap(busy);
  auto third = r.Read({busy, idle}, false);  // busy is listed (stale) but gone
  EXPECT_EQ(third.size(), 1u);
  EXPECT_EQ(third.count(idle), 1u);
  EXPECT_EQ(r.open_fds(), 1u);  // self dropped (not listed), busy dropped (gone)
  Reap(idle);
  EXPECT_TRUE(r.Read({idle}, false).empty());
  EXPECT_EQ(r.open_fds(), 0u);
}

TEST(StatsProc, ReaderBeyondTheFdBudgetStillReadsEveryone) {
  ProcReader r("/proc", /*max_open_fds=*/1);
  pid_t a = Child(false), b = Child(false), c = Child(false);
  auto got = r.Read({a, b, c}, true);
  EXPECT_EQ(got.size(), 3u);
  EXPECT_LE(r.open_fds(), 1u);
  got = r.Read({a, b, c}, false);
  EXPECT_EQ(got.size(), 3u);
  EXPECT_LE(r.open_fds(), 1u);
  for (pid_t p : {a, b, c}) Reap(p);
}

TEST(StatsProc, KeptFdsAreCountedProcessWide) {
  const size_t base = ProcReader::ProcessKeptFds();
  pid_t a = Child(false);
  {
    ProcReader r1, r2;
    r1.Read({a, ::getpid()}, false);
    r2.Read({a}, true);
    EXPECT_EQ(ProcReader::ProcessKeptFds(), base + 4);
    ProcReader moved(std::move(r1));
    EXPECT_EQ(ProcReader::ProcessKeptFds(), base + 4);
    EXPECT_EQ(moved.open_fds(), 2u);
    r2 = std::move(moved);  // r2's own two are closed
    EXPECT_EQ(ProcReader::ProcessKeptFds(), base + 2);
    EXPECT_EQ(r2.Read({a, ::getpid()}, false).size(), 2u);
  }
  EXPECT_EQ(ProcReader::ProcessKeptFds(), base);
  EXPECT_GE(ProcReader::ProcessFdBudget(), 64u);
  EXPECT_LE(ProcReader::ProcessFdBudget(), 4096u);
  Reap(a);
}

TEST(StatsProc, ReaderSkipsNonsensePids) {
  ProcReader r;
  EXPECT_TRUE(r.Read({0, -1, 999'999'999}, true).empty());
  EXPECT_EQ(r.open_fds(), 0u);
}

}  // namespace
}  // namespace isoexec::stats
