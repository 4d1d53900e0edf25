#include "base/error.h"

#include <cerrno>
#include <cstring>

namespace isoexec {

namespace {
Code CodeForErrno(int e) {
  switch (e) {
    case ENOENT:
    case ESRCH:
      return Code::kNotFound;
    case EEXIST:
      return Code::kAlreadyExists;
    case EPERM:
    case EACCES:
      return Code::kPermissionDenied;
    case EINVAL:
      return Code::kInvalidArgument;
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case EAGAIN:
      return Code::kResourceExhausted;
    case ENOSYS:
    case EOPNOTSUPP:
      return Code::kUnimplemented;
    case ETIMEDOUT:
      return Code::kDeadlineExceeded;
    default:
      return Code::kInternal;
  }
}
}  // namespace

Error Error::Errno(int e, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(e);
  return {CodeForErrno(e), std::move(msg), e};
}

Error Error::Invalid(std::string_view field, std::string_view why) {
  Error err(Code::kInvalidArgument, std::string(field) + ": " + std::string(why));
  err.field_ = std::string(field);
  return err;
}

Error&& Error::With(std::string frame) && {
  context_.push_back(std::move(frame));
  return std::move(*this);
}

Error& Error::With(std::string frame) & {
  context_.push_back(std::move(frame));
  return *this;
}

std::string Error::str() const {
  std::string out;
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message_;
  return out;
}

}  // namespace isoexec
