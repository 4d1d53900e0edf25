#include "cli/spec_cmd.h"

#include <fmt/format.h>

#include <memory>

#include "spec/spec_json.h"

namespace isoexec::cli {

void AddSpecCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    bool explain = false;
    bool markdown = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "spec", "Print a complete example task spec (JSON, every field at its default) for run --spec");
  CLI::Option* explain =
      cmd->add_flag("--explain", flags->explain,
                    "Print the field reference instead: every field's JSON path, type, default, the "
                    "run flag that overrides it, and what it does");
  cmd->add_flag("--markdown", flags->markdown, "With --explain: as the Markdown table of docs/spec.md")
      ->needs(explain);
  cmd->footer(fmt::format(R"(The spec format is versioned ("version": {}) and documented in docs/spec.md.
JSON has no comments: `isoexec spec --explain` documents each field instead.

Examples:
  isoexec spec > task.json                          # edit, then:
  isoexec run --spec task.json                      # runs /process/args from the file
  isoexec run --spec task.json --memory 1G -- date  # flags and a command override the file
  isoexec spec --explain | less)",
                          spec::kSpecVersion));
  cmd->callback([flags, exit_code] {
    if (flags->explain)
      fmt::print("{}", flags->markdown ? spec::ExplainMarkdown() : spec::Explain());
    else
      fmt::print("{}", spec::DefaultSpecExample());
    *exit_code = 0;
  });
}

}  // namespace isoexec::cli
