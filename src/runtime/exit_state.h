// How a task ended, and the exit-status contract of `run`: the task's code, 128+N for signal
// N, 125 isoexec failed, 126 cannot execute, 127 not found.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace isoexec::runtime {

inline constexpr int kExitSetupFailed = 125;
inline constexpr int kExitCannotExecute = 126;
inline constexpr int kExitNotFound = 127;
inline constexpr int kExitSignalBase = 128;

struct SetupError {
  std::string stage;    // "mount", "pivot_root", "execve", "config" ...
  int err = 0;          // errno, 0 when not from a syscall
  std::string message;  // the one-line error
};

struct ExitState {
  pid_t pid = 0;
  int exit_code = -1;
  int signal = 0;
  bool oom_killed = false;
  bool timed_out = false;
  std::optional<SetupError> setup_error;
  std::chrono::system_clock::time_point started_at{};
  std::chrono::system_clock::time_point finished_at{};
  uint64_t cpu_user_ns = 0;
  uint64_t cpu_system_ns = 0;
  uint64_t memory_peak_bytes = 0;
};

// Fills exit_code/signal from a wait(2) status.
void ApplyWaitStatus(int status, ExitState* s);

// The status file JSON (cli.md "--status-file").
std::string StatusJson(const std::string& id, const ExitState& s);
std::string Rfc3339(std::chrono::system_clock::time_point t);

}  // namespace isoexec::runtime
