// The JSON task spec (spec/spec_json.h, docs/spec.md): ParseSpecJson with and without
// validation, spec::Validate on what parses, and the documented round trip:
// ParseSpecJson(SpecToJson(s)) == s for any spec that passed ParseSpecJson (checked as
// SpecToJson(ParseSpecJson(SpecToJson(s))) == SpecToJson(s): TaskSpec has no operator==).
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "spec/flag_parse.h"
#include "spec/spec_json.h"

using namespace isoexec;
using namespace isoexec::spec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::AsText(data, size);
  auto base = ParseSpecJson(text, SpecJsonOptions{.validate = false});
  if (!base) return 0;
  const bool valid = static_cast<bool>(Validate(*base));
  auto full = ParseSpecJson(text);  // validate = true
  FUZZ_CHECK(static_cast<bool>(full) == valid);

  const std::string out = SpecToJson(*base);
  auto again = ParseSpecJson(out, SpecJsonOptions{.validate = false});
  if (!again) {
    std::fprintf(stderr, "SpecToJson output does not parse: %s\n%s\n", again.error().str().c_str(),
                 out.c_str());
  }
  FUZZ_CHECK(again);
  FUZZ_CHECK(SpecToJson(*again) == out);
  return 0;
}
