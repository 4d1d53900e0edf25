// Rotating log files for a detached task's stdout/stderr: <base> is the current file,
// <base>.1 the previous one, ... up to max_files in all. Rotates on size, preferring a line
// boundary. Never blocks the supervisor: a write error (full disk) drops the data and is
// reported once through error().
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
  // The first write/rotate error, "" while all is well.
  const std::string& error() const { return error_; }
  uint64_t dropped_bytes() const { return dropped_; }

 private:
  void Open();
  void Rotate();
  void WriteRaw(std::string_view data);
  std::string base_;
  LogOptions options_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::string error_;
  uint64_t dropped_ = 0;
};

}  // namespace isoexec::runtime
