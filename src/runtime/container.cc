#include "runtime/container.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <climits>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "base/file.h"
#include "isolation/caps.h"
#include "isolation/lookup.h"
#include "isolation/mount_plan.h"
#include "isolation/seccomp.h"
#include "isolation/user.h"
#include "runtime/child.h"
#include "runtime/security_plan.h"
#include "runtime/sync_protocol.h"
#include "runtime/task_env.h"
#include "sys/resident.h"
#include "sys/syscalls.h"

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

namespace isoexec::runtime {

namespace {


tl::unexpected<LaunchFailure> Failure(Error e, std::string stage, int exit_code = kExitSetupFailed) {
  int err = e.sys_errno();
  return tl::unexpected<LaunchFailure>(LaunchFailure{std::move(e), exit_code, std::move(stage), err});
}

// Everything the child reads, kept alive in the parent until the child has exec'd.
struct Prepared {
  isolation::MountPlan plan;
  isolation::FoundBinary binary;
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;
  isolation::UserIds user;
  isolation::CapSets caps{};
  std::vector<sock_filter> seccomp;
  UniqueFd netns;
};

isolation::RootView MakeView(const spec::TaskSpec& spec, const std::string& rootfs) {
  isolation::RootView view;
  view.rootfs = rootfs;
  const auto& env = spec.root.chroot_env_given ? spec.root.chroot_env
                    : rootfs.empty()           ? spec::DefaultChrootEnv()
                                               : spec.root.chroot_env;
  for (const auto& e : env) view.mappings.push_back({e.host, e.task, false});
  for (const auto& m : spec.mounts) view.mappings.push_back({m.host, m.task, !m.readonly});
  return view;
}

tl::expected<void, LaunchFailure> Prepare(const spec::TaskSpec& spec, const std::string& root,
                                          const std::string& rootfs,
                                          const std::vector<isolation::DeviceNode>& devices,
                                          Prepared* p) {
  if (spec.process.argv.empty())
    return Failure(Error::Invalid("command", "no command given"), "config");
  auto plan = isolation::BuildMountPlan(spec, root, devices);
  if (!plan) return Failure(std::move(plan.error()), "config");
  p->plan = std::move(*plan);

  isolation::RootView view = MakeView(spec, rootfs);
  auto bin = isolation::LookupTaskBin(view, spec.process.argv[0]);
  if (!bin) {
    int code = bin.error().code() == Code::kNotFound ? kExitNotFound : kExitSetupFailed;
    return Failure(std::move(bin.error()), "lookup", code);
  }
  p->binary = std::move(*bin);

  // Identity from the task root's own /etc/passwd and /etc/group.
  if (!spec.process.user.empty()) {
    auto user = isolation::ResolveUser(spec.process.user,
                                       isolation::ReadTaskFile(view, "/etc/passwd"),
                                       isolation::ReadTaskFile(view, "/etc/group"));
    if (!user) return Failure(std::move(user.error()), "user");
    p->user = std::move(*user);
  }
  auto security = PrepareSecurity(spec, p->user.uid);
  if (!security) return Failure(std::move(security.error()), "security");
  p->caps = security->caps;
  p->seccomp = std::move(security->seccomp);

  // Whether isoexec may set a lower oom_score_adj is the kernel's call (CAP_SYS_RESOURCE and
  // the process's minimum): the child's write decides, and its error names --oom-score-adj.

  // argv[0] is the in-task path (Nomad).
  p->argv_storage = spec.process.argv;
  p->argv_storage[0] = p->binary.task_path;
  p->env_storage = TaskEnvironment(spec, spec.process.user.empty() ? nullptr : &p->user);
  for (auto& a : p->argv_storage) p->argv.push_back(a.data());
  p->argv.push_back(nullptr);
  for (auto& e : p->env_storage) p->envp.push_back(e.data());
  p->envp.push_back(nullptr);

  const auto& net = spec.namespaces.net;
  if (net != "host" && net != "none") {
    p->netns.reset(::open(net.c_str(), O_RDONLY | O_CLOEXEC));
    if (!p->netns) return Failure(Error::Errno(errno, fmt::format("--net: open `{}`", net)), "config");
  }
  return {};
}

std::vector<cgroup::DeviceRule> DeviceRules(const std::vector<isolation::DeviceNode>& devices) {
  auto rules = cgroup::DefaultDeviceRules();
  for (const auto& d : devices) {
    cgroup::DeviceRule r;
    r.type = S_ISBLK(d.mode) ? 'b' : 'c';
    r.major = major(d.dev);
    r.minor = minor(d.dev);
    r.access = d.perms;
    rules.push_back(r);
  }
  return rules;
}

// The flag or spec field a child setup step belongs to, so every error names it.
std::string_view FlagForStep(std::string_view step) {
  struct Map {
    std::string_view prefix, flag;
  };
  static constexpr Map kMap[] = {
      {"bind", "--bind/--chroot-env"},        {"create mount point", "--bind/--chroot-env"},
      {"stat bind source", "--bind/--chroot-env"}, {"mknod", "--device"},
      {"create device", "--device"},          {"chdir", "--workdir"},
      {"sethostname", "--hostname"},          {"join network", "--net"},
      {"bring up loopback", "--net"},         {"socket", "--net"},
      {"oom_score_adj", "--oom-score-adj"},   {"seccomp", "--seccomp"},
      {"setresuid", "--user"},                {"setresgid", "--user"},
      {"setgroups", "--user"},                {"cap", "--cap-add/--cap-drop"},
      {"keepcaps", "--cap-add/--cap-drop"},   {"ambient", "--cap-add/--cap-drop"},
      {"mount root tmpfs", "root"},           {"bind root", "--rootfs"},
      {"pivot_root", "--rootfs (try --no-pivot-root)"},
  };
  for (const auto& m : kMap)
    if (step.substr(0, m.prefix.size()) == m.prefix) return m.flag;
  return {};
}

std::string Message(const SyncMsg& m) {
  std::string step(m.step), path(m.path);
  if (m.exec_failed) {
    if (m.err == ENOENT)
      return fmt::format("exec `{}`: {} (is its interpreter or a library missing in the task root?)",
                         path, std::strerror(m.err));
    return fmt::format("exec `{}`: {}", path, std::strerror(m.err));
  }
  std::string_view flag = FlagForStep(step);
  return fmt::format("{}{}container setup failed at {} `{}`: {}", flag, flag.empty() ? "" : ": ",
                     step, path, std::strerror(m.err));
}

// First child of `pid` (the task forked by init).
pid_t FirstChild(pid_t pid) {
  std::ifstream f(fmt::format("/proc/{}/task/{}/children", pid, pid));
  pid_t child = 0;
  f >> child;
  return child;
}

}  // namespace

Result<std::string> ResolveRootfs(const std::string& rootfs) {
  if (rootfs.empty()) return std::string();
  char real[PATH_MAX];
  if (!::realpath(rootfs.c_str(), real))
    return Fail(Error::Invalid("--rootfs", fmt::format("`{}`: {}", rootfs, std::strerror(errno))));
  struct stat st {};
  if (::stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
    return Fail(Error::Invalid("--rootfs", fmt::format("`{}` is not a directory", rootfs)));
  if (std::string(real) == "/")
    return Fail(Error::Invalid("--rootfs", "the host root \"/\" cannot be a task root"));
  return std::string(real);
}

Result<int> WaitPidfd(int pidfd, struct rusage* usage) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  // The raw syscall takes a rusage pointer (glibc's waitid does not).
  if (::syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, usage) != 0)
    return Fail(Error::Errno(errno, "waitid"));
  if (info.si_code == CLD_EXITED) return W_EXITCODE(info.si_status, 0);
  return W_EXITCODE(0, info.si_status);  // killed or dumped: the signal number
}

tl::expected<std::unique_ptr<Container>, LaunchFailure> Container::Launch(
    const spec::TaskSpec& spec, const LaunchOptions& options) {
  auto rootfs = ResolveRootfs(spec.root.rootfs);
  if (!rootfs) return Failure(std::move(rootfs.error()), "config");
  std::string root = *rootfs;
  if (root.empty()) {
    root = options.task_dir + "/root";
    if (::mkdir(root.c_str(), 0755) != 0 && errno != EEXIST)
      return Failure(Error::Errno(errno, fmt::format("mkdir `{}`", root)), "config");
  }
  auto devices = isolation::ResolveDevices(spec.devices);
  if (!devices) return Failure(std::move(devices.error()), "config");

  auto prepared = std::make_unique<Prepared>();
  if (auto r = Prepare(spec, root, *rootfs, *devices, prepared.get()); !r)
    return tl::unexpected(std::move(r.error()));
  Prepared& p = *prepared;

  std::unique_ptr<Container> c(new Container());
  // Every task gets its own cgroup: it is how all of its processes are found and killed.
  auto layout = cgroup::DetectLayout();
  if (!layout) return Failure(std::move(layout.error()), "cgroup");
  cgroup::Limits limits = cgroup::FromResources(spec.resources);
  limits.devices = DeviceRules(*devices);
  auto cg = cgroup::Create(*layout, {options.cgroup_parent, spec.id}, limits);
  if (!cg) return Failure(std::move(cg.error()), "cgroup");
  c->cgroup_ = std::move(*cg);
  // From here on, a failure must remove the cgroup.
  auto rollback = [&c] {
    if (c->cgroup_) (void)c->cgroup_->Destroy();
  };

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    rollback();
    return Failure(Error::Errno(errno, "socketpair"), "sync");
  }
  UniqueFd parent_end(sv[0]), child_end(sv[1]);

  ChildConfig cfg;
  cfg.sync_fd = child_end.get();
  cfg.plan = &p.plan;
  cfg.no_pivot_root = spec.root.no_pivot_root;
  const bool private_pid = spec.namespaces.pid == spec::NsMode::kPrivate;
  cfg.run_init = private_pid && spec.namespaces.init;
  cfg.hostname = spec.namespaces.hostname.empty() ? nullptr : spec.namespaces.hostname.c_str();
  cfg.netns_fd = p.netns.get();
  cfg.loopback_up = spec.namespaces.net == "none";
  for (int i = 0; i < 3; ++i) cfg.stdio[i] = options.stdio[i];
  cfg.oom_score_adj = spec.process.oom_score_adj;
  cfg.exec_path = p.binary.task_path.c_str();
  cfg.argv = p.argv.data();
  cfg.envp = p.envp.data();
  cfg.workdir = spec.process.workdir.c_str();
  cfg.uid = p.user.uid;
  cfg.gid = p.user.gid;
  cfg.groups = p.user.groups.data();
  cfg.ngroups = p.user.groups.size();
  cfg.caps = p.caps;
  cfg.seccomp = p.seccomp.empty() ? nullptr : p.seccomp.data();
  cfg.seccomp_len = p.seccomp.size();
  cfg.no_new_privs = !spec.security.allow_new_privileges;

  uint64_t flags = CLONE_NEWNS | CLONE_PIDFD | CLONE_CLEAR_SIGHAND;
  if (private_pid) flags |= CLONE_NEWPID;
  if (spec.namespaces.ipc == spec::NsMode::kPrivate) flags |= CLONE_NEWIPC;
  if (cfg.hostname) flags |= CLONE_NEWUTS;
  if (cfg.loopback_up) flags |= CLONE_NEWNET;

  std::vector<UniqueFd> join_fds = OpenSelfJoin(*c->cgroup_, &cfg.cgroup_join);
  cfg.text = &sys::ProgramText();

  // Orphans of a --pid host task come to us, not to the host's init, even when the task's
  // main process exits before the caller's supervisor loop starts.
  if (!private_pid) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  int pidfd = -1;
  sys::CloneArgs args;
  args.flags = flags;
  args.pidfd = &pidfd;
  args.cgroup_fd = c->cgroup_->CloneIntoFd();
  bool used_clone3 = true;
  pid_t pid = sys::Clone(args, &used_clone3);
  if (pid < 0 && errno == EINVAL) {
    // CLONE_CLEAR_SIGHAND is 5.5+; the child resets handlers by exec anyway.
    args.flags &= ~static_cast<uint64_t>(CLONE_CLEAR_SIGHAND);
    pid = sys::Clone(args, &used_clone3);
  }
  if (pid == 0) {
    ::close(sv[0]);
    ChildMain(cfg);
  }
  if (pid < 0) {
    int e = errno;
    rollback();
    return Failure(Error::Errno(e, "clone3"), "clone");
  }
  c->child_pid_ = pid;
  c->pidfd_.reset(pidfd);
  c->sync_ = std::move(parent_end);
  child_end.reset();
  c->has_init_ = cfg.run_init;
  c->started_at_ = std::chrono::system_clock::now();

  const auto fail_after_clone = [&](Error e, std::string stage, int code) {
    ::kill(pid, SIGKILL);
    struct rusage ru {};
    (void)WaitPidfd(c->pidfd_.get(), &ru);
    rollback();
    c->cgroup_.reset();
    return Failure(std::move(e), std::move(stage), code);
  };

  // Without CLONE_INTO_CGROUP (v1, or the clone fallback) the child joins before it runs.
  join_fds.clear();
  if ((args.cgroup_fd < 0 || !used_clone3) && cfg.cgroup_join.n == 0) {
    if (auto s = c->cgroup_->AddProcess(pid); !s)
      return fail_after_clone(std::move(s.error()), "cgroup", kExitSetupFailed);
  }
  SyncMsg go;
  std::memset(&go, 0, sizeof go);
  go.type = MsgType::kGo;
  if (::send(c->sync_.get(), &go, sizeof go, MSG_NOSIGNAL) != sizeof go)
    return fail_after_clone(Error::Errno(errno, "send go to child"), "sync", kExitSetupFailed);

  for (;;) {
    SyncMsg m;
    ssize_t n = ::recv(c->sync_.get(), &m, sizeof m, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_after_clone(Error::Errno(errno, "recv from child"), "sync", kExitSetupFailed);
    if (n == 0) {
      if (!c->has_init_) break;  // EOF: the sync socket closed at execve
      return fail_after_clone(Error::Make(Code::kInternal, "task init exited during setup"),
                              "init", kExitSetupFailed);
    }
    if (n != sizeof m) continue;
    if (m.type == MsgType::kSetupError) {
      int code = !m.exec_failed ? kExitSetupFailed
                 : m.err == ENOENT ? kExitNotFound
                                   : kExitCannotExecute;
      Error e(m.err == ENOENT ? Code::kNotFound : Code::kInternal, Message(m), m.err);
      return fail_after_clone(std::move(e), m.exec_failed ? "execve" : m.step, code);
    }
    if (m.type == MsgType::kExecOk) break;
  }
  c->task_pid_ = c->has_init_ ? FirstChild(pid) : pid;
  if (c->task_pid_ == 0) c->task_pid_ = pid;
  return c;
}

Container::~Container() = default;

Status Container::Signal(int sig) {
  if (collected_) return Ok();
  if (sys::PidfdSendSignal(pidfd_.get(), sig) != 0 && errno != ESRCH)
    return Fail(Error::Errno(errno, fmt::format("signal {} to task", sig)));
  return Ok();
}

Status Container::KillAll() {
  if (cgroup_) return cgroup_->KillAll();
  return Signal(SIGKILL);
}

ExitState Container::Collect(std::optional<int> reaped_status) {
  if (collected_) return exit_;
  ExitState s;
  s.pid = task_pid_;
  s.started_at = started_at_;
  struct rusage ru {};
  int status = 0;
  if (reaped_status) {
    status = *reaped_status;
  } else if (auto w = WaitPidfd(pidfd_.get(), &ru); w) {
    status = *w;
  }
  ApplyWaitStatus(status, &s);
  // With an init, the task's own status comes over the sync socket; init's status is only the
  // fallback (e.g. init itself was SIGKILLed).
  if (has_init_) {
    SyncMsg m;
    while (::recv(sync_.get(), &m, sizeof m, MSG_DONTWAIT) == sizeof m) {
      if (m.type == MsgType::kExit) ApplyWaitStatus(m.value, &s);
    }
  }
  s.finished_at = std::chrono::system_clock::now();
  s.cpu_user_ns = static_cast<uint64_t>(ru.ru_utime.tv_sec) * 1'000'000'000ULL +
                  static_cast<uint64_t>(ru.ru_utime.tv_usec) * 1000ULL;
  s.cpu_system_ns = static_cast<uint64_t>(ru.ru_stime.tv_sec) * 1'000'000'000ULL +
                    static_cast<uint64_t>(ru.ru_stime.tv_usec) * 1000ULL;
  s.memory_peak_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024ULL;
  if (cgroup_) {
    // Read before the cgroup is destroyed: the OOM verdict and totals live there.
    if (auto oom = cgroup_->OomKilled(); oom) s.oom_killed = *oom;
    if (auto st = cgroup_->ReadStats(); st) {
      if (st->cpu_user_ns || st->cpu_system_ns) {
        s.cpu_user_ns = st->cpu_user_ns;
        s.cpu_system_ns = st->cpu_system_ns;
      }
      if (st->max_usage) s.memory_peak_bytes = st->max_usage;
    }
  }
  collected_ = true;
  exit_ = s;
  return s;
}

Status Container::Destroy() {
  if (!cgroup_) return Ok();
  auto s = cgroup_->Destroy();
  if (s) cgroup_.reset();
  return s;
}

}  // namespace isoexec::runtime
