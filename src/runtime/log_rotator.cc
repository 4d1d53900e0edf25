#include "runtime/log_rotator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace isoexec::runtime {

namespace {
// How far back from the size limit we look for a newline to cut at.
constexpr uint64_t kLineSearch = 32 * 1024;
}  // namespace

LogRotator::LogRotator(std::string base, LogOptions options)
    : base_(std::move(base)), options_(options) {
  if (options_.max_files == 0) options_.max_files = 1;
  if (options_.max_size == 0) options_.max_size = 1;
  Open();
}

void LogRotator::Failed(std::string message) {
  error_ = std::move(message);
  failing_ = true;
}

void LogRotator::Open() {
  fd_.reset(::open(base_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd_) {
    Failed(fmt::format("open `{}`: {}", base_, std::strerror(errno)));
    size_ = 0;
    return;
  }
  struct stat st {};
  size_ = ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

void LogRotator::Rotate() {
  fd_.reset();
  // Drop the oldest, shift the rest: base.(n-2) -> base.(n-1), ..., base -> base.1.
  unsigned last = options_.max_files - 1;
  if (last == 0) {
    ::unlink(base_.c_str());
  } else {
    ::unlink(fmt::format("{}.{}", base_, last).c_str());
    for (unsigned i = last; i > 1; --i)
      ::rename(fmt::format("{}.{}", base_, i - 1).c_str(), fmt::format("{}.{}", base_, i).c_str());
    ::rename(base_.c_str(), fmt::format("{}.1", base_).c_str());
  }
  Open();
}

void LogRotator::WriteRaw(std::string_view data) {
  if (data.empty()) return;
  if (!fd_) Open();  // a failed open (or rotation) is retried with the next output
  if (!fd_) {
    dropped_ += data.size();
    return;
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Failed(fmt::format("write `{}`: {}", base_, std::strerror(errno)));
      dropped_ += data.size();
      return;
    }
    size_ += static_cast<uint64_t>(n);
    data.remove_prefix(static_cast<size_t>(n));
  }
  failing_ = false;
}

void LogRotator::Write(std::string_view data) {
  while (!data.empty()) {
    uint64_t room = size_ < options_.max_size ? options_.max_size - size_ : 0;
    if (data.size() <= room) {
      WriteRaw(data);
      return;
    }
    // Cut at the last newline that still fits, if one is close enough to the limit;
    // otherwise fill the file exactly.
    size_t cut = static_cast<size_t>(room);
    if (room > 0) {
      size_t nl = data.substr(0, static_cast<size_t>(room)).rfind('\n');
      if (nl != std::string_view::npos && room - nl <= kLineSearch) cut = nl + 1;
    }
    if (cut == 0 && size_ == 0) cut = static_cast<size_t>(std::min<uint64_t>(data.size(), options_.max_size));
    WriteRaw(data.substr(0, cut));
    data.remove_prefix(cut);
    Rotate();
  }
}

}  // namespace isoexec::runtime
