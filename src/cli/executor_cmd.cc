// `isoexec executor '<json>'`: how Nomad's exec driver starts its executor plugin
// (`<binary> executor '{"LogFile":...,"LogLevel":...,"FSIsolation":true}'`). The service is a
// separate binary, isoexec-executor, installed next to isoexec: gRPC (about 60 shared objects,
// ~80 ms to load) must stay out of isoexec's own start-up. This verb only execs it, passing the
// arguments and the environment (go-plugin's magic cookie) through. See docs/executor.md.
#include "cli/executor_cmd.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/common.h"

namespace isoexec::cli {

namespace {

std::string CompanionPath() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  auto slash = self.rfind('/');
  return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) +
         "/isoexec-executor";
}

int ExecCompanion(const std::vector<std::string>& rest) {
  const std::string path = CompanionPath();
  std::vector<std::string> args = {path, "executor"};
  args.insert(args.end(), rest.begin(), rest.end());
  if (Tail().present) {
    args.emplace_back("--");
    args.insert(args.end(), Tail().words.begin(), Tail().words.end());
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(path.c_str(), argv.data());
  return PrintError(
      fmt::format("executor: cannot run `{}`: {} (is isoexec built with ISOEXEC_BUILD_EXECUTOR "
                  "and isoexec-executor installed next to isoexec?)",
                  path, std::strerror(errno)),
      125);
}

}  // namespace

void AddExecutorCommand(CLI::App& app, int* exit_code) {
  auto json = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "executor",
      "Serve Nomad's executor plugin protocol (go-plugin + gRPC); started by Nomad's exec driver");
  // Optional here: without it isoexec-executor answers as Nomad's executor does.
  cmd->add_option("JSON", *json, "Executor configuration: LogFile, LogLevel, FSIsolation (Nomad's)")
      ->type_name("JSON");
  cmd->allow_extras();  // anything else goes to isoexec-executor untouched
  cmd->fallthrough(false);
  cmd->footer(
      "Nomad runs it as: isoexec executor "
      "'{\"LogFile\":\"<task>/executor.out\",\"LogLevel\":\"debug\","
      "\"FSIsolation\":true}'\nwith NOMAD_PLUGIN_MAGIC_COOKIE set. See docs/executor.md.");
  cmd->callback([cmd, json, exit_code] {
    std::vector<std::string> rest;
    if (cmd->count("JSON") > 0) rest.push_back(*json);
    for (const auto& r : cmd->remaining()) rest.push_back(r);
    *exit_code = ExecCompanion(rest);
  });
}

}  // namespace isoexec::cli
