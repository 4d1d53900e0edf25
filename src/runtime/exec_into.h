// Runs an extra process inside a running task (`isoexec exec`, Nomad's Exec/ExecStreaming):
// the task's root, every namespace it has, its cgroup, its identity (unless overridden), its
// capabilities, no_new_privs and seccomp filter, and optionally a terminal from the task's own
// devpts. Needs root and Linux 5.8+ (setns(2) with a pidfd). See setns(2), clone3(2)
// CLONE_PARENT, pty(7).
//
// Process tree: the caller forks a short-lived, non-dumpable intermediate (in the task's cgroup
// from birth on v2, joined by pid before it runs on v1) that joins the namespaces, chroots into
// the task's root and clone3()s the final process with CLONE_PARENT, so the final process is a
// child of the CALLER: the caller reaps it with waitid(P_PIDFD) (WaitExec) and gets its exit
// status first-hand. Its pidfd and, with a terminal, the pty master come back over a CLOEXEC
// socketpair with SCM_RIGHTS; setup errors come back the same way as fixed-size messages.
#pragma once

#include <sys/ioctl.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "runtime/pty.h"
#include "spec/task_spec.h"

namespace isoexec::runtime {

// What the supervisor knows about the running task.
struct ExecTarget {
  // pidfd of a process of the task whose root and namespaces are the task's: its init
  // (Container::pidfd()) or, without init, the task itself. Only borrowed.
  int pidfd = -1;
  const spec::TaskSpec* spec = nullptr;  // user, caps, seccomp, env, workdir, oom_score_adj
  cgroup::Cgroup* cgroup = nullptr;      // the task's cgroup; null: the caller's cgroup is kept
};

struct ExecRequest {
  // argv[0]: a path (absolute, or relative to the working directory) or a name searched in the
  // absolute directories of the process's PATH (the default PATH when the env has none), inside
  // the task root, after the namespaces were joined; never on the host. argv[0] is passed as
  // given.
  std::vector<std::string> argv;
  // Exactly these KEY=VALUE pairs. Empty: what the task got (spec env, the default PATH when it
  // has none, USER/LOGNAME/HOME of the resolved user when a user is set).
  std::vector<std::string> env;
  // NAME|UID[:GROUP|GID] resolved in the task root's /etc/passwd and /etc/group. Default: the
  // task's user.
  std::optional<std::string> user;
  std::optional<std::string> workdir;  // absolute; default: the task's workdir
  bool tty = false;
  // Without a terminal: caller fds given to the process as 0, 1, 2 (-1: /dev/null). They are
  // only duplicated; the caller keeps (and must close) its own copies.
  int stdio[3] = {0, 1, 2};
  struct winsize size {};  // with a terminal: the initial size (0x0: the kernel's default)
};

struct ExecProcess {
  pid_t pid = 0;         // in the caller's PID namespace; a child of the caller
  UniqueFd pidfd;        // for WaitExec, pidfd_send_signal, poll (readable once it exited)
  UniqueFd pty_master;   // with a terminal: read the output (stdout and stderr merged), write
                         // the input, ResizePty; reads fail with EIO once the process is gone
};

// Starts the process. Returns once it has exec'd, or with the setup error: exit_code 125
// (isoexec failed, e.g. the task is not running, a bad user/workdir), 127 (command not found)
// or 126 (cannot be executed), `stage` naming the step. Nothing is left behind on failure.
// The caller must reap the process (WaitExec); a SIGCHLD handler or a waitpid(-1) loop in the
// caller must leave it alone. Call from a long-lived thread: the process gets SIGKILL when the
// calling thread exits (PR_SET_PDEATHSIG).
tl::expected<ExecProcess, LaunchFailure> ExecInto(const ExecTarget& target,
                                                  const ExecRequest& request);

// Reaps the process through its pidfd: its exit code, or 128+N when signal N killed it.
Result<int> WaitExec(int pidfd);

}  // namespace isoexec::runtime
