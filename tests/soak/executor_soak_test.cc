// Soak of the long-lived executor service (run by tests/soak/soak.sh): one task, then many
// requests (Exec, Stats streams cancelled after the first sample, Signal, Version), each
// batch on a fresh connection. Neither the executor nor the task's supervisor may grow its fd
// table. SOAK_EXECUTOR_REQUESTS (default 500) sets the count.
#include <dirent.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "tests/executor/harness.h"

namespace isoexec::exetest {
namespace {

using namespace std::chrono_literals;

int CountFds(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

std::unique_ptr<grpc::ClientContext> Ctx(std::chrono::milliseconds timeout = 30s) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  return c;
}

// The __supervise child of the executor (its only child; spawned by some gRPC thread).
pid_t SupervisorOf(pid_t executor) {
  const std::string tasks = "/proc/" + std::to_string(executor) + "/task";
  DIR* d = ::opendir(tasks.c_str());
  pid_t found = 0;
  while (d && !found) {
    dirent* e = ::readdir(d);
    if (!e) break;
    if (e->d_name[0] == '.') continue;
    found = static_cast<pid_t>(std::atoi(ReadFileOr(tasks + "/" + e->d_name + "/children").c_str()));
  }
  if (d) ::closedir(d);
  return found;
}

TEST(ExecutorSoak, FdsStayFlatUnderManyRequests) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const char* env = std::getenv("SOAK_EXECUTOR_REQUESTS");
  const int requests = env ? std::atoi(env) : 500;
  ExecutorProcess exe;
  ASSERT_FALSE(exe.Handshake().empty()) << "no handshake";
  TaskDir dir;
  {
    pb::LaunchResponse resp;
    auto ctx = Ctx();
    auto s = exe.executor().Launch(ctx.get(), LaunchOf(dir, {"/bin/sleep", "1000"}), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  pid_t sup = SupervisorOf(exe.pid());
  ASSERT_GT(sup, 0);
  // One warm-up round of every request kind: gRPC and the task settle their lazy fds.
  auto round = [&](int i, pb::Executor::Stub& x) {
    switch (i % 4) {
      case 0: {
        pb::ExecRequest req;
        req.set_cmd("/bin/true");
        req.mutable_deadline()->set_seconds(
            std::chrono::duration_cast<std::chrono::seconds>(
                (std::chrono::system_clock::now() + 10s).time_since_epoch()).count());
        pb::ExecResponse resp;
        auto ctx = Ctx();
        auto s = x.Exec(ctx.get(), req, &resp);
        EXPECT_TRUE(s.ok() && resp.exit_code() == 0) << i << ": " << s.error_message();
        break;
      }
      case 1: {
        auto ctx = Ctx();
        pb::StatsRequest req;
        req.set_interval(100'000'000);
        auto reader = x.Stats(ctx.get(), req);
        pb::StatsResponse sr;
        EXPECT_TRUE(reader->Read(&sr)) << i;
        ctx->TryCancel();
        (void)reader->Finish();
        break;
      }
      case 2: {
        pb::SignalRequest req;
        req.set_signal(SIGCONT);
        pb::SignalResponse resp;
        auto ctx = Ctx();
        auto s = x.Signal(ctx.get(), req, &resp);
        EXPECT_TRUE(s.ok()) << i << ": " << s.error_message();
        break;
      }
      default: {
        pb::VersionResponse v;
        auto ctx = Ctx();
        EXPECT_TRUE(x.Version(ctx.get(), pb::VersionRequest(), &v).ok()) << i;
      }
    }
  };
  for (int i = 0; i < 8; ++i) round(i, exe.executor());
  std::this_thread::sleep_for(300ms);
  const int exe_before = CountFds(exe.pid()), sup_before = CountFds(sup);
  for (int i = 0; i < requests; ++i) {
    if (i % 25 == 0) {
      // A fresh connection now and then: connection churn must not leak either.
      auto ch = exe.NewChannel();
      auto stub = pb::Executor::NewStub(ch);
      round(i, *stub);
    } else {
      round(i, exe.executor());
    }
  }
  std::this_thread::sleep_for(500ms);
  const int exe_after = CountFds(exe.pid()), sup_after = CountFds(sup);
  std::printf("executor fds: %d before, %d after %d requests; its supervisor: %d before, %d after\n",
              exe_before, exe_after, requests, sup_before, sup_after);
  EXPECT_LE(exe_after, exe_before + 2) << "executor fd growth";  // gRPC may keep a spare
  EXPECT_LE(sup_after, sup_before) << "supervisor fd growth";
  pb::ShutdownRequest sreq;
  sreq.set_signal("SIGKILL");
  pb::ShutdownResponse sresp;
  auto ctx = Ctx();
  EXPECT_TRUE(exe.executor().Shutdown(ctx.get(), sreq, &sresp).ok());
}

}  // namespace
}  // namespace isoexec::exetest
