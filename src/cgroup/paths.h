// Names of a task's cgroup directories, from --cgroup-parent and the task id.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"

namespace isoexec::cgroup {

// `parent` relative (a leading '/' is accepted and dropped), no "." / ".." / empty
// components; `id` one component. Errors name the field ("--cgroup-parent", "id").
Status ValidateOptions(const Options& options);

// "a/b" -> {"a", "b"}; "" -> {}.
std::vector<std::string> ParentComponents(const std::string& parent);

// v2: {"a", "b.slice"} for parent "a/b"; the last component gets ".slice" unless it has it.
std::vector<std::string> V2ParentComponents(const std::string& parent);
std::string V2ScopeName(const std::string& id);

}  // namespace isoexec::cgroup
