// `isoexec executor '<json>'` (executor_cmd.cc).
#pragma once

namespace CLI {
class App;
}

namespace isoexec::cli {
// Registers the verb; its callback execs the companion isoexec-executor binary.
void AddExecutorCommand(CLI::App& app, int* exit_code);
}  // namespace isoexec::cli
