// The control-socket protocol (runtime/control.h, docs/control-protocol.md), client side: one
// response line through control::DecodeResponse (what Client::Call does), then the payloads
// clients decode from it: "state" (ParseTaskState, also state.json), "exit" (ParseExitState,
// also the status file) and "sample" (ParseSampleJson). The supervisor's side, the request
// decoder, is control_request_fuzz.cc.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "runtime/control.h"
#include "runtime/task_state.h"
#include "stats/sample.h"

using namespace isoexec;
using namespace isoexec::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line = fuzz::AsText(data, size);
  const Status decoded = control::DecodeResponse(line);

  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    FUZZ_CHECK(!decoded);
    return 0;
  }
  if (auto it = j.find("state"); it != j.end()) {
    if (auto s = ParseTaskState(it->dump())) {
      // TaskStateJson(s) must read back as the same state.
      const std::string out = TaskStateJson(*s);
      auto again = ParseTaskState(out);
      FUZZ_CHECK(again);
      FUZZ_CHECK(TaskStateJson(*again) == out);
    }
  }
  if (auto it = j.find("exit"); it != j.end()) {
    if (auto e = ParseExitState(it->dump())) (void)ExitStateJsonObject("fuzz", *e);
  }
  if (auto it = j.find("sample"); it != j.end()) (void)stats::ParseSampleJson(it->dump());
  return 0;
}
