// Parsers for the compact flag syntaxes (--bind HOST:TASK:OPTS, --device, --chroot-env, ...)
// and whole-spec validation. Errors name the flag: `--bind: ...` (exit 125 at the CLI).
#pragma once

#include <string_view>

#include "base/result.h"
#include "spec/task_spec.h"

namespace isoexec::spec {

Result<BindMount> ParseBind(std::string_view text);        // HOST:TASK[:ro|rw,private|rslave|rshared]
Result<Device> ParseDevice(std::string_view text);         // HOST[:TASK[:PERMS]]
Result<ChrootEnvEntry> ParseChrootEnv(std::string_view text);  // HOST[:TASK]
Result<std::string> ParseEnv(std::string_view text);       // KEY=VALUE
Result<NsMode> ParseNsMode(std::string_view field, std::string_view text);  // private|host
Status ValidateId(std::string_view id);                    // [A-Za-z0-9_.-]{1,64}, not ".x"

// Checks the whole spec (ranges, absolute paths, conflicting options). Run once before launch.
Status Validate(const TaskSpec& spec);

}  // namespace isoexec::spec
