// The control-socket protocol (runtime/control.h, docs/control-protocol.md), supervisor side:
// every line a client can send goes through control::DecodeRequest before the supervisor acts
// on it. Besides crashes and sanitizer reports, the decoded request must be in range.
#include <csignal>
#include <cstdint>

#include "fuzz_util.h"
#include "runtime/control.h"

using namespace isoexec::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = control::DecodeRequest(isoexec::fuzz::AsText(data, size));
  if (!r) {
    FUZZ_CHECK(!r.error().message().empty());
    return 0;
  }
  FUZZ_CHECK(!r->signal || (*r->signal >= 1 && *r->signal <= SIGRTMAX));
  FUZZ_CHECK(!(r->resources.memory_max && r->resources.memory_max_unlimited));
  static const char* const kOps[] = {"state", "wait", "signal", "stop",
                                     "ps",    "pidfd", "update", "stats"};
  bool known = false;
  for (const char* op : kOps) known = known || r->op == op;
  FUZZ_CHECK(known);
  return 0;
}
