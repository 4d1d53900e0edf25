// The compact flag syntaxes of spec/flag_parse.h (--bind, --device, --chroot-env, --env,
// --pid/--ipc, --name, --cpuset, --hostname, task paths), each on the whole input, and the
// invariants their results promise (absolute paths without NUL bytes, PERMS a non-empty
// subset of "rwm", normalized paths that normalize to themselves).
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "spec/flag_parse.h"

using namespace isoexec;
using namespace isoexec::spec;

namespace {
bool AbsoluteNoNul(const std::string& p) {
  return !p.empty() && p[0] == '/' && p.find('\0') == std::string::npos;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::AsText(data, size);
  if (auto b = ParseBind(text)) {
    FUZZ_CHECK(AbsoluteNoNul(b->host) && AbsoluteNoNul(b->task));
  }
  if (auto d = ParseDevice(text)) {
    FUZZ_CHECK(AbsoluteNoNul(d->host) && AbsoluteNoNul(d->task));
    FUZZ_CHECK(!d->perms.empty() && d->perms.find_first_not_of("rwm") == std::string::npos);
  }
  if (auto e = ParseChrootEnv(text)) {
    FUZZ_CHECK(AbsoluteNoNul(e->host) && AbsoluteNoNul(e->task));
  }
  if (auto e = ParseEnv(text)) {
    FUZZ_CHECK(e->find('=') != std::string::npos && (*e)[0] != '=');
  }
  (void)ParseNsMode("--pid", text);
  if (ValidateId(text)) {
    FUZZ_CHECK(!text.empty() && text.size() <= 64 && text[0] != '.');
    FUZZ_CHECK(text.find('/') == std::string_view::npos);
  }
  if (auto cpus = ParseCpuList("--cpuset", text)) {
    FUZZ_CHECK(!cpus->empty() && cpus->size() <= kMaxCpus && cpus->back());
  }
  if (ValidateHostname("--hostname", text)) {
    FUZZ_CHECK(!text.empty() && text.size() <= 64);
  }
  if (auto p = NormalizeTaskPath("--bind", text)) {
    FUZZ_CHECK(AbsoluteNoNul(*p));
    FUZZ_CHECK(*p == "/" || (p->back() != '/' && p->find("//") == std::string::npos));
    auto again = NormalizeTaskPath("--bind", *p);
    FUZZ_CHECK(again && *again == *p);
  }
  return 0;
}
