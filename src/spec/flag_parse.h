// Parsers for the compact flag syntaxes (--bind HOST:TASK:OPTS, --device, --chroot-env, ...)
// and whole-spec validation. Errors name the flag: `--bind: ...` (exit 125 at the CLI).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "spec/task_spec.h"

namespace isoexec::spec {

Result<BindMount> ParseBind(std::string_view text);        // HOST:TASK[:ro|rw,private|rslave|rshared]
Result<Device> ParseDevice(std::string_view text);         // HOST[:TASK[:PERMS]]
Result<ChrootEnvEntry> ParseChrootEnv(std::string_view text);  // HOST[:TASK]
Result<std::string> ParseEnv(std::string_view text);       // KEY=VALUE
Result<NsMode> ParseNsMode(std::string_view field, std::string_view text);  // private|host
Status ValidateId(std::string_view id);                    // [A-Za-z0-9_.-]{1,64}, not ".x"
// A CPU list like "0-1,3" (what cpuset.cpus takes): the CPUs it names, as a bitmap indexed by
// CPU number. Elements N or N-M (N <= M), CPU numbers below kMaxCpus, no empty elements.
inline constexpr size_t kMaxCpus = 65536;
Result<std::vector<bool>> ParseCpuList(std::string_view field, std::string_view text);
// RFC 1123 host name: dot-separated labels of 1-63 of [A-Za-z0-9_-] (no leading or trailing
// '-'), at most 64 characters in all (the kernel's limit).
Status ValidateHostname(std::string_view field, std::string_view name);
// An absolute path inside the task root, normalized ("/a/./b//" -> "/a/b", "/a/../b" -> "/b").
// Errors name `field`: relative, a NUL byte, or ".." leaving the task root.
Result<std::string> NormalizeTaskPath(std::string_view field, std::string_view path);

// Checks the whole spec (ranges, absolute paths, conflicting options). Run once before launch.
Status Validate(const TaskSpec& spec);

}  // namespace isoexec::spec
