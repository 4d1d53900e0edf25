#include "tests/executor/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace isoexec::exetest {

namespace {

std::string ReadAllFd(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

void RemoveTree(const std::string& path) {
  // Task dirs hold only what we created plus mountpoint dirs isoexec adds (never mounted once
  // the task is gone): plain recursion, never crossing a mount.
  struct stat top {};
  if (::lstat(path.c_str(), &top) != 0) return;
  std::vector<std::string> stack = {path}, dirs;
  while (!stack.empty()) {
    std::string p = stack.back();
    stack.pop_back();
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode) && st.st_dev == top.st_dev) {
      dirs.push_back(p);
      DIR* d = ::opendir(p.c_str());
      while (d) {
        dirent* e = ::readdir(d);
        if (!e) break;
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        stack.push_back(p + "/" + e->d_name);
      }
      if (d) ::closedir(d);
    } else if (!S_ISDIR(st.st_mode)) {
      ::unlink(p.c_str());
    }
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
}

std::string MakeTemp(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) abort();
  ::chmod(tmpl.c_str(), 0755);
  return tmpl;
}

}  // namespace

const std::string& StateRoot() {
  static const std::string dir = "/run/isoexec-exetest-" + std::to_string(::getpid());
  return dir;
}

const std::string& CgroupParent() {
  static const std::string p = "isoexec-exetest-" + std::to_string(::getpid());
  return p;
}

// ---------------------------------------------------------------------------------------------

ExecutorProcess::ExecutorProcess(std::optional<std::string> cookie,
                                 const std::string& config_json) {
  std::string config = config_json;
  // ISOEXEC_EXETEST_LOG=FILE: the executors' log goes there (debugging).
  const char* log = std::getenv("ISOEXEC_EXETEST_LOG");
  if (config.empty())
    config = R"({"LogFile":")" + std::string(log && *log ? log : "/dev/null") +
             R"(","LogLevel":"debug","FSIsolation":true,"StateRoot":")" + StateRoot() +
             R"(","CgroupParent":")" + CgroupParent() + R"("})";
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) abort();
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "NOMAD_PLUGIN_MAGIC_COOKIE=", 26) != 0) env.emplace_back(*e);
  if (cookie) env.push_back("NOMAD_PLUGIN_MAGIC_COOKIE=" + *cookie);
  env.push_back("PLUGIN_PROTOCOL_VERSIONS=2");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // ISOEXEC_EXETEST_BIN=PATH: another isoexec build (e.g. release, for the measurements).
  const char* bin = std::getenv("ISOEXEC_EXETEST_BIN");
  std::vector<std::string> args = {bin && *bin ? bin : ISOEXEC_BIN, "executor", config};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  if (::posix_spawn(&pid_, argv[0], &fa, &attr, argv.data(), envp.data()) != 0) abort();
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

ExecutorProcess::~ExecutorProcess() {
  if (!exited_ && !socket_path_.empty()) {
    auto ch = NewChannel();
    auto stub = ::plugin::GRPCController::NewStub(ch);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ::plugin::Empty req, resp;
    (void)stub->Shutdown(&ctx, req, &resp);
  }
  stub_.reset();
  channel_.reset();
  if (!exited_ && !WaitExit(std::chrono::seconds(10))) {
    ADD_FAILURE() << "executor " << pid_ << " did not exit";
    ::kill(pid_, SIGKILL);
    WaitExit(std::chrono::seconds(5));
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

std::string ExecutorProcess::Handshake(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    struct pollfd p = {out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
    char buf[512];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return "";
    out_.append(buf, static_cast<size_t>(n));
  }
  std::string line = out_.substr(0, out_.find('\n'));
  // CORE|APP|NETWORK|ADDR|PROTOCOL|CERT
  std::vector<std::string> parts;
  std::stringstream ss(line);
  std::string part;
  while (std::getline(ss, part, '|')) parts.push_back(part);
  if (parts.size() >= 4) socket_path_ = parts[3];
  channel_ = NewChannel();
  stub_ = pb::Executor::NewStub(channel_);
  return line;
}

std::shared_ptr<grpc::Channel> ExecutorProcess::NewChannel() const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a really new connection each time
  return grpc::CreateCustomChannel("unix:" + socket_path_, grpc::InsecureChannelCredentials(),
                                   args);
}

pb::Executor::Stub& ExecutorProcess::executor() { return *stub_; }

std::optional<Exited> ExecutorProcess::WaitExit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    ::usleep(5000);
  }
  exited_ = true;
  Exited e;
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  e.err = ReadAllFd(err_fd_);
  return e;
}

// ---------------------------------------------------------------------------------------------

TaskDir::TaskDir() : path_(MakeTemp("isoexec-exetest-")) {
  for (const char* d : {"/bin", "/etc", "/tmp", "/local"}) ::mkdir((path_ + d).c_str(), 0755);
  ::chmod((path_ + "/tmp").c_str(), 01777);
  {
    std::ifstream in("/bin/busybox", std::ios::binary);
    std::ofstream out(path_ + "/bin/busybox", std::ios::binary);
    out << in.rdbuf();
  }
  ::chmod((path_ + "/bin/busybox").c_str(), 0755);
  for (const char* applet : {"sh", "echo", "cat", "sleep", "true", "false", "ls", "head", "stty",
                             "mktemp", "touch", "stat", "kill", "pwd", "id", "dd", "yes"})
    ::symlink("busybox", (path_ + "/bin/" + applet).c_str());
  std::ofstream(path_ + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
  std::ofstream(path_ + "/etc/group") << "root:x:0:\nnogroup:x:65534:\n";
}

TaskDir::~TaskDir() { RemoveTree(path_); }

TempDir::TempDir() : path_(MakeTemp("isoexec-exetest-")) {}
TempDir::~TempDir() { RemoveTree(path_); }

pb::LaunchRequest LaunchOf(const TaskDir& dir, const std::vector<std::string>& argv,
                           const std::string& stdout_path, const std::string& stderr_path) {
  pb::LaunchRequest req;
  req.set_cmd(argv.at(0));
  for (size_t i = 1; i < argv.size(); ++i) req.add_args(argv[i]);
  req.set_task_dir(dir.path());
  req.set_stdout_path(stdout_path);
  req.set_stderr_path(stderr_path);
  req.set_resource_limits(true);
  req.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_mb(128);
  req.mutable_resources()->mutable_allocated_resources()->mutable_cpu()->set_cpu_shares(100);
  req.add_env("HELLO=world");
  req.set_default_pid_mode("private");
  req.set_default_ipc_mode("private");
  return req;
}

std::string ReadFileOr(const std::string& path, const std::string& fallback) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fallback;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ProcessExists(pid_t pid) {
  if (pid <= 0) return false;
  // A zombie has no cmdline; count only live processes.
  std::string stat = ReadFileOr("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  auto rp = stat.rfind(')');
  return rp != std::string::npos && rp + 2 < stat.size() && stat[rp + 2] != 'Z';
}

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string CgroupFile(pid_t pid, const std::string& controller, const std::string& v1_file,
                       const std::string& v2_file) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line, v2_path;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    std::string ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path = line.substr(c2 + 1);
    if (ctrls.empty()) {
      v2_path = path;
      continue;
    }
    std::stringstream ss(ctrls);
    std::string c;
    while (std::getline(ss, c, ','))
      if (c == controller) return "/sys/fs/cgroup/" + controller + path + "/" + v1_file;
  }
  if (v2_path.empty()) return "";
  for (const char* mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    std::string f = std::string(mount) + v2_path + "/" + v2_file;
    if (::access(f.c_str(), F_OK) == 0) return f;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Leak check: no executor, supervisor or task process, state dir, cgroup, socket dir or temp
// dir may outlive the tests.

namespace {

std::set<std::string> Snapshot() {
  std::set<std::string> items;
  for (const char* base : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    DIR* d = ::opendir(base);
    while (d) {
      dirent* e = ::readdir(d);
      if (!e) break;
      if (e->d_name[0] == '.') continue;
      std::string ctrl = std::string(base) + "/" + e->d_name;
      for (const std::string& cand :
           {ctrl + "/" + CgroupParent(), ctrl + "/" + CgroupParent() + ".slice"}) {
        DIR* t = ::opendir(cand.c_str());
        while (t) {
          dirent* te = ::readdir(t);
          if (!te) break;
          if (te->d_type == DT_DIR && te->d_name[0] != '.')
            items.insert("cgroup: " + cand + "/" + te->d_name);
        }
        if (t) ::closedir(t);
      }
    }
    if (d) ::closedir(d);
  }
  DIR* p = ::opendir("/proc");
  while (p) {
    dirent* e = ::readdir(p);
    if (!e) break;
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string dir = std::string("/proc/") + e->d_name;
    std::string cmd = ReadFileOr(dir + "/cmdline");
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    // Supervisors (--state-dir <StateRoot>/...) and executors (StateRoot in their JSON).
    if (cmd.find(StateRoot()) != std::string::npos && ProcessExists(std::atoi(e->d_name)))
      items.insert("process: " + std::string(e->d_name) + " " + cmd);
  }
  if (p) ::closedir(p);
  DIR* sd = ::opendir(StateRoot().c_str());
  while (sd) {
    dirent* e = ::readdir(sd);
    if (!e) break;
    if (e->d_name[0] != '.') items.insert(std::string("state: ") + e->d_name);
  }
  if (sd) ::closedir(sd);
  DIR* tmp = ::opendir("/tmp");
  while (tmp) {
    dirent* e = ::readdir(tmp);
    if (!e) break;
    if (std::strncmp(e->d_name, "isoexec-exetest-", 16) == 0 ||
        std::strncmp(e->d_name, "isoexec-plugin-", 15) == 0)
      items.insert(std::string("tempdir: /tmp/") + e->d_name);
  }
  if (tmp) ::closedir(tmp);
  return items;
}

class LeakCheck : public ::testing::Environment {
 public:
  void SetUp() override { before_ = Snapshot(); }
  void TearDown() override {
    std::set<std::string> leaked;
    for (int i = 0; i < 50; ++i) {
      leaked.clear();
      for (const auto& item : Snapshot())
        if (!before_.count(item)) leaked.insert(item);
      if (leaked.empty()) break;
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      ::usleep(100000);
    }
    for (const auto& item : leaked) ADD_FAILURE() << "leaked " << item;
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
    ::rmdir(StateRoot().c_str());
    if (::access(StateRoot().c_str(), F_OK) == 0)
      ADD_FAILURE() << "leaked state root " << StateRoot();
  }

 private:
  std::set<std::string> before_;
};

}  // namespace

}  // namespace isoexec::exetest

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new isoexec::exetest::LeakCheck);
  return RUN_ALL_TESTS();
}
