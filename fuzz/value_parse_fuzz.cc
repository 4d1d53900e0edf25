// The value parsers of base/parse.h (sizes, durations, integers, signals) and the capability
// parser of isolation/caps.h, all on the whole input, plus their round-trip promises:
// ParseX(Format(ParseX(s))) == ParseX(s). Capability lists: one name a line, "+NAME" adds,
// "-NAME" drops (ResolveCapabilities with an explicit cap_last_cap: no /proc).
#include <csignal>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "base/parse.h"
#include "fuzz_util.h"
#include "isolation/caps.h"

using namespace isoexec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::AsText(data, size);

  if (auto v = ParseSize("--memory", text)) {
    auto again = ParseSize("--memory", std::to_string(*v));
    FUZZ_CHECK(again && *again == *v);
    (void)FormatBytes(*v);
  }
  if (auto d = ParseDuration("--timeout", text)) {
    FUZZ_CHECK(d->count() >= 0);
  }
  struct Range {
    int64_t min, max;
  } const ranges[] = {{std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()},
                      {-1000, 1000},
                      {2, 262144}};
  for (const Range& r : ranges) {
    if (auto v = ParseInt("--n", text, r.min, r.max)) {
      FUZZ_CHECK(*v >= r.min && *v <= r.max);
      auto again = ParseInt("--n", std::to_string(*v), r.min, r.max);
      FUZZ_CHECK(again && *again == *v);
    }
  }
  if (auto sig = ParseSignal("--kill-signal", text)) {
    FUZZ_CHECK(*sig >= 1 && *sig <= SIGRTMAX);
    auto again = ParseSignal("--kill-signal", SignalName(*sig));
    FUZZ_CHECK(again && *again == *sig);
  }
  if (size >= sizeof(int)) {
    int n = 0;
    __builtin_memcpy(&n, data, sizeof n);
    (void)SignalName(n);
    (void)isolation::CapName(n);
  }

  if (auto cap = isolation::ParseCapability("--cap-add", text)) {
    FUZZ_CHECK(*cap >= 0 && *cap <= 63);
    auto again = isolation::ParseCapability("--cap-add", isolation::CapName(*cap));
    FUZZ_CHECK(again && *again == *cap);
  }
  std::vector<std::string> add, drop;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    if (line[0] == '+') add.emplace_back(line.substr(1));
    if (line[0] == '-') drop.emplace_back(line.substr(1));
  }
  if (!add.empty() || !drop.empty()) {
    constexpr int kLastCap = 40;
    if (auto mask = isolation::ResolveCapabilities(add, drop, kLastCap)) {
      FUZZ_CHECK((*mask >> (kLastCap + 1)) == 0);
      (void)isolation::CapNames(*mask);
    }
  }
  return 0;
}
