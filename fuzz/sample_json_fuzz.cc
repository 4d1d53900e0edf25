// The stats sample JSON (stats/sample.h: `isoexec stats --json`, --stats-file, the control
// protocol's "sample"): ParseSampleJson, and the writer/reader agreeing on what parses:
// SampleJson(ParseSampleJson(SampleJson(s))) == SampleJson(s).
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "stats/sample.h"

using namespace isoexec;
using namespace isoexec::stats;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto s = ParseSampleJson(fuzz::AsText(data, size));
  if (!s) return 0;
  const std::string out = SampleJson(*s);
  auto again = ParseSampleJson(out);
  if (!again) std::fprintf(stderr, "%s\n%s\n", again.error().str().c_str(), out.c_str());
  FUZZ_CHECK(again);
  FUZZ_CHECK(SampleJson(*again) == out);
  return 0;
}
