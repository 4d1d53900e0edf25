// Parsers for user-facing values. Each error names the field it was given.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace isoexec {

// "256M", "1G", "512k", "1073741824" (base 1024; K/M/G/T with optional "i"/"B": "256MiB").
Result<uint64_t> ParseSize(std::string_view field, std::string_view text);

// Go/systemd style: "500ms", "10s", "1m30s", "2h", "1.5s", "0"; a bare number is seconds.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view field, std::string_view text);

// Decimal integer within [min, max].
Result<int64_t> ParseInt(std::string_view field, std::string_view text, int64_t min, int64_t max);

// Signal by name ("SIGTERM", "term", "TERM", "sigkill") or number ("9"); 1..SIGRTMAX.
Result<int> ParseSignal(std::string_view field, std::string_view text);
// "SIGTERM" for 15; "SIGRTMIN+3" for real-time signals; the number as text when unknown.
std::string SignalName(int sig);

// Human-readable byte count for messages: "256 MiB".
std::string FormatBytes(uint64_t bytes);

}  // namespace isoexec
