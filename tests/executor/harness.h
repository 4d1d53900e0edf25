// Test harness for isoexec-executor: starts `isoexec executor '<json>'` the way Nomad does
// (go-plugin cookie in the environment, handshake line on stdout), connects a gRPC client with
// the generated stubs, builds throw-away busybox task dirs, and checks that nothing leaks.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "executor.grpc.pb.h"
#include "health.grpc.pb.h"
#include "plugin.grpc.pb.h"

namespace isoexec::exetest {

namespace pb = ::hashicorp::nomad::plugins::executor::proto;
namespace dpb = ::hashicorp::nomad::plugins::drivers::proto;

inline constexpr char kCookie[] =
    "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255";

// Per test process: the executors' StateRoot and CgroupParent, so tests never touch
// /run/isoexec or a real cgroup parent.
const std::string& StateRoot();
const std::string& CgroupParent();

struct Exited {
  int code = -1;  // exit status, or 128+N when killed by signal N
  std::string err;
};

class ExecutorProcess {
 public:
  // Starts the executor; `cookie` nullopt: the variable is not set at all.
  explicit ExecutorProcess(std::optional<std::string> cookie = std::string(kCookie),
                           const std::string& config_json = "");
  ~ExecutorProcess();  // Controller.Shutdown, then SIGKILL if it does not exit

  // Waits for the handshake line (empty on EOF/timeout).
  std::string Handshake(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const std::string& socket_path() const { return socket_path_; }
  pid_t pid() const { return pid_; }

  std::shared_ptr<grpc::Channel> NewChannel() const;
  pb::Executor::Stub& executor();  // on the default channel
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  // Waits for the process to exit (nullopt on timeout); collects stderr.
  std::optional<Exited> WaitExit(std::chrono::milliseconds timeout);
  bool alive() const { return !exited_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_;
  std::string socket_path_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::Executor::Stub> stub_;
  bool exited_ = false;
};

// A task dir: static busybox applets in /bin, plus /etc/passwd (root, nobody).
class TaskDir {
 public:
  TaskDir();
  ~TaskDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A plain temp dir for output files, FIFOs, mount sources.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A LaunchRequest for argv in `dir` (stdout/stderr: the given paths, "" = discard).
pb::LaunchRequest LaunchOf(const TaskDir& dir, const std::vector<std::string>& argv,
                           const std::string& stdout_path = "",
                           const std::string& stderr_path = "");

std::string ReadFileOr(const std::string& path, const std::string& fallback = "");
bool ProcessExists(pid_t pid);
// Polls until `pred` holds or the timeout passes.
bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
// The host path of a cgroup file of `pid`'s memory (or cpu, cpuset) controller: v1
// /sys/fs/cgroup/<ctrl>/<path>/<file>, v2 <cgroup2 mount>/<path>/<file>.
std::string CgroupFile(pid_t pid, const std::string& controller, const std::string& v1_file,
                       const std::string& v2_file);

}  // namespace isoexec::exetest

#define REQUIRE_ROOT()                                                                     \
  do {                                                                                     \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (real namespaces, mounts, cgroups)"; \
  } while (0)
