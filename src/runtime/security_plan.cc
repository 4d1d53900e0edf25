#include "runtime/security_plan.h"

#include <linux/capability.h>

#include <cctype>
#include <string>

#include "isolation/seccomp.h"
#include "seccomp_blob/default_filter.h"

namespace isoexec::runtime {

namespace {

bool AskedForKill(const std::vector<std::string>& cap_add) {
  for (const auto& c : cap_add) {
    std::string lower;
    for (char ch : c) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "all") return true;
    auto n = isolation::ParseCapability("--cap-add", c);
    if (n && *n == CAP_KILL) return true;
  }
  return false;
}

}  // namespace

Result<SecurityPlan> PrepareSecurity(const spec::TaskSpec& spec, uid_t uid) {
  SecurityPlan plan;
  ISOEXEC_ASSIGN_OR_RETURN(uint64_t mask,
                           isolation::ResolveCapabilities(spec.security.cap_add, spec.security.cap_drop));
  // A non-root process sharing the host's PID namespace would keep CAP_KILL (ambient) and could
  // signal any host process, root's included: it only gets it when asked for explicitly.
  if (uid != 0 && spec.namespaces.pid == spec::NsMode::kHost && !AskedForKill(spec.security.cap_add))
    mask &= ~(uint64_t{1} << CAP_KILL);
  plan.caps = isolation::CapSetsFor(mask, uid == 0);
  if (spec.security.seccomp == "default") {
    // Compiled at build time: libseccomp's 8-16 ms compile is only paid for custom profiles.
    plan.seccomp.assign(seccomp_blob::kDefaultFilter,
                        seccomp_blob::kDefaultFilter + seccomp_blob::kDefaultFilterLen);
  } else {
    ISOEXEC_ASSIGN_OR_RETURN(plan.seccomp, isolation::CompileSeccomp(spec.security.seccomp));
  }
  return plan;
}

}  // namespace isoexec::runtime
