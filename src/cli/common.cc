#include "cli/common.h"

#include <fmt/format.h>

#include "base/log.h"

namespace isoexec::cli {

CommandTail& Tail() {
  static CommandTail tail;
  return tail;
}

int PrintError(const Error& e, int code) { return PrintError(e.str(), code); }

int PrintError(const std::string& message, int code) {
  // One line, whatever the message quotes: a value with a newline ("--hostname $'a\nb'") must
  // not split the error into two lines.
  std::string line;
  for (char c : message) {
    if (c == '\n') line += "\\n";
    else if (c == '\r') line += "\\r";
    else if (c == '\t') line += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) line += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    else line += c;
  }
  log::Error(line);
  return code;
}

}  // namespace isoexec::cli
