#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace isoexec::cli {

// wait, kill, stop, ps, list, inspect, delete, update, logs.
void AddTaskCommands(CLI::App& app, const GlobalOptions& global, int* exit_code);

}  // namespace isoexec::cli
