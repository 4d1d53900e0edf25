// isoexec-executor end to end, as Nomad's exec driver drives it: `isoexec executor '<json>'`
// with go-plugin's cookie, the handshake, then the Executor gRPC API through the generated
// client stubs. Every test uses a fresh executor and a busybox task dir; the leak check in
// harness.cc fails the run if a process, state dir, cgroup or socket dir survives.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "tests/executor/harness.h"

namespace isoexec::exetest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::unique_ptr<grpc::ClientContext> Ctx(std::chrono::milliseconds timeout = 30s) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  return c;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (real namespaces, mounts, cgroups)";
    exe_ = std::make_unique<ExecutorProcess>();
    line_ = exe_->Handshake();
    ASSERT_FALSE(line_.empty()) << "no handshake";
  }
  void TearDown() override { exe_.reset(); }

  pb::Executor::Stub& X() { return exe_->executor(); }

  // Launches and returns the pid.
  int32_t Launch(const pb::LaunchRequest& req) {
    pb::LaunchResponse resp;
    auto ctx = Ctx();
    auto s = X().Launch(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return resp.process().pid();
  }

  pb::ProcessState Wait(std::chrono::milliseconds timeout = 30s) {
    pb::WaitResponse resp;
    auto ctx = Ctx(timeout);
    auto s = X().Wait(ctx.get(), pb::WaitRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return resp.process();
  }

  grpc::Status Shutdown(const std::string& signal, std::chrono::nanoseconds grace) {
    pb::ShutdownRequest req;
    req.set_signal(signal);
    req.set_grace_period(grace.count());
    pb::ShutdownResponse resp;
    auto ctx = Ctx();
    return X().Shutdown(ctx.get(), req, &resp);
  }

  std::unique_ptr<ExecutorProcess> exe_;
  std::string line_;
  TaskDir dir_;
};

// ---------------------------------------------------------------------------------------------
// Start-up contract

TEST_F(ExecutorTest, HandshakeHealthAndVersion) {
  // go-plugin: CORE|APP|NETWORK|ADDR|PROTOCOL|SERVERCERT, empty certificate.
  std::regex re(R"(^1\|2\|unix\|(/[^|]+)\|grpc\|$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line_, m, re)) << line_;
  struct stat st {};
  ASSERT_EQ(::stat(m[1].str().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  // The socket dir is private.
  std::string dir = m[1].str().substr(0, m[1].str().rfind('/'));
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto health = ::grpc::health::v1::Health::NewStub(exe_->channel());
  ::grpc::health::v1::HealthCheckRequest hreq;
  hreq.set_service("plugin");
  ::grpc::health::v1::HealthCheckResponse hresp;
  auto ctx = Ctx();
  auto s = health->Check(ctx.get(), hreq, &hresp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(hresp.status(), ::grpc::health::v1::HealthCheckResponse::SERVING);

  pb::VersionResponse v;
  ctx = Ctx();
  ASSERT_TRUE(X().Version(ctx.get(), pb::VersionRequest(), &v).ok());
  EXPECT_EQ(v.version(), "2.0.0");

  // The executor is its own session (it survives the agent).
  std::string stat = ReadFileOr("/proc/" + std::to_string(exe_->pid()) + "/stat");
  auto rp = stat.rfind(')');
  std::istringstream rest(stat.substr(rp + 2));
  std::string state;
  long ppid, pgrp, session;
  rest >> state >> ppid >> pgrp >> session;
  EXPECT_EQ(session, exe_->pid());

  // go-plugin's stdio stream: UNIMPLEMENTED is what clients tolerate.
  auto stdio = ::plugin::GRPCStdio::NewStub(exe_->channel());
  ctx = Ctx();
  auto reader = stdio->StreamStdio(ctx.get(), ::google::protobuf::Empty());
  ::plugin::StdioData data;
  EXPECT_FALSE(reader->Read(&data));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(ExecutorCookie, WrongOrMissingCookieIsRefused) {
  for (std::optional<std::string> cookie :
       {std::optional<std::string>("not-the-cookie"), std::optional<std::string>()}) {
    ExecutorProcess exe(cookie);
    EXPECT_EQ(exe.Handshake(5s), "");
    auto e = exe.WaitExit(5s);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, 1);
    EXPECT_NE(e->err.find("This binary is a plugin. These are not meant to be executed directly."),
              std::string::npos)
        << e->err;
    EXPECT_NE(e->err.find("load any plugins automatically"), std::string::npos) << e->err;
  }
}

TEST(ExecutorConfigE2E, FsIsolationFalseIsRefusedAtLaunch) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ExecutorProcess exe(
      std::string(kCookie),
      R"({"LogFile":"/dev/null","LogLevel":"info","FSIsolation":false,"StateRoot":")" +
          StateRoot() + R"(","CgroupParent":")" + CgroupParent() + R"("})");
  ASSERT_FALSE(exe.Handshake().empty());
  TaskDir dir;
  pb::LaunchResponse resp;
  auto ctx = Ctx();
  auto s = exe.executor().Launch(ctx.get(), LaunchOf(dir, {"/bin/true"}), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("FSIsolation"), std::string::npos) << s.error_message();
  // Nothing launched: Wait and Stats say so, Shutdown has nothing to do.
  pb::WaitResponse w;
  ctx = Ctx();
  EXPECT_EQ(exe.executor().Wait(ctx.get(), pb::WaitRequest(), &w).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  pb::ShutdownResponse sr;
  ctx = Ctx();
  EXPECT_TRUE(exe.executor().Shutdown(ctx.get(), pb::ShutdownRequest(), &sr).ok());
}

// ---------------------------------------------------------------------------------------------
// Launch / Wait / Shutdown / Signal

TEST_F(ExecutorTest, LaunchAndWaitEchoToFiles) {
  TempDir out;
  const std::string so = out.path() + "/stdout", se = out.path() + "/stderr";
  auto req =
      LaunchOf(dir_, {"/bin/sh", "-c", "echo hello world; echo \"$HELLO\" >&2; exit 3"}, so, se);
  pb::LaunchResponse resp;
  auto ctx = Ctx();
  auto before = std::chrono::system_clock::now();
  auto s = X().Launch(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(resp.process().pid(), 0);
  EXPECT_EQ(resp.process().exit_code(), -1);
  auto t =
      std::chrono::system_clock::time_point(std::chrono::seconds(resp.process().time().seconds()));
  EXPECT_LE(std::chrono::abs(t - before), 5s);

  // Several waiters get the same state.
  auto w1 = std::async(std::launch::async, [&] { return Wait(); });
  auto w2 = std::async(std::launch::async, [&] { return Wait(); });
  auto a = w1.get(), b = w2.get();
  EXPECT_EQ(a.exit_code(), 3);
  EXPECT_EQ(a.signal(), 0);
  EXPECT_FALSE(a.oom_killed());
  EXPECT_EQ(a.pid(), resp.process().pid());
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_EQ(ReadFileOr(so), "hello world\n");
  EXPECT_EQ(ReadFileOr(se), "world\n");
  // Wait after the task ended, and Shutdown of an ended task.
  EXPECT_EQ(Wait().exit_code(), 3);
  EXPECT_TRUE(Shutdown("SIGINT", 100ms).ok());
  EXPECT_EQ(Wait().exit_code(), 3);  // still answered after the state was removed
  // Stats of an ended task: an empty stream.
  auto sctx = Ctx();
  pb::StatsRequest sreq;
  auto reader = X().Stats(sctx.get(), sreq);
  pb::StatsResponse sr;
  EXPECT_FALSE(reader->Read(&sr));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ExecutorTest, LaunchWritesToFifoOnceItsReaderOpens) {
  TempDir out;
  const std::string fifo = out.path() + "/stdout.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::promise<std::string> got;
  std::thread reader([&] {
    std::this_thread::sleep_for(300ms);  // Launch blocks until this open
    std::ifstream in(fifo);
    std::stringstream ss;
    ss << in.rdbuf();
    got.set_value(ss.str());
  });
  auto start = Clock::now();
  Launch(LaunchOf(dir_, {"/bin/echo", "via fifo"}, fifo));
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_EQ(Wait().exit_code(), 0);
  reader.join();
  EXPECT_EQ(got.get_future().get(), "via fifo\n");
}

TEST_F(ExecutorTest, ShutdownWithGraceStopsGracefullyThenKills) {
  TempDir out;
  // Handles SIGTERM: exits within the grace period with its own status.
  Launch(LaunchOf(dir_,
                  {"/bin/sh", "-c", "trap 'echo bye; exit 7' TERM; while :; do sleep 0.1; done"},
                  out.path() + "/out"));
  std::this_thread::sleep_for(300ms);
  auto start = Clock::now();
  auto s = Shutdown("SIGTERM", 5s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_LT(Clock::now() - start, 3s);
  auto st = Wait();
  EXPECT_EQ(st.exit_code(), 7);
  EXPECT_EQ(ReadFileOr(out.path() + "/out"), "bye\n");
}

TEST_F(ExecutorTest, ShutdownGraceExpiresThenKill) {
  // Ignores SIGINT (Nomad's default stop signal): killed when the grace period ends.
  int32_t pid = Launch(LaunchOf(dir_, {"/bin/sh", "-c", "trap '' INT; sleep 100"}));
  std::this_thread::sleep_for(200ms);
  auto start = Clock::now();
  auto s = Shutdown("", 500ms);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto took = Clock::now() - start;
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 5s);
  auto st = Wait();
  EXPECT_EQ(st.signal(), SIGKILL);
  EXPECT_EQ(st.exit_code(), 128 + SIGKILL);
  EXPECT_FALSE(ProcessExists(pid));
  // A second Shutdown is fine; an unknown signal name is not.
  EXPECT_TRUE(Shutdown("SIGKILL", 0ns).ok());
  auto bad = Shutdown("SIGNOPE", 0ns);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ExecutorTest, ShutdownNoGraceSleep) {
  int32_t pid = Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  auto start = Clock::now();
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
  EXPECT_LT(Clock::now() - start, 4s);
  auto st = Wait(4s);
  EXPECT_EQ(st.signal(), SIGKILL);
  EXPECT_FALSE(ProcessExists(pid));
}

TEST_F(ExecutorTest, SignalGoesToTheMainProcess) {
  TempDir out;
  Launch(LaunchOf(
      dir_, {"/bin/sh", "-c", "trap 'echo got USR1; exit 5' USR1; while :; do sleep 0.1; done"},
      out.path() + "/out"));
  std::this_thread::sleep_for(300ms);
  pb::SignalRequest req;
  req.set_signal(SIGUSR1);
  pb::SignalResponse resp;
  auto ctx = Ctx();
  auto s = X().Signal(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto st = Wait();
  EXPECT_EQ(st.exit_code(), 5);
  EXPECT_EQ(ReadFileOr(out.path() + "/out"), "got USR1\n");
  // Once it ended, signalling is an error.
  ctx = Ctx();
  EXPECT_FALSE(X().Signal(ctx.get(), req, &resp).ok());
}

TEST_F(ExecutorTest, SighupToTheExecutorIsForwardedToTheTask) {
  TempDir out;
  Launch(LaunchOf(dir_,
                  {"/bin/sh", "-c", "trap 'echo got HUP; exit 6' HUP; while :; do sleep 0.1; done"},
                  out.path() + "/out"));
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(::kill(exe_->pid(), SIGHUP), 0);
  EXPECT_EQ(Wait().exit_code(), 6);
  EXPECT_EQ(ReadFileOr(out.path() + "/out"), "got HUP\n");
  EXPECT_TRUE(exe_->alive());
}

TEST_F(ExecutorTest, SignalKillsAndWaitReportsTheSignal) {
  Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  pb::SignalRequest req;
  req.set_signal(SIGTERM);
  pb::SignalResponse resp;
  auto ctx = Ctx();
  ASSERT_TRUE(X().Signal(ctx.get(), req, &resp).ok());
  auto st = Wait();
  EXPECT_EQ(st.signal(), SIGTERM);
  EXPECT_EQ(st.exit_code(), 128 + SIGTERM);
}

TEST_F(ExecutorTest, UnsupportedLaunchFieldsAreRefused) {
  struct Case {
    const char* field;
    std::function<void(pb::LaunchRequest*)> set;
  } cases[] = {
      {"basic_process_cgroup", [](pb::LaunchRequest* r) { r->set_basic_process_cgroup(true); }},
      {"cgroup_v2_override",
       [](pb::LaunchRequest* r) { r->set_cgroup_v2_override("custom.slice/x.scope"); }},
      {"cgroup_v1_override",
       [](pb::LaunchRequest* r) { (*r->mutable_cgroup_v1_override())["pids"] = "custom"; }},
      {"default_pid_mode", [](pb::LaunchRequest* r) { r->set_default_pid_mode("other"); }},
      {"work_dir", [](pb::LaunchRequest* r) { r->set_work_dir("foo"); }},
      {"selinux_label",
       [](pb::LaunchRequest* r) {
         auto* m = r->add_mounts();
         m->set_host_path("/tmp");
         m->set_task_path("/mnt");
         m->set_selinux_label("z");
       }},
  };
  for (const auto& c : cases) {
    auto req = LaunchOf(dir_, {"/bin/true"});
    c.set(&req);
    pb::LaunchResponse resp;
    auto ctx = Ctx();
    auto s = X().Launch(ctx.get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.field), std::string::npos) << s.error_message();
  }
  // A command that does not exist in the task dir.
  pb::LaunchResponse resp;
  auto ctx = Ctx();
  auto s = X().Launch(ctx.get(), LaunchOf(dir_, {"/bin/no-such-binary"}), &resp);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error_message().find("no-such-binary"), std::string::npos) << s.error_message();
  // After failures, a launch still works.
  Launch(LaunchOf(dir_, {"/bin/true"}));
  EXPECT_EQ(Wait().exit_code(), 0);
  // One task per executor.
  ctx = Ctx();
  EXPECT_EQ(X().Launch(ctx.get(), LaunchOf(dir_, {"/bin/true"}), &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ExecutorTest, LaunchHonoursWorkDirEnvCapsAndPidMode) {
  TempDir out;
  auto req = LaunchOf(dir_,
                      {"/bin/sh", "-c",
                       "pwd; echo $HELLO; grep CapEff /proc/self/status; echo pid=$$; cat "
                       "/proc/self/oom_score_adj"},
                      out.path() + "/out");
  req.set_work_dir("/tmp");
  req.add_capabilities("CAP_NET_BIND_SERVICE");
  req.set_default_pid_mode("host");
  req.set_oom_score_adj(500);
  Launch(req);
  EXPECT_EQ(Wait().exit_code(), 0);
  std::string o = ReadFileOr(out.path() + "/out");
  EXPECT_NE(o.find("/tmp\nworld\n"), std::string::npos) << o;
  EXPECT_NE(o.find("CapEff:\t0000000000000400"), std::string::npos) << o;  // only NET_BIND_SERVICE
  EXPECT_EQ(o.find("pid=1\n"), std::string::npos) << o;                    // host PID namespace
  EXPECT_NE(o.find("\n500\n"), std::string::npos) << o;
}

// ---------------------------------------------------------------------------------------------
// Exec

TEST_F(ExecutorTest, ExecMergesOutputAndReportsTheExitCode) {
  Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  pb::ExecRequest req;
  req.set_cmd("/bin/sh");
  req.add_args("-c");
  req.add_args("echo out; echo err >&2; echo $HELLO; exit 3");
  auto deadline = std::chrono::system_clock::now() + 10s;
  req.mutable_deadline()->set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(deadline.time_since_epoch()).count());
  pb::ExecResponse resp;
  auto ctx = Ctx();
  auto s = X().Exec(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.exit_code(), 3);
  EXPECT_EQ(resp.output(), "out\nerr\nworld\n");

  // Only the last 4 KiB are kept.
  pb::ExecRequest big;
  big.set_cmd("/bin/sh");
  big.add_args("-c");
  big.add_args("i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done");
  ctx = Ctx();
  ASSERT_TRUE(X().Exec(ctx.get(), big, &resp).ok());
  EXPECT_EQ(resp.exit_code(), 0);
  EXPECT_EQ(resp.output().size(), 4096u);
  EXPECT_EQ(resp.output().substr(resp.output().size() - 9), "line1999\n");

  // A command the task root does not have.
  pb::ExecRequest missing;
  missing.set_cmd("/bin/no-such-thing");
  ctx = Ctx();
  auto ms = X().Exec(ctx.get(), missing, &resp);
  EXPECT_EQ(ms.error_code(), grpc::StatusCode::NOT_FOUND) << ms.error_message();
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
}

TEST_F(ExecutorTest, ExecDeadlineKillsTheCommand) {
  Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  pb::ExecRequest req;
  req.set_cmd("/bin/sh");
  req.add_args("-c");
  req.add_args("echo started; sleep 30");
  auto deadline = std::chrono::system_clock::now() + 700ms;
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  req.mutable_deadline()->set_seconds(ns / 1'000'000'000);
  req.mutable_deadline()->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  pb::ExecResponse resp;
  auto ctx = Ctx();
  auto start = Clock::now();
  auto s = X().Exec(ctx.get(), req, &resp);
  auto took = Clock::now() - start;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_GE(took, 600ms);
  EXPECT_LT(took, 3s);
  // The killed command is gone: only the task's processes remain (sleep 100 + init).
  ctx = Ctx();
  pb::ExecRequest ps;
  ps.set_cmd("/bin/sh");
  ps.add_args("-c");
  ps.add_args("ls /proc | grep -c '^[0-9]'");
  ASSERT_TRUE(X().Exec(ctx.get(), ps, &resp).ok());
  // init, sleep 100, the sh and its ls/grep pipeline: no leftover `sleep 30`.
  EXPECT_LE(std::stoi(resp.output()), 5) << resp.output();
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
}

// ---------------------------------------------------------------------------------------------
// Stats and UpdateResources

TEST_F(ExecutorTest, StatsStreamFirstSampleAtOnce) {
  Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  pb::StatsRequest req;
  req.set_interval(std::chrono::nanoseconds(300ms).count());
  auto ctx = Ctx();
  auto start = Clock::now();
  auto reader = X().Stats(ctx.get(), req);
  pb::StatsResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_LT(Clock::now() - start, 1s);
  const auto& st = resp.stats();
  auto ts = std::chrono::system_clock::time_point(std::chrono::seconds(st.timestamp().seconds()));
  EXPECT_LE(std::chrono::abs(ts - std::chrono::system_clock::now()), 2s);
  EXPECT_GT(st.agg_resource_usage().memory().measured_fields_size(), 0);
  EXPECT_GT(st.agg_resource_usage().cpu().measured_fields_size(), 0);
  EXPECT_GT(st.agg_resource_usage().memory().usage() + st.agg_resource_usage().memory().rss(), 0u);
  bool has_percent = false;
  for (int f : st.agg_resource_usage().cpu().measured_fields())
    has_percent |= f == dpb::CPUUsage::PERCENT;
  EXPECT_TRUE(has_percent);
  EXPECT_FALSE(st.resource_usage_by_pid().empty());
  for (const auto& [pid, u] : st.resource_usage_by_pid()) {
    EXPECT_GT(std::stoi(pid), 0);
    EXPECT_EQ(u.memory().measured_fields_size(), 2);  // RSS, Swap
  }
  // Then one per interval.
  ASSERT_TRUE(reader->Read(&resp));
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_LT(Clock::now() - start, 2s);
  ctx->TryCancel();
  while (reader->Read(&resp)) {
  }
  reader->Finish();

  // A second stream ends when the task ends.
  auto ctx2 = Ctx();
  pb::StatsRequest every_second;
  auto r2 = X().Stats(ctx2.get(), every_second);
  ASSERT_TRUE(r2->Read(&resp));
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
  auto end_start = Clock::now();
  while (r2->Read(&resp)) {
  }
  EXPECT_TRUE(r2->Finish().ok());
  EXPECT_LT(Clock::now() - end_start, 3s);
}

TEST_F(ExecutorTest, UpdateResourcesChangesTheCgroup) {
  auto req = LaunchOf(dir_, {"/bin/sleep", "100"});
  req.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_mb(64);
  int32_t pid = Launch(req);
  const std::string mem = CgroupFile(pid, "memory", "memory.limit_in_bytes", "memory.max");
  ASSERT_FALSE(mem.empty());
  auto read = [](const std::string& f) {
    std::string s = ReadFileOr(f);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  };
  EXPECT_EQ(read(mem), std::to_string(64ull << 20)) << mem;

  pb::UpdateResourcesRequest up;
  auto* alloc = up.mutable_resources()->mutable_allocated_resources();
  alloc->mutable_memory()->set_memory_mb(128);
  alloc->mutable_cpu()->set_cpu_shares(512);
  up.mutable_resources()->mutable_linux_resources()->set_cpuset_cpus("0");
  pb::UpdateResourcesResponse resp;
  auto ctx = Ctx();
  auto s = X().UpdateResources(ctx.get(), up, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(read(mem), std::to_string(128ull << 20));
  std::string shares = CgroupFile(pid, "cpu", "cpu.shares", "cpu.weight");
  if (!shares.empty()) {
    std::string v = read(shares);
    if (shares.find("cpu.shares") != std::string::npos) {
      EXPECT_EQ(v, "512");
    } else {
      EXPECT_NE(v, "100");  // v2 weight of 512 shares
    }
  }
  std::string cpus = CgroupFile(pid, "cpuset", "cpuset.cpus", "cpuset.cpus");
  if (!cpus.empty()) {
    EXPECT_EQ(read(cpus), "0");
  }

  // memory_max above memory: the hard limit is memory_max.
  pb::UpdateResourcesRequest up2;
  up2.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_mb(100);
  up2.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_max_mb(200);
  ctx = Ctx();
  ASSERT_TRUE(X().UpdateResources(ctx.get(), up2, &resp).ok());
  EXPECT_EQ(read(mem), std::to_string(200ull << 20));
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
}

// ---------------------------------------------------------------------------------------------
// ExecStreaming: Nomad's conformance cases

struct StreamResult {
  std::string out, err;
  int code = -999;
  bool out_closed = false, err_closed = false;
  grpc::Status status;
};

StreamResult Stream(pb::Executor::Stub& stub, const std::vector<std::string>& cmd, bool tty,
                    const std::vector<dpb::ExecTaskStreamingRequest>& after_setup = {},
                    bool send_setup = true) {
  StreamResult r;
  auto ctx = Ctx();
  auto stream = stub.ExecStreaming(ctx.get());
  if (send_setup) {
    dpb::ExecTaskStreamingRequest setup;
    setup.mutable_setup()->set_task_id("web");
    for (const auto& c : cmd) setup.mutable_setup()->add_command(c);
    setup.mutable_setup()->set_tty(tty);
    EXPECT_TRUE(stream->Write(setup));
  }
  for (const auto& m : after_setup) EXPECT_TRUE(stream->Write(m));
  dpb::ExecTaskStreamingResponse resp;
  while (stream->Read(&resp)) {
    if (resp.has_stdout()) {
      EXPECT_LE(resp.stdout().data().size(), 4096u);
      r.out += resp.stdout().data();
      if (resp.stdout().close()) r.out_closed = true;
    }
    if (resp.has_stderr()) {
      r.err += resp.stderr().data();
      if (resp.stderr().close()) r.err_closed = true;
    }
    if (resp.exited()) r.code = resp.result().exit_code();
  }
  stream->WritesDone();
  r.status = stream->Finish();
  return r;
}

dpb::ExecTaskStreamingRequest Stdin(const std::string& data, bool close = false) {
  dpb::ExecTaskStreamingRequest m;
  m.mutable_stdin()->set_data(data);
  m.mutable_stdin()->set_close(close);
  return m;
}

dpb::ExecTaskStreamingRequest Resize(int height, int width) {
  dpb::ExecTaskStreamingRequest m;
  m.mutable_tty_size()->set_height(height);
  m.mutable_tty_size()->set_width(width);
  return m;
}

TEST_F(ExecutorTest, ExecStreamingNoTty) {
  Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  auto r =
      Stream(X(), {"/bin/sh", "-c", "echo hello stdout; echo hello stderr >&2; exit 43"}, false);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.out, "hello stdout\n");
  EXPECT_EQ(r.err, "hello stderr\n");
  EXPECT_EQ(r.code, 43);
  EXPECT_TRUE(r.out_closed);
  EXPECT_TRUE(r.err_closed);

  r = Stream(X(), {"/bin/sh", "-c", "for n in 1 2 3; do echo $n; sleep 0.3; done"}, false);
  EXPECT_EQ(r.out, "1\n2\n3\n");
  EXPECT_EQ(r.code, 0);

  r = Stream(X(), {"/bin/sh", "-c", "stty size"}, false);
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("stty: .?standard input.?: (Inappropriate ioctl for device|Not a tty)")))
      << r.err;
  EXPECT_EQ(r.code, 1);

  // stdin, then close; head -n1 reads it.
  r = Stream(X(), {"/bin/sh", "-c", "echo hello from command; head -n1"}, false,
             {Stdin("hello from stdin\n"), Stdin("", true)});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.out, "hello from command\nhello from stdin\n");
  EXPECT_EQ(r.code, 0);

  // Output in frames of at most 4 KiB (checked per frame in Stream).
  r = Stream(X(), {"/bin/sh", "-c", "dd if=/dev/zero bs=1k count=64 2>/dev/null"}, false);
  EXPECT_EQ(r.out.size(), 65536u);
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
}

TEST_F(ExecutorTest, ExecStreamingTty) {
  Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  auto r =
      Stream(X(), {"/bin/sh", "-c", "echo hello stdout; echo hello stderr >&2; exit 43"}, true);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.out, "hello stdout\r\nhello stderr\r\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.code, 43);

  r = Stream(X(), {"/bin/sh", "-c", "for n in 1 2 3; do echo $n; sleep 0.3; done"}, true);
  EXPECT_EQ(r.out, "1\r\n2\r\n3\r\n");

  // The latest size wins.
  r = Stream(X(), {"/bin/sh", "-c", "sleep 1; stty size"}, true,
             {Resize(50, 40), Resize(100, 100)});
  EXPECT_EQ(r.out, "100 100\r\n");
  EXPECT_EQ(r.code, 0);

  // stdin without close: the terminal echoes it, head prints it.
  r = Stream(X(), {"/bin/sh", "-c", "head -n1"}, true, {Stdin("hello from stdin\n")});
  EXPECT_EQ(r.out, "hello from stdin\r\nhello from stdin\r\n");

  // Only the lead process is waited for.
  auto start = Clock::now();
  r = Stream(
      X(),
      {"/bin/sh", "-c", "( ( sleep 3; echo from background ) & ); echo from main; exec sleep 1"},
      true);
  EXPECT_EQ(r.out, "from main\r\n");
  EXPECT_EQ(r.code, 0);
  EXPECT_LT(Clock::now() - start, 2500ms);
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
}

TEST_F(ExecutorTest, ExecStreamingFirstMessageMustBeSetup) {
  Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  auto r = Stream(X(), {}, false, {Stdin("x")}, /*send_setup=*/false);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status.error_message(), "first message should always be setup");
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
}

TEST_F(ExecutorTest, ExecStreamingFsIsolation) {
  Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  auto r =
      Stream(X(), {"/bin/sh", "-c", "FILE=$(mktemp); echo \"$FILE\"; echo text >> $FILE"}, false);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string file = r.out.substr(0, r.out.find('\n'));
  ASSERT_FALSE(file.empty());
  EXPECT_NE(::access(file.c_str(), F_OK), 0) << file << " exists on the host";
  r = Stream(X(), {"/bin/cat", file}, false);
  EXPECT_EQ(r.out, "text\n");
  ASSERT_TRUE(Shutdown("SIGKILL", 0ns).ok());
}

// ---------------------------------------------------------------------------------------------
// Lifetimes: reattach, controller shutdown, signals to the executor, executor death

TEST_F(ExecutorTest, ReattachFromASecondClient) {
  {
    auto ch = exe_->NewChannel();
    auto first = pb::Executor::NewStub(ch);
    pb::LaunchResponse resp;
    auto ctx = Ctx();
    ASSERT_TRUE(
        first->Launch(ctx.get(), LaunchOf(dir_, {"/bin/sh", "-c", "sleep 1; exit 7"}), &resp).ok());
  }  // the first client disconnects
  auto ch = exe_->NewChannel();
  auto second = pb::Executor::NewStub(ch);
  pb::VersionResponse v;
  auto ctx = Ctx();
  ASSERT_TRUE(second->Version(ctx.get(), pb::VersionRequest(), &v).ok());
  EXPECT_EQ(v.version(), "2.0.0");
  pb::StatsRequest sreq;
  ctx = Ctx();
  auto reader = second->Stats(ctx.get(), sreq);
  pb::StatsResponse sresp;
  EXPECT_TRUE(reader->Read(&sresp));
  pb::WaitResponse w;
  auto wctx = Ctx();
  ASSERT_TRUE(second->Wait(wctx.get(), pb::WaitRequest(), &w).ok());
  EXPECT_EQ(w.process().exit_code(), 7);
  while (reader->Read(&sresp)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ExecutorTest, ControllerShutdownExitsPromptlyAndKillsTheTask) {
  int32_t pid = Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  ASSERT_TRUE(ProcessExists(pid));
  // A Wait in flight must not hold the executor up.
  auto waiting = std::async(std::launch::async, [&] {
    pb::WaitResponse w;
    auto ctx = Ctx();
    return X().Wait(ctx.get(), pb::WaitRequest(), &w);
  });
  std::this_thread::sleep_for(100ms);
  auto stub = ::plugin::GRPCController::NewStub(exe_->channel());
  ::plugin::Empty req, resp;
  auto ctx = Ctx();
  auto start = Clock::now();
  ASSERT_TRUE(stub->Shutdown(ctx.get(), req, &resp).ok());
  auto e = exe_->WaitExit(3s);
  ASSERT_TRUE(e) << "executor still running";
  EXPECT_EQ(e->code, 0);
  EXPECT_LT(Clock::now() - start, 2s);  // go-plugin SIGKILLs after 2 s
  EXPECT_FALSE(ProcessExists(pid));
  waiting.wait();
  EXPECT_NE(::access(exe_->socket_path().c_str(), F_OK), 0);
}

TEST_F(ExecutorTest, SigtermToTheExecutorKillsTheTaskAndExits) {
  int32_t pid = Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  ASSERT_EQ(::kill(exe_->pid(), SIGTERM), 0);
  auto e = exe_->WaitExit(5s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 0);
  EXPECT_FALSE(ProcessExists(pid));
}

TEST_F(ExecutorTest, TaskDiesWhenTheExecutorIsKilled) {
  int32_t pid = Launch(LaunchOf(dir_, {"/bin/sleep", "100"}));
  ASSERT_EQ(::kill(exe_->pid(), SIGKILL), 0);
  ASSERT_TRUE(exe_->WaitExit(5s));
  EXPECT_TRUE(Eventually([&] { return !ProcessExists(pid); }, 5s))
      << "task " << pid << " survived its executor";
  // The dead executor's socket dir and state remain; the next executor collects the state.
  std::string dir = exe_->socket_path().substr(0, exe_->socket_path().rfind('/'));
  ::unlink(exe_->socket_path().c_str());
  ::rmdir(dir.c_str());
  const std::string stale = StateRoot() + "/executor-" + std::to_string(exe_->pid());
  // Each executor collects, at start-up, what dead executors left (once their supervisors are
  // done).
  EXPECT_TRUE(Eventually(
      [&] {
        ExecutorProcess next;
        return !next.Handshake().empty() && ::access(stale.c_str(), F_OK) != 0;
      },
      10s))
      << stale << " was not collected";
}

// ---------------------------------------------------------------------------------------------
// Numbers for the record (printed; only loose bounds are asserted).

uint64_t RssKiB(pid_t pid) {
  std::istringstream in(ReadFileOr("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

// Children of every thread (the supervisor is spawned from a gRPC thread).
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  const std::string tasks = "/proc/" + std::to_string(parent) + "/task";
  DIR* d = ::opendir(tasks.c_str());
  while (d) {
    dirent* e = ::readdir(d);
    if (!e) break;
    if (e->d_name[0] == '.') continue;
    std::istringstream in(ReadFileOr(tasks + "/" + e->d_name + "/children"));
    pid_t p;
    while (in >> p) out.push_back(p);
  }
  if (d) ::closedir(d);
  return out;
}

TEST(ExecutorPerf, StartupFirstLaunchAndRss) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  TaskDir dir;
  auto t0 = Clock::now();
  ExecutorProcess exe;
  ASSERT_FALSE(exe.Handshake().empty());
  auto t1 = Clock::now();
  uint64_t idle_rss = RssKiB(exe.pid());
  pb::LaunchResponse resp;
  auto ctx = Ctx();
  ASSERT_TRUE(exe.executor().Launch(ctx.get(), LaunchOf(dir, {"/bin/sleep", "100"}), &resp).ok());
  auto t2 = Clock::now();
  uint64_t busy_rss = RssKiB(exe.pid());
  uint64_t supervisor_rss = 0;
  for (pid_t c : ChildrenOf(exe.pid())) supervisor_rss += RssKiB(c);
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("executor: handshake %.1f ms, first Launch %.1f ms (spawn to running task %.1f ms)\n",
              ms(t1 - t0), ms(t2 - t1), ms(t2 - t0));
  std::printf("executor RSS: %lu KiB idle, %lu KiB with a task; supervisor RSS %lu KiB\n",
              static_cast<unsigned long>(idle_rss), static_cast<unsigned long>(busy_rss),
              static_cast<unsigned long>(supervisor_rss));
  RecordProperty("handshake_ms", static_cast<int>(ms(t1 - t0)));
  RecordProperty("first_launch_ms", static_cast<int>(ms(t2 - t1)));
  RecordProperty("executor_rss_kib", static_cast<int>(busy_rss));
  EXPECT_LT(t2 - t0, 5s);
  EXPECT_GT(busy_rss, 0u);
}

}  // namespace
}  // namespace isoexec::exetest
