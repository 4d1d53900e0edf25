// The supervisor's control socket (<task_dir>/control.sock, mode 0600 in a 0700 dir):
// newline-delimited JSON over a unix stream socket, versioned; see docs/control-protocol.md.
// A response may carry file descriptors (SCM_RIGHTS), e.g. the task's pidfd for `exec`.
#pragma once

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

// Server side helpers (the supervisor).
Result<UniqueFd> Listen(const std::string& task_dir);
// Sends `line` + '\n' (and `fd` as SCM_RIGHTS if >= 0). Non-blocking callers get EAGAIN.
Status SendLine(int sock, const std::string& line, int fd = -1);

// {"ok":false,"error":message,"code":N}
std::string ErrorLine(const std::string& message, int code = 125);

}  // namespace isoexec::runtime::control
