// The parent side of a task: prepares everything, clones the child into its namespaces and
// cgroup, runs the sync protocol and, once the task runs, gives the supervisor what it needs
// (pidfd, sync socket, cgroup). Every failure rolls back what was created.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "runtime/exit_state.h"
#include "spec/task_spec.h"

namespace isoexec::runtime {

struct LaunchOptions {
  std::string task_dir;       // per-task state dir (exists); the ephemeral root lives in it
  std::string cgroup_parent = "isoexec";
  int stdio[3] = {0, 1, 2};   // host fds the task gets as 0, 1, 2
};

struct LaunchFailure {
  Error error;
  int exit_code = kExitSetupFailed;  // 125, 126 or 127
  std::string stage;
  int err = 0;
  SetupError ToSetupError() const { return {stage, err, error.str()}; }
};

class Container {
 public:
  static tl::expected<std::unique_ptr<Container>, LaunchFailure> Launch(
      const spec::TaskSpec& spec, const LaunchOptions& options);
  ~Container();

  pid_t pid() const { return task_pid_; }     // host pid of the task's main process
  pid_t child_pid() const { return child_pid_; }  // init (or the task without init)
  int pidfd() const { return pidfd_.get(); }  // readable once the direct child exited
  bool has_init() const { return has_init_; }
  cgroup::Cgroup* cgroup() const { return cgroup_.get(); }
  std::chrono::system_clock::time_point started_at() const { return started_at_; }

  // To the task's main process (through init, which forwards it).
  Status Signal(int sig);
  // Every process of the task, via the cgroup.
  Status KillAll();
  // Call once pidfd() is readable (or the direct child was reaped elsewhere with `status`).
  ExitState Collect(std::optional<int> reaped_status = std::nullopt);
  // Kills stragglers, removes the cgroup; idempotent.
  Status Destroy();

 private:
  Container() = default;
  pid_t child_pid_ = 0;
  pid_t task_pid_ = 0;
  bool has_init_ = false;
  UniqueFd pidfd_;
  UniqueFd sync_;
  std::unique_ptr<cgroup::Cgroup> cgroup_;
  std::chrono::system_clock::time_point started_at_{};
  bool collected_ = false;
  ExitState exit_;
};

// The task root as a real path: "" for the ephemeral root; an error naming --rootfs when it
// is missing, not a directory, or the host's "/". The CLI checks it before creating anything.
Result<std::string> ResolveRootfs(const std::string& rootfs);

// Reaps `pid` through its pidfd (raw waitid with rusage). Returns the wait status.
Result<int> WaitPidfd(int pidfd, struct rusage* usage);

}  // namespace isoexec::runtime
