#include "runtime/supervise.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace isoexec::runtime {

namespace {

sigset_t SupervisorSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : ForwardedSignals()) sigaddset(&set, s);
  sigaddset(&set, SIGCHLD);
  return set;
}

void Arm(int tfd, std::chrono::nanoseconds d) {
  struct itimerspec its;
  std::memset(&its, 0, sizeof its);
  auto ns = d.count() <= 0 ? 1 : d.count();
  its.it_value.tv_sec = ns / 1'000'000'000;
  its.it_value.tv_nsec = ns % 1'000'000'000;
  ::timerfd_settime(tfd, 0, &its, nullptr);
}

// Reaps re-parented orphans without touching `keep` (the direct child, collected via pidfd).
void ReapOrphans(pid_t keep) {
  for (;;) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
    if (info.si_pid == keep) return;
    ::waitpid(info.si_pid, nullptr, 0);
  }
}

}  // namespace

const std::vector<int>& ForwardedSignals() {
  static const std::vector<int> kSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
                                            SIGWINCH};
  return kSignals;
}

void BlockSupervisorSignals() {
  sigset_t set = SupervisorSet();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

void UnblockSupervisorSignals() {
  sigset_t set = SupervisorSet();
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

ExitState Supervise(Container& c, const SuperviseOptions& options) {
  // Orphans of a --pid host task are re-parented to us, so nothing stays a zombie.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t set = SupervisorSet();
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  UniqueFd timeout_fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  UniqueFd grace_fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (options.timeout) Arm(timeout_fd.get(), *options.timeout);
  bool timed_out = false;

  for (;;) {
    struct pollfd fds[4] = {{c.pidfd(), POLLIN, 0},
                            {sfd.get(), POLLIN, 0},
                            {timeout_fd.get(), POLLIN, 0},
                            {grace_fd.get(), POLLIN, 0}};
    int n = ::poll(fds, 4, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) break;
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          ReapOrphans(c.child_pid());
        } else {
          (void)c.Signal(sig);
        }
      }
    }
    if (fds[2].revents) {
      uint64_t ticks;
      (void)!::read(timeout_fd.get(), &ticks, sizeof ticks);
      timed_out = true;
      // Graceful stop: the stop signal, then everything in the cgroup after the grace period.
      if (options.kill_timeout.count() == 0) {
        (void)c.KillAll();
      } else {
        (void)c.Signal(options.kill_signal);
        Arm(grace_fd.get(), options.kill_timeout);
      }
    }
    if (fds[3].revents) {
      uint64_t ticks;
      (void)!::read(grace_fd.get(), &ticks, sizeof ticks);
      (void)c.KillAll();
    }
  }
  ExitState s = c.Collect();
  s.timed_out = timed_out;
  // Kill what the main process left behind (--pid host), then reap it.
  (void)c.KillAll();
  ReapOrphans(0);
  return s;
}

}  // namespace isoexec::runtime
