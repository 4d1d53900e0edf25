// `isoexec exec [-i] [-t] [--timeout DUR] [--user U] [--env K=V] [--workdir DIR] ID -- CMD`:
// runs CMD inside a running task (its root, namespaces, cgroup, identity and security). The
// supervisor hands over a pidfd of the task; the process is our own child, so its output
// reaches us directly (no proxy) and its exit status is first-hand.
#include <poll.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/file.h"
#include "base/parse.h"
#include "cgroup/cgroup.h"
#include "cli/common.h"
#include "cli/task_ref.h"
#include "runtime/control.h"
#include "runtime/exec_into.h"
#include "runtime/pty.h"
#include "runtime/task_env.h"
#include "spec/flag_parse.h"
#include "spec/spec_json.h"
#include "sys/syscalls.h"

namespace isoexec::cli {

namespace {

namespace control = runtime::control;

constexpr int kExitDeadline = 124;

struct ExecFlags {
  bool interactive = false, tty = false;
  std::string timeout, user, workdir;
  std::vector<std::string> env;
  std::string id;
  std::vector<std::string> command;
};

// Raw mode on our terminal for the life of a -t session; restored on every path.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  struct termios saved_ {};
  bool active_ = false;
};

int Exec(const ExecFlags& f, const GlobalOptions& g) {
  if (f.command.empty()) return PrintError("exec: no command given (isoexec exec ID -- CMD [ARG...])");
  std::optional<std::chrono::nanoseconds> deadline;
  if (!f.timeout.empty()) {
    auto d = ParseDuration("--timeout", f.timeout);
    if (!d) return PrintError(d.error());
    deadline = *d;
  }
  runtime::ExecRequest req;
  req.argv = f.command;
  for (const auto& e : f.env) {
    auto kv = spec::ParseEnv(e);
    if (!kv) return PrintError(kv.error());
    req.env.push_back(*kv);
  }
  if (!f.user.empty()) req.user = f.user;
  if (!f.workdir.empty()) {
    if (f.workdir[0] != '/') return PrintError(Error::Invalid("--workdir", "must be an absolute path"));
    req.workdir = f.workdir;
  }

  auto t = LoadTask(g, f.id);
  if (!t) return PrintError(t.error());
  if (t->state.status != runtime::TaskStatus::kRunning)
    return PrintError(fmt::format("task {} is not running (state: {})", f.id, runtime::StatusName(t->state.status)));
  auto spec = spec::ParseSpecJson(t->state.spec_json);
  if (!spec) return PrintError(spec.error());
  // --env adds to (or overrides) the task's environment, as docker exec does; without it the
  // process gets exactly what the task got.
  if (!req.env.empty()) {
    std::vector<std::string> merged = runtime::TaskEnvironment(*spec, nullptr);
    runtime::OverrideEnv(&merged, req.env);
    req.env = std::move(merged);
  }
  auto client = control::Client::Connect(t->dir);
  if (!client) return PrintError(client.error());
  auto resp = client->Call(R"({"v":1,"op":"pidfd"})");
  if (!resp) return PrintError(resp.error());
  if (resp->fds.empty()) return PrintError("exec: the supervisor sent no pidfd");
  auto layout = cgroup::DetectLayout();
  std::unique_ptr<cgroup::Cgroup> cg;
  if (layout) {
    auto opened = cgroup::Open(*layout, {t->state.cgroup_parent.empty() ? g.cgroup_parent : t->state.cgroup_parent, f.id});
    if (opened) cg = std::move(*opened);
  }
  runtime::ExecTarget target{resp->fds.front().get(), &*spec, cg.get()};

  req.tty = f.tty;
  req.stdio[0] = f.interactive ? STDIN_FILENO : -1;
  if (f.tty && ::isatty(STDIN_FILENO)) ::ioctl(STDIN_FILENO, TIOCGWINSZ, &req.size);

  // Signals we forward (and SIGWINCH for resizes) are taken through a signalfd.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));

  auto proc = runtime::ExecInto(target, req);
  if (!proc) return PrintError(proc.error().error, proc.error().exit_code);
  std::optional<RawTerminal> raw;
  if (f.tty && f.interactive) raw.emplace(STDIN_FILENO);

  const int master = proc->pty_master.get();
  bool stdin_open = f.tty && f.interactive;
  bool master_open = master >= 0;
  auto start = std::chrono::steady_clock::now();
  bool expired = false;
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - (std::chrono::steady_clock::now() - start));
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    struct pollfd fds[4] = {{proc->pidfd.get(), POLLIN, 0},
                            {sfd.get(), POLLIN, 0},
                            {master_open ? master : -1, POLLIN, 0},
                            {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    int n = ::poll(fds, 4, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && deadline) {
      expired = true;
      sys::PidfdSendSignal(proc->pidfd.get(), SIGKILL);
      break;
    }
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH) {
          struct winsize ws {};
          if (master >= 0 && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
            (void)runtime::ResizePty(master, ws.ws_row, ws.ws_col);
        } else {
          sys::PidfdSendSignal(proc->pidfd.get(), sig);
        }
      }
    }
    if (fds[2].revents) {
      char buf[8192];
      ssize_t r = ::read(master, buf, sizeof buf);
      if (r > 0) (void)WriteAll(STDOUT_FILENO, {buf, static_cast<size_t>(r)}, "stdout");
      else master_open = false;  // EIO: no process holds the terminal any more
    }
    if (fds[3].revents) {
      char buf[8192];
      ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
      if (r > 0) (void)WriteAll(master, {buf, static_cast<size_t>(r)}, "the terminal");
      else stdin_open = false;
    }
    if (fds[0].revents) break;
  }
  // Whatever the terminal still holds.
  while (master_open) {
    struct pollfd p = {master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) break;
    char buf[8192];
    ssize_t r = ::read(master, buf, sizeof buf);
    if (r <= 0) break;
    (void)WriteAll(STDOUT_FILENO, {buf, static_cast<size_t>(r)}, "stdout");
  }
  auto code = runtime::WaitExec(proc->pidfd.get());
  raw.reset();
  if (expired) return PrintError(fmt::format("exec: the deadline of {} passed; the command was killed", f.timeout), kExitDeadline);
  if (!code) return PrintError(code.error());
  return *code;
}

}  // namespace

void AddExecCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto f = std::make_shared<ExecFlags>();
  auto* cmd = app.add_subcommand("exec", "Run a command inside a running task (same root, namespaces, cgroup, security)");
  cmd->add_flag("-i,--interactive", f->interactive, "Forward stdin");
  cmd->add_flag("-t,--tty", f->tty, "Allocate a terminal inside the task (stdout and stderr merged)");
  cmd->add_option("--timeout", f->timeout, "Kill the command after this long; exit status 124")->type_name("DURATION");
  cmd->add_option("-u,--user", f->user, "User (default: the task's)")->type_name("NAME|UID[:GROUP|GID]");
  cmd->add_option("-e,--env", f->env, "Environment (repeatable; default: the task's)")->type_name("KEY=VALUE");
  cmd->add_option("-w,--workdir", f->workdir, "Working directory (default: the task's)")->type_name("DIR");
  cmd->add_option("ID", f->id, "Task id")->required();
  cmd->prefix_command();
  cmd->allow_extras();
  cmd->fallthrough(false);
  cmd->footer("Examples:\n  isoexec exec web -- cat /etc/hostname\n  isoexec exec -it web -- sh\n  isoexec exec --timeout 5s web -- ./healthcheck");
  cmd->callback([f, &global, exit_code, cmd] {
    f->command = cmd->remaining();
    if (Tail().present) {
      // Everything before "--" is ours: a word left over is an unknown option, not ignored.
      if (!f->command.empty()) throw CLI::ExtrasError("exec", {f->command.front()});
      f->command = Tail().words;
    } else if (!f->command.empty() && f->command.front().size() > 1 && f->command.front()[0] == '-') {
      // prefix_command() stops at the first unknown token; an unknown option is still an error.
      throw CLI::ExtrasError("exec", {f->command.front()});
    }
    *exit_code = Exec(*f, global);
  });
}

}  // namespace isoexec::cli
