// isoexec-executor: Nomad's executor plugin. Started by Nomad's exec driver as
// `<binary> executor '<json>'` (via `isoexec executor`, which execs this binary), it checks
// go-plugin's magic cookie, serves the Executor gRPC API on a unix socket in a fresh temp dir,
// prints the handshake line and runs until a client calls GRPCController.Shutdown or it gets
// SIGTERM/SIGINT. See docs/executor.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "base/file.h"
#include "base/log.h"
#include "executor/config.h"
#include "executor/service.h"
#include "executor/task.h"

namespace isoexec::executor {
namespace {

int orig_stderr = STDERR_FILENO;

// Before the handshake: errors go to the stderr Nomad reads (go-plugin logs it), and to the log.
[[noreturn]] void Die(const std::string& message) {
  std::string line = fmt::format("isoexec-executor: {}\n", message);
  (void)!::write(orig_stderr, line.data(), line.size());
  if (orig_stderr != STDERR_FILENO) log::Error(message);
  ::_exit(1);
}

std::string SelfDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

const char* SupervisorLogLevel(int index) {
  static const char* kNames[] = {"error", "warn", "info", "debug"};
  return kNames[index < 0 ? 0 : index > 3 ? 3 : index];
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  auto arg = ConfigArgument(args);
  if (!arg) {
    std::fprintf(stderr, "%s\n", arg.error().message().c_str());
    return 1;
  }
  // go-plugin: refuse to run outside a plugin host.
  if (!CookieValid(std::getenv(kMagicCookieKey))) {
    std::fputs(kNotAPluginMessage, stderr);
    return 1;
  }
  auto config = ParseConfig(*arg);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().str().c_str());
    return 1;
  }
  // Our own session: signals for the agent or its terminal never reach us (Nomad starts the
  // executor this way so that it, and its task, survive an agent restart).
  (void)::setsid();

  const int level = LogLevelIndex(config->log_level);
  log::Configure(static_cast<log::Level>(level), log::Format::kJson);
  if (!config->log_file.empty()) {
    int fd = ::open(config->log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
                    0644);
    if (fd < 0) Die(fmt::format("open log file `{}`: {}", config->log_file, std::strerror(errno)));
    orig_stderr = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    ::dup2(fd, STDERR_FILENO);  // our log lines (and gRPC's) go to the log file from now on
    ::close(fd);
  }

  // Signals: TERM/INT stop the task and exit, HUP/QUIT are forwarded to the task (Nomad's
  // executor), all taken by one thread; blocked before gRPC starts any thread.
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&handled, s);
  ::pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  ServiceOptions options;
  options.fs_isolation = config->fs_isolation;
  options.env.isoexec = SelfDir() + "/isoexec";
  options.env.state_dir = fmt::format("{}/executor-{}", config->state_root, ::getpid());
  options.env.cgroup_parent = config->cgroup_parent;
  options.env.log_level = SupervisorLogLevel(level);
  if (::access(options.env.isoexec.c_str(), X_OK) != 0)
    Die(fmt::format("cannot run `{}` (isoexec must be installed next to isoexec-executor): {}",
                    options.env.isoexec, std::strerror(errno)));
  CollectStaleState(config->state_root, options.env.state_dir, config->cgroup_parent);
  if (auto s = MakeDirs(options.env.state_dir, 0711); !s) Die(s.error().str());

  // The socket lives in a private temp dir (go-plugin: PLUGIN_UNIX_SOCKET_DIR, else TMPDIR).
  std::string base = "/tmp";
  for (const char* var : {"PLUGIN_UNIX_SOCKET_DIR", "TMPDIR"})
    if (const char* v = std::getenv(var); v && *v) {
      base = v;
      break;
    }
  std::string tmpl = base + "/isoexec-plugin-XXXXXX";
  if (!::mkdtemp(tmpl.data())) Die(fmt::format("mkdtemp `{}`: {}", tmpl, std::strerror(errno)));
  const std::string socket_dir = tmpl;
  const std::string socket_path = socket_dir + "/plugin.sock";
  const auto remove_socket = [&] {
    ::unlink(socket_path.c_str());
    ::rmdir(socket_dir.c_str());
  };

  ShutdownLatch latch;
  ExecutorService executor(options);
  ControllerService controller(&latch);
  StdioService stdio;
  BrokerService broker;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
  builder.RegisterService(&executor);
  builder.RegisterService(&controller);
  builder.RegisterService(&stdio);
  builder.RegisterService(&broker);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    remove_socket();
    (void)RemoveTree(options.env.state_dir);
    Die(fmt::format("cannot serve gRPC on `{}`", socket_path));
  }
  // go-plugin's Ping checks the "plugin" service.
  server->GetHealthCheckService()->SetServingStatus("plugin", true);

  const std::string line = HandshakeLine(socket_path);
  (void)!::write(STDOUT_FILENO, line.data(), line.size());
  // Nothing more goes to the plugin host's pipes.
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    if (config->log_file.empty()) ::dup2(devnull, STDERR_FILENO);
    ::close(devnull);
  }
  if (orig_stderr != STDERR_FILENO) {
    ::close(orig_stderr);
    orig_stderr = STDERR_FILENO;
  }
  log::Info(fmt::format("isoexec-executor {} serving on {} (state {})", ISOEXEC_VERSION,
                        socket_path, options.env.state_dir));

  std::thread([&latch, &executor, handled] {
    for (;;) {
      int sig = 0;
      if (::sigwait(&handled, &sig) != 0) continue;
      if (sig == SIGTERM || sig == SIGINT) {
        latch.Request(fmt::format("signal {}", sig));
        return;
      }
      executor.ForwardSignal(sig);
    }
  }).detach();

  std::string why = latch.WaitForRequest();
  log::Info(fmt::format("shutting down ({})", why));
  // The task goes first (killed at once, as Nomad's executor does), then its state.
  executor.StopAndCleanup();
  log::Debug("task stopped and cleaned up; stopping the gRPC server");
  // In-flight calls had their answer (the task ended: Wait returns, Stats streams end) or are
  // cancelled after a short grace. gRPC also waits that long for clients to drop idle
  // connections after its GOAWAY, so keep it short: go-plugin SIGKILLs us 2 s after Shutdown.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  log::Debug("gRPC server stopped");
  remove_socket();
  if (auto s = RemoveTree(options.env.state_dir); !s) log::Warn(s.error().str());
  log::Info("exited");
  ::_exit(0);
}

}  // namespace
}  // namespace isoexec::executor

int main(int argc, char** argv) { return isoexec::executor::Main(argc, argv); }
