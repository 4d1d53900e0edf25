// The executor's task: one `isoexec __supervise` process per LaunchRequest, driven over its
// control socket (docs/control-protocol.md).
//
// Lifetimes:
// - The supervisor is spawned with posix_spawn (the executor is multi-threaded) and is a child
//   of the executor; it makes itself a session leader and owns the task.
// - --parent-watch-fd: the read end of a pipe whose write end only the executor holds
//   (O_CLOEXEC, never inherited). If the executor dies, the supervisor sees EOF and kills the
//   task at once; it then exits by itself.
// - The state (<state dir>/<id>/) stays after the task ended, so Wait keeps working and the
//   state file can be read; Cleanup() removes it (Shutdown, executor exit).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "runtime/control.h"
#include "runtime/exit_state.h"
#include "spec/task_spec.h"

namespace isoexec::executor {

struct TaskEnv {
  std::string isoexec;        // the isoexec binary (spawned as `isoexec __supervise`)
  std::string state_dir;      // --state-dir of the supervisor
  std::string cgroup_parent;  // --cgroup-parent
  std::string log_level = "warn";
};

// A launch failure: the message, and the exit status the supervisor reported (125 setup,
// 126 cannot execute, 127 not found).
struct LaunchError {
  Error error;
  int exit_code = 125;
};

class Task {
 public:
  // Spawns the supervisor, hands it the spec and returns once it reported that the task runs
  // (this blocks while the supervisor opens FIFO outputs: until their readers opened them).
  static tl::expected<std::shared_ptr<Task>, LaunchError> Launch(const TaskEnv& env,
                                                                 spec::TaskSpec spec);

  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  const std::string& id() const { return spec_.id; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  const spec::TaskSpec& spec() const { return spec_; }
  std::chrono::system_clock::time_point started_at() const { return started_at_; }

  // The exit state once the task ended, at once; nullopt while it runs.
  std::optional<runtime::ExitState> Exited() const;
  // Blocks until the task ended; nullopt if `cancelled()` became true first (polled).
  std::optional<runtime::ExitState> Wait(const std::function<bool()>& cancelled) const;

  // To the main process (Nomad's Signal). kFailedPrecondition once the task ended.
  Status Signal(int sig);
  // `sig` to the main process, then after `grace` (0: at once) every process of the task is
  // killed; returns once the task ended. A task that already ended is fine.
  Status Stop(int sig, std::chrono::nanoseconds grace);
  // The supervisor's `update` op; its warnings are appended.
  Status Update(const nlohmann::json& resources, std::vector<std::string>* warnings);
  // A fresh control connection (a stats stream is one connection).
  Result<runtime::control::Client> Connect() const;
  // The pidfd of the task's first process (for runtime::ExecInto).
  Result<UniqueFd> Pidfd() const;
  // The task's cgroup (exec joins it); null when it cannot be opened.
  std::unique_ptr<cgroup::Cgroup> OpenCgroup() const;

  // After the task ended: waits (bounded) for the supervisor to exit, then removes what is
  // left of the cgroup and the state dir. Idempotent; kFailedPrecondition while it runs.
  Status Cleanup();

 private:
  Task(const TaskEnv& env, spec::TaskSpec spec);
  void WaitLoop();
  void Record(const runtime::ExitState& s);
  bool SupervisorRunning() const;

  TaskEnv env_;
  spec::TaskSpec spec_;
  std::string dir_;
  pid_t pid_ = 0;
  pid_t supervisor_pid_ = 0;
  UniqueFd supervisor_pidfd_;
  UniqueFd watch_;  // write end of the parent-watch pipe: closing it kills the task
  std::chrono::system_clock::time_point started_at_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::optional<runtime::ExitState> exit_;
  bool supervisor_reaped_ = false;
  bool cleaned_ = false;
  std::thread waiter_;
};

// Removes what executors that died left behind under `state_root`: executor-<pid> dirs of
// processes that no longer exist (and our own pid's, from a previous process), their tasks'
// cgroups and state. Tasks whose supervisor still runs are left alone. Best effort.
void CollectStaleState(const std::string& state_root, const std::string& own_dir,
                       const std::string& cgroup_parent);

}  // namespace isoexec::executor
