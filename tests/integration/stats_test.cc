// stats::Sampler on real tasks (launched in-process with runtime::Container): memory, cache,
// peak, CPU percentages, the per-process map, streaming. Runs on the hybrid host (v1) and in
// the pure cgroup v2 VM (tests/vm/run-cgroupv2-suite.sh BUILD 'Stats*').
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/file.h"
#include "base/unique_fd.h"
#include "runtime/container.h"
#include "stats/proc.h"
#include "stats/sampler.h"
#include "stats/table.h"
#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr uint64_t kMiB = 1024 * 1024;

std::string NextId() {
  static int n = 0;
  return "stats-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// Polls `pred` every 20 ms until true or the timeout.
template <class Pred>
bool WaitFor(milliseconds timeout, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (real namespaces, mounts, cgroups)";
  }
  void TearDown() override { Stop(); }

  // Launches argv in the busybox root; stdout goes to out_file().
  void Start(std::vector<std::string> argv, spec::NsMode pid = spec::NsMode::kPrivate,
             std::optional<uint64_t> memory = std::nullopt) {
    spec::TaskSpec spec;
    spec.id = NextId();
    spec.process.argv = std::move(argv);
    spec.root.rootfs = root_.path();
    spec.namespaces.pid = pid;
    spec.resources.memory = memory;
    runtime::LaunchOptions o;
    o.task_dir = task_dir_.path();
    o.cgroup_parent = CgroupParent();
    devnull_.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    out_.reset(::open(out_file().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    o.stdio[0] = devnull_.get();
    o.stdio[1] = out_.get();
    o.stdio[2] = devnull_.get();
    auto c = runtime::Container::Launch(spec, o);
    ASSERT_TRUE(c) << c.error().error.str();
    container_ = std::move(*c);
    id_ = spec.id;
    sampler_.emplace(container_->cgroup(), id_);
  }

  void Stop() {
    sampler_.reset();
    if (!container_) return;
    (void)container_->KillAll();
    container_->Collect();
    auto s = container_->Destroy();
    EXPECT_TRUE(s) << s.error().str();
    container_.reset();
  }

  bool Alive() const {
    struct pollfd p = {container_->pidfd(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

  stats::Sample Next() {
    auto s = sampler_->Next();
    EXPECT_TRUE(s) << s.error().str();
    return s ? *s : stats::Sample{};
  }

  std::string out_file() const { return task_dir_.path() + "/stdout"; }
  std::string Output() const { return ReadFileOr(out_file()); }

  TestRoot root_;
  TempDir task_dir_;
  UniqueFd devnull_, out_;
  std::unique_ptr<runtime::Container> container_;
  std::optional<stats::Sampler> sampler_;
  std::string id_;
};

TEST_F(StatsTest, MemoryShowsTouchedAnonymousMemory) {
  Start({"/bin/testinit", "memhog", "200", "30"}, spec::NsMode::kPrivate, 512 * kMiB);
  ASSERT_TRUE(WaitFor(seconds(20), [&] { return Contains(Output(), "allocated 200 MiB"); }))
      << Output();
  stats::Sample s = Next();
  const auto& m = s.memory;
  SCOPED_TRACE(stats::SampleJson(s));
  EXPECT_EQ(s.id, id_);
  ASSERT_TRUE(stats::Measured(m.measured, "rss"));
  ASSERT_TRUE(stats::Measured(m.measured, "usage"));
  EXPECT_NEAR(static_cast<double>(m.rss_bytes), 200.0 * kMiB, 20.0 * kMiB);
  EXPECT_NEAR(static_cast<double>(m.usage_bytes), 200.0 * kMiB, 20.0 * kMiB);
  EXPECT_GE(m.max_usage_bytes, m.usage_bytes);
  EXPECT_EQ(m.limit_bytes, 512 * kMiB);
  EXPECT_TRUE(stats::Measured(m.measured, "limit"));
  const bool v1 = container_->cgroup()->version() == cgroup::Version::kV1;
  EXPECT_EQ(stats::Measured(m.measured, "kernel_usage"), v1);
  // The memhog process itself holds the 200 MiB.
  uint64_t biggest = 0;
  for (const auto& [pid, p] : s.pids) biggest = std::max(biggest, p.rss_bytes);
  EXPECT_NEAR(static_cast<double>(biggest), 200.0 * kMiB, 20.0 * kMiB);
  // The table shows it against the limit.
  std::string table = stats::RenderTable({s}, true);
  EXPECT_TRUE(Contains(table, " / 512MiB")) << table;
}

TEST_F(StatsTest, CacheGrowsWhenTheTaskReadsAFile) {
  // A 50 MiB file on the root's filesystem, evicted from the page cache so that the task's
  // read charges it to the task. On tmpfs (the VM's /tmp) pages stay charged to their writer
  // and cannot be evicted, so there the task writes the file itself (shmem counts as cache on
  // both versions).
  struct statfs fs {};
  ASSERT_EQ(::statfs(root_.path().c_str(), &fs), 0);
  const bool on_tmpfs = fs.f_type == TMPFS_MAGIC;
  const std::string big = root_.path() + "/big";
  if (!on_tmpfs) {
    UniqueFd fd(::open(big.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd);
    std::string chunk(kMiB, 'x');
    for (int i = 0; i < 50; ++i)
      ASSERT_EQ(::write(fd.get(), chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
    ASSERT_EQ(::fsync(fd.get()), 0);
    ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
  }
  std::printf("[   INFO   ] root on %s: the task %s\n", on_tmpfs ? "tmpfs" : "a disk filesystem",
              on_tmpfs ? "writes 50 MiB to tmpfs" : "reads a 50 MiB file");
  const std::string work =
      on_tmpfs ? "dd if=/dev/zero of=/big bs=1M count=50 2>/dev/null" : "cat /big > /dev/null";
  Start({"/bin/sh", "-c",
         "while [ ! -e /go ]; do sleep 0.05; done; " + work + "; touch /done; sleep 60"});
  ASSERT_TRUE(WaitFor(seconds(10), [&] { return Next().pids.size() >= 2; }));
  stats::Sample before = Next();
  std::ofstream(root_.path() + "/go").close();
  ASSERT_TRUE(WaitFor(seconds(30), [&] { return Exists(root_.path() + "/done"); }));
  stats::Sample after = Next();
  SCOPED_TRACE(stats::SampleJson(before) + "\n" + stats::SampleJson(after));
  ASSERT_TRUE(stats::Measured(after.memory.measured, "cache"));
  EXPECT_GE(after.memory.cache_bytes, before.memory.cache_bytes + 45 * kMiB)
      << (on_tmpfs ? "task wrote 50 MiB to tmpfs" : "task read a 50 MiB file");
  EXPECT_GE(after.memory.usage_bytes, before.memory.usage_bytes + 45 * kMiB);
  EXPECT_LT(after.memory.rss_bytes, 20 * kMiB);  // page cache is not RSS
}

TEST_F(StatsTest, MaxUsageIsAtLeastTheHighestUsageSeen) {
  Start({"/bin/sh", "-c", "/bin/testinit memhog 100 1; sleep 60"});
  uint64_t highest = 0;
  stats::Sample s;
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  bool grew = false, shrank = false;
  while (std::chrono::steady_clock::now() < deadline && !(grew && shrank)) {
    s = Next();
    highest = std::max(highest, s.memory.usage_bytes);
    ASSERT_GE(s.memory.max_usage_bytes, highest) << stats::SampleJson(s);
    if (s.memory.usage_bytes >= 90 * kMiB) grew = true;
    if (grew && s.memory.usage_bytes < 50 * kMiB) shrank = true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(grew && shrank) << "usage never went up to ~100 MiB and back: "
                              << stats::SampleJson(s);
  EXPECT_GE(s.memory.max_usage_bytes, 100 * kMiB) << stats::SampleJson(s);
  EXPECT_TRUE(stats::Measured(s.memory.measured, "max_usage") ||
              stats::Measured(s.memory.measured, "max_usage_observed"));
}

// Nanoseconds `pid` waited on a run queue (/proc/<pid>/schedstat, 2nd field), 0 if unknown.
uint64_t RunDelayNs(pid_t pid) {
  std::istringstream in(ReadFileOr("/proc/" + std::to_string(pid) + "/schedstat"));
  uint64_t run = 0, wait = 0;
  in >> run >> wait;
  return wait;
}

TEST_F(StatsTest, BurningOneCoreIsAbout100Percent) {
  Start({"/bin/testinit", "burn", "6"}, spec::NsMode::kHost);
  const pid_t burner = container_->pid();
  stats::Sample first = Next();
  EXPECT_EQ(first.cpu.percent, 0);
  EXPECT_EQ(first.cpu.user_percent, 0);
  EXPECT_EQ(first.cpu.total_ticks, 0);
  ASSERT_TRUE(stats::Measured(first.cpu.measured, "percent")) << stats::SampleJson(first);
  const stats::HostCpu& host = stats::HostCpuInfo();
  for (int i = 0; i < 3; ++i) {
    uint64_t delay0 = RunDelayNs(burner);
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(seconds(1));
    stats::Sample s = Next();
    double wall =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    // On a busy host the burner may not get a whole core: expect what it was given.
    double expected = 100.0 * (1.0 - static_cast<double>(RunDelayNs(burner) - delay0) / wall);
    SCOPED_TRACE(
        fmt::format("sample {}: expected {:.1f}% -> {}", i, expected, stats::SampleJson(s)));
    EXPECT_NEAR(s.cpu.percent, expected, 20.0);
    EXPECT_GE(s.cpu.percent, 10.0);
    EXPECT_LE(s.cpu.system_percent, 20.0);
    if (stats::Measured(s.cpu.measured, "user_percent")) {
      EXPECT_NEAR(s.cpu.user_percent + s.cpu.system_percent, s.cpu.percent, 15.0);
    }
    ASSERT_EQ(s.pids.count(burner), 1u);
    EXPECT_NEAR(s.pids.at(burner).cpu_percent, s.cpu.percent, 10.0);
    if (host.total_mhz > 0) {
      EXPECT_TRUE(stats::Measured(s.cpu.measured, "total_ticks"));
      EXPECT_NEAR(s.cpu.total_ticks, s.cpu.percent / 100.0 * host.total_mhz / host.cores, 0.01);
    }
  }
}

TEST_F(StatsTest, IdleTaskIsAboutZeroPercent) {
  Start({"/bin/sleep", "60"});
  Next();
  std::this_thread::sleep_for(seconds(1));
  stats::Sample s = Next();
  SCOPED_TRACE(stats::SampleJson(s));
  EXPECT_LT(s.cpu.percent, 2.0);
  EXPECT_GE(s.cpu.percent, 0.0);
  for (const auto& [pid, p] : s.pids) EXPECT_LT(p.cpu_percent, 2.0) << pid;
}

std::string Comm(pid_t pid) { return Trim(ReadFileOr("/proc/" + std::to_string(pid) + "/comm")); }

// With --pid host the task's three processes are the cgroup; with a private PID namespace
// isoexec's init (PID 1 inside, the launcher's direct child) is in the cgroup too: four.
TEST_F(StatsTest, PidMapListsEveryProcessOfTheTask) {
  for (spec::NsMode mode : {spec::NsMode::kHost, spec::NsMode::kPrivate}) {
    const bool host = mode == spec::NsMode::kHost;
    SCOPED_TRACE(host ? "--pid host" : "--pid private");
    Start({"/bin/sh", "-c", "sleep 30 & sleep 30 & exec sleep 30"}, mode);
    const size_t want = host ? 3 : 4;
    stats::Sample s;
    EXPECT_TRUE(WaitFor(seconds(10), [&] {
      s = Next();
      size_t sleeps = 0;
      for (const auto& [pid, p] : s.pids) sleeps += Comm(pid) == "sleep";
      return s.pids.size() == want && sleeps == 3;
    })) << stats::SampleJson(s);
    auto pids = container_->cgroup()->Pids();
    ASSERT_TRUE(pids);
    std::set<pid_t> from_cgroup(pids->begin(), pids->end()), sampled;
    for (const auto& [pid, p] : s.pids) {
      sampled.insert(pid);
      EXPECT_GT(p.rss_bytes, 0u) << pid;
      EXPECT_EQ(p.swap_bytes, 0u) << pid;
    }
    EXPECT_EQ(sampled, from_cgroup);
    EXPECT_EQ(s.pids.count(container_->pid()), 1u);  // the exec'd sleep: the main process
    if (!host) {
      EXPECT_EQ(s.pids.count(container_->child_pid()), 1u);  // init
    }
    std::string table = stats::RenderTable({s}, false);
    EXPECT_TRUE(Contains(table, "   " + std::to_string(want) + "\n")) << table;
    Stop();
  }
}

// A child cgroup inside the task's (made from the host here) defeats the single-file fast
// path: the sampler must still see the process moved into it.
TEST_F(StatsTest, ProcessesInChildCgroupsAreCounted) {
  Start({"/bin/sh", "-c", "sleep 30 & exec sleep 30"}, spec::NsMode::kHost);
  stats::Sample s;
  ASSERT_TRUE(WaitFor(seconds(10), [&] { return (s = Next()).pids.size() == 2; }))
      << stats::SampleJson(s);
  pid_t moved = 0;
  for (const auto& [pid, p] : s.pids)
    if (pid != container_->pid()) moved = pid;
  ASSERT_NE(moved, 0);
  const std::string child = container_->cgroup()->path() + "/sub";
  ASSERT_EQ(::mkdir(child.c_str(), 0755), 0) << child << ": " << std::strerror(errno);
  ASSERT_TRUE(WriteFile(child + "/cgroup.procs", std::to_string(moved)));
  s = Next();
  EXPECT_EQ(s.pids.size(), 2u) << stats::SampleJson(s);
  EXPECT_EQ(s.pids.count(moved), 1u);
  // Destroy() removes the child cgroup too (nothing may leak).
}

TEST_F(StatsTest, RealSamplesRoundTripThroughJson) {
  Start({"/bin/testinit", "burn", "3"});
  Next();
  std::this_thread::sleep_for(milliseconds(300));
  stats::Sample s = Next();
  std::string line = stats::SampleJson(s);
  std::printf("[   INFO   ] %s\n", line.c_str());  // what this host's cgroup version measures
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto back = stats::ParseSampleJson(line);
  ASSERT_TRUE(back) << back.error().str();
  EXPECT_EQ(*back, s);
  const std::set<std::string> known_mem = {"rss",
                                           "cache",
                                           "swap",
                                           "mapped_file",
                                           "usage",
                                           "max_usage",
                                           "max_usage_observed",
                                           "kernel_usage",
                                           "kernel_max_usage",
                                           "limit"};
  for (const auto& n : s.memory.measured) EXPECT_TRUE(known_mem.count(n)) << n;
  for (const auto& n : {"rss", "cache", "usage", "limit"})
    EXPECT_TRUE(stats::Measured(s.memory.measured, n)) << n << " in " << line;
  for (const auto& n : {"percent", "user_percent", "system_percent", "user_ns", "system_ns"})
    EXPECT_TRUE(stats::Measured(s.cpu.measured, n)) << n << " in " << line;
  EXPECT_GT(s.cpu.user_ns, 0u);
  EXPECT_EQ(s.memory.limit_bytes, 0u);  // no --memory
}

TEST_F(StatsTest, StreamSamplesAtOnceThenEveryIntervalUntilTheTaskEnds) {
  Start({"/bin/sleep", "1"});
  std::vector<std::chrono::steady_clock::time_point> at;
  auto t0 = std::chrono::steady_clock::now();
  auto st = stats::Stream(
      *sampler_, milliseconds(200),
      [&](const stats::Sample& s) {
        EXPECT_EQ(s.id, id_);
        at.push_back(std::chrono::steady_clock::now());
        return true;
      },
      [&] { return Alive(); });
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(st) << st.error().str();
  ASSERT_FALSE(at.empty());
  EXPECT_LT(at.front() - t0, milliseconds(100));  // the first sample at once
  EXPECT_GE(at.size(), 4u);                       // ~1 s / 200 ms
  EXPECT_LE(at.size(), 7u);
  EXPECT_LT(took, milliseconds(1800));  // ended with the task
  for (size_t i = 1; i < at.size(); ++i) EXPECT_GE(at[i] - at[i - 1], milliseconds(150)) << i;
}

TEST_F(StatsTest, StreamStopsWhenTheConsumerSaysSo) {
  Start({"/bin/sleep", "60"});
  int n = 0;
  auto st = stats::Stream(
      *sampler_, milliseconds(50), [&](const stats::Sample&) { return ++n < 3; },
      [&] { return Alive(); });
  EXPECT_TRUE(st);
  EXPECT_EQ(n, 3);
  EXPECT_TRUE(Alive());
}

TEST_F(StatsTest, SamplingAGoneCgroupIsNotFound) {
  Start({"/bin/sleep", "60"});
  // Container::Destroy() frees its Cgroup object, so sample through one opened separately
  // (as `isoexec stats` does for a task started by another process).
  auto layout = cgroup::DetectLayout();
  ASSERT_TRUE(layout) << layout.error().str();
  auto cg = cgroup::Open(*layout, {CgroupParent(), id_});
  ASSERT_TRUE(cg) << cg.error().str();
  stats::Sampler sampler(cg->get(), id_);
  ASSERT_TRUE(sampler.Next());
  Stop();
  auto s = sampler.Next();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kNotFound) << s.error().str();
  // Stream treats it as the end once the task is gone.
  EXPECT_TRUE(stats::Stream(
      sampler, milliseconds(10), [](const stats::Sample&) { return true; }, [] { return false; }));
}

}  // namespace
}  // namespace isoexec::test
