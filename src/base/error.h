// One error type for the whole library: what failed (syscall, path, spec field), errno, and
// context frames added on the way up. Messages follow the crun convention:
//   mount `/proc` on `/task/proc`: Operation not permitted
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace isoexec {

enum class Code {
  kInvalidArgument,     // bad flag / spec field (exit 125)
  kNotFound,            // missing file, task, user
  kAlreadyExists,       // duplicate task id
  kPermissionDenied,
  kFailedPrecondition,  // wrong state (task not running, kernel feature missing)
  kResourceExhausted,
  kDeadlineExceeded,
  kUnavailable,
  kUnimplemented,
  kInternal,
};

class [[nodiscard]] Error {
 public:
  Error(Code code, std::string message, int sys_errno = 0)
      : code_(code), sys_errno_(sys_errno), message_(std::move(message)) {}

  // `what` names the action and object, e.g. "open `/etc/passwd`"; strerror(e) is appended.
  static Error Errno(int e, std::string_view what);
  // A spec field or flag is invalid: "field: why".
  static Error Invalid(std::string_view field, std::string_view why);
  static Error Make(Code code, std::string message) { return {code, std::move(message)}; }

  // Adds an outer context frame ("setting up rootfs"); printed before the message.
  Error&& With(std::string frame) &&;
  Error& With(std::string frame) &;

  Code code() const { return code_; }
  int sys_errno() const { return sys_errno_; }
  const std::string& message() const { return message_; }
  const std::string& field() const { return field_; }
  // Outermost context first, innermost fact last, joined by ": ".
  std::string str() const;

 private:
  Code code_;
  int sys_errno_;
  std::string message_;
  std::string field_;
  std::vector<std::string> context_;  // innermost first
};

}  // namespace isoexec
