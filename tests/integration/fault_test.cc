// Faults: supervisors and clients SIGKILLed at random points of launch, exec and stop; a full
// file system under the state dir; setup failures half way through a launch. After each, the
// state must tell the truth (`lost` where the task was lost) and `delete --force` must leave
// nothing behind: no cgroup, mount, process or state dir.
//
// FAULT_SEED=<n> replays a run (the seed is printed on failure).
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "runtime/task_state.h"
#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// ---- helpers ---------------------------------------------------------------------------

std::vector<std::string> Argv(const std::string& state_dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ISOEXEC_BIN, "--state-dir", state_dir, "--cgroup-parent",
                                   CgroupParent()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ProcResult RunIn(const std::string& state_dir, const std::vector<std::string>& args,
                 milliseconds timeout = seconds(60)) {
  return RunCommand(Argv(state_dir, args), timeout);
}

// `inspect` as JSON; an empty object when it fails (`rc` gets its exit status).
json InspectIn(const std::string& state_dir, const std::string& id, ProcResult* r = nullptr) {
  ProcResult res = RunIn(state_dir, {"inspect", id});
  if (r) *r = res;
  if (res.exit_code != 0) return json::object();
  return json::parse(res.out);
}
json Inspect(const std::string& id, ProcResult* r = nullptr) { return InspectIn(StateDir(), id, r); }

std::vector<pid_t> Children(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t c;
  while (f >> c) out.push_back(c);
  return out;
}

bool Alive(pid_t pid) { return pid > 0 && runtime::ProcessStartTime(pid) != 0; }

std::string Cmdline(const std::string& pid) {
  std::string s = ReadFileOr("/proc/" + pid + "/cmdline");
  for (char& c : s)
    if (c == '\0') c = ' ';
  return s;
}

// Task cgroups named `id` under our parent, in every hierarchy.
std::vector<std::string> CgroupDirs(const std::string& id) {
  std::vector<std::string> out;
  for (const char* base : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    for (const auto& ctrl : DirEntries(base)) {
      for (const std::string& cand : {std::string(base) + "/" + ctrl + "/" + CgroupParent() + "/" + id,
                                      std::string(base) + "/" + ctrl + "/" + CgroupParent() + ".slice/" + id + ".scope"}) {
        struct stat st {};
        if (::lstat(cand.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out.push_back(cand);
      }
    }
  }
  return out;
}

// Live (not zombie) processes whose command line names both strings, or that sit in a task
// cgroup named `id`.
std::vector<std::string> Processes(const std::string& a, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& pid : DirEntries("/proc")) {
    if (pid.empty() || pid[0] < '0' || pid[0] > '9') continue;
    if (!Alive(std::stoi(pid))) continue;
    std::string cmd = Cmdline(pid);
    std::string cg = ReadFileOr("/proc/" + pid + "/cgroup");
    bool named = Contains(cmd, a) && Contains(cmd, " " + id + " ");
    bool in_cgroup = Contains(cg, "/" + CgroupParent() + "/" + id + "\n") ||
                     Contains(cg, "/" + CgroupParent() + ".slice/" + id + ".scope\n");
    if (named || in_cgroup) out.push_back(pid + ": " + cmd);
  }
  return out;
}

// Processes in the task cgroup of `id` (every hierarchy).
std::vector<std::string> CgroupProcs(const std::string& id) {
  std::vector<std::string> out;
  for (const auto& dir : CgroupDirs(id))
    for (const auto& pid : Lines(ReadFileOr(dir + "/cgroup.procs")))
      if (!pid.empty() && Alive(std::stoi(pid))) out.push_back(pid + ": " + Cmdline(pid));
  return out;
}

// A task dies with its supervisor (parent-death signal), before any verb cleans up after it.
void ExpectDiedWithItsSupervisor(const std::string& id) {
  std::vector<std::string> procs;
  for (int i = 0; i < 200; ++i) {
    procs = CgroupProcs(id);
    if (procs.empty()) return;
    std::this_thread::sleep_for(milliseconds(10));
  }
  for (const auto& p : procs)
    ADD_FAILURE() << id << ": outlived its killed supervisor by 2 s: " << p
                  << " (the child set PR_SET_PDEATHSIG after its parent had died: runtime/child.cc)";
}

std::vector<std::string> Mounts(const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& line : Lines(ReadFileOr("/proc/self/mountinfo")))
    if (Contains(line, needle)) out.push_back(line);
  return out;
}

// Nothing of task `id` is left: no state dir, cgroup, process or mount.
void ExpectNothingLeft(const std::string& id, const std::string& state_dir = StateDir()) {
  EXPECT_FALSE(Exists(state_dir + "/" + id)) << id << ": state dir left";
  // A process SIGKILLed a moment ago may still be on its way out.
  std::vector<std::string> procs;
  for (int i = 0; i < 100; ++i) {
    procs = Processes(state_dir, id);
    if (procs.empty()) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  for (const auto& p : procs) ADD_FAILURE() << id << ": process left: " << p;
  for (const auto& c : CgroupDirs(id)) ADD_FAILURE() << id << ": cgroup left: " << c;
  for (const auto& m : Mounts(state_dir + "/" + id)) ADD_FAILURE() << id << ": mount left: " << m;
}

// A launcher killed between claiming its task dir and renaming it into place leaves a hidden
// claim; the next `list` sweeps it.
void ExpectClaimsSwept() {
  RunIsoexec({"list", "-q"});
  for (const auto& e : DirEntries(StateDir())) EXPECT_NE(e.rfind(".claim-", 0), 0u) << "left: " << e;
}

std::mt19937& Rng() {
  static std::mt19937 rng = [] {
    unsigned seed = static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
    if (const char* s = std::getenv("FAULT_SEED")) seed = static_cast<unsigned>(std::stoul(s));
    std::fprintf(stderr, "fault_test: FAULT_SEED=%u\n", seed);
    return std::mt19937(seed);
  }();
  return rng;
}

milliseconds RandomDelay(int max_ms = 50) {
  return milliseconds(std::uniform_int_distribution<int>(0, max_ms)(Rng()));
}

// Waits until the task's state is `want` (or the timeout passes); returns the last state.
json WaitForState(const std::string& id, const std::string& want, milliseconds timeout = seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  json st;
  do {
    st = Inspect(id);
    if (st.value("state", "") == want) break;
    std::this_thread::sleep_for(milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return st;
}

// The truth after a fault: the task either does not exist (the launch failed and was rolled
// back) or its state is one of `allowed`; a `lost` task has a reason and no process left.
// Then `delete --force` leaves nothing.
void ExpectTruthfulThenDelete(const std::string& id, const std::set<std::string>& allowed) {
  ProcResult r;
  json st = Inspect(id, &r);
  if (r.exit_code != 0) {
    EXPECT_TRUE(Contains(r.err, "no such task")) << id << ": " << r.err;
  } else {
    std::string state = st.value("state", "");
    EXPECT_TRUE(allowed.count(state)) << id << ": state " << state << "\n" << st.dump(2);
    if (state == "lost") {
      EXPECT_FALSE(st.value("lost_reason", "").empty()) << st.dump(2);
      EXPECT_TRUE(CgroupDirs(id).empty()) << id << ": a lost task keeps its cgroup";
      int pid = st.value("pid", 0);
      if (pid > 0) {
        bool gone = false;
        for (int i = 0; i < 100 && !gone; ++i) {
          gone = !Alive(pid);
          if (!gone) std::this_thread::sleep_for(milliseconds(10));
        }
        EXPECT_TRUE(gone) << id << ": the main process of a lost task is alive";
      }
      // A lost task ends `wait` with an error, not a made-up status.
      EXPECT_EQ(RunIsoexec({"wait", id}).exit_code, 125);
    }
    if (state == "running") {
      // Still supervised: its supervisor answers.
      auto ps = RunIsoexec({"ps", id});
      EXPECT_EQ(ps.exit_code, 0) << ps.err;
    }
    auto d = RunIsoexec({"delete", "--force", id});
    EXPECT_EQ(d.exit_code, 0) << id << ": " << d.err;
  }
  ExpectNothingLeft(id);
}

// The supervisor of a detached launch: the `run -d` client's child, or (once the client
// returned) the one in the state file.
pid_t FindDetachedSupervisor(Background& client, const std::string& id) {
  for (int i = 0; i < 2000; ++i) {
    auto kids = Children(client.pid);
    if (!kids.empty()) return kids.front();
    int status;
    if (::waitpid(client.pid, &status, WNOHANG) == client.pid) {
      client.pid = -client.pid;  // reaped: remember for Finish()
      client.out_so_far = std::to_string(status);
      return Inspect(id).value("supervisor_pid", 0);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return 0;
}

// Waits for a client that FindDetachedSupervisor may already have reaped.
int FinishClient(Background& client) {
  if (client.pid < 0) {
    ::close(client.out_fd);
    ::close(client.err_fd);
    int status = std::stoi(client.out_so_far);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return client.Wait(seconds(30)).exit_code;
}

// ---- SIGKILL of supervisors and clients --------------------------------------------------

TEST(Fault, DetachedSupervisorKilledAtRandomPointsOfLaunch) {
  REQUIRE_ROOT();
  TestRoot root;
  for (int i = 0; i < 40; ++i) {
    std::string id = "fl-" + std::to_string(i);
    auto delay = RandomDelay();
    Background client = StartIsoexec({"run", "-d", "--name", id, "--rootfs", root.path(), "--",
                                      "/bin/sleep", "1000"});
    std::this_thread::sleep_for(delay);
    pid_t sup = FindDetachedSupervisor(client, id);
    if (sup > 0) ::kill(sup, SIGKILL);
    int rc = FinishClient(client);
    EXPECT_TRUE(rc == 0 || rc == 125) << id << " after " << delay.count() << " ms: " << rc;
    ExpectDiedWithItsSupervisor(id);
    ExpectTruthfulThenDelete(id, {"lost"});
  }
}

TEST(Fault, ForegroundSupervisorKilledAtRandomPointsOfLaunch) {
  REQUIRE_ROOT();
  TestRoot root;
  for (int i = 0; i < 40; ++i) {
    const bool named = i % 2 == 0;
    std::string id = "ff-" + std::to_string(i);
    auto before = DirEntries(StateDir());
    // The task's output goes elsewhere than our pipes, so a task that outlived its supervisor
    // (a bug) cannot keep us waiting for EOF.
    std::vector<std::string> args = {"run", "--stdout", "/dev/null", "--stderr", "/dev/null"};
    if (named) args.insert(args.end(), {"--name", id});
    args.insert(args.end(), {"--rootfs", root.path(), "--", "/bin/sleep", "1000"});
    Background run = StartIsoexec(args);
    std::this_thread::sleep_for(RandomDelay());
    ::kill(run.pid, SIGKILL);
    EXPECT_EQ(run.Wait().exit_code, 128 + SIGKILL);
    if (!named) {
      // An unnamed task's dir (if it got that far) shows up as lost too.
      id.clear();
      for (const auto& e : DirEntries(StateDir()))
        if (!before.count(e) && e[0] != '.') id = e;
      if (id.empty()) continue;
      ExpectDiedWithItsSupervisor(id);
      auto list = json::parse(RunIsoexec({"list", "--json"}).out);
      bool listed = false;
      for (const auto& t : list)
        if (t["id"] == id) listed = t["state"] == "lost";
      EXPECT_TRUE(listed) << id << ": " << list.dump(2);
    }
    if (named) ExpectDiedWithItsSupervisor(id);
    ExpectTruthfulThenDelete(id, {"lost"});
  }
  ExpectClaimsSwept();
}

// Exec and stop in flight when the supervisor dies: detached and foreground (named) tasks.
TEST(Fault, SupervisorKilledDuringExecAndStop) {
  REQUIRE_ROOT();
  TestRoot root;
  for (int i = 0; i < 32; ++i) {
    const bool detached = i % 2 == 0;
    const bool during_stop = (i / 2) % 2 == 0;
    std::string id = "fx-" + std::to_string(i);
    // ignore-term: a stop waits out its grace period, so the kill lands inside it.
    std::vector<std::string> args = {"run", "--name", id, "--stdout", "/dev/null", "--rootfs",
                                     root.path(), "--", "/bin/testinit", "ignore-term"};
    if (detached) args.insert(args.begin() + 1, "-d");
    Background run = StartIsoexec(args);
    json st = WaitForState(id, "running");
    ASSERT_EQ(st.value("state", ""), "running") << st.dump(2);
    pid_t sup = st["supervisor_pid"].get<int>();
    Background verb = during_stop ? StartIsoexec({"stop", "--timeout", "2s", id})
                                  : StartIsoexec({"exec", id, "--", "/bin/sleep", "5"});
    std::this_thread::sleep_for(RandomDelay());
    ASSERT_EQ(::kill(sup, SIGKILL), 0);
    auto vr = verb.Wait(seconds(20));
    if (during_stop) {
      // The task is gone either way: stopped, or killed with its supervisor.
      EXPECT_EQ(vr.exit_code, 0) << id << ": " << vr.err;
    } else {
      // The exec'd process dies with the task; its client reports that, never hangs.
      EXPECT_NE(vr.exit_code, 0) << id;
    }
    int rc = run.Wait().exit_code;
    if (!detached) {
      EXPECT_EQ(rc, 128 + SIGKILL);
    }
    ExpectDiedWithItsSupervisor(id);
    ExpectTruthfulThenDelete(id, {"lost", "exited"});
  }
}

TEST(Fault, DetachedClientKilledMidLaunch) {
  REQUIRE_ROOT();
  TestRoot root;
  for (int i = 0; i < 30; ++i) {
    const bool both = i % 3 == 2;  // the client and its supervisor at the same moment
    std::string id = "fc-" + std::to_string(i);
    Background client = StartIsoexec({"run", "-d", "--name", id, "--rootfs", root.path(), "--",
                                      "/bin/sleep", "1000"});
    std::this_thread::sleep_for(RandomDelay(30));
    pid_t sup = 0;
    if (both) {
      auto kids = Children(client.pid);
      if (!kids.empty()) sup = kids.front();
    }
    ::kill(client.pid, SIGKILL);
    if (sup > 0) ::kill(sup, SIGKILL);
    client.Wait();
    // Until the launch in progress (if any) has settled: the task runs, or never existed, or
    // (both killed) was abandoned.
    json st;
    for (int k = 0; k < 1000; ++k) {
      ProcResult r;
      st = Inspect(id, &r);
      if (r.exit_code == 0 ? st.value("state", "") != "created" : Contains(r.err, "no such task")) break;
      std::this_thread::sleep_for(milliseconds(10));
    }
    if (!both) {
      // A supervisor whose client died carries on: the task runs, correctly supervised. Or the
      // client died before it forked one: nothing, or a directory it had claimed, which is
      // reported as an interrupted launch.
      if (st.value("state", "") == "running") {
        EXPECT_TRUE(Alive(st.value("supervisor_pid", 0))) << st.dump(2);
      } else if (!st.empty()) {
        EXPECT_TRUE(Contains(st.value("lost_reason", ""), "launch was interrupted")) << st.dump(2);
      }
      ExpectTruthfulThenDelete(id, {"running", "lost"});
    } else {
      if (sup > 0) ExpectDiedWithItsSupervisor(id);
      ExpectTruthfulThenDelete(id, {"lost", "running"});
    }
  }
  ExpectClaimsSwept();
}

// ---- a full file system under the state dir --------------------------------------------

class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& size) {
    ok_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, ("size=" + size + ",mode=0711").c_str()) == 0;
  }
  ~TmpfsMount() {
    if (ok_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  const std::string& path() const { return dir_.path(); }
  uint64_t free_bytes() const {
    struct statvfs v {};
    ::statvfs(dir_.path().c_str(), &v);
    return static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  }

 private:
  TempDir dir_;
  bool ok_ = false;
};

TEST(Fault, FullStateDirDropsLogsButNeverTheTaskOrItsExit) {
  REQUIRE_ROOT();
  TestRoot root;
  TmpfsMount fs("256k");
  ASSERT_TRUE(fs.ok()) << std::strerror(errno);
  const std::string& sd = fs.path();
  // Both streams flood the log files far past the file system's size.
  auto r = RunIn(sd, {"run", "-d", "--name", "flood", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                      "/bin/busybox yes stdout-stdout-stdout & /bin/busybox yes stderr-stderr >&2 & "
                      "exec /bin/testinit ignore-term"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The file system fills up; the task keeps running and its supervisor keeps answering
  // (it never stops reading the task's pipes, so the task never blocks on them).
  for (int i = 0; i < 200 && fs.free_bytes() > 0; ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(fs.free_bytes(), 0u);
  std::this_thread::sleep_for(milliseconds(300));
  auto ps = RunIn(sd, {"ps", "flood"});
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_GE(Lines(ps.out).size(), 4u) << ps.out;  // header, init, sh, yes x2
  // The condition is reported while it lasts: per stream, in `inspect` and `list --json`.
  json st = InspectIn(sd, "flood");
  EXPECT_EQ(st.value("state", ""), "running") << st.dump(2);
  ASSERT_TRUE(st["logs"].is_object()) << st.dump(2);
  for (const char* stream : {"stdout", "stderr"}) {
    const json& l = st["logs"][stream];
    EXPECT_TRUE(l.value("failing", false)) << stream << ": " << st.dump(2);
    EXPECT_GT(l.value("dropped_bytes", uint64_t{0}), 0u) << stream;
    EXPECT_TRUE(Contains(l.value("error", ""), "No space left on device")) << l.dump();
  }
  EXPECT_TRUE(Contains(st["warnings"].dump(), "stdout log: write")) << st["warnings"].dump();
  auto list = json::parse(RunIn(sd, {"list", "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0]["logs"]["stdout"].value("failing", false)) << list.dump(2);

  // A new task cannot have its state recorded: it is refused, with one clear line, and leaves
  // nothing behind.
  for (bool detach : {true, false}) {
    std::vector<std::string> args = {"run", "--name", "second", "--rootfs", root.path(), "--", "/bin/true"};
    if (detach) args.insert(args.begin() + 1, "-d");
    auto second = RunIn(sd, args);
    EXPECT_EQ(second.exit_code, 125) << second.out;
    EXPECT_TRUE(Contains(second.err, "cannot record the task's state")) << second.err;
    EXPECT_TRUE(Contains(second.err, "No space left on device")) << second.err;
    EXPECT_EQ(Lines(second.err).size(), 1u) << second.err;
    ExpectNothingLeft("second", sd);
  }

  // The exit is still recorded (state.json is replaced atomically, with the reserve).
  auto stop = RunIn(sd, {"stop", "--timeout", "200ms", "flood"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  st = InspectIn(sd, "flood");
  EXPECT_EQ(st.value("state", ""), "exited") << st.dump(2);
  ASSERT_TRUE(st["exit"].is_object()) << st.dump(2);
  EXPECT_EQ(st["exit"]["exit_code"], 137) << st.dump(2);  // killed after the grace period
  EXPECT_TRUE(st["logs"]["stdout"].value("dropped_bytes", uint64_t{0}) > 0) << st.dump(2);
  EXPECT_EQ(RunIn(sd, {"wait", "flood"}).exit_code, 137);
  auto d = RunIn(sd, {"delete", "flood"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  ExpectNothingLeft("flood", sd);
  EXPECT_TRUE(DirEntries(sd).empty());
}

// A chatty task whose logs do fit: a detached supervisor keeps up with it, and the log file
// holds every byte (no deadlock on a full pipe, nothing dropped).
TEST(Fault, ChattyTaskNeverBlocksOnItsOutput) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "-d", "--name", "chatty", "--log-max-size", "64M", "--rootfs", root.path(),
                       "--", "/bin/sh", "-c",
                       "dd if=/dev/zero bs=64k count=256 2>/dev/null; "
                       "dd if=/dev/zero bs=64k count=128 >&2 2>/dev/null"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunIsoexec({"wait", "chatty"}, seconds(30)).exit_code, 0);
  struct stat out {}, err {};
  EXPECT_EQ(::stat((StateDir() + "/chatty/stdout.log").c_str(), &out), 0);
  EXPECT_EQ(::stat((StateDir() + "/chatty/stderr.log").c_str(), &err), 0);
  EXPECT_EQ(out.st_size, 256 * 65536);
  EXPECT_EQ(err.st_size, 128 * 65536);
  json st = Inspect("chatty");
  EXPECT_EQ(st["logs"]["stdout"]["dropped_bytes"], 0) << st.dump(2);
  EXPECT_EQ(st["logs"]["stdout"]["error"], "") << st.dump(2);
  EXPECT_EQ(RunIsoexec({"delete", "chatty"}).exit_code, 0);
  ExpectNothingLeft("chatty");
}

// ---- half-way failures roll back everything ----------------------------------------------

// Runs a launch that must fail with `code` and a one-line error containing `needle`, in the
// foreground and detached; nothing may be left.
void ExpectRolledBack(const std::string& id, const std::vector<std::string>& flags, int code,
                      const std::string& needle, const std::vector<std::string>& globals = {}) {
  for (bool detach : {false, true}) {
    std::vector<std::string> argv = {ISOEXEC_BIN, "--state-dir", StateDir()};
    if (globals.empty()) argv.insert(argv.end(), {"--cgroup-parent", CgroupParent()});
    argv.insert(argv.end(), globals.begin(), globals.end());
    argv.insert(argv.end(), {"run", "--name", id});
    if (detach) argv.push_back("-d");
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, code) << id << (detach ? " -d" : "") << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, needle)) << id << ": " << r.err;
    EXPECT_EQ(Lines(r.err).size(), 1u) << id << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, "isoexec: ")) << r.err;
    ExpectNothingLeft(id);
  }
}

TEST(Fault, HalfWayFailuresRollBackEverything) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir host;
  const std::string& R = root.path();
  ::mkdir((host.path() + "/a").c_str(), 0755);
  ::mkdir((host.path() + "/b").c_str(), 0755);
  ::mkdir((host.path() + "/ro").c_str(), 0755);
  {
    std::ofstream(host.path() + "/ro/prog") << "#!/bin/sh\necho hi\n";
    ::chmod((host.path() + "/ro/prog").c_str(), 0644);
    std::ofstream(R + "/bin/badinterp") << "#!/bin/nosuchinterp\n";
    ::chmod((R + "/bin/badinterp").c_str(), 0755);
  }
  // cgroup: half created (v1: freezer, memory, cpu, pids done; then cpuset), then a limit the
  // kernel refuses: CPU 1 is online, but our parent only has CPU 0.
  const std::string cpuset_parent = "/sys/fs/cgroup/cpuset/" + CgroupParent();
  if (std::thread::hardware_concurrency() >= 2 && Exists("/sys/fs/cgroup/cpuset/cpuset.cpus") &&
      (::mkdir(cpuset_parent.c_str(), 0755) == 0 || errno == EEXIST)) {
    ASSERT_TRUE(WriteFile(cpuset_parent + "/cpuset.cpus", "0"));
    ASSERT_TRUE(WriteFile(cpuset_parent + "/cpuset.mems", "0"));
    ExpectRolledBack("hw-cpuset", {"--cpuset", "1", "--rootfs", R, "--", "/bin/true"}, 125, "cpuset");
    ::rmdir(cpuset_parent.c_str());  // other tests must get every CPU again
  }
  // cgroup: a parent path component that is a file.
  ExpectRolledBack("hw-cgparent", {"--rootfs", R, "--", "/bin/true"}, 125, "not a directory",
                   {"--cgroup-parent", CgroupParent() + "/cgroup.procs"});
  // mounts: the first bind done, the second's target cannot be created.
  ExpectRolledBack("hw-bind", {"--bind", host.path() + "/a:/a", "--bind", host.path() + "/b:/etc/passwd/x",
                               "--rootfs", R, "--", "/bin/true"},
                   125, "--bind");
  // mounts done, then exec: not found, not executable (a read-only bind is never chmod'ed),
  // a missing interpreter.
  ExpectRolledBack("hw-noent", {"--rootfs", R, "--", "/bin/nosuch"}, 127, "not found");
  ExpectRolledBack("hw-noexec", {"--bind", host.path() + "/a:/a", "--bind", host.path() + "/ro:/opt:ro",
                                 "--rootfs", R, "--", "/opt/prog"},
                   126, "Permission denied");
  ExpectRolledBack("hw-interp", {"--rootfs", R, "--", "/bin/badinterp"}, 127, "interpreter");
  EXPECT_FALSE(Exists(R + "/opt/prog"));  // the bind is gone with the task's mount namespace
}

// After the task runs, listens and logs, the supervisor cannot go on (a Debug-build failpoint):
// the task is killed and its cgroup, socket and state removed.
TEST(Fault, SupervisorStartFailureRollsBackARunningTask) {
  REQUIRE_ROOT();
  TestRoot root;
  ::setenv("ISOEXEC_FAILPOINT", "supervisor-start", 1);
  auto r = RunIsoexec({"run", "-d", "--name", "fp", "--rootfs", root.path(), "--", "/bin/sleep", "1000"});
  ::unsetenv("ISOEXEC_FAILPOINT");
  if (r.exit_code == 0) {
    EXPECT_EQ(RunIsoexec({"delete", "--force", "fp"}).exit_code, 0);
    GTEST_SKIP() << "isoexec was built without failpoints (a Release build)";
  }
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(Contains(r.err, "failpoint supervisor-start")) << r.err;
  EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
  ExpectNothingLeft("fp");
  ::setenv("ISOEXEC_FAILPOINT", "supervisor-start", 1);
  r = RunIsoexec({"run", "--name", "fp", "--rootfs", root.path(), "--", "/bin/sleep", "1000"});
  ::unsetenv("ISOEXEC_FAILPOINT");
  EXPECT_EQ(r.exit_code, 125);
  ExpectNothingLeft("fp");
}

// A state dir deeper than a unix socket path allows still gets a working control socket.
TEST(Fault, DeepStateDirStillControlsTheTask) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string deep = StateDir() + "/" + std::string(60, 'd') + "/" + std::string(60, 'e');
  auto r = RunIn(deep, {"run", "-d", "--name", "deep", "--rootfs", root.path(), "--", "/bin/sleep", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(InspectIn(deep, "deep").value("state", ""), "running");
  auto ps = RunIn(deep, {"ps", "deep"});
  EXPECT_TRUE(Contains(ps.out, "sleep 1000")) << ps.out << ps.err;
  auto stop = RunIn(deep, {"stop", "--timeout", "100ms", "deep"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(InspectIn(deep, "deep").value("state", ""), "exited");
  EXPECT_EQ(RunIn(deep, {"delete", "deep"}).exit_code, 0);
  ExpectNothingLeft("deep", deep);
  EXPECT_TRUE(RemoveTree(StateDir() + "/" + std::string(60, 'd')));
}

}  // namespace
}  // namespace isoexec::test
