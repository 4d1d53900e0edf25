#include "runtime/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "base/parse.h"
#include "cgroup/cgroup.h"
#include "runtime/control.h"
#include "spec/flag_parse.h"
#include "stats/sampler.h"
#include "sys/resident.h"
#include "sys/syscalls.h"

namespace isoexec::runtime {

using nlohmann::json;

namespace {

// Failpoints (Debug builds only): ISOEXEC_FAILPOINT=<name> in the environment makes that step
// fail, for the rollback tests (tests/integration/fault_test.cc). Names:
//   supervisor-start  Start() fails after the task runs, listens and logs (the launch rolls back)
#if !defined(NDEBUG) && !defined(ISOEXEC_FAILPOINTS)
#define ISOEXEC_FAILPOINTS 1
#endif
bool Failpoint([[maybe_unused]] const char* name) {
#ifdef ISOEXEC_FAILPOINTS
  const char* v = ::getenv("ISOEXEC_FAILPOINT");
  return v && std::strcmp(v, name) == 0;
#else
  return false;
#endif
}

enum Timer { kTimeout = 0, kGrace = 1, kDeadline = 2 };
constexpr auto kStopDeadline = std::chrono::seconds(15);
constexpr auto kOutputDrain = std::chrono::seconds(2);

const int kHandledSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
                               SIGCHLD};

sigset_t HandledSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kHandledSignals) sigaddset(&set, s);
  return set;
}

void Arm(int tfd, std::chrono::nanoseconds d) {
  struct itimerspec its;
  std::memset(&its, 0, sizeof its);
  auto ns = d.count() <= 0 ? 1 : d.count();
  its.it_value.tv_sec = ns / 1'000'000'000;
  its.it_value.tv_nsec = ns % 1'000'000'000;
  ::timerfd_settime(tfd, 0, &its, nullptr);
}

void Disarm(int tfd) {
  struct itimerspec its;
  std::memset(&its, 0, sizeof its);
  ::timerfd_settime(tfd, 0, &its, nullptr);
}

// Reaps re-parented orphans without touching `keep` (the direct child, collected via pidfd).
void ReapOrphans(pid_t keep) {
  for (;;) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
    if (info.si_pid == keep) return;
    ::waitpid(info.si_pid, nullptr, 0);
  }
}

// After the kill-all and the cgroup's removal every child left (orphans re-parented to us, the
// subreaper) is dead or dying, but may not be a zombie yet: a process leaves its cgroup before
// it notifies its parent. Wait for the last ones, so none is handed to the host's init, which
// may reap late (the task would look alive to `kill -0` until then).
void ReapAllChildren(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    pid_t p = ::waitpid(-1, nullptr, WNOHANG);
    if (p > 0) continue;
    if (p < 0 || std::chrono::steady_clock::now() >= deadline) return;  // ECHILD: none left
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string Cmdline(pid_t pid) {
  auto text = ReadFile(fmt::format("/proc/{}/cmdline", pid));
  if (!text) return "";
  std::string s = *text;
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& ch : s)
    if (ch == '\0') ch = ' ';
  return s;
}

pid_t ParentPid(pid_t pid) {
  auto text = ReadFile(fmt::format("/proc/{}/stat", pid));
  if (!text) return 0;
  auto rp = text->rfind(')');
  if (rp == std::string::npos || rp + 4 > text->size()) return 0;
  return static_cast<pid_t>(std::atoi(text->c_str() + rp + 4));
}

}  // namespace

void BlockSupervisorSignals() {
  sigset_t set = HandledSet();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

void UnblockSupervisorSignals() {
  sigset_t set = HandledSet();
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

struct Supervisor::Client {
  UniqueFd fd;
  std::string in;
  bool wait = false;   // answer with the exit state
  bool dead = false;
  // A stats stream: its own sampler (CPU% is relative to this client's previous sample).
  std::unique_ptr<stats::Sampler> sampler;
  UniqueFd stats_timer;
};

namespace {
UniqueFd PeriodicTimer(std::chrono::nanoseconds interval) {
  UniqueFd t(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  struct itimerspec its;
  std::memset(&its, 0, sizeof its);
  auto ns = interval.count() <= 0 ? 1'000'000'000 : interval.count();
  its.it_value.tv_sec = its.it_interval.tv_sec = ns / 1'000'000'000;
  its.it_value.tv_nsec = its.it_interval.tv_nsec = ns % 1'000'000'000;
  ::timerfd_settime(t.get(), 0, &its, nullptr);
  return t;
}
}  // namespace

Supervisor::Supervisor(std::unique_ptr<Container> container, SupervisorOptions options)
    : container_(std::move(container)), o_(std::move(options)) {}

Supervisor::~Supervisor() = default;

// `final`: the exit, which may use the state's space reserve (runtime/task_state.h); every
// other write leaves the reserve for it.
Status Supervisor::SaveState(bool final) {
  if (!o_.keep_state) return Ok();
  for (int i = 0; i < 2; ++i) UpdateLogHealth(i);
  return WriteTaskState(o_.task_dir, o_.state, final);
}

// Copies a log's health into the state (and its warning); says so in the supervisor's log when
// output starts being dropped or is written again.
void Supervisor::UpdateLogHealth(int which) {
  if (!logs_[which]) return;
  const LogRotator& log = *logs_[which];
  const char* name = which == 0 ? "stdout" : "stderr";
  LogHealth now{log.dropped_bytes(), log.failing(), log.error()};
  LogHealth before = o_.state.logs[which].value_or(LogHealth{});
  o_.state.logs[which] = now;
  if (now.failing && !before.failing)
    log::Warn(fmt::format("{} log: {}; dropping the task's output until it can be written", name, now.error));
  else if (!now.failing && before.failing)
    log::Warn(fmt::format("{} log: writing again ({} bytes dropped so far)", name, now.dropped_bytes));
  if (now.error.empty()) return;
  std::string w = fmt::format("{} log: {} ({} bytes dropped)", name, now.error, now.dropped_bytes);
  const std::string prefix = fmt::format("{} log: ", name);
  for (auto& x : o_.state.warnings)
    if (x.rfind(prefix, 0) == 0) {
      x = w;
      return;
    }
  o_.state.warnings.push_back(w);
}

void Supervisor::Respond(Client& c, const std::string& line, int fd) {
  if (c.dead) return;
  // Non-blocking: a client that does not read is dropped, never waited for.
  if (auto s = control::SendLine(c.fd.get(), line, fd); !s) c.dead = true;
}

std::string Supervisor::ExitLine() const {
  json j;
  j["ok"] = true;
  j["exit"] = json::parse(ExitStateJsonObject(o_.state.id, exit_));
  return j.dump();
}

void Supervisor::StartStop(int sig, std::chrono::nanoseconds grace) {
  if (exited_) return;
  if (grace.count() <= 0) {
    (void)container_->KillAll();
    Disarm(timers_[kGrace].get());
    Arm(timers_[kDeadline].get(), kStopDeadline);
    stopping_ = true;
    return;
  }
  if (stopping_) return;  // the first graceful stop's timers stay in charge
  stopping_ = true;
  (void)container_->Signal(sig);
  Arm(timers_[kGrace].get(), grace);
}

void Supervisor::OnSignal() {
  struct signalfd_siginfo si;
  while (::read(signal_fd_.get(), &si, sizeof si) == sizeof si) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      ReapOrphans(container_->child_pid());
    } else if (o_.detached && (sig == SIGTERM || sig == SIGINT)) {
      StartStop(o_.spec.lifecycle.kill_signal, o_.spec.lifecycle.kill_timeout);
    } else if (o_.detached && sig == SIGWINCH) {
      // A detached supervisor has no terminal.
    } else {
      (void)container_->Signal(sig);
    }
  }
}

void Supervisor::OnTimer(int which) {
  uint64_t ticks;
  (void)!::read(timers_[which].get(), &ticks, sizeof ticks);
  switch (which) {
    case kTimeout:
      timed_out_ = true;
      StartStop(o_.spec.lifecycle.kill_signal, o_.spec.lifecycle.kill_timeout);
      break;
    case kGrace:
      (void)container_->KillAll();
      Arm(timers_[kDeadline].get(), kStopDeadline);
      break;
    case kDeadline:
      for (auto& c : clients_) {
        if (!c->wait) continue;
        Respond(*c, control::ErrorLine("task failed to exit 15 seconds after being killed"));
        c->dead = true;
      }
      break;
    default:
      break;
  }
}

void Supervisor::OnAccept() {
  for (;;) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    auto c = std::make_unique<Client>();
    c->fd.reset(fd);
    clients_.push_back(std::move(c));
  }
}

void Supervisor::OnClient(size_t index) {
  Client& c = *clients_[index];
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      c.dead = true;
      return;
    }
    c.in.append(buf, static_cast<size_t>(n));
    if (c.in.size() > control::kMaxLine) {
      Respond(c, control::ErrorLine("request too long"));
      c.dead = true;
      return;
    }
  }
  size_t nl;
  while (!c.dead && (nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    Handle(c, line);
  }
}

void Supervisor::Handle(Client& c, const std::string& line) {
  auto decoded = control::DecodeRequest(line);
  if (!decoded) {
    Respond(c, control::ErrorLine(decoded.error().message()));
    return;
  }
  const control::Request& req = *decoded;
  const std::string& op = req.op;
  try {
    if (op == "state") {
      for (int i = 0; i < 2; ++i) UpdateLogHealth(i);
      json j{{"ok", true}, {"state", json::parse(TaskStateJson(o_.state))}};
      Respond(c, j.dump());
    } else if (op == "wait") {
      if (exited_) Respond(c, ExitLine());
      else c.wait = true;
    } else if (op == "signal") {
      int sig = req.signal.value_or(SIGTERM);
      if (exited_) {
        Respond(c, control::ErrorLine(fmt::format("task {} is not running", o_.state.id)));
        return;
      }
      if (req.all && container_->cgroup()) {
        auto pids = container_->cgroup()->Pids();
        if (pids) {
          for (pid_t p : *pids) {
            UniqueFd pfd(sys::PidfdOpen(p));
            if (pfd) sys::PidfdSendSignal(pfd.get(), sig);
          }
        }
      } else if (auto s = container_->Signal(sig); !s) {
        Respond(c, control::ErrorLine(s.error().str()));
        return;
      }
      Respond(c, json{{"ok", true}}.dump());
    } else if (op == "stop") {
      if (exited_) {
        Respond(c, ExitLine());
        return;
      }
      int sig = req.signal.value_or(o_.spec.lifecycle.kill_signal);
      auto grace = req.grace_ns ? std::chrono::nanoseconds(*req.grace_ns)
                                : o_.spec.lifecycle.kill_timeout;
      c.wait = true;
      StartStop(sig, grace);
    } else if (op == "ps") {
      json procs = json::array();
      if (!exited_ && container_->cgroup()) {
        auto pids = container_->cgroup()->Pids();
        if (pids)
          for (pid_t p : *pids) {
            // The init is a fork of isoexec: show what it is, not the supervisor's argv.
            std::string cmd = (container_->has_init() && p == container_->child_pid())
                                  ? "[isoexec-init]"
                                  : Cmdline(p);
            procs.push_back({{"pid", p}, {"ppid", ParentPid(p)}, {"cmd", cmd}});
          }
      }
      Respond(c, json{{"ok", true}, {"processes", procs}}.dump());
    } else if (op == "pidfd") {
      if (exited_) {
        Respond(c, control::ErrorLine(fmt::format("task {} is not running", o_.state.id)));
        return;
      }
      Respond(c, json{{"ok", true}, {"pid", container_->pid()}, {"has_init", container_->has_init()}}.dump(),
              container_->pidfd());
    } else if (op == "update") {
      if (exited_ || !container_->cgroup()) {
        Respond(c, control::ErrorLine(fmt::format("task {} is not running", o_.state.id)));
        return;
      }
      spec::TaskSpec updated = o_.spec;
      auto& r = updated.resources;
      const auto& in = req.resources;
      if (in.memory) r.memory = *in.memory;
      if (in.memory_max_unlimited) {
        r.memory_max.reset();
        r.memory_max_unlimited = true;
      } else if (in.memory_max) {
        r.memory_max = *in.memory_max;
        r.memory_max_unlimited = false;
      }
      if (in.cpu_shares) r.cpu_shares = *in.cpu_shares;
      if (in.cpuset) r.cpuset = *in.cpuset;
      if (in.pids_max) r.pids_max = *in.pids_max;
      if (auto v = spec::Validate(updated); !v) {
        Respond(c, control::ErrorLine(v.error().str()));
        return;
      }
      cgroup::Limits limits = cgroup::FromResources(r);
      json warnings = json::array();
      if (limits.memory_hard) {
        if (auto st = container_->cgroup()->ReadStats(); st && st->usage > *limits.memory_hard)
          warnings.push_back(fmt::format(
              "memory usage {} is above the new limit {}: the kernel reclaims memory and may OOM-kill the task",
              FormatBytes(st->usage), FormatBytes(*limits.memory_hard)));
      }
      if (auto s = container_->cgroup()->Apply(limits); !s) {
        Respond(c, control::ErrorLine(s.error().str()));
        return;
      }
      o_.spec = std::move(updated);
      Respond(c, json{{"ok", true}, {"warnings", warnings}}.dump());
    } else if (op == "stats") {
      if (exited_ || !container_->cgroup()) {
        Respond(c, control::ErrorLine(fmt::format("task {} is not running", o_.state.id)));
        return;
      }
      // Nomad semantics: the first sample at once, then one per interval (0 means 1 s).
      const bool stream = req.stream;
      auto interval = std::chrono::nanoseconds(req.interval_ns);
      if (interval.count() <= 0) interval = std::chrono::seconds(1);
      c.sampler = std::make_unique<stats::Sampler>(container_->cgroup(), o_.state.id);
      SendSample(c);
      if (stream) c.stats_timer = PeriodicTimer(interval);
    } else {
      Respond(c, control::ErrorLine(fmt::format("unknown operation \"{}\"", op)));
    }
  } catch (const std::exception& e) {
    Respond(c, control::ErrorLine(fmt::format("bad request: {}", e.what())));
  }
}

void Supervisor::SendSample(Client& c) {
  auto sample = c.sampler->Next();
  if (!sample) {
    Respond(c, control::ErrorLine(sample.error().str()));
    c.stats_timer.reset();
    return;
  }
  Respond(c, fmt::format("{{\"ok\":true,\"sample\":{}}}", stats::SampleJson(*sample)));
}

void Supervisor::WriteStatsFile() {
  if (!stats_file_sampler_) return;
  auto sample = stats_file_sampler_->Next();
  if (!sample) return;
  std::string line = stats::SampleJson(*sample) + "\n";
  if (stats_file_ && ::write(stats_file_.get(), line.data(), line.size()) < 0) {
    o_.state.warnings.push_back(fmt::format("--stats-file: {}", std::strerror(errno)));
    stats_file_.reset();
  }
}

void Supervisor::OnOutput(int which) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(o_.output[which], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      ::close(o_.output[which]);
      o_.output[which] = -1;
      return;
    }
    if (!logs_[which]) continue;
    bool was_failing = logs_[which]->failing();
    logs_[which]->Write(std::string_view(buf, static_cast<size_t>(n)));
    if (logs_[which]->failing() != was_failing) {
      UpdateLogHealth(which);
      // Record the change where `inspect` finds it (at most once a second; on a full file
      // system this write may fail too: the `state` op and the final state still tell).
      auto now = std::chrono::steady_clock::now();
      if (!exited_ && now - last_health_save_ >= std::chrono::seconds(1)) {
        last_health_save_ = now;
        (void)SaveState();
      }
    }
  }
}

void Supervisor::Finish() {
  WriteStatsFile();  // the last sample, while the cgroup still exists
  stats_file_.reset();
  // Samplers point at the cgroup object Destroy() frees below.
  stats_file_sampler_.reset();
  stats_file_timer_.reset();
  exit_ = container_->Collect();
  exit_.timed_out = timed_out_;
  // Whatever the main process left behind (--pid host) dies with it.
  (void)container_->KillAll();
  ReapOrphans(0);
  for (auto& c : clients_) {
    if (!c->sampler) continue;
    if (c->stats_timer) Respond(*c, R"({"ok":true,"end":true})");
    c->sampler.reset();
    c->stats_timer.reset();
  }
  if (auto s = container_->Destroy(); !s) {
    o_.state.warnings.push_back(s.error().str());
    log::Warn(s.error().str());
  }
  ReapAllChildren(std::chrono::seconds(1));
  exited_ = true;
  o_.state.status = TaskStatus::kExited;
  o_.state.exit = exit_;
  if (auto s = SaveState(/*final=*/true); !s)
    log::Error(fmt::format("cannot record the task's exit (code {}): {}", exit_.exit_code, s.error().str()));
  if (o_.on_exit) o_.on_exit(exit_);
  for (auto& c : clients_) {
    if (c->wait) Respond(*c, ExitLine());
  }

  // Drain what the task wrote last; every writer is dead, so EOF comes promptly.
  auto deadline = std::chrono::steady_clock::now() + kOutputDrain;
  while ((o_.output[0] >= 0 || o_.output[1] >= 0) && std::chrono::steady_clock::now() < deadline) {
    struct pollfd p[2] = {{o_.output[0], POLLIN, 0}, {o_.output[1], POLLIN, 0}};
    if (::poll(p, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i)
      if (p[i].revents) OnOutput(i);
  }
  for (int& fd : o_.output)
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  if (o_.state.logs[0] || o_.state.logs[1]) (void)SaveState();  // log errors found while draining
  if (listen_fd_) {
    listen_fd_.reset();
    ::unlink((o_.task_dir + "/" + control::kSocketName).c_str());
  }
  clients_.clear();
}

void Supervisor::Abort() {
  (void)container_->KillAll();
  exit_ = container_->Collect();
  ReapOrphans(0);
  if (auto s = container_->Destroy(); !s) log::Warn(s.error().str());
  exited_ = true;
  if (listen_fd_) {
    listen_fd_.reset();
    ::unlink((o_.task_dir + "/" + control::kSocketName).c_str());
  }
  for (auto& l : logs_) l.reset();
  stats_file_sampler_.reset();
  stats_file_timer_.reset();
  stats_file_.reset();
}

Status Supervisor::Start() {
  if (started_) return Ok();
  started_ = true;
  // Orphans of a --pid host task are re-parented to us, so nothing stays a zombie.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t set = HandledSet();
  signal_fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  for (auto& t : timers_) t.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!signal_fd_ || !timers_[0] || !timers_[1] || !timers_[2]) {
    Error e = Error::Errno(errno, "supervisor: signalfd/timerfd");
    Abort();
    return Fail(std::move(e));
  }
  if (o_.spec.lifecycle.timeout) Arm(timers_[kTimeout].get(), *o_.spec.lifecycle.timeout);
  if (o_.control) {
    // A task nobody can reach could be neither stopped nor inspected: no launch without it.
    auto l = control::Listen(o_.task_dir);
    if (!l) {
      Abort();
      return Fail(std::move(l.error()).With("cannot serve the task's control socket"));
    }
    listen_fd_ = std::move(*l);
  }
  static const char* kNames[2] = {"stdout.log", "stderr.log"};
  for (int i = 0; i < 2; ++i) {
    if (o_.output[i] < 0) continue;
    ::fcntl(o_.output[i], F_SETFL, ::fcntl(o_.output[i], F_GETFL) | O_NONBLOCK);
    logs_[i] = std::make_unique<LogRotator>(o_.task_dir + "/" + kNames[i], o_.logs);
  }
  if (!o_.spec.output.stats_file.empty() && container_->cgroup()) {
    stats_file_.reset(::open(o_.spec.output.stats_file.c_str(),
                             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (stats_file_) {
      stats_file_sampler_ = std::make_unique<stats::Sampler>(container_->cgroup(), o_.state.id);
      stats_file_timer_ = PeriodicTimer(o_.spec.output.stats_interval);
      WriteStatsFile();
    } else {
      log::Warn(fmt::format("--stats-file: open `{}`: {}", o_.spec.output.stats_file, std::strerror(errno)));
    }
  }
  if (Failpoint("supervisor-start")) {
    Abort();
    return Fail(Error::Make(Code::kInternal, "failpoint supervisor-start"));
  }
  o_.state.status = TaskStatus::kRunning;
  o_.state.pid = container_->pid();
  if (auto s = SaveState(); !s) {
    Abort();
    return Fail(std::move(s.error()).With("cannot record the task's state"));
  }
  return Ok();
}

// The code a request ran (JSON, sampling, /proc walks) is not needed until the next one: a
// task that lives for days should not keep it resident. At most every 10 s, so a client that
// polls pays for the page faults rarely.
void Supervisor::TrimWhenIdle() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_trim_ < std::chrono::seconds(10)) return;
  last_trim_ = now;
  sys::TrimResidentSet();
}

ExitState Supervisor::Run() {
  if (auto s = Start(); !s) {
    log::Error(s.error().str());
    exit_.exit_code = kExitSetupFailed;
    exit_.setup_error = SetupError{"supervisor", s.error().sys_errno(), s.error().str()};
    return exit_;
  }
  while (!exited_) {
    std::vector<pollfd> fds;
    fds.push_back({container_->pidfd(), POLLIN, 0});
    fds.push_back({signal_fd_.get(), POLLIN, 0});
    for (auto& t : timers_) fds.push_back({t.get(), POLLIN, 0});
    fds.push_back({listen_fd_ ? listen_fd_.get() : -1, POLLIN, 0});
    fds.push_back({o_.output[0], POLLIN, 0});
    fds.push_back({o_.output[1], POLLIN, 0});
    fds.push_back({o_.parent_watch_fd, POLLIN, 0});
    fds.push_back({stats_file_timer_ ? stats_file_timer_.get() : -1, POLLIN, 0});
    const size_t first_client = fds.size();
    for (auto& c : clients_) fds.push_back({c->fd.get(), POLLIN, 0});
    const size_t first_timer = fds.size();
    for (auto& c : clients_) fds.push_back({c->stats_timer ? c->stats_timer.get() : -1, POLLIN, 0});
    const size_t nclients = clients_.size();
    int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      log::Error(fmt::format("poll: {}", std::strerror(errno)));
      break;
    }
    if (fds[1].revents) OnSignal();
    for (int t = 0; t < 3; ++t)
      if (fds[2 + static_cast<size_t>(t)].revents) OnTimer(t);
    if (fds[5].revents) OnAccept();
    for (int i = 0; i < 2; ++i)
      if (fds[6 + static_cast<size_t>(i)].revents) OnOutput(i);
    if (fds[8].revents) {
      // Our owner is gone: nobody would ever collect this task.
      ::close(o_.parent_watch_fd);
      o_.parent_watch_fd = -1;
      StartStop(SIGKILL, std::chrono::nanoseconds(0));
    }
    if (fds[9].revents) {
      uint64_t ticks;
      (void)!::read(stats_file_timer_.get(), &ticks, sizeof ticks);
      WriteStatsFile();
    }
    for (size_t i = 0; i < nclients; ++i) {
      if (fds[first_client + i].revents) OnClient(i);
      if (fds[first_timer + i].revents && clients_[i]->stats_timer && !clients_[i]->dead) {
        uint64_t ticks;
        (void)!::read(clients_[i]->stats_timer.get(), &ticks, sizeof ticks);
        SendSample(*clients_[i]);
      }
    }
    if (std::erase_if(clients_, [](const auto& c) { return c->dead; }) && clients_.empty())
      TrimWhenIdle();
    if (fds[0].revents) Finish();
  }
  return exit_;
}

}  // namespace isoexec::runtime
