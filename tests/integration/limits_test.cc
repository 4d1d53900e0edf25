// Resource control through the CLI, on whichever cgroup version the host has (this suite also
// runs in the pure cgroup v2 VM): limits land in the task's own cgroup, OOM kills are reported,
// stop kills every process, stray processes are killed at launch, live updates apply.
#include <sys/stat.h>

#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool PureV2() {
  auto l = cgroup::DetectLayout();
  return l && l->version() == cgroup::Version::kV2;
}

// The task's directory for `controller` (v1) or its scope (v2).
std::string TaskCgroupDir(const std::string& id, const std::string& controller) {
  if (PureV2()) return "/sys/fs/cgroup/" + CgroupParent() + ".slice/" + id + ".scope";
  return "/sys/fs/cgroup/" + controller + "/" + CgroupParent() + "/" + id;
}

std::string MemoryLimitFile(const std::string& id) {
  return TaskCgroupDir(id, "memory") + (PureV2() ? "/memory.max" : "/memory.limit_in_bytes");
}

TEST(Limits, MemoryLimitLandsInTheTaskCgroupWhichIsRemovedAfterwards) {
  REQUIRE_ROOT();
  TestRoot root;
  auto bg = StartIsoexec({"run", "--name", "lim1", "--memory", "256M", "--cpu-shares", "512",
                          "--pids-max", "100", "--rootfs", root.path(), "--", "/bin/testinit",
                          "trap-term"});
  ASSERT_TRUE(Contains(bg.ReadUntil("ready", seconds(10)), "ready"));
  EXPECT_EQ(Trim(ReadFileOr(MemoryLimitFile("lim1"))), "268435456");
  if (PureV2()) {
    // 512 shares: 10^((81+1125)/612 - 7/34) = 58.2, rounded up as crun and Nomad do.
    EXPECT_EQ(Trim(ReadFileOr(TaskCgroupDir("lim1", "") + "/cpu.weight")), "59");
    EXPECT_EQ(Trim(ReadFileOr(TaskCgroupDir("lim1", "") + "/pids.max")), "100");
    EXPECT_EQ(Trim(ReadFileOr(TaskCgroupDir("lim1", "") + "/memory.swap.max")), "0");
    EXPECT_EQ(Trim(ReadFileOr(TaskCgroupDir("lim1", "") + "/memory.oom.group")), "1");
  } else {
    EXPECT_EQ(Trim(ReadFileOr(TaskCgroupDir("lim1", "cpu") + "/cpu.shares")), "512");
    EXPECT_EQ(Trim(ReadFileOr(TaskCgroupDir("lim1", "pids") + "/pids.max")), "100");
    EXPECT_EQ(Trim(ReadFileOr(TaskCgroupDir("lim1", "memory") + "/memory.swappiness")), "0");
  }
  ::kill(bg.pid, SIGTERM);
  EXPECT_EQ(bg.Wait().exit_code, 0);
  EXPECT_FALSE(Exists(MemoryLimitFile("lim1")));
  EXPECT_FALSE(Exists(TaskCgroupDir("lim1", "memory")));
  EXPECT_EQ(RunIsoexec({"delete", "lim1"}).exit_code, 0);
}

TEST(Limits, SoftAndHardMemoryFollowNomadsRules) {
  REQUIRE_ROOT();
  TestRoot root;
  auto bg = StartIsoexec({"run", "--name", "lim2", "--memory", "100M", "--memory-max", "200M",
                          "--rootfs", root.path(), "--", "/bin/testinit", "trap-term"});
  ASSERT_TRUE(Contains(bg.ReadUntil("ready", seconds(10)), "ready"));
  EXPECT_EQ(Trim(ReadFileOr(MemoryLimitFile("lim2"))), std::to_string(200ull << 20));
  std::string soft = TaskCgroupDir("lim2", "memory") + (PureV2() ? "/memory.low" : "/memory.soft_limit_in_bytes");
  EXPECT_EQ(Trim(ReadFileOr(soft)), std::to_string(100ull << 20));
  ::kill(bg.pid, SIGTERM);
  bg.Wait();
  EXPECT_EQ(RunIsoexec({"delete", "lim2"}).exit_code, 0);
}

TEST(Limits, CgroupPathsAsSeenFromTheTask) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--name", "cgp", "--rootfs", root.path(), "--", "/bin/cat",
                       "/proc/self/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (PureV2()) {
    EXPECT_TRUE(Trim(r.out).size() > 6 && Trim(r.out).substr(Trim(r.out).size() - 6) == ".scope") << r.out;
    EXPECT_TRUE(Contains(r.out, "0::/" + CgroupParent() + ".slice/cgp.scope")) << r.out;
  } else {
    EXPECT_TRUE(Contains(r.out, ":devices:")) << r.out;
    std::istringstream lines(r.out);
    std::string line;
    for (const char* c : {"memory", "cpu", "pids", "freezer", "devices"})
      EXPECT_TRUE(Contains(r.out, std::string(c) + ":/" + CgroupParent() + "/cgp") ||
                  Contains(r.out, "," + std::string(c) + ":/" + CgroupParent() + "/cgp") ||
                  Contains(r.out, std::string(c) + ",cpuacct:/" + CgroupParent() + "/cgp"))
          << c << " in " << r.out;
  }
  EXPECT_EQ(RunIsoexec({"delete", "cgp"}).exit_code, 0);
}

TEST(Oom, MemoryBombIsReportedAsOomKilled) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir out;
  std::string status = out.path() + "/status.json";
  auto r = RunIsoexec({"run", "--memory", "64M", "--status-file", status, "--rootfs",
                       root.path(), "--", "/bin/tail", "/dev/zero"},
                      seconds(60));
  EXPECT_EQ(r.exit_code, 137) << r.err;
  auto j = nlohmann::json::parse(ReadFileOr(status, "{}"));
  EXPECT_EQ(j["oom_killed"], true) << j.dump();
  EXPECT_EQ(j["signal"], 9);
  EXPECT_GE(j["memory_peak_bytes"].get<uint64_t>(), 32ull << 20);

  // A plain SIGKILL is not an OOM kill.
  r = RunIsoexec({"run", "--memory", "64M", "--status-file", status, "--rootfs", root.path(),
                  "--", "/bin/testinit", "signal", "9"});
  EXPECT_EQ(r.exit_code, 137);
  j = nlohmann::json::parse(ReadFileOr(status, "{}"));
  EXPECT_EQ(j["oom_killed"], false);
}

TEST(KillAll, StopLeavesNoSurvivorWithHostPidNamespace) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir out;
  std::string log = out.path() + "/out.log";
  // Nomad's ClientCleanup: a loop that keeps spawning children, no PID namespace.
  ASSERT_EQ(RunIsoexec({"run", "-d", "--name", "loop", "--pid", "host", "--stdout", log,
                        "--rootfs", root.path(), "--", "/bin/sh", "-c",
                        "while true; do /bin/echo X; /bin/sleep 1; done"})
                .exit_code,
            0);
  std::this_thread::sleep_for(milliseconds(500));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(RunIsoexec({"stop", "--signal", "SIGINT", "--timeout", "100ms", "loop"}).exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
  std::string before = ReadFileOr(log);
  EXPECT_FALSE(before.empty());
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(ReadFileOr(log), before) << "output grew after stop: a process survived";
  EXPECT_EQ(RunIsoexec({"delete", "loop"}).exit_code, 0);
}

TEST(KillAll, BackgroundProcessDiesWithTheTask) {
  REQUIRE_ROOT();
  TestRoot root;
  // Nomad's DestroyKillsAll: the main process exits at once, its background child must not
  // survive the task.
  auto r = RunIsoexec({"run", "--pid", "host", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                       "sleep 3600 & echo $!"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  pid_t orphan = std::atoi(Trim(r.out).c_str());
  ASSERT_GT(orphan, 0);
  bool alive = true;
  for (int i = 0; i < 50 && alive; ++i) {
    alive = ::kill(orphan, 0) == 0;
    if (alive) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_FALSE(alive) << "background sleep " << orphan << " survived";
}

TEST(KillAll, StrayProcessInTheTaskCgroupIsKilledAtLaunch) {
  REQUIRE_ROOT();
  TestRoot root;
  auto layout = cgroup::DetectLayout();
  ASSERT_TRUE(layout);
  // Nomad #20500: something already sits in the task's cgroup before launch.
  auto cg = cgroup::Create(*layout, {CgroupParent(), "stray"}, {});
  ASSERT_TRUE(cg) << cg.error().str();
  pid_t stray = ::fork();
  if (stray == 0) {
    ::execl("/bin/sleep", "sleep", "3000", nullptr);
    ::_exit(1);
  }
  ASSERT_TRUE((*cg)->AddProcess(stray));
  auto r = RunIsoexec({"run", "--name", "stray", "--rootfs", root.path(), "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int status = 0;
  bool reaped = false;
  for (int i = 0; i < 100 && !reaped; ++i) {
    reaped = ::waitpid(stray, &status, WNOHANG) == stray;
    if (!reaped) std::this_thread::sleep_for(milliseconds(10));
  }
  if (!reaped) {
    ::kill(stray, SIGKILL);
    ::waitpid(stray, &status, 0);
  }
  EXPECT_TRUE(reaped) << "the stray process survived the launch";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  (void)(*cg)->Destroy();
  EXPECT_EQ(RunIsoexec({"delete", "stray"}).exit_code, 0);
}

TEST(Limits, ForkBombIsContainedByPidsMax) {
  REQUIRE_ROOT();
  TestRoot root;
  auto t0 = std::chrono::steady_clock::now();
  auto r = RunIsoexec({"run", "--pids-max", "64", "--rootfs", root.path(), "--",
                       "/bin/testinit", "forkbomb", "1"},
                      seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // testinit counts the forks it got before the kernel refused (EAGAIN).
  EXPECT_TRUE(Contains(r.out, "err=EAGAIN")) << r.out;
  int forks = std::atoi(r.out.substr(r.out.find("forks=") + 6).c_str());
  EXPECT_LE(forks, 64);
  EXPECT_GE(forks, 50);
  // The host stays responsive: a plain task right after runs normally.
  EXPECT_EQ(RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/true"}).exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(30));
}

TEST(Limits, UpdateRaisesAndLowersALiveTask) {
  REQUIRE_ROOT();
  TestRoot root;
  ASSERT_EQ(RunIsoexec({"run", "-d", "--name", "upd", "--memory", "256M", "--cpu-shares", "512",
                        "--rootfs", root.path(), "--", "/bin/sleep", "60"})
                .exit_code,
            0);
  EXPECT_EQ(Trim(ReadFileOr(MemoryLimitFile("upd"))), "268435456");
  auto r = RunIsoexec({"update", "upd", "--memory", "512M", "--cpu-shares", "1024", "--pids-max", "50"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trim(ReadFileOr(MemoryLimitFile("upd"))), std::to_string(512ull << 20));
  std::string cpu = PureV2() ? TaskCgroupDir("upd", "") + "/cpu.weight"
                             : TaskCgroupDir("upd", "cpu") + "/cpu.shares";
  EXPECT_EQ(Trim(ReadFileOr(cpu)), PureV2() ? "100" : "1024");
  r = RunIsoexec({"update", "upd", "--memory", "128M", "--cpu-shares", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trim(ReadFileOr(MemoryLimitFile("upd"))), std::to_string(128ull << 20));
  EXPECT_EQ(Trim(ReadFileOr(cpu)), PureV2() ? "1" : "2");
  // Invalid values are refused, naming the flag, and change nothing.
  r = RunIsoexec({"update", "upd", "--cpu-shares", "1"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(Contains(r.err, "--cpu-shares")) << r.err;
  EXPECT_EQ(Trim(ReadFileOr(cpu)), PureV2() ? "1" : "2");
  EXPECT_EQ(RunIsoexec({"delete", "--force", "upd"}).exit_code, 0);
}

}  // namespace
}  // namespace isoexec::test
