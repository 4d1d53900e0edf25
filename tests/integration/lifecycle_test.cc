// Task supervision through the CLI: detached tasks, wait/kill/stop, logs, state, lost
// supervisors, Nomad's executor test scenarios, many tasks at once.
#include <sys/stat.h>

#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/task_state.h"
#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using nlohmann::json;

json Inspect(const std::string& id) {
  auto r = RunIsoexec({"inspect", id});
  if (r.exit_code != 0) return json::object();
  return json::parse(r.out);
}

// Starts a detached task; returns its id.
std::string Detach(const std::vector<std::string>& args) {
  std::vector<std::string> full = {"run", "-d"};
  full.insert(full.end(), args.begin(), args.end());
  auto r = RunIsoexec(full);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Trim(r.out);
}

TEST(Lifecycle, DetachedTaskEndToEnd) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "e2e", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                           "echo started; echo oops >&2; exec /bin/testinit trap-term"});
  EXPECT_EQ(id, "e2e");
  auto st = Inspect(id);
  EXPECT_EQ(st["state"], "running");
  EXPECT_GT(st["pid"].get<int>(), 0);
  EXPECT_FALSE(st["cgroup"].get<std::string>().empty());
  // The supervisor is not in the task's cgroup (Nomad #4491).
  std::string sup_cg = ReadFileOr("/proc/" + std::to_string(st["supervisor_pid"].get<int>()) + "/cgroup");
  EXPECT_FALSE(Contains(sup_cg, "/" + id)) << sup_cg;

  auto list = RunIsoexec({"list"});
  EXPECT_TRUE(Contains(list.out, "e2e")) << list.out;
  EXPECT_TRUE(Contains(list.out, "running")) << list.out;
  auto ps = RunIsoexec({"ps", id});
  EXPECT_TRUE(Contains(ps.out, "testinit trap-term")) << ps.out;
  EXPECT_TRUE(Contains(ps.out, "[isoexec-init]")) << ps.out;

  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(RunIsoexec({"logs", id}).out, "started\nready\n");
  EXPECT_EQ(RunIsoexec({"logs", "--stderr", id}).out, "oops\n");

  EXPECT_EQ(RunIsoexec({"stop", id}).exit_code, 0);
  st = Inspect(id);
  EXPECT_EQ(st["state"], "exited");
  EXPECT_EQ(st["exit"]["exit_code"], 0);
  EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 0);
  EXPECT_TRUE(Contains(RunIsoexec({"logs", id}).out, "got SIGTERM"));
  // Stopping an exited task succeeds; a second task with the same id is refused.
  EXPECT_EQ(RunIsoexec({"stop", id}).exit_code, 0);
  auto dup = RunIsoexec({"run", "--name", id, "--rootfs", root.path(), "--", "/bin/true"});
  EXPECT_EQ(dup.exit_code, 125);
  EXPECT_TRUE(Contains(dup.err, "already exists")) << dup.err;
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
  EXPECT_FALSE(Exists(StateDir() + "/" + id));
  EXPECT_EQ(RunIsoexec({"inspect", id}).exit_code, 125);
}

TEST(Lifecycle, DeleteRefusesARunningTaskUnlessForced) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "del", "--rootfs", root.path(), "--", "/bin/sleep", "60"});
  auto r = RunIsoexec({"delete", id});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(Contains(r.err, "running")) << r.err;
  EXPECT_EQ(Inspect(id)["state"], "running");
  EXPECT_EQ(RunIsoexec({"delete", "--force", id}).exit_code, 0);
  EXPECT_FALSE(Exists(StateDir() + "/" + id));
}

TEST(Lifecycle, ConcurrentWaitersGetTheSameExitState) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "waiters", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                           "sleep 1; exit 7"});
  std::vector<Background> waiters;
  for (int i = 0; i < 4; ++i) waiters.push_back(StartIsoexec({"wait", id}));
  for (auto& w : waiters) EXPECT_EQ(w.Wait(seconds(20)).exit_code, 7);
  EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 7);  // after the end too
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(Lifecycle, KillSignalsTheMainProcessOrEveryProcess) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "killme", "--rootfs", root.path(), "--", "/bin/testinit", "trap-term"});
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(RunIsoexec({"kill", id}).exit_code, 0);  // default SIGTERM
  EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 0);
  EXPECT_TRUE(Contains(RunIsoexec({"logs", id}).out, "got SIGTERM"));
  auto r = RunIsoexec({"kill", id, "SIGBOGUS"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(Contains(r.err, "unknown signal")) << r.err;
  r = RunIsoexec({"kill", id});
  EXPECT_EQ(r.exit_code, 125);  // not running any more
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);

  // --all reaches every process of the task: a child that would survive a signal to main.
  id = Detach({"--name", "killall", "--pid", "host", "--rootfs", root.path(), "--", "/bin/sh", "-c",
               "sleep 100 & wait"});
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(RunIsoexec({"kill", "--all", id, "KILL"}).exit_code, 0);
  EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 137);
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(Lifecycle, SupervisorKilledTaskIsLostAndCleanedUp) {
  REQUIRE_ROOT();
  TestRoot root;
  for (const char* pid_mode : {"private", "host"}) {
    std::string id = Detach({"--name", std::string("lost-") + pid_mode, "--pid", pid_mode,
                             "--rootfs", root.path(), "--", "/bin/sh", "-c", "sleep 1000 & sleep 1000"});
    auto st = Inspect(id);
    pid_t sup = st["supervisor_pid"].get<int>();
    pid_t task = st["pid"].get<int>();
    ASSERT_GT(sup, 0);
    ASSERT_EQ(::kill(sup, SIGKILL), 0);
    // The task dies with its supervisor (parent-death signal) within 1 s.
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = runtime::ProcessStartTime(task) == 0;  // gone or a zombie awaiting its reaper
      if (!gone) std::this_thread::sleep_for(milliseconds(10));
    }
    EXPECT_TRUE(gone) << pid_mode << ": task survived its supervisor";
    st = Inspect(id);
    EXPECT_EQ(st["state"], "lost") << st.dump();
    EXPECT_TRUE(Contains(st["lost_reason"].get<std::string>(), "supervisor")) << st.dump();
    EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 125);
    EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
  }
}

TEST(Lifecycle, SigtermToADetachedSupervisorStopsTheTaskGracefully) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "supterm", "--rootfs", root.path(), "--", "/bin/testinit", "trap-term"});
  std::this_thread::sleep_for(milliseconds(200));
  pid_t sup = Inspect(id)["supervisor_pid"].get<int>();
  ::kill(sup, SIGTERM);
  EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 0);
  EXPECT_TRUE(Contains(RunIsoexec({"logs", id}).out, "got SIGTERM"));
  EXPECT_EQ(Inspect(id)["state"], "exited");
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(Lifecycle, LogsRotateAndFollow) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "rot", "--log-max-size", "1K", "--log-max-files", "3", "--rootfs",
                           root.path(), "--", "/bin/sh", "-c",
                           "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done"});
  EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 0);
  std::string dir = StateDir() + "/" + id;
  EXPECT_TRUE(Exists(dir + "/stdout.log"));
  EXPECT_TRUE(Exists(dir + "/stdout.log.1"));
  EXPECT_TRUE(Exists(dir + "/stdout.log.2"));
  EXPECT_FALSE(Exists(dir + "/stdout.log.3"));
  struct stat st {};
  ::stat((dir + "/stdout.log.1").c_str(), &st);
  EXPECT_LE(st.st_size, 1024);
  std::string logs = RunIsoexec({"logs", id}).out;
  EXPECT_TRUE(Contains(logs, "line-399\n")) << logs;
  EXPECT_FALSE(Contains(logs, "line-0\n"));  // rotated away
  // Rotation cuts at line boundaries: every line is whole.
  std::istringstream in(logs);
  std::string line;
  while (std::getline(in, line)) EXPECT_EQ(line.rfind("line-", 0), 0u) << line;
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);

  // -f follows until the task ends.
  id = Detach({"--name", "follow", "--rootfs", root.path(), "--", "/bin/sh", "-c",
               "for i in 1 2 3; do echo tick-$i; sleep 0.3; done"});
  auto r = RunIsoexec({"logs", "-f", id}, seconds(20));
  EXPECT_EQ(r.out, "tick-1\ntick-2\ntick-3\n");
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(Lifecycle, RmDeletesTheStateWhenTheTaskEnds) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "rmme", "--rm", "--rootfs", root.path(), "--", "/bin/true"});
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !Exists(StateDir() + "/" + id);
    if (!gone) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(gone);
  // A named foreground task keeps its state until deleted; with --rm it does not.
  EXPECT_EQ(RunIsoexec({"run", "--name", "fg", "--rootfs", root.path(), "--", "/bin/testinit", "exit", "3"}).exit_code, 3);
  EXPECT_EQ(Inspect("fg")["state"], "exited");
  EXPECT_EQ(RunIsoexec({"wait", "fg"}).exit_code, 3);
  EXPECT_EQ(RunIsoexec({"delete", "fg"}).exit_code, 0);
  EXPECT_EQ(RunIsoexec({"run", "--rm", "--name", "fg2", "--rootfs", root.path(), "--", "/bin/true"}).exit_code, 0);
  EXPECT_FALSE(Exists(StateDir() + "/fg2"));
}

TEST(Lifecycle, DetachedSetupFailureLeavesNothing) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "-d", "--name", "bad", "--rootfs", root.path(), "--", "/bin/foobar"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_TRUE(Contains(r.err, "file /bin/foobar not found under path")) << r.err;
  EXPECT_FALSE(Exists(StateDir() + "/bad"));
  r = RunIsoexec({"run", "-d", "--name", "bad", "--memory", "nope", "--", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_FALSE(Exists(StateDir() + "/bad"));
  r = RunIsoexec({"run", "-d", "--name", "../x", "--", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(Contains(r.err, "--name")) << r.err;
}

// ---- Nomad's executor_test.go scenarios (nomad-executor.md §2.2), through the CLI.

TEST(NomadExecutor, StartInvalid) {
  REQUIRE_ROOT();
  TestRoot root;
  EXPECT_EQ(RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/foobar"}).exit_code, 127);
}

TEST(NomadExecutor, StartWaitFailureCode) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "fc", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                           "sleep 1; /bin/date fail"});
  EXPECT_GT(Inspect(id)["pid"].get<int>(), 0);
  EXPECT_NE(RunIsoexec({"wait", id}).exit_code, 0);
  EXPECT_EQ(RunIsoexec({"stop", "--signal", "SIGINT", "--timeout", "100ms", id}).exit_code, 0);
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(NomadExecutor, StartWait) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "sw", "--rootfs", root.path(), "--", "/bin/echo", "hello world"});
  EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 0);
  EXPECT_EQ(RunIsoexec({"stop", "--signal", "SIGINT", "--timeout", "100ms", id}).exit_code, 0);
  EXPECT_EQ(Trim(RunIsoexec({"logs", id}).out), "hello world");
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(NomadExecutor, StartWaitChildren) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "swc", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                           "(sleep 30 > /dev/null & ) ; exec sleep 1"});
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(RunIsoexec({"wait", id}, seconds(20)).exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(7));
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(NomadExecutor, WaitExitSignal) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "wes", "--rootfs", root.path(), "--", "/bin/sleep", "10000"});
  pid_t pid = Inspect(id)["pid"].get<int>();
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);  // from outside, by its host pid
  EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 137);
  auto st = Inspect(id);
  EXPECT_EQ(st["exit"]["signal"], 9);
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(NomadExecutor, StartKill) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "sk", "--rootfs", root.path(), "--", "/bin/sleep", "10"});
  EXPECT_EQ(RunIsoexec({"stop", "--signal", "SIGINT", "--timeout", "100ms", id}).exit_code, 0);
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(RunIsoexec({"logs", id}).out, "");
  EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
}

TEST(NomadExecutor, KillImmediatelyNoGraceAndWithGrace) {
  REQUIRE_ROOT();
  TestRoot root;
  for (const char* grace : {"0", "100ms"}) {
    std::string id = Detach({"--name", std::string("ki") + (grace[0] == '0' ? "0" : "g"),
                             "--rootfs", root.path(), "--", "/bin/sleep", "100"});
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(RunIsoexec({"stop", "--signal", "SIGKILL", "--timeout", grace, id}).exit_code, 0);
    EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 137);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(4));
    EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
  }
}

TEST(Lifecycle, FiftyDetachedTasksAtOnceLeaveNothing) {
  REQUIRE_ROOT();
  TestRoot root;
  std::vector<Background> starts;
  for (int i = 0; i < 50; ++i)
    starts.push_back(StartIsoexec({"run", "-d", "--name", "many-" + std::to_string(i), "--memory",
                                   "32M", "--rootfs", root.path(), "--", "/bin/sleep", "60"}));
  int started = 0;
  for (auto& s : starts) started += s.Wait(seconds(60)).exit_code == 0;
  EXPECT_EQ(started, 50);
  auto list = RunIsoexec({"list", "--json"});
  EXPECT_EQ(json::parse(list.out).size(), 50u);
  std::vector<Background> stops;
  for (int i = 0; i < 50; ++i) stops.push_back(StartIsoexec({"stop", "--timeout", "1s", "many-" + std::to_string(i)}));
  for (auto& s : stops) EXPECT_EQ(s.Wait(seconds(60)).exit_code, 0);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(RunIsoexec({"delete", "many-" + std::to_string(i)}).exit_code, 0);
  EXPECT_EQ(Trim(RunIsoexec({"list", "-q"}).out), "");
}

}  // namespace
}  // namespace isoexec::test

namespace isoexec::test {
namespace {

TEST(ExecCli, RunsInsideTheTaskWithItsIdentityAndExitCodes) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "exec1", "--user", "runner", "--env", "A=1", "--rootfs",
                           root.path(), "--", "/bin/sleep", "60"});
  auto r = RunIsoexec({"exec", id, "--", "/bin/testinit", "id"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "uid=1000")) << r.out;
  r = RunIsoexec({"exec", id, "--", "/bin/testinit", "env"});
  EXPECT_TRUE(Contains(r.out, "A=1\n")) << r.out;
  r = RunIsoexec({"exec", "-e", "B=2", id, "--", "/bin/testinit", "env"});
  EXPECT_TRUE(Contains(r.out, "A=1\n") && Contains(r.out, "B=2\n")) << r.out;
  r = RunIsoexec({"exec", "--user", "0", id, "--", "/bin/testinit", "id"});
  EXPECT_TRUE(Contains(r.out, "uid=0")) << r.out;
  // Same cgroup and PID namespace as the task.
  auto task_cg = ReadFileOr("/proc/" + std::to_string(Inspect(id)["pid"].get<int>()) + "/cgroup");
  r = RunIsoexec({"exec", id, "--", "/bin/cat", "/proc/self/cgroup"});
  EXPECT_EQ(r.out, task_cg);
  r = RunIsoexec({"exec", id, "--", "/bin/testinit", "pid"});
  EXPECT_FALSE(Contains(r.out, "pid=1 ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "ppid=0")) << r.out;  // its parent is outside the namespace
  EXPECT_EQ(RunIsoexec({"exec", id, "--", "/bin/testinit", "exit", "43"}).exit_code, 43);
  EXPECT_EQ(RunIsoexec({"exec", id, "--", "/bin/testinit", "signal", "15"}).exit_code, 143);
  EXPECT_EQ(RunIsoexec({"exec", id, "--", "nosuch"}).exit_code, 127);
  auto t0 = std::chrono::steady_clock::now();
  r = RunIsoexec({"exec", "--timeout", "300ms", id, "--", "/bin/sleep", "10"});
  EXPECT_EQ(r.exit_code, 124);
  EXPECT_TRUE(Contains(r.err, "deadline")) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
  r = RunIsoexec({"exec", "-i", id, "--", "/bin/head", "-n1"}, seconds(10), "hello from stdin\n");
  EXPECT_EQ(r.out, "hello from stdin\n");
  // Nomad's HandlerExec: a failing command's output and status come back.
  r = RunIsoexec({"exec", id, "--", "/bin/stat", "lkjhdsaflkjshowaisxmcvnlia"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "No such file or directory")) << r.err;
  EXPECT_EQ(RunIsoexec({"delete", "--force", id}).exit_code, 0);
  r = RunIsoexec({"exec", id, "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
}

TEST(ExecCli, InteractiveTerminalInsideTheTask) {
  REQUIRE_ROOT();
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "needs script(1) (util-linux) for a real terminal";
  TestRoot root;
  std::string id = Detach({"--name", "tty1", "--rootfs", root.path(), "--", "/bin/sleep", "60"});
  // script(1) gives isoexec a real terminal; the task's side is a pty from its own devpts.
  std::string cmd = std::string(ISOEXEC_BIN) + " --state-dir " + StateDir() + " exec -it " + id +
                    " -- /bin/sh -c 'tty; stty size; echo hello stdout; echo hello stderr >&2; exit 43'";
  auto r = RunCommand({"/usr/bin/script", "-qefc", "stty cols 100 rows 40; " + cmd, "/dev/null"}, seconds(20));
  EXPECT_EQ(r.exit_code, 43) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "/dev/pts/")) << r.out;
  EXPECT_TRUE(Contains(r.out, "40 100")) << r.out;
  EXPECT_TRUE(Contains(r.out, "hello stdout\r\nhello stderr\r\n")) << r.out;  // merged, CRLF
  EXPECT_EQ(RunIsoexec({"delete", "--force", id}).exit_code, 0);
}

TEST(StatsCli, SamplesOfARunningTask) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string id = Detach({"--name", "st1", "--memory", "128M", "--rootfs", root.path(), "--",
                           "/bin/testinit", "memhog", "40", "60"});
  // Wait until the task has touched its memory (a loaded machine may take a while).
  ProcResult r;
  json j;
  for (int i = 0; i < 50; ++i) {
    r = RunIsoexec({"stats", "--no-stream", "--json", id});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    j = json::parse(Trim(r.out));
    if (j["memory"]["usage_bytes"].get<uint64_t>() >= (30ull << 20)) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(j["id"], id);
  EXPECT_GE(j["memory"]["usage_bytes"].get<uint64_t>(), 30ull << 20);
  EXPECT_EQ(j["memory"]["limit_bytes"].get<uint64_t>(), 128ull << 20);
  EXPECT_FALSE(j["memory"]["measured"].empty());
  EXPECT_FALSE(j["pids"].empty());
  r = RunIsoexec({"stats", "--no-stream", id});
  EXPECT_TRUE(Contains(r.out, "CPU %")) << r.out;
  EXPECT_TRUE(Contains(r.out, id)) << r.out;
  // Streaming: a sample per interval.
  auto bg = StartIsoexec({"stats", "--json", "--interval", "200ms", id});
  std::string out = bg.ReadUntil("\n{", seconds(5));
  ::kill(bg.pid, SIGTERM);
  bg.Wait();
  EXPECT_GE(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(RunIsoexec({"delete", "--force", id}).exit_code, 0);
}

TEST(StatsCli, StatsFileOfAForegroundTask) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir out;
  std::string file = out.path() + "/stats.jsonl", status = out.path() + "/status.json";
  auto r = RunIsoexec({"run", "--stats-file", file, "--stats-interval", "200ms", "--status-file",
                       status, "--rootfs", root.path(), "--", "/bin/testinit", "burn", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(ReadFileOr(file));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = json::parse(line);
    EXPECT_TRUE(j.contains("cpu") && j.contains("memory") && j.contains("timestamp_ns"));
    ++n;
  }
  EXPECT_GE(n, 3);
  auto s = json::parse(ReadFileOr(status, "{}"));
  // burn 2 spins for 1-2 s of wall time; on a busy 2-core machine it still gets well over 0.2 s.
  EXPECT_GT(s["cpu_user_ns"].get<uint64_t>() + s["cpu_system_ns"].get<uint64_t>(), 200'000'000u);
  EXPECT_GT(s["memory_peak_bytes"].get<uint64_t>(), 0u);
}

}  // namespace
}  // namespace isoexec::test
