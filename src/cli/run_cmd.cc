#include "cli/run_cmd.h"

#include <fcntl.h>
#include <sys/wait.h>

#include <csignal>
#include <unistd.h>

#include <memory>

#include <fmt/format.h>

#include "base/file.h"
#include "spec/flag_parse.h"
#include "spec/spec_json.h"
#include <nlohmann/json.hpp>
#include "base/parse.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "cli/preflight.h"
#include "cli/run_flags.h"
#include "cli/task_ref.h"
#include "runtime/container.h"
#include "runtime/exit_state.h"
#include "runtime/supervisor.h"
#include "runtime/task_state.h"
#include "runtime/task_dir.h"
#include "sys/resident.h"

namespace isoexec::cli {

namespace {

// The status file is written on every outcome once the arguments parsed.
Status TryWriteStatus(const std::string& path, const std::string& id, const runtime::ExitState& s) {
  if (path.empty()) return Ok();
  return WriteFileAtomic(path, runtime::StatusJson(id, s));
}

void WriteStatus(const std::string& path, const std::string& id, const runtime::ExitState& s) {
  if (auto r = TryWriteStatus(path, id, s); !r) log::Warn(fmt::format("--status-file: {}", r.error().str()));
}

int SetupFailed(const std::string& status_file, const std::string& id, const Error& e,
                const std::string& stage, int code) {
  runtime::ExitState s;
  s.exit_code = code;
  s.setup_error = runtime::SetupError{stage, e.sys_errno(), e.str()};
  s.started_at = s.finished_at = std::chrono::system_clock::now();
  // The error is one line: a status file that cannot be written either is said on it.
  if (e.field() == "--status-file" || e.field() == "/output/status_file") return PrintError(e, code);
  if (auto r = TryWriteStatus(status_file, id, s); !r)
    return PrintError(fmt::format("{} (and --status-file: {})", e.str(), r.error().str()), code);
  return PrintError(e, code);
}

Result<UniqueFd> OpenOutput(const std::string& flag, const std::string& path) {
  // O_APPEND keeps concurrent writers' lines whole; a FIFO path works too (blocks until read).
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("{}: open `{}`", flag, path)));
  return fd;
}

// The initial state, written before launch so other verbs can tell a launch in progress from a
// dead supervisor.
runtime::TaskState InitialState(const spec::TaskSpec& spec, const GlobalOptions& global,
                                const TaskOptions& opts) {
  runtime::TaskState st;
  st.id = spec.id;
  st.status = runtime::TaskStatus::kCreated;
  st.supervisor_pid = ::getpid();
  st.supervisor_start = runtime::ProcessStartTime(st.supervisor_pid);
  st.cgroup_parent = global.cgroup_parent;
  st.detached = opts.detach;
  st.remove_on_exit = opts.rm;
  st.command = spec.process.argv;
  st.spec_json = spec::SpecToJson(spec);
  st.created_at = runtime::Rfc3339(std::chrono::system_clock::now());
  return st;
}

// Records the initial state and reserves room for the last one (docs/control-protocol.md,
// "Full disk"): a task whose state cannot be recorded is not launched.
Status RecordInitialState(const std::string& task_dir, const runtime::TaskState& st) {
  if (auto s = runtime::WriteTaskState(task_dir, st); !s)
    return Fail(std::move(s.error()).With("cannot record the task's state"));
  if (auto s = runtime::ReserveStateSpace(task_dir, st); !s)
    return Fail(std::move(s.error()).With("cannot record the task's state"));
  return Ok();
}

struct LaunchResult {
  std::unique_ptr<runtime::Container> container;
  int exit_code = 0;  // != 0: setup failed (already reported)
  std::string error;
};

LaunchResult LaunchTask(const spec::TaskSpec& spec, const GlobalOptions& global,
                        const std::string& task_dir, const int stdio[3]) {
  runtime::LaunchOptions options;
  options.task_dir = task_dir;
  options.cgroup_parent = global.cgroup_parent;
  for (int i = 0; i < 3; ++i) options.stdio[i] = stdio[i];
  auto container = runtime::Container::Launch(spec, options);
  if (!container) {
    const auto& f = container.error();
    int code = SetupFailed(spec.output.status_file, spec.id, f.error, f.stage, f.exit_code);
    return {nullptr, code, f.error.str()};
  }
  return {std::move(*container), 0, ""};
}

runtime::SupervisorOptions MakeSupervisorOptions(const spec::TaskSpec& spec,
                                                 const std::string& task_dir, bool keep,
                                                 runtime::TaskState state) {
  runtime::SupervisorOptions so;
  so.task_dir = task_dir;
  so.control = keep;
  so.keep_state = keep;
  so.spec = spec;
  so.state = std::move(state);
  so.on_exit = [status_file = spec.output.status_file, id = spec.id](const runtime::ExitState& s) {
    WriteStatus(status_file, id, s);
  };
  return so;
}

int RunForeground(const spec::TaskSpec& spec, const TaskOptions& opts, const GlobalOptions& global,
                  const std::string& task_dir, const int stdio[3]) {
  runtime::TaskState st = InitialState(spec, global, opts);
  if (opts.named) {
    if (auto s = RecordInitialState(task_dir, st); !s)
      return SetupFailed(spec.output.status_file, spec.id, s.error(), "state", 125);
  }
  runtime::BlockSupervisorSignals();
  LaunchResult l = LaunchTask(spec, global, task_dir, stdio);
  if (!l.container) {
    runtime::UnblockSupervisorSignals();
    return l.exit_code;
  }
  if (l.container->cgroup()) st.cgroup = l.container->cgroup()->path();
  runtime::Supervisor supervisor(std::move(l.container),
                                 MakeSupervisorOptions(spec, task_dir, opts.named, st));
  if (auto s = supervisor.Start(); !s) {
    runtime::UnblockSupervisorSignals();
    return SetupFailed(spec.output.status_file, spec.id, s.error(), "supervisor", 125);
  }
  runtime::ExitState state = supervisor.Run();
  if (state.oom_killed) log::Info("task was killed by the OOM killer");
  if (state.signal == SIGSYS) log::Warn("task was killed by its seccomp profile (SIGSYS)");
  return state.exit_code;
}

void Report(int fd, const nlohmann::json& j) {
  std::string line = j.dump() + "\n";
  (void)!::write(fd, line.data(), line.size());
}

}  // namespace

void SuperviseDetached(const spec::TaskSpec& spec, const TaskOptions& opts,
                       const GlobalOptions& global, const std::string& task_dir, int report_fd,
                       int parent_watch_fd) {
  const auto fail = [&](int code, const std::string& message) {
    (void)runtime::RemoveTaskDir(task_dir);
    Report(report_fd, {{"ok", false}, {"exit_code", code}, {"error", message}});
    ::_exit(code);
  };
  // The supervisor: its own session, no terminal, stdio away from the caller's.
  ::setsid();
  // Whoever started us may be gone before we report (a killed `run -d`): writing the report or
  // a log line must not kill the supervisor of a running task. The task gets its own
  // dispositions (runtime/child.cc).
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd own_log(::open((task_dir + "/supervisor.log").c_str(),
                          O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  ::dup2(devnull.get(), STDIN_FILENO);
  runtime::TaskState st = InitialState(spec, global, opts);
  if (auto s = RecordInitialState(task_dir, st); !s)
    fail(SetupFailed(spec.output.status_file, spec.id, s.error(), "state", 125), s.error().str());

  int pipes[2][2] = {{-1, -1}, {-1, -1}};
  UniqueFd files[2];
  int stdio[3] = {devnull.get(), -1, -1};
  const std::string* paths[2] = {&spec.output.stdout_path, &spec.output.stderr_path};
  const char* flags[2] = {"--stdout", "--stderr"};
  for (int i = 0; i < 2; ++i) {
    if (!paths[i]->empty()) {
      auto fd = OpenOutput(flags[i], *paths[i]);
      if (!fd) fail(SetupFailed(spec.output.status_file, spec.id, fd.error(), "config", 125), fd.error().str());
      files[i] = std::move(*fd);
      stdio[1 + i] = files[i].get();
    } else if (::pipe2(pipes[i], O_CLOEXEC) == 0) {
      stdio[1 + i] = pipes[i][1];
    }
  }

  runtime::BlockSupervisorSignals();
  LaunchResult l = LaunchTask(spec, global, task_dir, stdio);
  if (!l.container) fail(l.exit_code, l.error);
  // Our copies of the write ends go, so EOF arrives when the task's side closes.
  for (auto& p : pipes)
    if (p[1] >= 0) ::close(p[1]);
  for (auto& f : files) f.reset();
  st.cgroup = l.container->cgroup() ? l.container->cgroup()->path() : "";
  pid_t pid = l.container->pid();
  auto so = MakeSupervisorOptions(spec, task_dir, true, st);
  so.detached = true;
  so.output[0] = pipes[0][0];
  so.output[1] = pipes[1][0];
  so.logs = opts.logs;
  so.parent_watch_fd = parent_watch_fd;
  runtime::Supervisor supervisor(std::move(l.container), std::move(so));
  if (auto s = supervisor.Start(); !s)
    fail(SetupFailed(spec.output.status_file, spec.id, s.error(), "supervisor", 125), s.error().str());
  // Report only once the supervisor owns the task and listens; from here on our stdout and
  // stderr are the supervisor's log file (or nothing: never the caller's, who may be gone).
  Report(report_fd, {{"ok", true}, {"id", spec.id}, {"pid", pid}});
  ::close(report_fd);
  int log_fd = own_log ? own_log.get() : devnull.get();
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  // From here on only the event loop runs, for as long as the task lives.
  sys::TrimResidentSet();
  supervisor.Run();
  if (opts.rm) (void)runtime::RemoveTaskDir(task_dir);
  ::_exit(0);
}

namespace {

// `run --detach`: a forked session leader supervises the task; we return once it runs.
int RunDetached(const spec::TaskSpec& spec, const TaskOptions& opts, const GlobalOptions& global,
                const std::string& task_dir) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    return SetupFailed(spec.output.status_file, spec.id, Error::Errno(errno, "pipe2"), "config", 125);
  pid_t pid = ::fork();
  if (pid < 0)
    return SetupFailed(spec.output.status_file, spec.id, Error::Errno(errno, "fork"), "config", 125);
  if (pid == 0) {
    ::close(report[0]);
    SuperviseDetached(spec, opts, global, task_dir, report[1], -1);
  }
  ::close(report[1]);
  std::string msg;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  ::close(report[0]);
  try {
    auto j = nlohmann::json::parse(msg);
    if (j.value("ok", false)) {
      std::printf("%s\n", spec.id.c_str());
      return 0;
    }
    ::waitpid(pid, nullptr, 0);
    return j.value("exit_code", 125);  // the supervisor printed the error already
  } catch (const std::exception&) {
    // The supervisor died before reporting (killed, crashed): its task died with it, but the
    // cgroup it may have created stays unless we remove it.
    int status = 0;
    ::waitpid(pid, &status, 0);
    runtime::TaskState st;
    st.id = spec.id;
    st.cgroup_parent = global.cgroup_parent;
    if (auto s = CleanupCgroup(st, global.cgroup_parent); !s) log::Warn(s.error().str());
    (void)runtime::RemoveTaskDir(task_dir);
    std::string why = WIFSIGNALED(status) ? fmt::format(" (killed by signal {})", WTERMSIG(status))
                      : WIFEXITED(status) ? fmt::format(" (exit status {})", WEXITSTATUS(status))
                                          : "";
    return PrintError(fmt::format("task {}: its supervisor exited during launch{}", spec.id, why), 125);
  }
}

// Flags plus an optional --spec file: the file is the base, every flag given overrides it.
// Then the host-side checks (cli/preflight.h): bad input fails before anything is created.
Result<spec::TaskSpec> BuildSpec(const RunFlags& flags,
                                 const std::function<bool(std::string_view)>& given) {
  if (flags.spec_file.empty()) {
    ISOEXEC_ASSIGN_OR_RETURN(spec::TaskSpec s, ToSpec(flags, true));
    ISOEXEC_TRY(Preflight(s));
    return s;
  }
  ISOEXEC_ASSIGN_OR_RETURN(spec::TaskSpec from_flags, ToSpec(flags, false));
  ISOEXEC_ASSIGN_OR_RETURN(std::string text, ReadFile(flags.spec_file).map_error([&](Error e) {
    return Error::Invalid("--spec", e.str());
  }));
  ISOEXEC_ASSIGN_OR_RETURN(spec::TaskSpec merged, spec::ParseSpecJson(text, {.validate = false}));
  spec::OverlayFlags(from_flags, given, &merged);
  // Blame the file when the offending value came from it.
  const auto blame = [&](Error e) {
    const auto& field = e.field();
    if (!field.empty() && !given(field)) return spec::AsSpecFileError(e);
    return e;
  };
  if (auto v = spec::Validate(merged); !v) return Fail(blame(std::move(v.error())));
  if (auto v = Preflight(merged); !v) return Fail(blame(std::move(v.error())));
  return merged;
}

int Run(const RunFlags& flags, const GlobalOptions& global,
        const std::function<bool(std::string_view)>& given) {
  auto spec = BuildSpec(flags, given);
  if (!spec) {
    std::string id = flags.name.empty() ? runtime::GenerateTaskId() : flags.name;
    return SetupFailed(flags.status_file, id, spec.error(), "config", 125);
  }
  if (auto g = PreflightGlobal(global); !g) return SetupFailed(spec->output.status_file, spec->id, g.error(), "config", 125);
  TaskOptions opts;
  opts.named = !spec->id.empty();
  opts.detach = flags.detach;
  opts.rm = flags.rm;
  auto max_size = ParseSize("--log-max-size", flags.log_max_size);
  if (max_size && *max_size == 0) max_size = Fail(Error::Invalid("--log-max-size", "must not be 0"));
  if (!max_size) return SetupFailed(spec->output.status_file, spec->id, max_size.error(), "config", 125);
  auto max_files = ParseInt("--log-max-files", flags.log_max_files, 1, 1000);
  if (!max_files) return SetupFailed(spec->output.status_file, spec->id, max_files.error(), "config", 125);
  opts.logs.max_size = *max_size;
  opts.logs.max_files = static_cast<unsigned>(*max_files);
  if (spec->id.empty()) spec->id = runtime::GenerateTaskId();

  // The claim's lock is held (by us, and by the detached supervisor we fork) for as long as
  // the task is being launched or supervised.
  auto claim = runtime::CreateTaskDir(global.state_dir, spec->id);
  if (!claim) {
    Error e = std::move(claim.error());
    if (e.code() == Code::kAlreadyExists) {
      // The id came from --name, or from the spec file's /id.
      e = Error::Invalid("--name", fmt::format("a task with id \"{}\" already exists", spec->id));
      if (!flags.spec_file.empty() && !given("--name")) e = spec::AsSpecFileError(e);
    } else {
      e = std::move(e).With("--state-dir");
    }
    return SetupFailed(spec->output.status_file, spec->id, e, "config", 125);
  }
  const std::string* task_dir = &claim->dir;
  if (opts.detach) return RunDetached(*spec, opts, global, *task_dir);

  UniqueFd out, err;
  int stdio[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  // A foreground task without a name (or with --rm) leaves no state behind.
  struct DirGuard {
    std::string dir;
    bool armed;
    ~DirGuard() {
      if (!armed) return;
      if (auto r = runtime::RemoveTaskDir(dir); !r) log::Warn(r.error().str());
    }
  } dir_guard{*task_dir, !opts.named || opts.rm};
  const std::string* paths[2] = {&spec->output.stdout_path, &spec->output.stderr_path};
  const char* names[2] = {"--stdout", "--stderr"};
  UniqueFd* holders[2] = {&out, &err};
  for (int i = 0; i < 2; ++i) {
    if (paths[i]->empty()) continue;
    auto fd = OpenOutput(names[i], *paths[i]);
    if (!fd) {
      dir_guard.armed = true;
      return SetupFailed(spec->output.status_file, spec->id, fd.error(), "config", 125);
    }
    *holders[i] = std::move(*fd);
    stdio[1 + i] = holders[i]->get();
  }
  int code = RunForeground(*spec, opts, global, *task_dir, stdio);
  // A failed launch leaves nothing, named or not.
  if (runtime::ReadTaskState(*task_dir).value_or(runtime::TaskState{}).status ==
      runtime::TaskStatus::kCreated)
    dir_guard.armed = true;
  return code;
}

}  // namespace

void AddRunCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run COMMAND in a new container (foreground, or -d under a supervisor)");
  // Everything after COMMAND belongs to the task (`isoexec run sh -c 'ls /'`).
  run->prefix_command();
  run->allow_extras();
  run->fallthrough(false);
  const char* kFs = "Filesystem";
  const char* kProc = "Process";
  const char* kNs = "Namespaces";
  const char* kRes = "Resources";
  const char* kSec = "Security";
  const char* kLife = "Lifecycle";
  const char* kOut = "Output";

  run->add_option("--rootfs", flags->rootfs,
                  "Task root directory, read-write (Nomad's task dir). Default: an ephemeral root "
                  "of read-only chroot env mounts with a private writable /tmp")
      ->type_name("DIR")->group(kFs);
  run->add_option("--chroot-env", flags->chroot_env,
                  "Host path made visible read-only at TASK (default TASK=HOST); replaces the "
                  "default set /bin /etc /lib /lib32 /lib64 /sbin /usr /run/resolvconf "
                  "/run/systemd/resolve (repeatable)")
      ->type_name("HOST[:TASK]")->group(kFs);
  run->add_option("--bind", flags->binds,
                  "Bind mount; OPTS: ro|rw and private|rslave|rshared (default rw,private; "
                  "repeatable)")
      ->type_name("HOST:TASK[:OPTS]")->group(kFs);
  run->add_option("--device", flags->devices,
                  "Device node, PERMS a subset of rwm (default rwm), also allowed in the device "
                  "cgroup (repeatable)")
      ->type_name("HOST[:TASK[:PERMS]]")->group(kFs);
  run->add_flag("--no-pivot-root", flags->no_pivot_root,
                "Use MS_MOVE + chroot instead of pivot_root (for roots that cannot be pivoted)")
      ->group(kFs);
  run->add_option("--workdir", flags->workdir, "Absolute working directory inside the task")
      ->type_name("DIR")->default_str("/")->group(kFs);

  run->add_option("--env", flags->env,
                  "Environment variable (repeatable). The task sees only these, a default PATH "
                  "when none is given, and USER/LOGNAME/HOME with --user")
      ->type_name("KEY=VALUE")->group(kProc);
  run->add_option("--user", flags->user,
                  "User to run as, resolved in the task root's /etc/passwd and /etc/group "
                  "(numeric ids need no entry). Default: root")
      ->type_name("NAME|UID[:GROUP|GID]")->group(kProc);
  run->add_option("--oom-score-adj", flags->oom_score_adj,
                  "OOM score adjustment, -1000..1000; the task never inherits isoexec's own")
      ->type_name("N")->default_str("0")->group(kProc);

  run->add_option("--pid", flags->pid, "PID namespace: private or host")
      ->type_name("private|host")->default_str("private")->group(kNs);
  run->add_option("--ipc", flags->ipc, "IPC namespace: private or host")
      ->type_name("private|host")->default_str("private")->group(kNs);
  run->add_flag("--no-init", flags->no_init,
                "Make COMMAND PID 1 itself instead of isoexec's minimal init (then only SIGKILL "
                "stops it unless it installs handlers)")
      ->group(kNs);
  run->add_option("--net", flags->net,
                  "Network: host, none (new netns with loopback up) or PATH of a netns to join")
      ->type_name("host|none|PATH")->default_str("host")->group(kNs);
  run->add_option("--hostname", flags->hostname, "New UTS namespace with this hostname")
      ->type_name("NAME")->group(kNs);

  run->add_option("--memory", flags->memory,
                  "Memory limit in bytes (K/M/G/T suffixes, base 1024), e.g. 256M; hard unless "
                  "--memory-max is given")
      ->type_name("SIZE")->group(kRes);
  run->add_option("--memory-max", flags->memory_max,
                  "Hard memory limit; --memory then becomes the soft reservation")
      ->type_name("SIZE|unlimited")->group(kRes);
  run->add_option("--cpu-shares", flags->cpu_shares,
                  "Relative CPU weight 2..262144 (cgroup v2: converted to cpu.weight)")
      ->type_name("N")->group(kRes);
  run->add_option("--cpuset", flags->cpuset, "CPUs the task may run on, e.g. 0-1")
      ->type_name("CPUS")->group(kRes);
  run->add_option("--pids-max", flags->pids_max, "Maximum number of processes")
      ->type_name("N")->group(kRes);

  run->add_option("--cap-add", flags->cap_add,
                  "Add a capability (case-insensitive, with or without CAP_; repeatable)")
      ->type_name("CAP")->group(kSec);
  run->add_option("--cap-drop", flags->cap_drop, "Drop a capability, or all (repeatable)")
      ->type_name("CAP|all")->group(kSec);
  run->add_option("--seccomp", flags->seccomp,
                  "Seccomp profile: default, unconfined or a JSON profile FILE (docs/seccomp.md)")
      ->type_name("default|unconfined|FILE")->default_str("default")->group(kSec);
  run->add_flag("--allow-new-privileges", flags->allow_new_privileges,
                "Do not set no_new_privs (DANGEROUS: lets setuid binaries gain privileges)")
      ->group(kSec);

  run->add_option("--kill-signal", flags->kill_signal, "Signal for a graceful stop")
      ->type_name("SIG")->default_str("SIGTERM")->group(kLife);
  run->add_option("--kill-timeout", flags->kill_timeout,
                  "Grace period after the stop signal before every process is killed")
      ->type_name("DURATION")->default_str("5s")->group(kLife);
  run->add_option("--timeout", flags->timeout, "Wall-clock limit, then a graceful stop")
      ->type_name("DURATION")->group(kLife);
  run->add_option("--spec", flags->spec_file,
                  "JSON task spec (see `isoexec spec`, docs/spec.md); flags given override it")
      ->type_name("FILE")->group("Config file");
  run->add_option("--name", flags->name, "Task id (1-64 of [A-Za-z0-9_.-])")
      ->type_name("ID")->group(kLife);

  run->add_flag("-d,--detach", flags->detach,
                "Run in the background under a per-task supervisor; prints the task ID once it runs")
      ->group(kLife);
  run->add_flag("--rm", flags->rm, "Delete the task's state when it ends")->group(kLife);
  run->add_option("--log-max-size", flags->log_max_size,
                  "Detached: rotate the stdout/stderr log at this size")
      ->type_name("SIZE")->default_str("10M")->group(kOut);
  run->add_option("--log-max-files", flags->log_max_files,
                  "Detached: log files kept per stream, the current one included")
      ->type_name("N")->default_str("10")->group(kOut);
  run->add_option("--stdout", flags->stdout_path, "Write the task's stdout to FILE (appends)")
      ->type_name("FILE")->group(kOut);
  run->add_option("--stderr", flags->stderr_path, "Write the task's stderr to FILE (appends)")
      ->type_name("FILE")->group(kOut);
  run->add_option("--status-file", flags->status_file,
                  "Write the exit status as JSON to FILE on every outcome")
      ->type_name("FILE")->group(kOut);

  run->add_option("--stats-file", flags->stats_file,
                  "Record JSON Lines resource samples to FILE while the task runs (schema of `isoexec stats --json`)")
      ->type_name("FILE")->group(kOut);
  run->add_option("--stats-interval", flags->stats_interval, "Interval of --stats-file samples")
      ->type_name("DURATION")->default_str("1s")->group(kOut);

  run->footer(R"(Exit status: the task's exit code; 128+N when killed by signal N;
125 isoexec failed (bad flag, setup failure); 126 COMMAND cannot be executed; 127 not found.

Examples:
  isoexec run -- sh -c 'ls /'                      # default ephemeral root, read-only host /usr
  isoexec run --rootfs ./rootfs -- /bin/echo hi    # a task directory as root
  isoexec run --memory 256M --cpu-shares 512 --pids-max 64 -- ./job
  isoexec run --user nobody --cap-drop all --seccomp default -- id
  isoexec run --bind /srv/data:/data:ro --device /dev/fuse -- ls /data)");

  run->callback([flags, &global, exit_code, run] {
    flags->command = run->remaining();
    if (Tail().present) {
      if (!flags->command.empty())
        throw CLI::ExtrasError("run", {flags->command.front()});
      flags->command = Tail().words;
    } else if (!flags->command.empty() && flags->command.front().size() > 1 &&
               flags->command.front()[0] == '-') {
      // prefix_command() stops at the first unknown token; an unknown option is still an error.
      throw CLI::ExtrasError("run", {flags->command.front()});
    }
    auto given = [run](std::string_view flag) {
      if (flag == "COMMAND") return Tail().present || !run->remaining().empty();
      try {
        return run->get_option(std::string(flag))->count() > 0;
      } catch (const CLI::OptionNotFound&) {
        return false;
      }
    };
    *exit_code = Run(*flags, global, given);
  });
}

}  // namespace isoexec::cli
