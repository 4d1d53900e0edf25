#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace isoexec::cli {

// Registers `isoexec run`; the callback stores the verb's exit status in *exit_code.
void AddRunCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);

}  // namespace isoexec::cli
