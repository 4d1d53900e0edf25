// Exec and ExecStreaming: extra processes inside the running task (runtime::ExecInto: the
// task's root, namespaces, cgroup, user, capabilities and seccomp filter). The process is a
// child of the executor, reaped through its pidfd.
//
// ExecInto ties the process to the calling thread (PR_SET_PDEATHSIG), so each exec runs on a
// thread that lives until the process was reaped: the RPC's own thread for Exec, a dedicated
// thread per ExecStreaming call (gRPC's callback threads come and go).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/server_callback.h>

#include "base/result.h"
#include "drivers.pb.h"

namespace isoexec::executor {

class Task;

inline constexpr size_t kExecOutputLimit =
    4096;  // Exec keeps the last 4 KiB (Nomad's CheckBufSize)
inline constexpr size_t kStreamFrameSize = 4096;  // ExecStreaming output frames

struct ExecOutcome {
  std::string output;  // the last kExecOutputLimit bytes of stdout and stderr, merged
  int exit_code = 0;   // 128+N when signal N killed it
};

// Runs argv inside the task; kDeadlineExceeded (the process was killed) when `deadline`
// passes first; kCancelled-like kUnavailable when `cancelled()` turns true (also killed).
Result<ExecOutcome> RunExec(const std::shared_ptr<Task>& task, const std::vector<std::string>& argv,
                            std::optional<std::chrono::system_clock::time_point> deadline,
                            const std::function<bool()>& cancelled);

using ExecStreamReactorBase =
    grpc::ServerBidiReactor<::hashicorp::nomad::plugins::drivers::proto::ExecTaskStreamingRequest,
                            ::hashicorp::nomad::plugins::drivers::proto::ExecTaskStreamingResponse>;

// One ExecStreaming call. `task` may be null (nothing launched): the call then fails after
// the setup message. Deletes itself when gRPC is done with it.
ExecStreamReactorBase* NewExecStreamReactor(std::shared_ptr<Task> task);

}  // namespace isoexec::executor
