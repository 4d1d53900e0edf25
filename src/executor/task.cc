#include "executor/task.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "runtime/task_dir.h"
#include "runtime/task_state.h"
#include "spec/spec_json.h"
#include "sys/syscalls.h"

extern char** environ;

namespace isoexec::executor {

using nlohmann::json;
namespace control = runtime::control;

namespace {

// The fds the supervisor gets (its --spec-fd, --report-fd, --parent-watch-fd).
constexpr int kSpecFd = 3, kReportFd = 4, kWatchFd = 5;
constexpr auto kSupervisorExitWait = std::chrono::seconds(10);
constexpr auto kStopExitWait = std::chrono::seconds(20);

std::string Request(const std::string& op, json extra = json::object()) {
  extra["v"] = control::kProtocolVersion;
  extra["op"] = op;
  return extra.dump();
}

// An fd above the supervisor's fixed numbers, so the dup2s of posix_spawn never clobber a
// source (O_CLOEXEC: only the dup2'ed copies reach the child).
Result<UniqueFd> High(UniqueFd fd) {
  UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10));
  if (!moved) return Fail(Error::Errno(errno, "fcntl F_DUPFD_CLOEXEC"));
  return moved;
}

Status Pipe(UniqueFd* r, UniqueFd* w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Fail(Error::Errno(errno, "pipe2"));
  ISOEXEC_ASSIGN_OR_RETURN(*r, High(UniqueFd(p[0])));
  ISOEXEC_ASSIGN_OR_RETURN(*w, High(UniqueFd(p[1])));
  return Ok();
}

// Our environment minus go-plugin's handshake variables.
std::vector<std::string> SupervisorEnv() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view v(*e);
    if (v.rfind("NOMAD_PLUGIN_", 0) == 0 || v.rfind("PLUGIN_", 0) == 0) continue;
    env.emplace_back(v);
  }
  return env;
}

// Reaps a child of ours through its pidfd (blocking); its wait status.
int ReapPidfd(int pidfd) {
  siginfo_t info;
  for (;;) {
    std::memset(&info, 0, sizeof info);
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) == 0)
      break;
    if (errno != EINTR) return -1;
  }
  return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

bool Readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int n;
  while ((n = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  return n > 0;
}

Status KillAndRemoveCgroup(const std::string& parent, const std::string& id) {
  ISOEXEC_ASSIGN_OR_RETURN(auto layout, cgroup::DetectLayout());
  auto cg = cgroup::Open(layout, {parent, id});
  if (!cg) return cg.error().code() == Code::kNotFound ? Ok() : Fail(std::move(cg.error()));
  ISOEXEC_TRY((*cg)->KillAll());
  return (*cg)->Destroy();
}

}  // namespace

Task::Task(const TaskEnv& env, spec::TaskSpec spec)
    : env_(env), spec_(std::move(spec)), dir_(env.state_dir + "/" + spec_.id) {}

Task::~Task() {
  watch_.reset();
  if (waiter_.joinable()) {
    bool ended;
    {
      std::lock_guard<std::mutex> l(mu_);
      ended = supervisor_reaped_;
    }
    // Only at executor exit with a task that would not stop: do not hang on it.
    if (ended)
      waiter_.join();
    else
      waiter_.detach();
  }
}

tl::expected<std::shared_ptr<Task>, LaunchError> Task::Launch(const TaskEnv& env,
                                                              spec::TaskSpec spec) {
  const auto fail = [](Error e, int code = 125) {
    return tl::unexpected<LaunchError>(LaunchError{std::move(e), code});
  };
  std::shared_ptr<Task> t(new Task(env, std::move(spec)));

  UniqueFd spec_r, spec_w, report_r, report_w, watch_r, watch_w;
  for (auto [r, w] : {std::pair{&spec_r, &spec_w}, std::pair{&report_r, &report_w},
                      std::pair{&watch_r, &watch_w}})
    if (auto s = Pipe(r, w); !s) return fail(std::move(s.error()));

  std::vector<std::string> args = {env.isoexec,
                                   "--state-dir",
                                   env.state_dir,
                                   "--cgroup-parent",
                                   env.cgroup_parent,
                                   "--log-level",
                                   env.log_level,
                                   "--log-format",
                                   "json",
                                   "__supervise",
                                   "--spec-fd",
                                   std::to_string(kSpecFd),
                                   "--report-fd",
                                   std::to_string(kReportFd),
                                   "--parent-watch-fd",
                                   std::to_string(kWatchFd)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = SupervisorEnv();
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  // posix_spawn, never fork: this process is multi-threaded (gRPC). The supervisor's stdout and
  // stderr are ours (the executor's log once the handshake is done), stdin /dev/null.
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, spec_r.get(), kSpecFd);
  posix_spawn_file_actions_adddup2(&fa, report_w.get(), kReportFd);
  posix_spawn_file_actions_adddup2(&fa, watch_r.get(), kWatchFd);
  // Our blocked signals and ignored SIGPIPE are not the supervisor's.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, env.isoexec.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail(Error::Errno(rc, fmt::format("spawn `{}`", env.isoexec)));
  t->supervisor_pid_ = pid;
  // Our unreaped child: its pid cannot be reused, so the pidfd is the right process.
  t->supervisor_pidfd_.reset(sys::PidfdOpen(pid));
  if (!t->supervisor_pidfd_) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return fail(Error::Errno(e, "pidfd_open supervisor"));
  }
  spec_r.reset();
  report_w.reset();
  watch_r.reset();

  const auto abandon = [&](Error e, int code) {
    // The supervisor removes its task dir itself when the launch fails; make sure it is gone.
    ::kill(pid, SIGKILL);
    ReapPidfd(t->supervisor_pidfd_.get());
    (void)runtime::RemoveTaskDir(t->dir_);
    // A supervisor killed half way may have created the cgroup (and started the task in it).
    (void)KillAndRemoveCgroup(t->env_.cgroup_parent, t->id());
    return fail(std::move(e), code);
  };

  std::string spec_json = spec::SpecToJson(t->spec_);
  bool sent = WriteAll(spec_w.get(), spec_json, "the task spec").has_value();
  spec_w.reset();

  std::string report;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(report_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
    if (report.find('\n') != std::string::npos) break;
  }
  report_r.reset();
  json j;
  try {
    j = json::parse(report.substr(0, report.find('\n')));
  } catch (const std::exception&) {
    if (!sent)
      return abandon(Error::Make(Code::kInternal, "the supervisor did not read the task spec"),
                     125);
    return abandon(
        Error::Make(Code::kInternal,
                    fmt::format("the supervisor exited during launch (report: `{}`)", report)),
        125);
  }
  if (!j.value("ok", false)) {
    int code = j.value("exit_code", 125);
    std::string message = j.value("error", std::string("launch failed"));
    ReapPidfd(t->supervisor_pidfd_.get());  // it exits right after reporting
    (void)runtime::RemoveTaskDir(t->dir_);
    Code c = code == 127   ? Code::kNotFound
             : code == 126 ? Code::kPermissionDenied
                           : Code::kFailedPrecondition;
    return fail(Error::Make(c, message), code);
  }
  t->pid_ = j.value("pid", 0);
  t->started_at_ = std::chrono::system_clock::now();
  t->watch_ = std::move(watch_w);
  t->waiter_ = std::thread([raw = t.get()] { raw->WaitLoop(); });
  return t;
}

bool Task::SupervisorRunning() const { return !Readable(supervisor_pidfd_.get(), 0); }

void Task::Record(const runtime::ExitState& s) {
  std::lock_guard<std::mutex> l(mu_);
  if (!exit_) exit_ = s;
  cv_.notify_all();
}

void Task::WaitLoop() {
  std::optional<runtime::ExitState> st;
  while (!st) {
    std::string why;
    if (auto c = control::Client::Connect(dir_); c) {
      if (auto r = c->Call(Request("wait")); r) {
        try {
          auto e = runtime::ParseExitState(json::parse(r->line).at("exit").dump());
          if (e)
            st = *e;
          else
            why = e.error().str();
        } catch (const std::exception& ex) {
          why = ex.what();
        }
      } else {
        why = r.error().str();
      }
    } else {
      why = c.error().str();
    }
    if (st) break;
    // The supervisor went away (it exits once the task ended and its waiters were answered),
    // or it reported that the task would not die. Its state file has the last word once it is
    // gone.
    if (SupervisorRunning()) {
      Readable(supervisor_pidfd_.get(), 1000);
      if (SupervisorRunning()) {
        log::Warn(fmt::format("task {}: waiting again: {}", id(), why));
        continue;
      }
    }
    auto state = runtime::ReadTaskState(dir_);
    if (state && state->exit) {
      st = *state->exit;
      break;
    }
    // Lost: the supervisor died without recording an exit. Kill whatever is left.
    log::Error(fmt::format("task {}: the supervisor (pid {}) died without reporting the exit: {}",
                           id(), supervisor_pid_, why));
    (void)KillAndRemoveCgroup(env_.cgroup_parent, id());
    runtime::ExitState lost;
    lost.pid = pid_;
    lost.exit_code = 1;  // Nomad's value for a wait that failed without an exit status
    lost.finished_at = std::chrono::system_clock::now();
    st = lost;
  }
  Record(*st);
  // The supervisor exits by itself once the task ended (after draining its output).
  ReapPidfd(supervisor_pidfd_.get());
  std::lock_guard<std::mutex> l(mu_);
  supervisor_reaped_ = true;
  cv_.notify_all();
}

std::optional<runtime::ExitState> Task::Exited() const {
  std::lock_guard<std::mutex> l(mu_);
  return exit_;
}

std::optional<runtime::ExitState> Task::Wait(const std::function<bool()>& cancelled) const {
  std::unique_lock<std::mutex> l(mu_);
  while (!exit_) {
    if (cancelled && cancelled()) return std::nullopt;
    cv_.wait_for(l, std::chrono::milliseconds(200));
  }
  return exit_;
}

Result<control::Client> Task::Connect() const {
  auto c = control::Client::Connect(dir_);
  if (!c && Exited())
    return Fail(
        Error::Make(Code::kFailedPrecondition, fmt::format("task {} is not running", id())));
  return c;
}

Status Task::Signal(int sig) {
  if (Exited())
    return Fail(
        Error::Make(Code::kFailedPrecondition, fmt::format("task {} is not running", id())));
  ISOEXEC_ASSIGN_OR_RETURN(auto c, Connect());
  auto r = c.Call(Request("signal", {{"signal", sig}, {"all", false}}));
  if (!r) return Fail(std::move(r.error()));
  return Ok();
}

Status Task::Stop(int sig, std::chrono::nanoseconds grace) {
  if (Exited()) return Ok();
  auto c = control::Client::Connect(dir_);
  Error failure = Error::Make(Code::kInternal, "");
  bool failed = false;
  if (c) {
    auto r = c->Call(
        Request("stop", {{"signal", sig}, {"grace_ns", grace.count() < 0 ? 0 : grace.count()}}));
    if (!r && r.error().code() != Code::kUnavailable) {
      failure = std::move(r.error());
      failed = true;
    }
  }
  // The waiter records the exit at the same moment (or from the state file).
  std::unique_lock<std::mutex> l(mu_);
  if (!cv_.wait_for(l, kStopExitWait, [&] { return exit_.has_value(); })) {
    if (failed) return Fail(std::move(failure));
    return Fail(Error::Make(Code::kDeadlineExceeded, fmt::format("task {} did not exit", id())));
  }
  return Ok();
}

Status Task::Update(const json& resources, std::vector<std::string>* warnings) {
  ISOEXEC_ASSIGN_OR_RETURN(auto c, Connect());
  ISOEXEC_ASSIGN_OR_RETURN(auto m, c.Call(Request("update", {{"resources", resources}})));
  try {
    for (const auto& w : json::parse(m.line).value("warnings", json::array()))
      if (warnings) warnings->push_back(w.get<std::string>());
  } catch (const std::exception&) {
  }
  return Ok();
}

Result<UniqueFd> Task::Pidfd() const {
  ISOEXEC_ASSIGN_OR_RETURN(auto c, Connect());
  ISOEXEC_ASSIGN_OR_RETURN(auto m, c.Call(Request("pidfd")));
  if (m.fds.empty()) return Fail(Error::Make(Code::kInternal, "the supervisor sent no pidfd"));
  return std::move(m.fds.front());
}

std::unique_ptr<cgroup::Cgroup> Task::OpenCgroup() const {
  auto layout = cgroup::DetectLayout();
  if (!layout) return nullptr;
  auto cg = cgroup::Open(*layout, {env_.cgroup_parent, id()});
  if (!cg) return nullptr;
  return std::move(*cg);
}

Status Task::Cleanup() {
  {
    std::unique_lock<std::mutex> l(mu_);
    if (!exit_)
      return Fail(
          Error::Make(Code::kFailedPrecondition, fmt::format("task {} is still running", id())));
    if (cleaned_) return Ok();
    if (!cv_.wait_for(l, kSupervisorExitWait, [&] { return supervisor_reaped_; }))
      log::Warn(fmt::format("task {}: supervisor (pid {}) still running at cleanup", id(),
                            supervisor_pid_));
  }
  Status result = Ok();
  if (auto s = KillAndRemoveCgroup(env_.cgroup_parent, id()); !s) result = std::move(s);
  if (auto s = runtime::RemoveTaskDir(dir_); !s && result) result = std::move(s);
  std::lock_guard<std::mutex> l(mu_);
  cleaned_ = true;
  return result;
}

void CollectStaleState(const std::string& state_root, const std::string& own_dir,
                       const std::string& cgroup_parent) {
  DIR* d = ::opendir(state_root.c_str());
  if (!d) return;
  std::vector<std::string> dirs;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("executor-", 0) != 0) continue;
    const std::string pid_text = name.substr(9);
    if (pid_text.empty() || pid_text.size() > 9 ||
        pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const std::string path = state_root + "/" + name;
    pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (path != own_dir && (::kill(pid, 0) == 0 || errno != ESRCH)) continue;  // its executor lives
    dirs.push_back(path);
  }
  ::closedir(d);
  for (const auto& dir : dirs) {
    DIR* t = ::opendir(dir.c_str());
    if (!t) continue;
    std::vector<std::string> tasks;
    while (dirent* e = ::readdir(t))
      if (e->d_name[0] != '.') tasks.emplace_back(e->d_name);
    ::closedir(t);
    bool busy = false;
    for (const auto& id : tasks) {
      const std::string task_dir = dir + "/" + id;
      auto st = runtime::ReadTaskState(task_dir);
      if (st && st->supervisor_pid > 0 && st->status == runtime::TaskStatus::kRunning &&
          runtime::ProcessStartTime(st->supervisor_pid) == st->supervisor_start) {
        busy = true;  // its supervisor is still killing it
        continue;
      }
      (void)KillAndRemoveCgroup(
          st && !st->cgroup_parent.empty() ? st->cgroup_parent : cgroup_parent, id);
      if (auto s = runtime::RemoveTaskDir(task_dir); s)
        log::Info(fmt::format("removed stale task state {}", task_dir));
    }
    if (!busy) ::rmdir(dir.c_str());
  }
}

}  // namespace isoexec::executor
