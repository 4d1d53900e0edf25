// The --seccomp profile JSON (isolation/seccomp.h, docs/seccomp.md): ParseSeccompProfile,
// and SeccompProfileToJson's output reading back as the same profile. Compiling to BPF
// (libseccomp) is left out: it is slow and libseccomp is not ours.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "isolation/seccomp.h"

using namespace isoexec;
using namespace isoexec::isolation;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = ParseSeccompProfile(fuzz::AsText(data, size));
  if (!p) return 0;
  const std::string out = SeccompProfileToJson(*p);
  auto again = ParseSeccompProfile(out);
  if (!again) std::fprintf(stderr, "%s\n%s\n", again.error().str().c_str(), out.c_str());
  FUZZ_CHECK(again);
  FUZZ_CHECK(SeccompProfileToJson(*again) == out);
  return 0;
}
