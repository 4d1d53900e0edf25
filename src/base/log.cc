#include "base/log.h"

#include <unistd.h>

#include <chrono>
#include <string>

#include <fmt/format.h>

namespace isoexec::log {

namespace {
Level g_level = Level::kWarn;
Format g_format = Format::kText;

const char* Name(Level l) {
  switch (l) {
    case Level::kError: return "error";
    case Level::kWarn: return "warn";
    case Level::kInfo: return "info";
    case Level::kDebug: return "debug";
  }
  return "info";
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else out += c;
    }
  }
  return out;
}
}  // namespace

void Configure(Level level, Format format) {
  g_level = level;
  g_format = format;
}

bool Enabled(Level level) { return level <= g_level; }

void Write(Level level, std::string_view message) {
  if (!Enabled(level)) return;
  std::string line;
  if (g_format == Format::kJson) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
    line = fmt::format("{{\"time_ms\":{},\"level\":\"{}\",\"msg\":\"{}\"}}\n", now, Name(level),
                       JsonEscape(message));
  } else if (level == Level::kError) {
    line = fmt::format("isoexec: {}\n", message);
  } else {
    line = fmt::format("isoexec: {}: {}\n", Name(level), message);
  }
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace isoexec::log
