// Shared CLI plumbing: global options, the one-line error convention and exit codes.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace isoexec::cli {

struct GlobalOptions {
  std::string state_dir = "/run/isoexec";
  std::string cgroup_parent = "isoexec";
  std::string log_level = "warn";
  std::string log_format = "text";
};

// The words after the first "--" on the command line (the task's command), split off before
// CLI11 parses, so nothing in a command can ever be taken for an isoexec option.
struct CommandTail {
  bool present = false;
  std::vector<std::string> words;
};
CommandTail& Tail();

// "isoexec: <message>" on stderr; returns `code` for `return PrintError(...)`.
int PrintError(const Error& e, int code = 125);
int PrintError(const std::string& message, int code = 125);

}  // namespace isoexec::cli

namespace CLI {
class App;
}

namespace isoexec::cli {
// `isoexec __supervise` (supervise_cmd.cc).
void AddSuperviseCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
// `isoexec exec` (exec_cmd.cc).
void AddExecCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
// `isoexec stats` (stats_cmd.cc).
void AddStatsCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);

}  // namespace isoexec::cli
