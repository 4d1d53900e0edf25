// Rotating log files for a detached task's stdout/stderr: <base> is the current file,
// <base>.1 the previous one, ... up to max_files in all. Rotates on size, preferring a line
// boundary. Never blocks the supervisor: what cannot be written (full disk) is dropped and
// counted; writing resumes by itself once it works again (a failed open is retried).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace isoexec::runtime {

struct LogOptions {
  uint64_t max_size = 10ull << 20;  // per file
  unsigned max_files = 10;          // including the current one
};

class LogRotator {
 public:
  LogRotator(std::string base, LogOptions options);
  void Write(std::string_view data);
  // The latest write/open/rotate error, "" while there never was one.
  const std::string& error() const { return error_; }
  // Whether the latest attempt failed (data is being dropped right now).
  bool failing() const { return failing_; }
  uint64_t dropped_bytes() const { return dropped_; }

 private:
  void Open();
  void Rotate();
  void WriteRaw(std::string_view data);
  void Failed(std::string message);
  std::string base_;
  LogOptions options_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::string error_;
  bool failing_ = false;
  uint64_t dropped_ = 0;
};

}  // namespace isoexec::runtime
