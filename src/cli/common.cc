#include "cli/common.h"

#include "base/log.h"

namespace isoexec::cli {

CommandTail& Tail() {
  static CommandTail tail;
  return tail;
}

int PrintError(const Error& e, int code) { return PrintError(e.str(), code); }

int PrintError(const std::string& message, int code) {
  log::Error(message);
  return code;
}

}  // namespace isoexec::cli
