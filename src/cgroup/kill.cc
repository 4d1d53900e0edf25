#include "cgroup/kill.h"

#include <signal.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "cgroup/fs.h"

namespace isoexec::cgroup {

namespace {

Error Survivors(const std::vector<pid_t>& pids, std::string_view what) {
  std::string list;
  for (size_t i = 0; i < pids.size() && i < 10; ++i)
    list += fmt::format("{}{}", i ? ", " : "", pids[i]);
  if (pids.size() > 10) list += ", ...";
  return Error::Make(Code::kDeadlineExceeded,
                     fmt::format("{} process(es) still in `{}` after SIGKILL (pid {}); they may be "
                                 "blocked in the kernel (D state)",
                                 pids.size(), what, list));
}

std::chrono::milliseconds Remaining(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace

Status WaitUntilEmpty(const PidLister& list, std::chrono::milliseconds timeout,
                      std::string_view what) {
  std::vector<pid_t> last;
  ISOEXEC_ASSIGN_OR_RETURN(bool empty, PollFor(timeout, [&]() -> Result<bool> {
                             ISOEXEC_ASSIGN_OR_RETURN(last, list());
                             return last.empty();
                           }));
  if (!empty) return Fail(Survivors(last, what));
  return Ok();
}

Status FreezeAndKill(const PidLister& list, const Freezer* freezer,
                     std::chrono::milliseconds timeout, std::string_view what) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    ISOEXEC_ASSIGN_OR_RETURN(std::vector<pid_t> pids, list());
    if (pids.empty()) return Ok();
    if (std::chrono::steady_clock::now() >= deadline) return Fail(Survivors(pids, what));

    Status thawed = Ok();
    {
      bool frozen_requested = false;
      ScopeExit thaw([&] {
        if (frozen_requested) thawed = freezer->thaw();
      });
      if (freezer) {
        frozen_requested = true;  // a failed freeze write still gets a (harmless) thaw
        ISOEXEC_TRY(freezer->freeze());
        // A task in an uninterruptible sleep delays FROZEN; kill what we see and go around.
        ISOEXEC_TRY(PollFor(std::min(Remaining(deadline), std::chrono::milliseconds(500)),
                            freezer->frozen));
        ISOEXEC_ASSIGN_OR_RETURN(pids, list());
      }
      for (pid_t pid : pids)
        if (::kill(pid, SIGKILL) != 0 && errno != ESRCH)
          return Fail(Error::Errno(errno, fmt::format("kill {} in `{}`", pid, what)));
    }
    ISOEXEC_TRY(std::move(thawed));
    // Killed processes leave cgroup.procs once they exit; give them a moment before the next
    // round re-lists (and catches children forked before the freeze took hold).
    ISOEXEC_TRY(PollFor(std::min(Remaining(deadline), std::chrono::milliseconds(100)),
                        [&]() -> Result<bool> {
                          ISOEXEC_ASSIGN_OR_RETURN(auto left, list());
                          return left.empty();
                        }));
  }
}

}  // namespace isoexec::cgroup
