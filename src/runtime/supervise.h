// The foreground supervision loop (single-threaded, poll on pidfd + signalfd + timerfd):
// forwards signals to the task, enforces --timeout with a graceful stop then kill-all, reaps
// orphans (isoexec is a child subreaper), and returns the task's exit state.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "runtime/container.h"

namespace isoexec::runtime {

struct SuperviseOptions {
  std::optional<std::chrono::nanoseconds> timeout;
  int kill_signal = SIGTERM;
  std::chrono::nanoseconds kill_timeout = std::chrono::seconds(5);
};

// Signals isoexec forwards to the task in the foreground.
const std::vector<int>& ForwardedSignals();
// Block the forwarded signals and SIGCHLD before Launch, so none is lost before the loop runs.
void BlockSupervisorSignals();
void UnblockSupervisorSignals();

ExitState Supervise(Container& c, const SuperviseOptions& options);

}  // namespace isoexec::runtime
