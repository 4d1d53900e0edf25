// isoexec: run programs in isolated, resource-limited containers.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "cli/common.h"
#include "cli/executor_cmd.h"
#include "cli/run_cmd.h"
#include "cli/task_cmds.h"
#include "cli/spec_cmd.h"
#include "cli/man_cmd.h"
#include "cli/version_cmd.h"

int main(int argc, char** argv) {
  using namespace isoexec;
  cli::GlobalOptions global;
  CLI::App app{"isoexec: run programs in isolated, resource-limited containers", "isoexec"};
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(R"(Exit status: run, exec and wait exit like the task (its code, 128+N for signal N);
125 isoexec itself failed, 126 the command cannot be executed, 127 it was not found.

Examples:
  isoexec run -- sh -c 'ls /'                    a task in the default ephemeral root
  isoexec run --rootfs ./task --memory 256M -- ./job
  isoexec run -d --name web -- ./server          detached; prints the task id
  isoexec exec -it web -- sh                     a terminal inside the task
  isoexec stats web                              live CPU and memory
  isoexec logs -f web                            follow its stdout
  isoexec stop --timeout 10s web && isoexec delete web

See `isoexec VERB --help` and isoexec(1).)");
  app.set_version_flag("--version", std::string("isoexec ") + ISOEXEC_VERSION);
  app.add_option("--state-dir", global.state_dir, "Where per-task state lives")
      ->type_name("DIR")->default_str("/run/isoexec")->group("Global");
  app.add_option("--cgroup-parent", global.cgroup_parent,
                 "Parent cgroup for tasks (v1: <ctrl>/NAME/<id>, v2: NAME.slice/<id>.scope)")
      ->type_name("NAME")->default_str("isoexec")->group("Global");
  app.add_option("--log-level", global.log_level, "Log level")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->type_name("error|warn|info|debug")->default_str("warn")->group("Global");
  app.add_option("--log-format", global.log_format, "Log format on stderr")
      ->check(CLI::IsMember({"text", "json"}))->type_name("text|json")->default_str("text")
      ->group("Global");
  app.parse_complete_callback([&global] {
    static const char* kLevels[] = {"error", "warn", "info", "debug"};
    int level = 1;
    for (int i = 0; i < 4; ++i)
      if (global.log_level == kLevels[i]) level = i;
    log::Configure(static_cast<log::Level>(level),
                   global.log_format == "json" ? log::Format::kJson : log::Format::kText);
  });

  int exit_code = 0;
  cli::AddRunCommand(app, global, &exit_code);
  cli::AddTaskCommands(app, global, &exit_code);
  cli::AddStatsCommand(app, global, &exit_code);
  cli::AddExecCommand(app, global, &exit_code);
  cli::AddVersionCommands(app, global, &exit_code);
  cli::AddSpecCommand(app, &exit_code);
  cli::AddSuperviseCommand(app, global, &exit_code);
  cli::AddExecutorCommand(app, &exit_code);
  cli::AddManCommands(app, &exit_code);  // last: it documents every verb above
  // run and exec stop at their command (no fallthrough), so they take the global options
  // themselves: `isoexec run --log-level debug -- ...` works like every other verb.
  for (const char* verb : {"run", "exec"}) {
    CLI::App* sub = app.get_subcommand(verb);
    sub->add_option("--state-dir", global.state_dir, "Where per-task state lives")
        ->type_name("DIR")->default_str("/run/isoexec")->group("Global");
    sub->add_option("--cgroup-parent", global.cgroup_parent, "Parent cgroup for tasks")
        ->type_name("NAME")->default_str("isoexec")->group("Global");
    sub->add_option("--log-level", global.log_level, "Log level")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
        ->type_name("error|warn|info|debug")->default_str("warn")->group("Global");
    sub->add_option("--log-format", global.log_format, "Log format on stderr")
        ->check(CLI::IsMember({"text", "json"}))->type_name("text|json")->default_str("text")
        ->group("Global");
  }

  // No option takes an empty value: `--memory ""` or `--user "$UNSET"` is a mistake, never a
  // way to ask for the default (a silently ignored --user would run the task as root).
  const CLI::Validator non_empty([](std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); },
                                 "");
  std::vector<CLI::App*> apps = {&app};
  for (size_t i = 0; i < apps.size(); ++i) {
    for (CLI::Option* opt : apps[i]->get_options())
      if (opt->get_type_size() != 0) opt->check(non_empty);
    for (CLI::App* sub : apps[i]->get_subcommands([](CLI::App*) { return true; })) apps.push_back(sub);
  }

  // Only run and exec take a command after "--"; for every other verb "--" just ends the
  // options (`isoexec delete -- -x`, `isoexec kill ID -- -1` is refused, not ignored).
  bool takes_command = false;
  std::string verb_word;  // the first word that is not an option: the verb
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a == "--state-dir" || a == "--cgroup-parent" || a == "--log-level" || a == "--log-format") {
      ++i;  // its value
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    verb_word = a;
    takes_command = a == "run" || a == "exec";
    break;
  }
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);  // CLI11 wants them reversed
  for (int i = 1; takes_command && i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      cli::Tail().present = true;
      cli::Tail().words.assign(argv + i + 1, argv + argc);
      args.erase(args.begin(), args.begin() + (argc - i));
      break;
    }
  }
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    // CLI11 uses 100-127 for its own errors; our contract reserves 126/127 for the command.
    std::string verb;
    for (auto* sub : app.get_subcommands()) verb = sub->get_name() + " ";
    std::string what = e.what();
    if (what.empty()) what = "invalid usage";
    // "A subcommand is required" for `isoexec no-such-verb`: name the word.
    if (verb.empty() && !verb_word.empty() &&
        app.get_subcommands([&](CLI::App* sub) { return sub->check_name(verb_word); }).empty())
      what = fmt::format("unknown verb \"{}\"", verb_word);
    return cli::PrintError(fmt::format("{} (see 'isoexec {}--help')", what, verb), 125);
  }
  return exit_code;
}
