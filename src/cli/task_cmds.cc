// Verbs on an existing task. They talk to the task's supervisor over its control socket, or
// read the state file once the supervisor is gone.
#include "cli/task_cmds.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/unique_fd.h"
#include "cli/task_ref.h"
#include "runtime/control.h"
#include "runtime/task_dir.h"
#include "spec/flag_parse.h"

namespace isoexec::cli {

using nlohmann::json;
namespace control = runtime::control;

namespace {

std::string Request(const std::string& op, json extra = json::object()) {
  extra["v"] = control::kProtocolVersion;
  extra["op"] = op;
  return extra.dump();
}

int ExitCodeOf(const runtime::TaskState& s) {
  if (s.status == runtime::TaskStatus::kLost) return PrintError(fmt::format("task {} was lost: {}", s.id, s.lost_reason), 125);
  if (s.exit) return s.exit->exit_code;
  return 125;
}

// Waits for the task through its supervisor; falls back to the state file when it is gone.
int Wait(const GlobalOptions& g, const std::string& id) {
  auto t = LoadLaunchedTask(g, id);
  if (!t) return PrintError(t.error());
  if (t->state.status != runtime::TaskStatus::kRunning &&
      t->state.status != runtime::TaskStatus::kCreated)
    return ExitCodeOf(t->state);
  auto c = control::Client::Connect(t->dir);
  Error why = c ? Error::Make(Code::kInternal, "no answer") : c.error();
  if (c) {
    auto r = c->Call(Request("wait"));
    if (r) {
      auto e = runtime::ParseExitState(json::parse(r->line)["exit"].dump());
      if (e) return e->exit_code;
      why = e.error();
    } else {
      why = r.error();
    }
  }
  // The supervisor went away while we waited: the state file (or `lost`) tells.
  auto again = LoadAfterDisconnect(g, id);
  if (!again) return PrintError(again.error());
  if (again->state.status == runtime::TaskStatus::kRunning)
    return PrintError(fmt::format("task {} is still running: {}", id, why.str()));
  return ExitCodeOf(again->state);
}

Result<control::Client> Connected(const TaskRef& t) {
  if (t.state.status != runtime::TaskStatus::kRunning)
    return Fail(Error::Make(Code::kFailedPrecondition,
                            fmt::format("task {} is not running (state: {})", t.id,
                                        runtime::StatusName(t.state.status))));
  return control::Client::Connect(t.dir);
}

int Kill(const GlobalOptions& g, const std::string& id, const std::string& sig_text, bool all) {
  auto sig = ParseSignal("SIG", sig_text);
  if (!sig) return PrintError(sig.error());
  auto t = LoadLaunchedTask(g, id);
  if (!t) return PrintError(t.error());
  auto c = Connected(*t);
  if (!c) return PrintError(c.error());
  auto r = c->Call(Request("signal", {{"signal", *sig}, {"all", all}}));
  if (!r) return PrintError(r.error());
  return 0;
}

int Stop(const GlobalOptions& g, const std::string& id, const std::string& sig_text,
         const std::string& timeout_text) {
  json req = json::object();
  if (!sig_text.empty()) {
    auto sig = ParseSignal("--signal", sig_text);
    if (!sig) return PrintError(sig.error());
    req["signal"] = *sig;
  }
  if (!timeout_text.empty()) {
    auto d = ParseDuration("--timeout", timeout_text);
    if (!d) return PrintError(d.error());
    req["grace_ns"] = d->count();
  }
  auto t = LoadLaunchedTask(g, id);
  if (!t) return PrintError(t.error());
  // Stopping a task that already ended (or was lost and cleaned up) succeeds.
  if (t->state.status != runtime::TaskStatus::kRunning) return 0;
  // The supervisor went away while we asked: fine if the task ended or was lost (and so
  // killed); an error while it still runs.
  const auto gone = [&](const Error& why) {
    auto again = LoadAfterDisconnect(g, id);
    if (!again) return PrintError(again.error());
    if (again->state.status == runtime::TaskStatus::kRunning)
      return PrintError(fmt::format("task {}: cannot reach its supervisor: {}", id, why.str()));
    return 0;
  };
  auto c = control::Client::Connect(t->dir);
  if (!c) return gone(c.error());
  auto r = c->Call(Request("stop", req));
  if (!r) {
    if (r.error().code() == Code::kUnavailable) return gone(r.error());
    return PrintError(r.error());
  }
  return 0;
}

int Ps(const GlobalOptions& g, const std::string& id, bool as_json) {
  auto t = LoadLaunchedTask(g, id);
  if (!t) return PrintError(t.error());
  auto c = Connected(*t);
  if (!c) return PrintError(c.error());
  auto r = c->Call(Request("ps"));
  if (!r) return PrintError(r.error());
  auto procs = json::parse(r->line)["processes"];
  if (as_json) {
    fmt::print("{}\n", procs.dump());
    return 0;
  }
  fmt::print("{:<8} {:<8} {}\n", "PID", "PPID", "CMD");
  for (const auto& p : procs)
    fmt::print("{:<8} {:<8} {}\n", p["pid"].get<int>(), p["ppid"].get<int>(), p["cmd"].get<std::string>());
  return 0;
}

// A running task's state as its supervisor has it now (log health, warnings); the state file
// when the supervisor cannot tell.
runtime::TaskState LiveState(const TaskRef& t) {
  if (t.state.status != runtime::TaskStatus::kRunning) return t.state;
  auto c = control::Client::Connect(t.dir);
  if (!c) return t.state;
  auto r = c->Call(Request("state"));
  if (!r) return t.state;
  try {
    auto s = runtime::ParseTaskState(json::parse(r->line).at("state").dump());
    if (s) return std::move(*s);
  } catch (const std::exception&) {
  }
  return t.state;
}

int List(const GlobalOptions& g, bool as_json, bool quiet) {
  json all = json::array();
  if (!as_json && !quiet)
    fmt::print("{:<24} {:<8} {:<8} {:<6} {:<20} {}\n", "ID", "STATE", "PID", "EXIT", "CREATED", "COMMAND");
  for (const auto& id : TaskIds(g)) {
    auto t = LoadTask(g, id);
    if (!t) continue;  // a launch in progress
    const auto& s = t->state;
    if (quiet) {
      fmt::print("{}\n", id);
      continue;
    }
    if (as_json) {
      all.push_back(json::parse(runtime::TaskStateJson(LiveState(*t))));
      continue;
    }
    std::string cmd;
    for (const auto& a : s.command) cmd += (cmd.empty() ? "" : " ") + a;
    if (cmd.size() > 40) cmd = cmd.substr(0, 37) + "...";
    fmt::print("{:<24} {:<8} {:<8} {:<6} {:<20} {}\n", id, runtime::StatusName(s.status), s.pid,
               s.exit ? std::to_string(s.exit->exit_code) : "-", s.created_at.substr(0, 19), cmd);
  }
  if (as_json) fmt::print("{}\n", all.dump(2));
  return 0;
}

int Inspect(const GlobalOptions& g, const std::string& id) {
  auto t = LoadTask(g, id);
  if (!t) return PrintError(t.error());
  fmt::print("{}", runtime::TaskStateJson(LiveState(*t)));
  return 0;
}

int Delete(const GlobalOptions& g, const std::string& id, bool force) {
  auto t = LoadLaunchedTask(g, id);
  if (!t) return PrintError(t.error());
  if (t->state.status == runtime::TaskStatus::kRunning) {
    if (!force)
      return PrintError(fmt::format("task {} is running; stop it first or use delete --force", id));
    if (auto c = control::Client::Connect(t->dir); c) (void)c->Call(Request("stop", {{"grace_ns", 0}}));
    auto again = LoadAfterDisconnect(g, id);
    if (!again) return PrintError(again.error());
    t = std::move(again);
    if (t->state.status == runtime::TaskStatus::kRunning)
      return PrintError(fmt::format("task {} did not stop", id));
  }
  // The supervisor writes its last logs and state after answering; removing the directory
  // under it would race (and it would recreate state.json). Wait for it to be gone.
  for (int i = 0; i < 1000 && SupervisorAlive(t->state); ++i) ::usleep(10000);
  if (SupervisorAlive(t->state))
    return PrintError(fmt::format("task {}: its supervisor (pid {}) did not exit", id, t->state.supervisor_pid));
  // Whatever a crash left behind goes too (idempotent).
  if (auto s = CleanupCgroup(t->state, g.cgroup_parent); !s) return PrintError(s.error());
  if (auto s = runtime::RemoveTaskDir(t->dir); !s) return PrintError(s.error());
  return 0;
}

struct UpdateFlags {
  std::string memory, memory_max, cpu_shares, cpuset, pids_max;
};

int Update(const GlobalOptions& g, const std::string& id, const UpdateFlags& f) {
  json res = json::object();
  if (!f.memory.empty()) {
    auto v = ParseSize("--memory", f.memory);
    if (!v) return PrintError(v.error());
    res["memory"] = *v;
  }
  if (f.memory_max == "unlimited") {
    res["memory_max"] = "unlimited";
  } else if (!f.memory_max.empty()) {
    auto v = ParseSize("--memory-max", f.memory_max);
    if (!v) return PrintError(v.error());
    res["memory_max"] = *v;
  }
  if (!f.cpu_shares.empty()) {
    auto v = ParseInt("--cpu-shares", f.cpu_shares, 2, 262144);
    if (!v) return PrintError(v.error());
    res["cpu_shares"] = *v;
  }
  if (!f.cpuset.empty()) {
    if (auto v = spec::ParseCpuList("--cpuset", f.cpuset); !v) return PrintError(v.error());
    res["cpuset"] = f.cpuset;
  }
  if (!f.pids_max.empty()) {
    auto v = ParseInt("--pids-max", f.pids_max, 1, 4194304);
    if (!v) return PrintError(v.error());
    res["pids_max"] = *v;
  }
  if (res.empty()) return PrintError("update: nothing to change (give --memory, --memory-max, --cpu-shares, --cpuset or --pids-max)");
  auto t = LoadLaunchedTask(g, id);
  if (!t) return PrintError(t.error());
  auto c = Connected(*t);
  if (!c) return PrintError(c.error());
  auto r = c->Call(Request("update", {{"resources", res}}));
  if (!r) return PrintError(r.error());
  for (const auto& w : json::parse(r->line).value("warnings", json::array()))
    log::Warn(w.get<std::string>());
  return 0;
}

// Log files of one stream, oldest first: name.N ... name.1, name.
std::vector<std::string> LogFiles(const std::string& dir, const std::string& name) {
  std::vector<std::pair<int, std::string>> files;
  DIR* d = ::opendir(dir.c_str());
  while (d) {
    dirent* e = ::readdir(d);
    if (!e) break;
    std::string n = e->d_name;
    if (n == name) files.emplace_back(0, dir + "/" + n);
    else if (n.rfind(name + ".", 0) == 0 && n.find(".tmp") == std::string::npos) {
      int idx = std::atoi(n.c_str() + name.size() + 1);
      if (idx > 0) files.emplace_back(idx, dir + "/" + n);
    }
  }
  if (d) ::closedir(d);
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : files) out.push_back(f.second);
  return out;
}

bool CopyFd(int from) {
  char buf[65536];
  ssize_t n;
  while ((n = ::read(from, buf, sizeof buf)) > 0) {
    const char* p = buf;
    while (n > 0) {
      ssize_t w = ::write(STDOUT_FILENO, p, static_cast<size_t>(n));
      if (w < 0) return false;  // stdout closed (| head): stop quietly
      p += w;
      n -= w;
    }
  }
  return true;
}

int Logs(const GlobalOptions& g, const std::string& id, bool follow, bool stderr_stream) {
  auto t = LoadTask(g, id);
  if (!t) return PrintError(t.error());
  const std::string name = stderr_stream ? "stderr.log" : "stdout.log";
  auto files = LogFiles(t->dir, name);
  if (files.empty() && !t->state.detached)
    return PrintError(fmt::format("task {} has no logs (only detached tasks log to files)", id));
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    UniqueFd fd(::open(files[i].c_str(), O_RDONLY | O_CLOEXEC));
    if (fd && !CopyFd(fd.get())) return 0;
  }
  const std::string current = t->dir + "/" + name;
  UniqueFd fd(::open(current.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd && !CopyFd(fd.get())) return 0;
  if (!follow) return 0;
  // Follow until the task ends: new data in the current file, reopen on rotation.
  UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (in) ::inotify_add_watch(in.get(), t->dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_CLOSE_WRITE);
  for (;;) {
    struct pollfd p = {in.get(), POLLIN, 0};
    ::poll(&p, 1, 500);
    char ev[4096];
    while (in && ::read(in.get(), ev, sizeof ev) > 0) {
    }
    if (fd && !CopyFd(fd.get())) return 0;
    struct stat a {}, b {};
    if (::stat(current.c_str(), &a) == 0 && (!fd || (::fstat(fd.get(), &b) == 0 && a.st_ino != b.st_ino))) {
      if (fd && !CopyFd(fd.get())) return 0;  // the rest of the rotated file
      fd.reset(::open(current.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd && !CopyFd(fd.get())) return 0;
    }
    auto st = runtime::ReadTaskState(t->dir);
    if (!st || st->status != runtime::TaskStatus::kRunning) {
      if (fd) CopyFd(fd.get());
      return 0;
    }
  }
}

}  // namespace

void AddTaskCommands(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  const GlobalOptions* g = &global;
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("wait", "Block until the task ends; exit with its status");
    cmd->add_option("ID", *id, "Task id")->required();
    cmd->callback([=] { *exit_code = Wait(*g, *id); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto sig = std::make_shared<std::string>("SIGTERM");
    auto all = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("kill", "Send a signal to the task's main process");
    cmd->add_option("ID", *id, "Task id")->required();
    cmd->add_option("SIG", *sig, "Signal name or number")->default_str("SIGTERM");
    cmd->add_flag("-a,--all", *all, "Signal every process of the task, not just the main one");
    cmd->callback([=] { *exit_code = Kill(*g, *id, *sig, *all); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto sig = std::make_shared<std::string>();
    auto timeout = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(
        "stop", "Graceful stop: the stop signal, then after the grace period every process is killed");
    cmd->add_option("ID", *id, "Task id")->required();
    cmd->add_option("-s,--signal", *sig, "Stop signal (default: the task's --kill-signal)")->type_name("SIG");
    cmd->add_option("-t,--timeout", *timeout,
                    "Grace period before every process is killed (default: the task's --kill-timeout; 0 = at once)")
        ->type_name("DURATION");
    cmd->callback([=] { *exit_code = Stop(*g, *id, *sig, *timeout); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto js = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("ps", "List the processes of a task");
    cmd->add_option("ID", *id, "Task id")->required();
    cmd->add_flag("--json", *js, "JSON output");
    cmd->callback([=] { *exit_code = Ps(*g, *id, *js); });
  }
  {
    auto js = std::make_shared<bool>(false);
    auto quiet = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("list", "List tasks");
    cmd->add_flag("--json", *js, "JSON output (the state of every task)");
    cmd->add_flag("-q,--quiet", *quiet, "Only task ids");
    cmd->callback([=] { *exit_code = List(*g, *js, *quiet); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("inspect", "Show a task's state, spec, cgroup and exit status as JSON");
    cmd->add_option("ID", *id, "Task id")->required();
    cmd->callback([=] { *exit_code = Inspect(*g, *id); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("delete", "Remove a stopped or lost task (state, logs, cgroup)");
    cmd->add_option("ID", *id, "Task id")->required();
    cmd->add_flag("-f,--force", *force, "Kill a running task at once (no grace), then remove it");
    cmd->callback([=] { *exit_code = Delete(*g, *id, *force); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto f = std::make_shared<UpdateFlags>();
    auto* cmd = app.add_subcommand("update", "Change the resource limits of a running task");
    cmd->add_option("ID", *id, "Task id")->required();
    cmd->add_option("--memory", f->memory, "Memory limit (hard unless --memory-max)")->type_name("SIZE");
    cmd->add_option("--memory-max", f->memory_max, "Hard memory limit")->type_name("SIZE|unlimited");
    cmd->add_option("--cpu-shares", f->cpu_shares, "Relative CPU weight 2..262144")->type_name("N");
    cmd->add_option("--cpuset", f->cpuset, "CPUs, e.g. 0-1")->type_name("CPUS");
    cmd->add_option("--pids-max", f->pids_max, "Maximum number of processes")->type_name("N");
    cmd->callback([=] { *exit_code = Update(*g, *id, *f); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto follow = std::make_shared<bool>(false);
    auto err = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("logs", "Write a detached task's stdout (or stderr) log, byte for byte");
    cmd->add_option("ID", *id, "Task id")->required();
    cmd->add_flag("-f,--follow", *follow, "Follow the log until the task ends");
    cmd->add_flag("--stderr", *err, "The task's stderr log instead of stdout");
    cmd->callback([=] { *exit_code = Logs(*g, *id, *follow, *err); });
  }
}

}  // namespace isoexec::cli
