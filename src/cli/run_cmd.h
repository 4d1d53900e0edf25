#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "runtime/log_rotator.h"
#include "spec/task_spec.h"

namespace isoexec::cli {

// What a launch needs beyond the spec.
struct TaskOptions {
  bool named = false;   // an id was given: the state stays until `delete`
  bool detach = false;
  bool rm = false;
  runtime::LogOptions logs;
};

// Becomes the detached supervisor of `spec` (session leader, logs, control socket) and never
// returns. Reports one JSON line on report_fd: {"ok":true,"id","pid"} once the task runs, or
// {"ok":false,"exit_code","error"}. parent_watch_fd >= 0: the task is killed when it reports
// EOF (the process that started us died).
[[noreturn]] void SuperviseDetached(const spec::TaskSpec& spec, const TaskOptions& opts,
                                    const GlobalOptions& global, const std::string& task_dir,
                                    int report_fd, int parent_watch_fd);

// Registers `isoexec run`; the callback stores the verb's exit status in *exit_code.
void AddRunCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);

}  // namespace isoexec::cli
