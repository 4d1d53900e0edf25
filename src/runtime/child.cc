// The child between clone3 and execve. Async-signal-safe code only: raw syscalls, stack
// buffers, data prepared by the parent.
#include "runtime/child.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "isolation/mount_apply.h"
#include "isolation/seccomp.h"
#include "runtime/sync_protocol.h"
#include "sys/syscalls.h"

namespace isoexec::runtime {

namespace {

using isolation::StepError;

constexpr int kExitSetupFailed = 125;

// In the task forked by init: the exec pipe's write end. A failing task writes one byte there
// after reporting, so init does not mistake its exit for a successful execve.
int g_exec_notify_fd = -1;

void Send(int fd, const SyncMsg& m) noexcept {
  while (::send(fd, &m, sizeof m, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void Die(int sync_fd, const StepError& e, bool exec_failed = false) noexcept {
  SyncMsg m;
  std::memset(&m, 0, sizeof m);
  m.type = MsgType::kSetupError;
  m.err = e.err;
  m.exec_failed = exec_failed ? 1 : 0;
  CopyTrunc(m.step, sizeof m.step, e.step);
  CopyTrunc(m.path, sizeof m.path, e.path);
  Send(sync_fd, m);
  if (g_exec_notify_fd >= 0) {
    char byte = 1;
    (void)!::write(g_exec_notify_fd, &byte, 1);
  }
  int code = kExitSetupFailed;
  if (exec_failed) code = (e.err == ENOENT) ? 127 : 126;
  ::_exit(code);
}

[[noreturn]] void DieErr(int sync_fd, const char* step, const char* path, int err) noexcept {
  StepError e;
  isolation::Failed(&e, step, path, err);
  Die(sync_fd, e);
}

bool LoopbackUp(StepError* e) noexcept {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return isolation::Failed(e, "socket", "lo", errno);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, "lo", 3);
  bool ok = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    ok = ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  }
  int err = errno;
  ::close(s);
  return ok ? true : isolation::Failed(e, "bring up loopback", "lo", err);
}

bool WriteOomScoreAdj(int value, StepError* e) noexcept {
  char buf[24];
  size_t n = 0;
  unsigned long mag = value < 0 ? static_cast<unsigned long>(-static_cast<long>(value))
                                : static_cast<unsigned long>(value);
  if (value < 0) buf[n++] = '-';
  sys::FormatUint(buf + n, sizeof buf - n, mag);
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return isolation::Failed(e, "oom_score_adj open", "/proc/self/oom_score_adj", errno);
  ssize_t w = ::write(fd, buf, std::strlen(buf));
  int err = errno;
  ::close(fd);
  // EACCES: lowering below our own minimum needs CAP_SYS_RESOURCE.
  if (w < 0) return isolation::Failed(e, "oom_score_adj write", "/proc/self/oom_score_adj", err);
  return true;
}

// Namespace-wide setup: network, hostname, the filesystem, pivot_root.
void SetupContainer(const ChildConfig& cfg) noexcept {
  StepError e;
  if (cfg.netns_fd >= 0 && ::setns(cfg.netns_fd, CLONE_NEWNET) != 0)
    DieErr(cfg.sync_fd, "join network namespace", "--net", errno);
  if (cfg.loopback_up && !LoopbackUp(&e)) Die(cfg.sync_fd, e);
  if (cfg.hostname && ::sethostname(cfg.hostname, std::strlen(cfg.hostname)) != 0)
    DieErr(cfg.sync_fd, "sethostname", cfg.hostname, errno);

  const isolation::MountPlan& plan = *cfg.plan;
  int rootfd = isolation::PrepareRoot(plan, &e);
  if (rootfd < 0) Die(cfg.sync_fd, e);
  for (const auto& op : plan.ops)
    if (!isolation::ApplyOp(rootfd, op, &e)) Die(cfg.sync_fd, e);
  ::close(rootfd);
  if (!isolation::FinishRoot(plan, &e)) Die(cfg.sync_fd, e);
  if (!isolation::EnterRoot(plan.root.c_str(), cfg.no_pivot_root, &e)) Die(cfg.sync_fd, e);
  // Set before the task is forked so init and task share it; a value isoexec itself may not
  // set was rejected by the parent already.
  if (!WriteOomScoreAdj(cfg.oom_score_adj, &e)) Die(cfg.sync_fd, e);
}

// The task's own last steps, then execve. `report_fd` receives errors.
[[noreturn]] void ExecTask(const ChildConfig& cfg, int report_fd) noexcept {
  StepError e;
  // Default dispositions for everything: CLONE_CLEAR_SIGHAND keeps SIG_IGN, and the init's
  // no-op handlers must not leak either (exec resets handlers, not ignores).
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    ::sigaction(s, &dfl, nullptr);
  }
  // A session of its own: terminal signals reach isoexec, which forwards them once.
  ::setsid();
  for (int i = 0; i < 3; ++i) {
    if (cfg.stdio[i] >= 0 && cfg.stdio[i] != i && ::dup2(cfg.stdio[i], i) < 0)
      DieErr(report_fd, "dup2", "stdio", errno);
  }
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the identity switch
  // drops: then the filter goes first (it allows the identity syscalls, as runc's does).
  int err = 0;
  const bool seccomp_early = !cfg.no_new_privs && cfg.seccomp_len > 0;
  if (seccomp_early) {
    err = isolation::LoadSeccomp(cfg.seccomp, cfg.seccomp_len, false);
    if (err) DieErr(report_fd, "seccomp", "--seccomp", err);
  }
  const char* step = nullptr;
  err = isolation::ApplyCapabilities(cfg.caps, cfg.uid, cfg.gid, cfg.groups, cfg.ngroups, &step);
  if (err) DieErr(report_fd, step ? step : "capabilities", "--user/--cap-add", err);
  if (::chdir(cfg.workdir) != 0) DieErr(report_fd, "chdir", cfg.workdir, errno);
  // Nothing of isoexec's leaks into the task (CVE-2024-21626 class): every fd above stderr is
  // closed at execve, including the sync socket (whose EOF tells the parent exec succeeded).
  if (sys::CloseRange(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    DieErr(report_fd, "close_range", "fds", errno);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::umask(022);
  // Seccomp is the very last step: execve is the only syscall the filter must still allow.
  if (!seccomp_early && (cfg.seccomp_len || cfg.no_new_privs)) {
    err = isolation::LoadSeccomp(cfg.seccomp, cfg.seccomp_len, cfg.no_new_privs);
    if (err) DieErr(report_fd, "seccomp", "--seccomp", err);
  }
  ::execve(cfg.exec_path, cfg.argv, cfg.envp);
  isolation::Failed(&e, "execve", cfg.exec_path, errno);
  Die(report_fd, e, /*exec_failed=*/true);
}

void NoopHandler(int) {}

// PID 1 of the task's PID namespace: the kernel drops default-action signals sent to PID 1,
// so a plain `sleep` as PID 1 would ignore SIGTERM. This init forwards every signal to the
// task, reaps orphans, and exits with the task's status, which kills the rest of the ns.
[[noreturn]] void RunInit(const ChildConfig& cfg) noexcept {
  ::prctl(PR_SET_NAME, "isoexec-init");
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  // A handler (never run: the signals stay blocked and are taken with sigwaitinfo) is what
  // makes the kernel deliver signals from outside the namespace to PID 1 at all.
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = NoopHandler;
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    ::sigaction(s, &sa, nullptr);
  }

  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) DieErr(cfg.sync_fd, "pipe2", "init", errno);
  pid_t task = sys::RawFork();
  if (task < 0) DieErr(cfg.sync_fd, "fork", "task", errno);
  if (task == 0) {
    ::close(exec_pipe[0]);
    // Errors go straight to the parent over the sync socket.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    g_exec_notify_fd = exec_pipe[1];
    ExecTask(cfg, cfg.sync_fd);
  }
  ::close(exec_pipe[1]);
  char byte;
  ssize_t n;
  while ((n = ::read(exec_pipe[0], &byte, 1)) < 0 && errno == EINTR) {
  }
  ::close(exec_pipe[0]);
  // From here on init only forwards signals and reaps, for as long as the task lives: the
  // launch code it inherited need not stay resident.
  if (cfg.text) sys::DropText(*cfg.text);

  // Init keeps no handle on the task's terminal, output pipes or files.
  for (int fd : cfg.stdio)
    if (fd > 2) ::close(fd);
  if (cfg.netns_fd > 2) ::close(cfg.netns_fd);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    for (int i = 0; i < 3; ++i) ::dup2(devnull, i);
    ::close(devnull);
  }
  // Init holds nothing the task could use: not dumpable, so /proc/1/{fd,mem,environ} and
  // ptrace stay closed to the task.
  ::prctl(PR_SET_DUMPABLE, 0);

  SyncMsg m;
  std::memset(&m, 0, sizeof m);
  if (n == 0) {
    m.type = MsgType::kExecOk;
    m.value = task;
    Send(cfg.sync_fd, m);
  }
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(task, sig);
      continue;
    }
    int status = 0;
    pid_t p;
    while ((p = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (p != task) continue;
      if (n == 0) {
        std::memset(&m, 0, sizeof m);
        m.type = MsgType::kExit;
        m.value = status;
        Send(cfg.sync_fd, m);
      }
      if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
      ::_exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
    }
  }
}

// Closes every fd except the ones the child needs. The init never execs, so without this it
// would hold the supervisor's control socket, log pipes and client connections forever.
void CloseUnneededFds(const ChildConfig& cfg) noexcept {
  int keep[6] = {cfg.sync_fd, cfg.stdio[0], cfg.stdio[1], cfg.stdio[2], cfg.netns_fd, 2};
  // Insertion sort: tiny, allocation-free.
  for (int i = 1; i < 6; ++i)
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned next = 3;
  for (int fd : keep) {
    if (fd < 3 || static_cast<unsigned>(fd) < next) continue;
    if (static_cast<unsigned>(fd) > next) sys::CloseRange(next, static_cast<unsigned>(fd) - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  sys::CloseRange(next, ~0U, 0);
}

}  // namespace

void ChildMain(const ChildConfig& parent_cfg) noexcept {
  // Die with the supervisor: if it is gone, nobody would ever reap or kill this task.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // CVE-2019-5736: until its execve this process (and the init and task forked from it) runs
  // isoexec's binary. A root task's process keeps uid 0 and only loses capabilities, so the
  // kernel leaves it dumpable: between that drop and execve, another task that sees it
  // (--pid host) passes the ptrace access check and opens /proc/<pid>/exe, a handle on the host
  // binary. Non-dumpable, that needs CAP_SYS_PTRACE; the task's execve resets the flag.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Any fd we still need that sits on 0-2 (other than stdio in its own place) moves up first,
  // so putting the task's stdio in place can never clobber it (swapped stdio, a closed stdin
  // that made the sync socket fd 0, ...). A plain struct copy on the stack: no allocation.
  ChildConfig cfg = parent_cfg;
  const auto lift = [](int fd) { return fd >= 0 && fd < 3 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd; };
  cfg.sync_fd = lift(cfg.sync_fd);
  cfg.netns_fd = lift(cfg.netns_fd);
  for (int i = 0; i < 3; ++i)
    if (cfg.stdio[i] != i) cfg.stdio[i] = lift(cfg.stdio[i]);
  ::umask(0);
  SyncMsg go;
  ssize_t n;
  while ((n = ::recv(cfg.sync_fd, &go, sizeof go, 0)) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof go) || go.type != MsgType::kGo) ::_exit(kExitSetupFailed);
  // A parent that died before our PR_SET_PDEATHSIG above sent no signal, but may have queued
  // "go" first: its closed end shows as POLLHUP even with data still queued. Nobody would
  // supervise the task, so it never starts.
  struct pollfd peer = {cfg.sync_fd, 0, 0};
  if (::poll(&peer, 1, 0) > 0 && (peer.revents & POLLHUP)) ::_exit(kExitSetupFailed);
  if (int err = SelfJoin(cfg.cgroup_join)) DieErr(cfg.sync_fd, "join cgroup", "tasks", err);
  CloseUnneededFds(cfg);

  SetupContainer(cfg);
  if (cfg.run_init) RunInit(cfg);
  ExecTask(cfg, cfg.sync_fd);
}

}  // namespace isoexec::runtime
