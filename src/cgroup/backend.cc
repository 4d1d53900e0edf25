// Helpers both backends use.
#include "cgroup/backend.h"

#include <fmt/format.h>

#include "cgroup/fs.h"

namespace isoexec::cgroup {

Error MissingController(std::string_view limit, std::string_view controller,
                        std::string_view where) {
  return Error::Make(Code::kFailedPrecondition,
                     fmt::format("{} needs the `{}` cgroup controller, which is not available "
                                 "{}",
                                 limit, controller, where));
}

std::string PidsMaxValue(std::optional<int64_t> pids_max) {
  return pids_max ? std::to_string(*pids_max) : "max";
}

void Record(std::optional<uint64_t> value, uint64_t& field, std::vector<std::string>& measured,
            const char* name) {
  if (!value) return;
  field = *value;
  measured.emplace_back(name);
}

uint64_t NormalizeLimit(uint64_t limit) { return limit >= (uint64_t{1} << 62) ? 0 : limit; }

Error CpusetError(Error e, const std::string& parent, std::string_view allowed_file) {
  if (e.sys_errno() != EINVAL && e.sys_errno() != ERANGE) return e;
  Result<std::string> allowed = ReadControl(parent, allowed_file);
  return WithHint(std::move(e), fmt::format("the CPUs must exist and be within the parent's `{}`",
                                            allowed ? *allowed : std::string("?")));
}

}  // namespace isoexec::cgroup
