// Minimal leveled logger for the CLI and supervisor: one line per event on stderr, text or
// JSON. Never used between clone and execve, never mixed into a task's output.
#pragma once

#include <string_view>

namespace isoexec::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
enum class Format { kText, kJson };

void Configure(Level level, Format format);
bool Enabled(Level level);
void Write(Level level, std::string_view message);

inline void Error(std::string_view m) { Write(Level::kError, m); }
inline void Warn(std::string_view m) { Write(Level::kWarn, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Debug(std::string_view m) { Write(Level::kDebug, m); }

}  // namespace isoexec::log
