// The supervisor's control socket (<task_dir>/control.sock, mode 0600 in a 0700 dir):
// newline-delimited JSON over a unix stream socket, versioned; see docs/control-protocol.md.
// A response may carry file descriptors (SCM_RIGHTS), e.g. the task's pidfd for `exec`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace isoexec::runtime::control {

inline constexpr int kProtocolVersion = 1;
inline constexpr char kSocketName[] = "control.sock";
inline constexpr size_t kMaxLine = 64 * 1024;

struct Message {
  std::string line;             // one JSON object, without the newline
  std::vector<UniqueFd> fds;    // passed with it
};

class Client {
 public:
  // Code::kUnavailable when nothing listens (the supervisor is gone).
  static Result<Client> Connect(const std::string& task_dir);
  Status Send(const std::string& line);
  // Next line from the supervisor (blocking); kUnavailable on EOF.
  Result<Message> Receive();
  // Send + Receive; a {"ok":false,"error":...} answer becomes an Error.
  Result<Message> Call(const std::string& line);
  int fd() const { return fd_.get(); }

 private:
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string buffer_;
  std::vector<UniqueFd> pending_fds_;
};

// Decodes one response line (without its newline): Ok for {"ok":true,...}; the error it
// carries (kFailedPrecondition) for {"ok":false,"error":...}; kInternal when the line is not
// a JSON object of that shape. Pure (no I/O): Client::Call uses it, the fuzzer feeds it.
Status DecodeResponse(std::string_view line);

// One request, decoded and checked: every field the op takes has the right type and range.
struct Request {
  std::string op;                       // state, wait, signal, stop, ps, pidfd, update, stats
  std::optional<int> signal;            // signal, stop: 1..SIGRTMAX
  bool all = false;                     // signal: every process of the task
  std::optional<int64_t> grace_ns;      // stop
  bool stream = true;                   // stats
  int64_t interval_ns = 0;              // stats (0: 1 s)
  struct Resources {                    // update: only what is given changes
    std::optional<uint64_t> memory, memory_max, cpu_shares;
    bool memory_max_unlimited = false;  // "memory_max":"unlimited"
    std::optional<std::string> cpuset;
    std::optional<int64_t> pids_max;
  } resources;
};

// Decodes one request line (without its newline). The error's message is what the supervisor
// answers: not JSON, an unsupported version, an unknown op, or the field that is wrong. Pure
// (no I/O): the supervisor uses it, the fuzzer feeds it.
Result<Request> DecodeRequest(std::string_view line);

// Server side helpers (the supervisor).
Result<UniqueFd> Listen(const std::string& task_dir);
// Sends `line` + '\n' (and `fd` as SCM_RIGHTS if >= 0). Non-blocking callers get EAGAIN.
Status SendLine(int sock, const std::string& line, int fd = -1);

// {"ok":false,"error":message,"code":N}
std::string ErrorLine(const std::string& message, int code = 125);

}  // namespace isoexec::runtime::control
