// `exec` into a running task. The caller prepares everything (ids, caps, seccomp program,
// argv/envp, search candidates, fds); the intermediate and the final process run between fork
// and execve: raw syscalls, stack buffers and that prepared data only.
//
// Protocol over a socketpair(SOCK_SEQPACKET|SOCK_CLOEXEC), fixed-size ExecMsg:
//
//   caller                        intermediate                      final process
//   clone3(CLONE_PIDFD [, CLONE_INTO_CGROUP]) ->
//                                 non-dumpable, waits for kGo
//                                 (v1: writes "0" to the cgroup's `tasks` files)
//   kGo -------------------------> stdio onto 0..2, closes every other fd, setns(pidfd) into
//                                  the task's namespaces, chroot into /proc/<pid>/root
//                                  clone3(CLONE_PARENT|CLONE_PIDFD) -> waits for kRelease
//   <---------------------------- kSpawned {pid} + SCM_RIGHTS pidfd, exit 0
//   kRelease ---------------------------------------------------------> setsid, [pty]
//   <----------------------------------------------------------------- [kPty + SCM_RIGHTS master]
//                                                                     identity, caps, chdir,
//                                                                     fds CLOEXEC, seccomp,
//                                                                     execve (PATH search)
//   <---------------------------- kError {step, errno, path} from either (then exit 125/126/127)
//   EOF: the intermediate exited and the final process exec'd (or died).
//
// kRelease makes sure the final process never runs task code unless the caller holds its
// pidfd (to reap it): if the intermediate is killed between clone3 and kSpawned, or the
// caller dies, the final process sees EOF instead and exits.
#include "runtime/exec_into.h"

#include "runtime/security_plan.h"
#include "runtime/task_env.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "base/file.h"
#include "isolation/caps.h"
#include "isolation/seccomp.h"
#include "isolation/user.h"
#include "runtime/cgroup_join.h"
#include "runtime/exit_state.h"
#include "runtime/sync_protocol.h"
#include "sys/syscalls.h"

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

namespace isoexec::runtime {

namespace {

constexpr size_t kMaxTaskFile = 16u << 20;

enum class ExecMsgType : uint32_t { kGo = 1, kSpawned = 2, kRelease = 3, kPty = 4, kError = 5 };

struct ExecMsg {
  ExecMsgType type;
  int32_t err;          // kError: errno
  int32_t pid;          // kSpawned: the final process, in the caller's PID namespace
  int32_t exec_failed;  // kError: execve itself failed (126/127 semantics)
  int32_t exists;       // kError, execve ENOENT: the file exists (its interpreter is missing)
  char step[48];
  char path[256];
};

// The namespaces a task may have that we join when they differ from the caller's. A user
// namespace is never joined (isoexec does not create one); a task in one is refused.
struct NsKind {
  int flag;
  const char* name;
};
constexpr NsKind kNamespaces[] = {{CLONE_NEWNS, "mnt"},  {CLONE_NEWPID, "pid"},
                                  {CLONE_NEWIPC, "ipc"}, {CLONE_NEWUTS, "uts"},
                                  {CLONE_NEWNET, "net"}, {CLONE_NEWCGROUP, "cgroup"}};

// Everything the intermediate and the final process read; it lives in the caller until the
// final process exec'd.
struct ExecConfig {
  int sync_fd = -1;
  int pidfd = -1;   // the target process (setns)
  int rootfd = -1;  // O_PATH of /proc/<pid>/root: the task's root, pivot_root'ed or chroot'ed
  int stdio[3] = {-1, -1, -1};
  int ns_flags = 0;
  int oom_score_adj = 0;
  bool tty = false;
  struct winsize size {};
  const char* command = nullptr;  // argv[0] as given
  const char* const* candidates = nullptr;
  size_t ncandidates = 0;
  bool searched = false;  // candidates come from PATH (execvp semantics)
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* workdir = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  size_t ngroups = 0;
  isolation::CapSets caps{};
  const sock_filter* seccomp = nullptr;
  size_t seccomp_len = 0;
  bool no_new_privs = true;
  SelfJoinFds cgroup_join;  // v1: the intermediate joins the task's cgroups itself
};

// ---------------------------------------------------------------------------------------
// Child side (intermediate and final process): async-signal-safe only.

// The raw system call, not _exit(3): a sanitizer runtime intercepts _exit and takes its own
// locks there, which another thread of the (multi-threaded) caller may have held at clone time.
[[noreturn]] void ExitNow(int code) noexcept {
  ::syscall(SYS_exit_group, code);
  __builtin_unreachable();
}

void Send(int sock, const ExecMsg& m, int pass_fd) noexcept {
  struct iovec iov;
  iov.iov_base = const_cast<ExecMsg*>(&m);
  iov.iov_len = sizeof m;
  struct msghdr h;
  std::memset(&h, 0, sizeof h);
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  if (pass_fd >= 0) {
    std::memset(&u, 0, sizeof u);
    h.msg_control = u.buf;
    h.msg_controllen = sizeof u.buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  while (::sendmsg(sock, &h, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

void SendType(int sock, ExecMsgType type, int pid, int pass_fd) noexcept {
  ExecMsg m;
  std::memset(&m, 0, sizeof m);
  m.type = type;
  m.pid = pid;
  Send(sock, m, pass_fd);
}

[[noreturn]] void Die(const ExecConfig& c, const char* step, const char* path, int err,
                      bool exec_failed = false, bool exists = false) noexcept {
  ExecMsg m;
  std::memset(&m, 0, sizeof m);
  m.type = ExecMsgType::kError;
  m.err = err;
  m.exec_failed = exec_failed ? 1 : 0;
  m.exists = exists ? 1 : 0;
  CopyTrunc(m.step, sizeof m.step, step);
  CopyTrunc(m.path, sizeof m.path, path);
  Send(c.sync_fd, m, -1);
  int code = kExitSetupFailed;
  if (exec_failed) code = err == ENOENT ? kExitNotFound : kExitCannotExecute;
  ExitNow(code);
}

// Blocks for one message of `type` from the caller; EOF (the caller is gone) ends the process.
void Await(const ExecConfig& c, ExecMsgType type) noexcept {
  ExecMsg m;
  ssize_t n;
  while ((n = ::recv(c.sync_fd, &m, sizeof m, 0)) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof m) || m.type != type) ExitNow(kExitSetupFailed);
}

void WriteOomScoreAdj(const ExecConfig& c) noexcept {
  char buf[24];
  size_t n = 0;
  int v = c.oom_score_adj;
  if (v < 0) buf[n++] = '-';
  sys::FormatUint(buf + n, sizeof buf - n,
                  static_cast<uint64_t>(v < 0 ? -static_cast<int64_t>(v) : v));
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) Die(c, "open", "/proc/self/oom_score_adj", errno);
  if (::write(fd, buf, std::strlen(buf)) < 0) Die(c, "write", "/proc/self/oom_score_adj", errno);
  ::close(fd);
}

// Closes every fd not in keep[0..n) (sorted here, in place).
void CloseAllBut(int* keep, size_t n) noexcept {
  for (size_t i = 1; i < n; ++i)
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned next = 0;
  for (size_t i = 0; i < n; ++i) {
    if (keep[i] < 0) continue;
    unsigned k = static_cast<unsigned>(keep[i]);
    if (k > next) (void)sys::CloseRange(next, k - 1, 0);
    if (k + 1 > next) next = k + 1;
  }
  // Best effort (close_range is 5.9+): every fd is made CLOEXEC before execve anyway.
  (void)sys::CloseRange(next, ~0U, 0);
}

[[noreturn]] void ExecFailed(const ExecConfig& c, const char* path, int err,
                             bool exists = false) noexcept {
  Die(c, "execve", path, err, /*exec_failed=*/true, exists);
}

// execve, trying each candidate like execvp: a candidate that does not exist is skipped, one
// we may not execute is remembered, anything else is final.
[[noreturn]] void Execute(const ExecConfig& c) noexcept {
  const char* denied = nullptr;  // first EACCES
  const char* broken = nullptr;  // first that exists but gave ENOENT (interpreter/loader)
  for (size_t i = 0; i < c.ncandidates; ++i) {
    const char* path = c.candidates[i];
    ::execve(path, c.argv, c.envp);
    int err = errno;
    bool exists = err == ENOENT && ::faccessat(AT_FDCWD, path, F_OK, 0) == 0;
    if (!c.searched) ExecFailed(c, path, err, exists);
    if (err == EACCES) {
      if (!denied) denied = path;
      continue;
    }
    if (exists) {
      if (!broken) broken = path;
      continue;
    }
    if (err == ENOENT || err == ENOTDIR || err == ESTALE || err == ENODEV || err == ETIMEDOUT)
      continue;
    ExecFailed(c, path, err);
  }
  if (denied) ExecFailed(c, denied, EACCES);
  if (broken) ExecFailed(c, broken, ENOENT, /*exists=*/true);
  ExecFailed(c, c.command, ENOENT);
}

// The process that becomes the command: in the task's PID namespace, a child of the caller.
[[noreturn]] void FinalMain(const ExecConfig& c) noexcept {
  // The caller's dispositions (a supervisor's handlers, an ignored SIGPIPE) are not the task's.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    ::sigaction(s, &dfl, nullptr);  // EINVAL for libc-reserved signals is fine
  }
  Await(c, ExecMsgType::kRelease);
  // A session of its own: with a terminal it becomes the controlling one; without, signals
  // from the caller's terminal never reach it.
  if (::setsid() < 0) Die(c, "setsid", "exec process", errno);
  if (c.tty) {
    int slave = -1;
    const char* step = "pty";
    int master = OpenPtyPair(c.size, &slave, &step);
    if (master < 0) Die(c, step, "/dev/ptmx", errno);
    // Owned by the user, as login(1) does, so it can be reopened via /dev/tty or ttyname();
    // the group stays devpts' gid=5.
    if (c.uid != 0 && ::fchown(slave, c.uid, static_cast<gid_t>(-1)) != 0)
      Die(c, "fchown", "pty", errno);
    if (::ioctl(slave, TIOCSCTTY, 0) != 0) Die(c, "ioctl TIOCSCTTY", "pty", errno);
    SendType(c.sync_fd, ExecMsgType::kPty, 0, master);
    ::close(master);
    for (int i = 0; i < 3; ++i)
      if (::dup2(slave, i) < 0) Die(c, "dup2", "pty", errno);
    if (slave > 2) ::close(slave);
  }
  const char* step = nullptr;
  int err = isolation::ApplyCapabilities(c.caps, c.uid, c.gid, c.groups, c.ngroups, &step);
  if (err) Die(c, step ? step : "capabilities", "--user/--cap-add", err);
  // After the identity switch: changing credentials clears the parent-death signal.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Relative to the task root we chroot'ed into: an absolute workdir cannot leave it, and no
  // fd of the caller is our cwd (CVE-2024-21626 class).
  if (::chdir(c.workdir) != 0) Die(c, "chdir", c.workdir, errno);
  // Nothing of the caller's leaks into the task: the sync socket closes at execve too (its
  // EOF tells the caller that the command runs).
  if (sys::CloseRange(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) Die(c, "close_range", "fds", errno);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::umask(022);
  // Last: from here on only execve must still be allowed by the filter.
  if (c.seccomp_len || c.no_new_privs) {
    err = isolation::LoadSeccomp(c.seccomp, c.seccomp_len, c.no_new_privs);
    if (err) Die(c, "seccomp", "--seccomp", err);
  }
  Execute(c);
}

// Joins the task and spawns the final process. Never in the task's PID namespace itself
// (setns(CLONE_NEWPID) only affects children), never seen by task processes.
[[noreturn]] void IntermediateMain(const ExecConfig& c) noexcept {
  // Die with the caller: nobody else would release or reap us.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // CVE-2019-5736: once in the task's namespaces, task processes must not open our
  // /proc/<pid>/exe (isoexec's binary, to overwrite it), fd/ or mem, nor ptrace us.
  // Non-dumpable makes those root-owned and ptrace need CAP_SYS_PTRACE over the host; the
  // final process inherits it and its execve of the command resets it.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) Die(c, "prctl", "PR_SET_DUMPABLE", errno);
  if (int err = SelfJoin(c.cgroup_join)) Die(c, "join cgroup", "tasks", err);
  Await(c, ExecMsgType::kGo);  // v1 without self-join: the caller moved us into the cgroup
  // Still in the caller's mount namespace, where /proc/self is ours.
  WriteOomScoreAdj(c);
  // stdio onto 0..2 through copies above 2, so a source fd in 0..2 is never clobbered first
  // (the caller moved every other fd we need above 2).
  int tmp[3];
  for (int i = 0; i < 3; ++i) {
    tmp[i] = ::fcntl(c.stdio[i], F_DUPFD_CLOEXEC, 3);
    if (tmp[i] < 0) Die(c, "dup", "stdio", errno);
  }
  for (int i = 0; i < 3; ++i)
    if (::dup2(tmp[i], i) < 0) Die(c, "dup2", "stdio", errno);
  // Only what we need enters the task's namespaces: no fd of the caller's (a multi-threaded
  // supervisor's sockets, logs, other tasks' fds).
  int keep[] = {0, 1, 2, c.sync_fd, c.pidfd, c.rootfd};
  CloseAllBut(keep, sizeof keep / sizeof keep[0]);

  // One atomic join of every namespace that differs (pidfd form: Linux 5.8+).
  if (c.ns_flags && ::setns(c.pidfd, c.ns_flags) != 0)
    Die(c, "setns", "task namespaces", errno);
  // setns(CLONE_NEWNS) puts root and cwd at the namespace's root mount, which is the task's
  // root only after pivot_root. The target's own root is right either way (--no-pivot-root
  // chroots).
  if (::fchdir(c.rootfd) != 0) Die(c, "fchdir", "task root", errno);
  if (::chroot(".") != 0) Die(c, "chroot", "task root", errno);
  ::close(c.rootfd);
  ::close(c.pidfd);

  // CLONE_PARENT: the caller is the parent, so it reaps the command and gets its status.
  // clone3 wants exit_signal 0 with it: the child inherits ours (SIGCHLD), so the caller
  // waits for it like any child.
  int pidfd = -1;
  sys::CloneArgs args;
  args.flags = CLONE_PARENT | CLONE_PIDFD;
  args.pidfd = &pidfd;
  args.exit_signal = 0;
  pid_t pid = sys::Clone(args, nullptr);
  if (pid == 0) FinalMain(c);
  if (pid < 0) Die(c, "clone3", "exec process", errno);
  SendType(c.sync_fd, ExecMsgType::kSpawned, pid, pidfd);
  ExitNow(0);
}

// ---------------------------------------------------------------------------------------
// Caller side.

tl::unexpected<LaunchFailure> Failure(Error e, std::string stage,
                                      int exit_code = kExitSetupFailed) {
  int err = e.sys_errno();
  return tl::unexpected<LaunchFailure>(
      LaunchFailure{std::move(e), exit_code, std::move(stage), err});
}

Error NotRunning() {
  return Error::Make(Code::kFailedPrecondition, "exec: the task is not running");
}

struct Prepared {
  UniqueFd pidfd, procfd, rootfd, devnull;
  pid_t target_pid = 0;
  int ns_flags = 0;
  isolation::UserIds user;
  std::vector<std::string> argv_storage, env_storage, candidate_storage;
  std::vector<char*> argv, envp;
  std::vector<const char*> candidates;
  bool searched = false;
  std::string search_path;
  std::string workdir;
  isolation::CapSets caps{};
  std::vector<sock_filter> seccomp;
};

// The children put stdio on 0..2, so nothing else they use may live there.
Result<UniqueFd> AboveStdio(UniqueFd fd) {
  if (fd.get() > 2) return fd;
  UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
  if (!moved) return Fail(Error::Errno(errno, "fcntl F_DUPFD_CLOEXEC"));
  return moved;
}

// The pid behind a pidfd, in our PID namespace: the "Pid:" line of its fdinfo (-1 or 0 once
// the process was reaped).
Result<pid_t> PidOf(int pidfd) {
  auto info = ReadFile(fmt::format("/proc/self/fdinfo/{}", pidfd));
  if (!info) return Fail(std::move(info.error()));
  auto pos = info->find("\nPid:");
  if (pos == std::string::npos)
    return Fail(Error::Invalid("exec target", fmt::format("fd {} is not a pidfd", pidfd)));
  long pid = std::strtol(info->c_str() + pos + 5, nullptr, 10);
  if (pid <= 0) return Fail(NotRunning());
  return static_cast<pid_t>(pid);
}

// Opens /proc/<pid> of the process behind `pidfd`, race-free: pids are only reused after a
// reap, so if the pidfd's process still exists after the open, the dir is its.
Status OpenTarget(int pidfd, Prepared* p) {
  struct pollfd pfd = {pidfd, POLLIN, 0};
  if (::poll(&pfd, 1, 0) > 0) return Fail(NotRunning());  // readable: it exited
  ISOEXEC_ASSIGN_OR_RETURN(p->target_pid, PidOf(pidfd));
  std::string dir = fmt::format("/proc/{}", p->target_pid);
  p->procfd.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!p->procfd) return Fail(errno == ENOENT ? NotRunning() : Error::Errno(errno, fmt::format("open `{}`", dir)));
  if (sys::PidfdSendSignal(pidfd, 0) != 0)
    return Fail(errno == ESRCH ? NotRunning() : Error::Errno(errno, "pidfd_send_signal"));
  // The task's root as the task sees it: pivot_root'ed or chroot'ed.
  p->rootfd.reset(::openat(p->procfd.get(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!p->rootfd)
    return Fail(errno == ENOENT ? NotRunning()
                                : Error::Errno(errno, fmt::format("open `{}/root`", dir)));
  return Ok();
}

Status CompareNamespaces(Prepared* p) {
  // thread-self: the intermediate is forked from the calling thread, whose namespaces may
  // differ from the main thread's.
  struct stat mine {}, theirs {};
  if (::stat("/proc/thread-self/ns/user", &mine) == 0 &&
      ::fstatat(p->procfd.get(), "ns/user", &theirs, 0) == 0 && mine.st_ino != theirs.st_ino)
    return Fail(Error::Make(Code::kUnimplemented,
                            "exec: the task runs in its own user namespace, which isoexec does "
                            "not join"));
  for (const auto& ns : kNamespaces) {
    std::string self = std::string("/proc/thread-self/ns/") + ns.name;
    if (::stat(self.c_str(), &mine) != 0) continue;  // the kernel has no such namespace
    std::string rel = std::string("ns/") + ns.name;
    if (::fstatat(p->procfd.get(), rel.c_str(), &theirs, 0) != 0)
      return Fail(Error::Errno(errno, fmt::format("stat `/proc/{}/{}`", p->target_pid, rel)));
    if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev) p->ns_flags |= ns.flag;
  }
  return Ok();
}

// A regular file inside the task root, read by the caller (resolved inside the root, never
// following a link out of it; a FIFO or device planted there is not read). nullopt: absent.
std::optional<std::string> ReadInRoot(int rootfd, const char* rel) {
  // O_PATH first: opening a device node for real can have side effects, and the device cgroup
  // does not restrict us.
  UniqueFd path(sys::Openat2(rootfd, rel, O_PATH | O_CLOEXEC, 0,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  if (!path) return std::nullopt;
  struct stat st {};
  if (::fstat(path.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  char proc[64];
  UniqueFd fd(::open(sys::FdPath(proc, sizeof proc, path.get()),
                     O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxTaskFile) break;  // a hostile task cannot make us read forever
  }
  return out;
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }


tl::expected<void, LaunchFailure> Prepare(const ExecTarget& target, const ExecRequest& request,
                                          Prepared* p) {
  const spec::TaskSpec& spec = *target.spec;
  if (request.argv.empty() || request.argv[0].empty())
    return Failure(Error::Invalid("command", "no command given"), "config");
  for (const auto& a : request.argv)
    if (HasNul(a)) return Failure(Error::Invalid("command", "contains a NUL byte"), "config");
  for (const auto& e : request.env)
    if (HasNul(e) || e.find('=') == std::string::npos)
      return Failure(Error::Invalid("--env", fmt::format("`{}` is not KEY=VALUE", e)), "config");
  p->workdir = request.workdir ? *request.workdir : spec.process.workdir;
  if (p->workdir.empty()) p->workdir = "/";
  if (p->workdir[0] != '/' || HasNul(p->workdir))
    return Failure(Error::Invalid("--workdir", fmt::format("must be an absolute path, got `{}`",
                                                           p->workdir)),
                   "config");

  p->pidfd.reset(::fcntl(target.pidfd, F_DUPFD_CLOEXEC, 3));
  if (!p->pidfd) return Failure(Error::Errno(errno, "exec target: dup pidfd"), "config");
  if (auto s = OpenTarget(p->pidfd.get(), p); !s) return Failure(std::move(s.error()), "target");
  if (auto s = CompareNamespaces(p); !s) return Failure(std::move(s.error()), "namespaces");
  auto rootfd = AboveStdio(std::move(p->rootfd));
  if (!rootfd) return Failure(std::move(rootfd.error()), "config");
  p->rootfd = std::move(*rootfd);

  // Identity from the task root's own /etc/passwd and /etc/group, as for the task.
  const std::string& user_spec = request.user ? *request.user : spec.process.user;
  const bool user_set = request.user.has_value() || !spec.process.user.empty();
  if (user_set) {
    auto user = isolation::ResolveUser(user_spec, ReadInRoot(p->rootfd.get(), "etc/passwd"),
                                       ReadInRoot(p->rootfd.get(), "etc/group"));
    if (!user) return Failure(std::move(user.error()), "user");
    p->user = std::move(*user);
  }
  // The same privileges the task's own processes got (caps, seccomp).
  auto security = PrepareSecurity(spec, p->user.uid);
  if (!security) return Failure(std::move(security.error()), "security");
  p->caps = security->caps;
  p->seccomp = std::move(security->seccomp);

  p->env_storage = request.env.empty() ? TaskEnvironment(spec, user_set ? &p->user : nullptr)
                                       : request.env;
  p->argv_storage = request.argv;
  for (auto& a : p->argv_storage) p->argv.push_back(a.data());
  p->argv.push_back(nullptr);
  for (auto& e : p->env_storage) p->envp.push_back(e.data());
  p->envp.push_back(nullptr);

  // Search candidates, tried in order by the final process inside the task root. Only
  // absolute PATH entries: an empty or relative one would search the working directory.
  const std::string& cmd = request.argv[0];
  if (cmd.find('/') != std::string::npos) {
    p->candidate_storage.push_back(cmd);
  } else {
    p->searched = true;
    p->search_path = kDefaultPath;
    for (const auto& e : p->env_storage)
      if (e.rfind("PATH=", 0) == 0) {
        p->search_path = e.substr(5);
        break;
      }
    size_t start = 0;
    while (start <= p->search_path.size()) {
      size_t end = p->search_path.find(':', start);
      if (end == std::string::npos) end = p->search_path.size();
      std::string dir = p->search_path.substr(start, end - start);
      start = end + 1;
      if (dir.empty() || dir[0] != '/') continue;
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      p->candidate_storage.push_back((dir == "/" ? "" : dir) + "/" + cmd);
    }
    if (p->candidate_storage.empty())
      return Failure(Error::Make(Code::kNotFound,
                                 fmt::format("exec `{}`: executable file not found: PATH `{}` has "
                                             "no absolute directory",
                                             cmd, p->search_path)),
                     "lookup", kExitNotFound);
  }
  for (const auto& c : p->candidate_storage) p->candidates.push_back(c.c_str());

  if (request.tty || request.stdio[0] < 0 || request.stdio[1] < 0 || request.stdio[2] < 0) {
    p->devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!p->devnull) return Failure(Error::Errno(errno, "open `/dev/null`"), "config");
  }
  return {};
}

std::string Message(const ExecMsg& m, const Prepared& p, const std::string& cmd) {
  std::string step(m.step), path(m.path);
  if (!m.exec_failed) {
    if (step == "clone3" && m.err == ENOMEM)
      return "exec: the task is exiting (its PID namespace has no init any more)";
    return fmt::format("exec setup failed at {} `{}`: {}", step, path, std::strerror(m.err));
  }
  if (m.err == ENOENT && m.exists)
    return fmt::format("exec `{}`: {} (is its interpreter or a library missing in the task root?)",
                       path, std::strerror(m.err));
  if (m.err == ENOENT && p.searched)
    return fmt::format("exec `{}`: executable file not found in PATH `{}` of the task", cmd,
                       p.search_path);
  return fmt::format("exec `{}`: {}", path, std::strerror(m.err));
}

// One message and at most one passed fd (received O_CLOEXEC; any extra fd is closed).
// Returns recvmsg's result.
ssize_t Receive(int sock, ExecMsg* m, UniqueFd* fd) {
  struct iovec iov;
  iov.iov_base = m;
  iov.iov_len = sizeof *m;
  union {
    char buf[CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } u;
  std::memset(&u, 0, sizeof u);
  struct msghdr h;
  std::memset(&h, 0, sizeof h);
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_control = u.buf;
  h.msg_controllen = sizeof u.buf;
  ssize_t n = ::recvmsg(sock, &h, MSG_CMSG_CLOEXEC);
  if (n <= 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int f;
      std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      if (!*fd)
        fd->reset(f);
      else
        ::close(f);
    }
  }
  return n;
}

// Kills (if asked) and reaps a child through its pidfd; returns its wait status.
int Reap(int pidfd, bool kill) {
  if (pidfd < 0) return 0;
  if (kill) (void)sys::PidfdSendSignal(pidfd, SIGKILL);
  for (;;) {
    struct rusage ru {};
    auto w = WaitPidfd(pidfd, &ru);
    if (w) return *w;
    if (w.error().sys_errno() != EINTR) return 0;
  }
}

}  // namespace

tl::expected<ExecProcess, LaunchFailure> ExecInto(const ExecTarget& target,
                                                  const ExecRequest& request) {
  if (!target.spec || target.pidfd < 0)
    return Failure(Error::Invalid("exec target", "needs the task's pidfd and spec"), "config");
  auto prepared = std::make_unique<Prepared>();
  if (auto r = Prepare(target, request, prepared.get()); !r)
    return tl::unexpected(std::move(r.error()));
  Prepared& p = *prepared;
  const spec::TaskSpec& spec = *target.spec;

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return Failure(Error::Errno(errno, "socketpair"), "sync");
  UniqueFd parent_end(sv[0]);
  auto child_end = AboveStdio(UniqueFd(sv[1]));
  if (!child_end) return Failure(std::move(child_end.error()), "sync");

  ExecConfig cfg;
  cfg.sync_fd = child_end->get();
  cfg.pidfd = p.pidfd.get();
  cfg.rootfd = p.rootfd.get();
  for (int i = 0; i < 3; ++i)
    cfg.stdio[i] = request.tty || request.stdio[i] < 0 ? p.devnull.get() : request.stdio[i];
  cfg.ns_flags = p.ns_flags;
  cfg.oom_score_adj = spec.process.oom_score_adj;
  cfg.tty = request.tty;
  cfg.size = request.size;
  cfg.command = request.argv[0].c_str();
  cfg.candidates = p.candidates.data();
  cfg.ncandidates = p.candidates.size();
  cfg.searched = p.searched;
  cfg.argv = p.argv.data();
  cfg.envp = p.envp.data();
  cfg.workdir = p.workdir.c_str();
  cfg.uid = p.user.uid;
  cfg.gid = p.user.gid;
  cfg.groups = p.user.groups.data();
  cfg.ngroups = p.user.groups.size();
  cfg.caps = p.caps;
  cfg.seccomp = p.seccomp.empty() ? nullptr : p.seccomp.data();
  cfg.seccomp_len = p.seccomp.size();
  cfg.no_new_privs = !spec.security.allow_new_privileges;

  std::vector<UniqueFd> join_fds;
  if (target.cgroup) join_fds = OpenSelfJoin(*target.cgroup, &cfg.cgroup_join);

  // The intermediate is born in the task's cgroup on v2, so the final process is too.
  int ipidfd = -1;
  sys::CloneArgs args;
  args.flags = CLONE_PIDFD | CLONE_CLEAR_SIGHAND;
  args.pidfd = &ipidfd;
  args.cgroup_fd = target.cgroup ? target.cgroup->CloneIntoFd() : -1;
  bool used_clone3 = true;
  pid_t pid = sys::Clone(args, &used_clone3);
  if (pid < 0 && errno == EINVAL) {
    // CLONE_CLEAR_SIGHAND is 5.5+; the final process resets every disposition anyway.
    args.flags &= ~static_cast<uint64_t>(CLONE_CLEAR_SIGHAND);
    pid = sys::Clone(args, &used_clone3);
  }
  if (pid == 0) IntermediateMain(cfg);
  if (pid < 0) return Failure(Error::Errno(errno, "clone3 exec setup process"), "clone");
  UniqueFd intermediate(ipidfd);
  child_end->reset();

  UniqueFd final_pidfd, master;
  pid_t final_pid = 0;
  const auto abort = [&](Error e, std::string stage, int code) {
    Reap(intermediate.get(), true);
    Reap(final_pidfd.get(), true);
    return Failure(std::move(e), std::move(stage), code);
  };

  // Without CLONE_INTO_CGROUP or self-join fds, the caller moves it by pid before it runs.
  join_fds.clear();
  if (target.cgroup && (args.cgroup_fd < 0 || !used_clone3) && cfg.cgroup_join.n == 0) {
    if (auto s = target.cgroup->AddProcess(pid); !s)
      return abort(std::move(s.error()), "cgroup", kExitSetupFailed);
  }
  ExecMsg go;
  std::memset(&go, 0, sizeof go);
  go.type = ExecMsgType::kGo;
  if (::send(parent_end.get(), &go, sizeof go, MSG_NOSIGNAL) != sizeof go)
    return abort(Error::Errno(errno, "send go to the exec setup process"), "sync",
                 kExitSetupFailed);

  std::optional<ExecMsg> error;
  for (;;) {
    ExecMsg m;
    UniqueFd fd;
    ssize_t n = Receive(parent_end.get(), &m, &fd);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return abort(Error::Errno(errno, "recv from the exec setup process"), "sync",
                   kExitSetupFailed);
    if (n == 0) break;  // EOF: both exited, or the command runs
    if (n != static_cast<ssize_t>(sizeof m)) continue;
    if (m.type == ExecMsgType::kSpawned && fd && !final_pidfd) {
      final_pid = m.pid;
      final_pidfd = std::move(fd);
      ExecMsg release;
      std::memset(&release, 0, sizeof release);
      release.type = ExecMsgType::kRelease;
      // A failure here means the final process died already; its status is reaped below.
      (void)::send(parent_end.get(), &release, sizeof release, MSG_NOSIGNAL);
    } else if (m.type == ExecMsgType::kSpawned && !final_pidfd) {
      // The pidfd was dropped (MSG_CTRUNC: we are at our fd limit). Without it we will not
      // release the process; it waits for kRelease, so kill it by pid, which is safe: it is
      // our child and not reaped, so the pid cannot have been reused.
      ::kill(m.pid, SIGKILL);
      ::waitpid(m.pid, nullptr, 0);
      if (!error) {
        std::memset(&m, 0, sizeof m);
        m.type = ExecMsgType::kError;
        m.err = EMFILE;
        CopyTrunc(m.step, sizeof m.step, "recvmsg");
        CopyTrunc(m.path, sizeof m.path, "exec process pidfd");
        error = m;
      }
    } else if (m.type == ExecMsgType::kPty && fd) {
      master = std::move(fd);
    } else if (m.type == ExecMsgType::kError && !error) {
      error = m;
    }
  }
  int istatus = Reap(intermediate.get(), false);
  intermediate.reset();

  if (error) {
    int code = !error->exec_failed   ? kExitSetupFailed
               : error->err == ENOENT ? kExitNotFound
                                      : kExitCannotExecute;
    Error e(error->exec_failed && error->err == ENOENT ? Code::kNotFound : Code::kInternal,
            Message(*error, p, request.argv[0]), error->err);
    return abort(std::move(e), error->exec_failed ? "execve" : error->step, code);
  }
  if (!final_pidfd) {
    ExitState s;
    ApplyWaitStatus(istatus, &s);
    return abort(Error::Make(Code::kInternal,
                             fmt::format("exec setup process ended without starting the command "
                                         "(exit status {})",
                                         s.exit_code)),
                 "clone", kExitSetupFailed);
  }
  if (request.tty && !master)
    return abort(Error::Make(Code::kInternal, "exec: no pty master received"), "pty",
                 kExitSetupFailed);

  ExecProcess out;
  out.pid = final_pid;
  out.pidfd = std::move(final_pidfd);
  out.pty_master = std::move(master);
  return out;
}

Result<int> WaitExec(int pidfd) {
  for (;;) {
    struct rusage ru {};
    auto w = WaitPidfd(pidfd, &ru);
    if (!w && w.error().sys_errno() == EINTR) continue;
    if (!w) return Fail(std::move(w.error()));
    ExitState s;
    ApplyWaitStatus(*w, &s);
    return s.exit_code;
  }
}

}  // namespace isoexec::runtime
