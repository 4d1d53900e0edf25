#include "tests/integration/harness_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "base/file.h"

namespace isoexec::test {

namespace {

void Unset(int fd) {
  if (fd >= 0) ::close(fd);
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

// Unique per run, not just per pid: a pid is reused, and the state dir or cgroup parent of an
// older run that was killed would then be taken for ours.
const std::string& RunTag() {
  static const std::string tag = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::to_string(::getpid()) + "-" + std::to_string(ts.tv_sec % 100000000) +
           std::to_string(ts.tv_nsec / 1000000);
  }();
  return tag;
}

const std::string& StateDir() {
  static const std::string dir = "/run/isoexec-test-" + RunTag();
  return dir;
}

const std::string& CgroupParent() {
  static const std::string p = "isoexec-test-" + RunTag();
  return p;
}

Background StartCommand(const std::vector<std::string>& argv, const std::string& stdin_data) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(255);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (!stdin_data.empty()) (void)!::write(in[1], stdin_data.data(), stdin_data.size());
  ::close(in[1]);
  Background b;
  b.pid = pid;
  b.out_fd = out[0];
  b.err_fd = err[0];
  return b;
}

std::vector<std::string> IsoexecArgv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ISOEXEC_BIN, "--state-dir", StateDir(), "--cgroup-parent",
                                   CgroupParent()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Background StartIsoexec(const std::vector<std::string>& args) {
  return StartCommand(IsoexecArgv(args), "");
}

std::string Background::ReadUntil(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_so_far.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    struct pollfd p = {out_fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[1024];
    ssize_t n = ::read(out_fd, buf, sizeof buf);
    if (n <= 0) break;
    out_so_far.append(buf, static_cast<size_t>(n));
  }
  return out_so_far;
}

ProcResult Background::Wait(std::chrono::milliseconds timeout) {
  ProcResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  // A pidfd turns readable when the process exits: no polling interval on every command.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "command timed out";
      break;
    }
    if (pidfd >= 0) {
      struct pollfd p = {pidfd, POLLIN, 0};
      (void)::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    } else {
      ::usleep(5000);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  r.out = out_so_far + ReadAll(out_fd);
  r.err = ReadAll(err_fd);
  Unset(out_fd);
  Unset(err_fd);
  out_fd = err_fd = -1;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

ProcResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::string& stdin_data) {
  Background b = StartCommand(argv, stdin_data);
  // Drain both pipes while waiting so a chatty task can never block on a full pipe.
  std::string out, err;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    struct pollfd p[2] = {{out_open ? b.out_fd : -1, POLLIN, 0}, {err_open ? b.err_fd : -1, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (::poll(p, 2, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    if (p[0].revents) {
      ssize_t n = ::read(b.out_fd, buf, sizeof buf);
      if (n <= 0) out_open = false; else out.append(buf, static_cast<size_t>(n));
    }
    if (p[1].revents) {
      ssize_t n = ::read(b.err_fd, buf, sizeof buf);
      if (n <= 0) err_open = false; else err.append(buf, static_cast<size_t>(n));
    }
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  ProcResult r = b.Wait(std::max(left, std::chrono::milliseconds(100)));
  r.out = out + r.out;
  r.err = err + r.err;
  return r;
}

ProcResult RunIsoexec(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                      const std::string& stdin_data) {
  return RunCommand(IsoexecArgv(args), timeout, stdin_data);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/isoexec-test-XXXXXX";
  if (!::mkdtemp(tmpl)) abort();
  path_ = tmpl;
  ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  if (auto r = RemoveTree(path_); !r) ADD_FAILURE() << "cleanup: " << r.error().str();
}

TestRoot::TestRoot() {
  const std::string& r = path();
  for (const char* d : {"/bin", "/etc", "/tmp", "/local"}) ::mkdir((r + d).c_str(), 0755);
  ::chmod((r + "/tmp").c_str(), 01777);
  auto copy = [](const std::string& from, const std::string& to, mode_t mode) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary);
    out << in.rdbuf();
    out.close();
    ::chmod(to.c_str(), mode);
  };
  copy("/bin/busybox", r + "/bin/busybox", 0755);
  copy(ISOEXEC_TESTINIT, r + "/bin/testinit", 0755);
  for (const char* applet : {"sh", "echo", "cat", "sleep", "true", "false", "ls", "date", "id",
                             "touch", "mkdir", "pwd", "kill", "ps", "tail", "head", "stat",
                             "env", "grep", "wc", "stty", "mktemp", "dd", "rm", "hostname"}) {
    ::symlink("busybox", (r + "/bin/" + applet).c_str());
  }
  std::ofstream(r + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                      "runner:x:1000:1000:runner:/home/runner:/bin/sh\n"
                                      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
  std::ofstream(r + "/etc/group") << "root:x:0:\nrunner:x:1000:\nextra:x:2000:runner\n"
                                     "nogroup:x:65534:\n";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
  return s.substr(i);
}

bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string ReadFileOr(const std::string& path, const std::string& fallback) {
  auto r = ReadFile(path);
  return r ? *r : fallback;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::set<std::string> DirEntries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  while (d) {
    dirent* e = ::readdir(d);
    if (!e) break;
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.insert(e->d_name);
  }
  if (d) ::closedir(d);
  return out;
}

// ---------------------------------------------------------------------------------------
// Leak check: the suite fails if it leaves mounts, cgroups, processes, state or temp dirs.

namespace {

std::set<std::string> Snapshot() {
  std::set<std::string> items;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line))
    if (Contains(line, "isoexec")) items.insert("mount: " + line);
  for (const char* base : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    DIR* d = ::opendir(base);
    while (d) {
      dirent* e = ::readdir(d);
      if (!e) break;
      std::string ctrl = std::string(base) + "/" + e->d_name;
      for (const std::string& cand : {ctrl + "/" + CgroupParent(), ctrl + "/" + CgroupParent() + ".slice"}) {
        DIR* t = ::opendir(cand.c_str());
        while (t) {
          dirent* te = ::readdir(t);
          if (!te) break;
          if (te->d_type == DT_DIR && te->d_name[0] != '.') items.insert("cgroup: " + cand + "/" + te->d_name);
        }
        if (t) ::closedir(t);
      }
    }
    if (d) ::closedir(d);
  }
  // Our own descendants (children of this test process).
  DIR* p = ::opendir("/proc");
  while (p) {
    dirent* e = ::readdir(p);
    if (!e) break;
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream st(std::string("/proc/") + e->d_name + "/stat");
    std::string s;
    std::getline(st, s);
    auto rp = s.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream rest(s.substr(rp + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid()) items.insert("process: " + s.substr(0, rp + 1));
  }
  if (p) ::closedir(p);
  DIR* sd = ::opendir(StateDir().c_str());
  while (sd) {
    dirent* e = ::readdir(sd);
    if (!e) break;
    // Hidden entries too (a task dir being claimed): any of them left would keep the state
    // dir from being removed.
    std::string_view n = e->d_name;
    if (n != "." && n != "..") items.insert(std::string("state: ") + e->d_name);
  }
  if (sd) ::closedir(sd);
  DIR* tmp = ::opendir("/tmp");
  while (tmp) {
    dirent* e = ::readdir(tmp);
    if (!e) break;
    if (std::strncmp(e->d_name, "isoexec-test-", 13) == 0) items.insert(std::string("tempdir: /tmp/") + e->d_name);
  }
  if (tmp) ::closedir(tmp);
  return items;
}

class LeakCheck : public ::testing::Environment {
 public:
  void SetUp() override { before_ = Snapshot(); }
  void TearDown() override {
    // Give killed processes a moment to be reaped.
    std::set<std::string> leaked;
    for (int i = 0; i < 50; ++i) {
      leaked.clear();
      for (const auto& item : Snapshot())
        if (!before_.count(item)) leaked.insert(item);
      if (leaked.empty()) break;
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {}
      ::usleep(100000);
    }
    for (const auto& item : leaked) ADD_FAILURE() << "leaked " << item;
    // The per-run parents themselves (created on demand by isoexec) go last.
    for (const char* base : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      DIR* d = ::opendir(base);
      while (d) {
        dirent* e = ::readdir(d);
        if (!e) break;
        std::string ctrl = std::string(base) + "/" + e->d_name;
        ::rmdir((ctrl + "/" + CgroupParent()).c_str());
        ::rmdir((ctrl + "/" + CgroupParent() + ".slice").c_str());
      }
      if (d) ::closedir(d);
    }
    ::rmdir(StateDir().c_str());
    if (::access(StateDir().c_str(), F_OK) == 0) ADD_FAILURE() << "leaked state dir " << StateDir();
  }

 private:
  std::set<std::string> before_;
};

}  // namespace

}  // namespace isoexec::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new isoexec::test::LeakCheck);
  return RUN_ALL_TESTS();
}
