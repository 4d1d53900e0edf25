// The environment a task's processes get, in one place for launch, exec and the CLI: exactly
// the spec's variables, PATH when none is given, and the resolved identity's USER, LOGNAME
// and HOME when a user is set (those win over the spec's).
#pragma once

#include <string>
#include <vector>

#include "isolation/user.h"
#include "spec/task_spec.h"

namespace isoexec::runtime {

inline constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// `user`: the resolved identity when a user is set, nullptr otherwise.
std::vector<std::string> TaskEnvironment(const spec::TaskSpec& spec, const isolation::UserIds* user);
// KEY=VALUE overrides: a key already in *env is replaced in place, new keys are appended.
void OverrideEnv(std::vector<std::string>* env, const std::vector<std::string>& overrides);

}  // namespace isoexec::runtime
