// runtime::ExecInto: an extra process inside a running task, launched in-process with
// runtime::Container and asserted from inside (testinit) and from the host (/proc).
#include "runtime/exec_into.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#include "base/file.h"
#include "runtime/container.h"
#include "sys/syscalls.h"
#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Outcome {
  bool started = false;
  int exit_code = -1;
  std::string out, err;  // the process's output, or the ExecInto error message
  std::string stage;
};

std::string NextId() {
  static int n = 0;
  return "exec-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// Writes without dying of SIGPIPE when the reader is already gone.
void WriteAll(int fd, const std::string& data) {
  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::sigaction(SIGPIPE, &old, nullptr);
}

// Reads `fd` until EOF/EIO, `until` shows up, or the timeout.
std::string ReadFd(int fd, milliseconds timeout, const std::string& until = "",
                   std::string* acc = nullptr) {
  std::string local;
  std::string& out = acc ? *acc : local;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (until.empty() || out.find(until) == std::string::npos) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "timed out reading; got so far: " << out;
      break;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF, or EIO on a pty master once the slave side is gone
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool WaitReadable(int pidfd, milliseconds timeout) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

std::string StatusLines(const std::string& status, const std::vector<std::string>& prefixes) {
  std::istringstream in(status);
  std::string line, out;
  while (std::getline(in, line))
    for (const auto& p : prefixes)
      if (line.rfind(p, 0) == 0) out += line + "\n";
  return out;
}

// The last NSpid field: the pid inside the innermost PID namespace.
std::string InnermostPid(pid_t host_pid) {
  std::string status = ReadFileOr("/proc/" + std::to_string(host_pid) + "/status");
  auto pos = status.find("NSpid:");
  if (pos == std::string::npos) return "";
  std::istringstream in(status.substr(pos + 6, status.find('\n', pos) - pos - 6));
  std::string field, last;
  while (in >> field) last = field;
  return last;
}

class ExecIntoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (real namespaces, mounts, cgroups)";
    for (const char* applet : {"tty", "readlink"})
      ::symlink("busybox", (root_.path() + "/bin/" + applet).c_str());
  }
  void TearDown() override { Stop(); }

  // Launches `spec` (default: `testinit sleep 120` in the busybox root) and keeps it running.
  void Start(spec::TaskSpec spec = {}, bool busybox_root = true) {
    spec_ = std::move(spec);
    spec_.id = NextId();
    if (spec_.process.argv.empty()) spec_.process.argv = {"/bin/testinit", "sleep", "120"};
    if (busybox_root) spec_.root.rootfs = root_.path();
    runtime::LaunchOptions o;
    o.task_dir = task_dir_.path();
    o.cgroup_parent = CgroupParent();
    devnull_.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    for (int& fd : o.stdio) fd = devnull_.get();
    auto c = runtime::Container::Launch(spec_, o);
    ASSERT_TRUE(c) << c.error().error.str();
    container_ = std::move(*c);
  }

  void Stop() {
    if (!container_) return;
    (void)container_->KillAll();
    container_->Collect();
    auto s = container_->Destroy();
    EXPECT_TRUE(s) << s.error().str();
    container_.reset();
  }

  runtime::ExecTarget Target() {
    return runtime::ExecTarget{container_->pidfd(), &spec_, container_->cgroup()};
  }

  static runtime::ExecRequest Req(std::vector<std::string> argv) {
    runtime::ExecRequest r;
    r.argv = std::move(argv);
    return r;
  }

  // Without a terminal: `input` on stdin (then closed), stdout and stderr collected.
  // `before_reap` sees the host pid after the output ended and before the process is reaped.
  Outcome Exec(runtime::ExecRequest req, const std::string& input = "",
               const std::function<void(pid_t)>& before_reap = nullptr) {
    Outcome r;
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) abort();
    req.stdio[0] = in[0];
    req.stdio[1] = out[1];
    req.stdio[2] = err[1];
    auto p = runtime::ExecInto(Target(), req);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (!p) {
      for (int fd : {in[1], out[0], err[0]}) ::close(fd);
      r.exit_code = p.error().exit_code;
      r.err = p.error().error.str();
      r.stage = p.error().stage;
      return r;
    }
    r.started = true;
    WriteAll(in[1], input);
    ::close(in[1]);
    bool out_open = true, err_open = true;
    auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while ((out_open || err_open) && std::chrono::steady_clock::now() < deadline) {
      struct pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0},
                              {err_open ? err[0] : -1, POLLIN, 0}};
      if (::poll(fds, 2, 1000) <= 0) continue;
      char buf[4096];
      if (fds[0].revents) {
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) out_open = false; else r.out.append(buf, static_cast<size_t>(n));
      }
      if (fds[1].revents) {
        ssize_t n = ::read(err[0], buf, sizeof buf);
        if (n <= 0) err_open = false; else r.err.append(buf, static_cast<size_t>(n));
      }
    }
    ::close(out[0]);
    ::close(err[0]);
    if (before_reap) before_reap(p->pid);
    if (!WaitReadable(p->pidfd.get(), seconds(30))) {
      ADD_FAILURE() << "exec'd process did not end";
      (void)sys::PidfdSendSignal(p->pidfd.get(), SIGKILL);
    }
    auto code = runtime::WaitExec(p->pidfd.get());
    EXPECT_TRUE(code) << code.error().str();
    r.exit_code = code ? *code : -1;
    return r;
  }

  TestRoot root_;
  TempDir task_dir_;
  spec::TaskSpec spec_;
  UniqueFd devnull_;
  std::unique_ptr<runtime::Container> container_;
};

TEST_F(ExecIntoTest, RunsInTheTasksPidNamespaceCgroupAndRoot) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string inner;
  auto pid = Exec(Req({"/bin/testinit", "pid"}), "", [&](pid_t host) { inner = InnermostPid(host); });
  ASSERT_EQ(pid.exit_code, 0) << pid.err;
  // Inside the task's namespace (init is 1, the task 2): not 1, and its parent (the caller,
  // thanks to CLONE_PARENT) is outside the namespace.
  EXPECT_EQ(pid.out, "pid=" + inner + " ppid=0\n");
  EXPECT_NE(inner, "1");
  EXPECT_LT(std::stoi(inner), 100);

  auto cg = Exec(Req({"cat", "/proc/self/cgroup"}));
  ASSERT_EQ(cg.exit_code, 0) << cg.err;
  std::string task_cg = ReadFileOr("/proc/" + std::to_string(container_->pid()) + "/cgroup");
  EXPECT_EQ(cg.out, task_cg);
  EXPECT_TRUE(Contains(cg.out, CgroupParent() + "/" + spec_.id)) << cg.out;

  auto ls = Exec(Req({"ls", "/"}));
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  for (const char* d : {"bin\n", "dev\n", "etc\n", "local\n", "proc\n", "tmp\n"})
    EXPECT_TRUE(Contains(ls.out, d)) << d << " missing in:\n" << ls.out;
  for (const char* d : {"root\n", "home\n", "work\n", "usr\n"})
    EXPECT_FALSE(Contains(ls.out, d)) << d << " of the host in:\n" << ls.out;

  // The same mount, IPC and PID namespaces as the task; nothing else of ours is open.
  auto ns = Exec(Req({"sh", "-c", "for n in mnt ipc pid; do readlink /proc/self/ns/$n; done"}));
  std::string want;
  for (const char* n : {"mnt", "ipc", "pid"}) {
    char buf[128] = "";
    std::string link = "/proc/" + std::to_string(container_->pid()) + "/ns/" + n;
    ssize_t len = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (len > 0) buf[len] = '\0';
    want += std::string(buf) + "\n";
  }
  EXPECT_EQ(ns.out, want) << ns.err;
  auto fds = Exec(Req({"/bin/testinit", "fds"}));
  EXPECT_EQ(fds.exit_code, 0);
  EXPECT_EQ(std::count(fds.out.begin(), fds.out.end(), '\n'), 3) << fds.out;
}

TEST_F(ExecIntoTest, JoinsUtsAndNetworkNamespaces) {
  spec::TaskSpec spec;
  spec.namespaces.hostname = "exec-host";
  spec.namespaces.net = "none";
  ASSERT_NO_FATAL_FAILURE(Start(spec));
  EXPECT_EQ(Exec(Req({"hostname"})).out, "exec-host\n");
  // Only the loopback interface: two header lines and `lo`.
  auto net = Exec(Req({"sh", "-c", "cat /proc/net/dev | wc -l; grep -c ' lo:' /proc/net/dev"}));
  EXPECT_EQ(net.out, "3\n1\n") << net.err;
}

TEST_F(ExecIntoTest, ExitCodesFollowTheContract) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto conformance = Exec(Req({"/bin/sh", "-c", "echo hello stdout; echo hello stderr >&2; exit 43"}));
  EXPECT_EQ(conformance.exit_code, 43);
  EXPECT_EQ(conformance.out, "hello stdout\n");
  EXPECT_EQ(conformance.err, "hello stderr\n");
  EXPECT_EQ(Exec(Req({"/bin/testinit", "signal", "9"})).exit_code, 137);
  EXPECT_EQ(Exec(Req({"sh", "-c", "kill -TERM $$"})).exit_code, 143);

  auto missing = Exec(Req({"nosuchcmd", "arg"}));
  EXPECT_FALSE(missing.started);
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_EQ(missing.stage, "execve");
  EXPECT_TRUE(Contains(missing.err, "`nosuchcmd`: executable file not found in PATH")) << missing.err;
  auto abs_missing = Exec(Req({"/bin/nosuch"}));
  EXPECT_EQ(abs_missing.exit_code, 127);
  EXPECT_TRUE(Contains(abs_missing.err, "/bin/nosuch")) << abs_missing.err;

  // Found by the search, but not executable by anyone: EACCES -> 126.
  std::ofstream(root_.path() + "/bin/noexec") << "#!/bin/sh\necho never\n";
  ::chmod((root_.path() + "/bin/noexec").c_str(), 0644);
  auto noexec = Exec(Req({"noexec"}));
  EXPECT_EQ(noexec.exit_code, 126) << noexec.err;
  EXPECT_TRUE(Contains(noexec.err, "/bin/noexec")) << noexec.err;
  // ENOEXEC -> 126; a missing interpreter -> 127 with a hint.
  std::ofstream(root_.path() + "/bin/garbage") << "\x7f\x01\x02 not a binary";
  ::chmod((root_.path() + "/bin/garbage").c_str(), 0755);
  EXPECT_EQ(Exec(Req({"/bin/garbage"})).exit_code, 126);
  std::ofstream(root_.path() + "/bin/noint") << "#!/nonexistent/interp\n";
  ::chmod((root_.path() + "/bin/noint").c_str(), 0755);
  auto noint = Exec(Req({"noint"}));
  EXPECT_EQ(noint.exit_code, 127);
  EXPECT_TRUE(Contains(noint.err, "interpreter")) << noint.err;

  // The search happens in the task root, never on the host: `dash` exists on the host only.
  ASSERT_EQ(::access("/bin/dash", X_OK), 0);
  EXPECT_EQ(Exec(Req({"dash", "-c", "true"})).exit_code, 127);

  // The task still runs after all this.
  EXPECT_FALSE(WaitReadable(container_->pidfd(), milliseconds(0)));
}

TEST_F(ExecIntoTest, HasTheTasksCapabilitiesNoNewPrivsAndSeccomp) {
  spec::TaskSpec spec;
  spec.security.cap_drop = {"all"};
  spec.security.cap_add = {"kill", "chown", "net_bind_service"};
  spec.process.oom_score_adj = 300;
  ASSERT_NO_FATAL_FAILURE(Start(spec));
  EXPECT_EQ(Exec(Req({"cat", "/proc/self/oom_score_adj"})).out, "300\n");
  const std::vector<std::string> prefixes = {"Cap", "NoNewPrivs", "Seccomp:"};
  std::string task = StatusLines(
      ReadFileOr("/proc/" + std::to_string(container_->pid()) + "/status"), prefixes);
  auto caps = Exec(Req({"/bin/testinit", "caps"}));
  ASSERT_EQ(caps.exit_code, 0) << caps.err;
  EXPECT_EQ(caps.out, task);
  EXPECT_TRUE(Contains(caps.out, "CapBnd:\t0000000000000421")) << caps.out;
  EXPECT_TRUE(Contains(caps.out, "NoNewPrivs:\t1")) << caps.out;
  EXPECT_TRUE(Contains(caps.out, "Seccomp:\t2")) << caps.out;
}

TEST_F(ExecIntoTest, NonRootTaskUserAndOverrides) {
  spec::TaskSpec spec;
  spec.process.user = "runner";
  spec.process.env = {"FOO=bar", "HOME=/ignored"};
  spec.process.workdir = "/local";
  ASSERT_NO_FATAL_FAILURE(Start(spec));
  const std::vector<std::string> prefixes = {"Cap", "NoNewPrivs", "Seccomp:"};
  std::string task = StatusLines(
      ReadFileOr("/proc/" + std::to_string(container_->pid()) + "/status"), prefixes);

  auto id = Exec(Req({"/bin/testinit", "id"}));
  EXPECT_EQ(id.out, "uid=1000 gid=1000 euid=1000 groups=1000,2000\n") << id.err;
  auto caps = Exec(Req({"/bin/testinit", "caps"}));
  EXPECT_EQ(caps.out, task);  // the non-root sets (ambient) are the task's too
  auto env = Exec(Req({"/bin/testinit", "env"}));
  EXPECT_EQ(env.out,
            "FOO=bar\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "USER=runner\nLOGNAME=runner\nHOME=/home/runner\n");
  EXPECT_EQ(Exec(Req({"/bin/testinit", "cwd"})).out, "/local\n");

  auto as_root = Req({"/bin/testinit", "id"});
  as_root.user = "0";
  EXPECT_EQ(Exec(as_root).out, "uid=0 gid=0 euid=0 groups=0\n");
  auto as_nobody = Req({"/bin/testinit", "env"});
  as_nobody.user = "nobody";
  EXPECT_TRUE(Contains(Exec(as_nobody).out, "USER=nobody\nLOGNAME=nobody\nHOME=/nonexistent\n"));
  auto numeric = Req({"/bin/testinit", "id"});
  numeric.user = "1234:5678";
  EXPECT_EQ(Exec(numeric).out, "uid=1234 gid=5678 euid=1234 groups=5678\n");

  auto own_env = Req({"/bin/testinit", "env"});
  own_env.env = {"A=1", "B=2"};
  EXPECT_EQ(Exec(own_env).out, "A=1\nB=2\n");
  auto wd = Req({"/bin/testinit", "cwd"});
  wd.workdir = "/tmp";
  EXPECT_EQ(Exec(wd).out, "/tmp\n");

  auto bad_wd = Req({"/bin/testinit", "cwd"});
  bad_wd.workdir = "/nonexistent";
  auto r = Exec(bad_wd);
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.stage, "chdir");
  EXPECT_TRUE(Contains(r.err, "chdir `/nonexistent`: No such file or directory")) << r.err;
  auto rel_wd = Req({"/bin/testinit", "cwd"});
  rel_wd.workdir = "tmp";
  EXPECT_EQ(Exec(rel_wd).exit_code, 125);
  auto bad_user = Req({"/bin/testinit", "id"});
  bad_user.user = "alice";
  r = Exec(bad_user);
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(Contains(r.err, "alice")) << r.err;
}

TEST_F(ExecIntoTest, StdinIsForwardedWithoutATerminal) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto r = Exec(Req({"/bin/sh", "-c", "echo hello from command; head -n1"}), "hello from stdin\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from command\nhello from stdin\n");
  auto stty = Exec(Req({"/bin/sh", "-c", "stty size"}));
  EXPECT_NE(stty.exit_code, 0);
  // -1: /dev/null (cat sees EOF at once).
  auto devnull = Req({"/bin/sh", "-c", "cat"});
  for (int& fd : devnull.stdio) fd = -1;
  auto p = runtime::ExecInto(Target(), devnull);
  ASSERT_TRUE(p) << p.error().error.str();
  EXPECT_EQ(runtime::WaitExec(p->pidfd.get()).value_or(-1), 0);
}

TEST_F(ExecIntoTest, TerminalFromTheTasksDevptsWithResize) {
  spec::TaskSpec spec;
  spec.process.user = "runner";
  ASSERT_NO_FATAL_FAILURE(Start(spec));
  auto req = Req({"/bin/sh", "-c", "tty; stty size; stat -c %u $(tty); read x; stty size; exit 3"});
  req.tty = true;
  req.size.ws_row = 24;
  req.size.ws_col = 80;
  auto p = runtime::ExecInto(Target(), req);
  ASSERT_TRUE(p) << p.error().error.str();
  ASSERT_TRUE(p->pty_master.valid());
  std::string out;
  ReadFd(p->pty_master.get(), seconds(20), "1000\r\n", &out);
  EXPECT_TRUE(Contains(out, "/dev/pts/0\r\n24 80\r\n1000\r\n")) << out;
  ASSERT_TRUE(runtime::ResizePty(p->pty_master.get(), 50, 132));
  WriteAll(p->pty_master.get(), "go\n");
  out.clear();
  ReadFd(p->pty_master.get(), seconds(20), "", &out);
  EXPECT_TRUE(Contains(out, "go\r\n50 132\r\n")) << out;
  EXPECT_EQ(runtime::WaitExec(p->pidfd.get()).value_or(-1), 3);

  // Nomad's tty conformance: stdout and stderr merged, CRLF.
  auto basic = Req({"/bin/sh", "-c", "echo hello stdout; echo hello stderr >&2; exit 43"});
  basic.tty = true;
  auto b = runtime::ExecInto(Target(), basic);
  ASSERT_TRUE(b) << b.error().error.str();
  EXPECT_EQ(ReadFd(b->pty_master.get(), seconds(20)), "hello stdout\r\nhello stderr\r\n");
  EXPECT_EQ(runtime::WaitExec(b->pidfd.get()).value_or(-1), 43);

  EXPECT_FALSE(runtime::ResizePty(b->pty_master.get(), 0, 80));
}

TEST_F(ExecIntoTest, ExeIsTheTasksBinaryAndTheProcessDiesWithTheTask) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto req = Req({"sleep", "60"});
  for (int& fd : req.stdio) fd = -1;
  auto p = runtime::ExecInto(Target(), req);
  ASSERT_TRUE(p) << p.error().error.str();
  // After execve the process is the task's busybox, not isoexec (CVE-2019-5736: nothing of
  // ours is reachable through /proc/<pid>/exe).
  struct stat exe {}, busybox {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(p->pid) + "/exe").c_str(), &exe), 0);
  ASSERT_EQ(::stat((root_.path() + "/bin/busybox").c_str(), &busybox), 0);
  EXPECT_EQ(exe.st_dev, busybox.st_dev);
  EXPECT_EQ(exe.st_ino, busybox.st_ino);
  EXPECT_FALSE(WaitReadable(p->pidfd.get(), milliseconds(100)));
  // Killing the task's init tears down its PID namespace, and the exec'd process with it.
  ASSERT_EQ(sys::PidfdSendSignal(container_->pidfd(), SIGKILL), 0);
  EXPECT_TRUE(WaitReadable(p->pidfd.get(), seconds(10)));
  EXPECT_EQ(runtime::WaitExec(p->pidfd.get()).value_or(-1), 137);

  // The task is gone: exec says so.
  container_->Collect();
  auto late = Exec(Req({"true"}));
  EXPECT_FALSE(late.started);
  EXPECT_EQ(late.exit_code, 125);
  EXPECT_TRUE(Contains(late.err, "not running")) << late.err;
}

TEST_F(ExecIntoTest, HostPidNamespaceTaskIsKilledThroughItsCgroup) {
  spec::TaskSpec spec;
  spec.namespaces.pid = spec::NsMode::kHost;
  ASSERT_NO_FATAL_FAILURE(Start(spec));
  auto pid = Exec(Req({"/bin/testinit", "pid"}));
  // Not in a PID namespace of its own: its parent, thanks to CLONE_PARENT, is the caller.
  EXPECT_TRUE(Contains(pid.out, " ppid=" + std::to_string(::getpid()) + "\n")) << pid.out << pid.err;
  auto req = Req({"sleep", "60"});
  for (int& fd : req.stdio) fd = -1;
  auto p = runtime::ExecInto(Target(), req);
  ASSERT_TRUE(p) << p.error().error.str();
  ASSERT_TRUE(container_->KillAll());
  EXPECT_TRUE(WaitReadable(p->pidfd.get(), seconds(10)));
  EXPECT_EQ(runtime::WaitExec(p->pidfd.get()).value_or(-1), 137);
}

TEST_F(ExecIntoTest, ConcurrentExecsFromSeveralThreads) {
  ASSERT_NO_FATAL_FAILURE(Start());
  constexpr int kThreads = 4, kEach = 5;
  std::vector<std::vector<Outcome>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        results[static_cast<size_t>(t)].push_back(
            Exec(Req({"sh", "-c", "echo " + std::to_string(t * 100 + i) + "; exit " +
                                      std::to_string(i)})));
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) {
      const Outcome& r = results[static_cast<size_t>(t)][static_cast<size_t>(i)];
      EXPECT_EQ(r.exit_code, i) << r.err;
      EXPECT_EQ(r.out, std::to_string(t * 100 + i) + "\n");
    }
}

TEST_F(ExecIntoTest, NoPivotRootTaskRoot) {
  spec::TaskSpec spec;
  spec.root.no_pivot_root = true;
  spec.process.workdir = "/local";
  ASSERT_NO_FATAL_FAILURE(Start(spec));
  auto ls = Exec(Req({"ls", "/"}));
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_TRUE(Contains(ls.out, "local\n")) << ls.out;
  EXPECT_FALSE(Contains(ls.out, "work\n")) << ls.out;
  EXPECT_EQ(Exec(Req({"/bin/testinit", "cwd"})).out, "/local\n");
  // ".." of the root is the root: the process is chroot'ed into the task root itself.
  EXPECT_EQ(Exec(Req({"sh", "-c", "cd /../..; ls | grep -c local"})).out, "1\n");
}

TEST_F(ExecIntoTest, EphemeralRoot) {
  spec::TaskSpec spec;
  spec.process.argv = {"sleep", "120"};
  ASSERT_NO_FATAL_FAILURE(Start(spec, /*busybox_root=*/false));
  auto r = Exec(Req({"sh", "-c", "ls /; echo x > /tmp/f && cat /tmp/f"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "usr\n")) << r.out;
  EXPECT_FALSE(Contains(r.out, "work\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "x\n")) << r.out;
}

}  // namespace
}  // namespace isoexec::test
