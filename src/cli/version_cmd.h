#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace isoexec::cli {

// `isoexec version` and `isoexec features`.
void AddVersionCommands(CLI::App& app, const GlobalOptions& global, int* exit_code);

}  // namespace isoexec::cli
