#pragma once

#include <CLI/CLI.hpp>

namespace isoexec::cli {

// `isoexec spec [--explain [--markdown]]`: prints a complete example task spec (every field at
// its default, plus a command) for `isoexec run --spec FILE`, or the field reference. Both come
// from the descriptor table in spec/spec_json.cc. Stores 0 in *exit_code.
void AddSpecCommand(CLI::App& app, int* exit_code);

}  // namespace isoexec::cli
