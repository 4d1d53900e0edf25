// The cgroup control-file parsers of cgroup/parsers.h (v1 and v2), each on the whole input.
#include <cstdint>
#include <string>

#include "cgroup/parsers.h"
#include "fuzz_util.h"

using namespace isoexec;
using namespace isoexec::cgroup;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::AsText(data, size);
  if (auto v = ParseUint(text)) FUZZ_CHECK(ParseUint(std::to_string(*v)) == v);
  (void)ParseKeyedCounters(text);
  if (auto pids = ParseProcs(text, "cgroup.procs")) {
    for (pid_t p : *pids) FUZZ_CHECK(p > 0);
  }
  (void)ParseMemoryStatV1(text);
  (void)ParseMemoryStatV2(text);
  (void)ParseCpuStat(text);
  (void)ParseCpuacctStat(text);
  (void)ParseMemoryEvents(text);
  (void)ParseOomControl(text);
  (void)ParseCgroupEvents(text);
  for (const std::string& w : SplitWords(text)) FUZZ_CHECK(!w.empty());
  if (size >= 16) {
    uint64_t ticks = 0, hz = 0;
    __builtin_memcpy(&ticks, data, 8);
    __builtin_memcpy(&hz, data + 8, 8);
    (void)TicksToNs(ticks, hz);
  }
  return 0;
}
