// One supervisor per task, single-threaded and event driven (poll on the task's pidfd, a
// signalfd, timerfds, the control socket and the output pipes). The foreground `run` runs it
// in-process; `run --detach` runs it in a forked session leader. It forwards signals, enforces
// the timeout and graceful stop (signal, grace, kill every process of the cgroup), serves the
// control protocol, writes logs and the state file, reaps orphans, and reports the exit.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/container.h"
#include "runtime/log_rotator.h"
#include "runtime/task_state.h"
#include "spec/task_spec.h"
#include "stats/sampler.h"

namespace isoexec::runtime {

struct SupervisorOptions {
  std::string task_dir;
  bool detached = false;       // SIGTERM/SIGINT stop the task instead of being forwarded
  bool control = false;        // serve <task_dir>/control.sock
  bool keep_state = false;     // write state.json (named or detached tasks)
  int output[2] = {-1, -1};    // read ends of the task's stdout/stderr pipes (logging)
  LogOptions logs;
  // Readable/EOF when whoever started the supervisor died (the executor service): the task is
  // then killed, so it never outlives its owner. -1: not watched.
  int parent_watch_fd = -1;
  spec::TaskSpec spec;
  TaskState state;             // initial state (id, command, cgroup, ...)
  // Called with the exit state once the cgroup is gone and before waiters are answered
  // (status file).
  std::function<void(const ExitState&)> on_exit;
};

// Signals the supervisor handles; block them before Launch so none is lost.
void BlockSupervisorSignals();
void UnblockSupervisorSignals();

class Supervisor {
 public:
  Supervisor(std::unique_ptr<Container> container, SupervisorOptions options);
  ~Supervisor();
  // Listens, opens the logs and records the task as running. Call before telling anyone the
  // task runs (detached launch), so the first verb can already reach the supervisor. When the
  // task cannot be supervised (no control socket, the state cannot be recorded) it kills the
  // task, removes its cgroup and returns the error: the launch failed.
  Status Start();
  // Until the task has ended, its waiters were answered and its output drained (calls Start()
  // if needed).
  ExitState Run();

 private:
  struct Client;
  void OnSignal();
  void OnTimer(int which);
  void OnAccept();
  void OnClient(size_t index);
  void OnOutput(int which);
  void Handle(Client& c, const std::string& line);
  void StartStop(int sig, std::chrono::nanoseconds grace);
  void TrimWhenIdle();
  void Finish();
  void Abort();
  Status SaveState(bool final = false);
  void UpdateLogHealth(int which);
  void Respond(Client& c, const std::string& line, int fd = -1);
  std::string ExitLine() const;
  void SendSample(Client& c);
  void WriteStatsFile();

  std::unique_ptr<Container> container_;
  SupervisorOptions o_;
  std::vector<std::unique_ptr<Client>> clients_;
  UniqueFd signal_fd_, listen_fd_;
  UniqueFd timers_[3];  // timeout, grace, stop deadline
  std::unique_ptr<LogRotator> logs_[2];
  UniqueFd stats_file_, stats_file_timer_;
  std::unique_ptr<stats::Sampler> stats_file_sampler_;
  bool started_ = false;
  bool exited_ = false;
  std::chrono::steady_clock::time_point last_trim_{};
  bool timed_out_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point last_health_save_{};
  ExitState exit_;
};

}  // namespace isoexec::runtime
