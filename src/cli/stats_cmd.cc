// `isoexec stats`: a live table of running tasks (CPU %, memory usage / limit, PIDs) refreshed
// in place like `docker stats`, or JSON Lines with --json. Samples come from each task's
// supervisor (the control protocol's "stats" stream).
#include <dirent.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/parse.h"
#include "cli/common.h"
#include "cli/task_ref.h"
#include "runtime/control.h"
#include "stats/sample.h"
#include "stats/proc.h"
#include "stats/table.h"

namespace isoexec::cli {

namespace {

using nlohmann::json;
namespace control = runtime::control;

struct StatsFlags {
  std::string interval = "1s";
  bool no_stream = false;
  bool as_json = false;
  std::vector<std::string> ids;
};

struct Stream {
  std::string id;
  std::unique_ptr<control::Client> client;
  std::optional<stats::Sample> last;
  int samples = 0;
  bool done = false;
};

std::vector<std::string> RunningIds(const GlobalOptions& g) {
  std::vector<std::string> ids;
  for (const auto& id : TaskIds(g)) {
    auto t = LoadTask(g, id);
    if (t && t->state.status == runtime::TaskStatus::kRunning) ids.push_back(id);
  }
  return ids;
}

int Stats(const StatsFlags& f, const GlobalOptions& g) {
  auto interval = ParseDuration("--interval", f.interval);
  if (!interval) return PrintError(interval.error());
  if (interval->count() <= 0) *interval = std::chrono::seconds(1);
  std::vector<std::string> ids = f.ids.empty() ? RunningIds(g) : f.ids;
  std::vector<Stream> streams;
  for (const auto& id : ids) {
    auto t = LoadTask(g, id);
    if (!t) return PrintError(t.error());
    if (t->state.status != runtime::TaskStatus::kRunning)
      return PrintError(fmt::format("task {} is not running (state: {})", id, runtime::StatusName(t->state.status)));
    auto c = control::Client::Connect(t->dir);
    if (!c) return PrintError(c.error());
    // --no-stream still takes two samples, so CPU % is a real rate, not the first sample's 0.
    auto every = f.no_stream ? std::chrono::nanoseconds(std::chrono::milliseconds(500)) : *interval;
    if (auto s = c->Send(json{{"v", control::kProtocolVersion}, {"op", "stats"}, {"stream", true},
                              {"interval_ns", every.count()}}.dump());
        !s)
      return PrintError(s.error());
    streams.push_back({id, std::make_unique<control::Client>(std::move(*c)), std::nullopt, 0, false});
  }
  if (streams.empty()) {
    if (!f.as_json) fmt::print("{}", stats::RenderTable({}, true));
    return 0;
  }
  const bool live = !f.no_stream && !f.as_json && ::isatty(STDOUT_FILENO);
  for (;;) {
    std::vector<pollfd> fds;
    for (auto& s : streams) fds.push_back({s.done ? -1 : s.client->fd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    bool updated = false;
    for (size_t i = 0; i < streams.size(); ++i) {
      if (!fds[i].revents) continue;
      auto& s = streams[i];
      auto m = s.client->Receive();
      if (!m) {
        s.done = true;
        continue;
      }
      auto j = json::parse(m->line, nullptr, false);
      if (j.is_discarded() || !j.value("ok", false) || j.value("end", false) || !j.contains("sample")) {
        s.done = true;
        continue;
      }
      auto sample = stats::ParseSampleJson(j["sample"].dump());
      if (!sample) continue;
      ++s.samples;
      if (f.no_stream && s.samples < 2) continue;
      s.last = std::move(*sample);
      if (f.as_json) fmt::print("{}\n", stats::SampleJson(*s.last));
      if (f.no_stream) s.done = true;
      updated = true;
    }
    if (updated && !f.as_json && !f.no_stream) {
      std::vector<stats::Sample> rows;
      for (auto& s : streams)
        if (s.last) rows.push_back(*s.last);
      // Refreshed in place on a terminal; appended otherwise.
      if (live) fmt::print("\033[2J\033[H");
      fmt::print("{}", stats::RenderTable(rows, true, stats::HostMemoryBytes()));
    }
    std::fflush(stdout);
    bool all_done = true;
    for (auto& s : streams) all_done = all_done && s.done;
    if (all_done) break;
  }
  if (f.no_stream && !f.as_json) {
    std::vector<stats::Sample> rows;
    for (auto& s : streams)
      if (s.last) rows.push_back(*s.last);
    fmt::print("{}", stats::RenderTable(rows, true, stats::HostMemoryBytes()));
  }
  return 0;
}

}  // namespace

void AddStatsCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto f = std::make_shared<StatsFlags>();
  auto* cmd = app.add_subcommand("stats", "Live resource usage of running tasks (all when no ID is given)");
  cmd->add_option("ID", f->ids, "Task ids");
  cmd->add_option("--interval", f->interval, "Time between samples")->type_name("DURATION")->default_str("1s");
  cmd->add_flag("--no-stream", f->no_stream, "Print one sample per task and exit");
  cmd->add_flag("--json", f->as_json, "JSON Lines, one sample per task per line (docs/cli.md schema)");
  cmd->callback([f, &global, exit_code] { *exit_code = Stats(*f, global); });
}

}  // namespace isoexec::cli
