// `isoexec __supervise`: the detached supervisor as its own process image, for callers that
// must not fork without exec (the multi-threaded executor service). The spec comes as JSON on
// --spec-fd; the launch result is one JSON line on --report-fd (see SuperviseDetached).
#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/parse.h"
#include "cli/common.h"
#include "cli/run_cmd.h"
#include "runtime/task_dir.h"
#include "spec/spec_json.h"

namespace isoexec::cli {

namespace {

struct SuperviseFlags {
  int spec_fd = -1;
  int report_fd = -1;
  int parent_watch_fd = -1;
  bool rm = false;
  std::string log_max_size = "10M", log_max_files = "10";
};

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

int Supervise(const SuperviseFlags& f, const GlobalOptions& global) {
  const auto report = [&](int code, const std::string& message) {
    std::string line =
        nlohmann::json{{"ok", false}, {"exit_code", code}, {"error", message}}.dump() + "\n";
    if (f.report_fd >= 0) (void)!::write(f.report_fd, line.data(), line.size());
    return PrintError(message, code);
  };
  if (f.spec_fd < 0 || f.report_fd < 0) return report(125, "__supervise: --spec-fd and --report-fd are required");
  auto spec = spec::ParseSpecJson(ReadAll(f.spec_fd));
  ::close(f.spec_fd);
  if (!spec) return report(125, spec.error().str());
  TaskOptions opts;
  opts.named = true;
  opts.detach = true;
  opts.rm = f.rm;
  auto size = ParseSize("--log-max-size", f.log_max_size);
  if (!size) return report(125, size.error().str());
  auto files = ParseInt("--log-max-files", f.log_max_files, 1, 1000);
  if (!files) return report(125, files.error().str());
  opts.logs.max_size = *size;
  opts.logs.max_files = static_cast<unsigned>(*files);
  if (spec->id.empty()) spec->id = runtime::GenerateTaskId();
  // The claim's lock stays held while we live (SuperviseDetached never returns).
  auto claim = runtime::CreateTaskDir(global.state_dir, spec->id);
  if (!claim) return report(125, claim.error().str());
  // Our fds must not leak into the task or its init: everything we were given is CLOEXEC now.
  for (int fd : {f.report_fd, f.parent_watch_fd})
    if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  SuperviseDetached(*spec, opts, global, claim->dir, f.report_fd, f.parent_watch_fd);
}

}  // namespace

void AddSuperviseCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto f = std::make_shared<SuperviseFlags>();
  auto* cmd = app.add_subcommand("__supervise", "");  // hidden: empty description
  cmd->group("");
  cmd->add_option("--spec-fd", f->spec_fd, "fd to read the JSON task spec from");
  cmd->add_option("--report-fd", f->report_fd, "fd to write the launch result to");
  cmd->add_option("--parent-watch-fd", f->parent_watch_fd, "kill the task when this fd hangs up");
  cmd->add_flag("--rm", f->rm, "delete the state when the task ends");
  cmd->add_option("--log-max-size", f->log_max_size, "log rotation size");
  cmd->add_option("--log-max-files", f->log_max_files, "log files kept");
  cmd->callback([f, &global, exit_code] { *exit_code = Supervise(*f, global); });
}

}  // namespace isoexec::cli
