// The cgroup backends against the real kernel, as root. On a hybrid host the host layout gives
// the v1 backend, and the controller-free cgroup2 at /sys/fs/cgroup/unified still runs the v2
// backend's process tracking, cgroup.kill, freezer, cpu.stat, CLONE_INTO_CGROUP and the device
// eBPF program. On a pure v2 host (tests/vm) the same tests run the v2 backend with limits.
// Every test removes its cgroups and processes, even when it fails (RAII below).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "base/file.h"
#include "base/unique_fd.h"
#include "cgroup/backend.h"
#include "cgroup/cgroup.h"
#include "cgroup/fs.h"
#include "cgroup/kill.h"
#include "cgroup/parsers.h"
#include "cgroup/paths.h"
#include "cgroup/v2/device_bpf.h"
#include "sys/syscalls.h"

namespace isoexec::cgroup {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kMiB = 1024 * 1024;

// A forked child that waits on a pipe until Release(), then runs `body` and _exits with its
// return value. The destructor SIGKILLs and reaps it if the test did not.
class Child {
 public:
  explicit Child(const std::function<int()>& body) { Start(body, -1); }
  // Starts the child directly in the cgroup `cgroup_fd` (clone3 + CLONE_INTO_CGROUP).
  Child(const std::function<int()>& body, int cgroup_fd) { Start(body, cgroup_fd); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (go_ >= 0) ::close(go_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  bool used_clone3() const { return used_clone3_; }
  void Release() {
    char c = 'g';
    ASSERT_EQ(::write(go_, &c, 1), 1);
    ::close(go_);
    go_ = -1;
  }
  // The wait status.
  int Wait() {
    int status = 0;
    EXPECT_EQ(::waitpid(pid_, &status, 0), pid_);
    reaped_ = true;
    return status;
  }
  // True when the child is gone (reaped here) within `timeout`.
  bool WaitFor(milliseconds timeout, int* status) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pid_t r = ::waitpid(pid_, status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return true;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
  }

 private:
  void Start(const std::function<int()>& body, int cgroup_fd) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    sys::CloneArgs args;
    args.cgroup_fd = cgroup_fd;
    pid_ = cgroup_fd >= 0 ? sys::Clone(args, &used_clone3_) : ::fork();
    ASSERT_GE(pid_, 0) << std::strerror(errno);
    if (pid_ == 0) {
      ::close(fds[1]);
      char c;
      if (::read(fds[0], &c, 1) != 1) ::_exit(100);
      ::_exit(body());
    }
    ::close(fds[0]);
    go_ = fds[1];
  }

  pid_t pid_ = -1;
  int go_ = -1;
  bool reaped_ = false;
  bool used_clone3_ = false;
};

int SleepForever() {
  for (;;) ::pause();
}

bool KilledBy(int status, int sig) { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }

bool Gone(const std::string& path) { return ::access(path.c_str(), F_OK) != 0 && errno == ENOENT; }

// The parent directories "isoexec-test-<pid>" of one layout, in every hierarchy.
std::vector<std::string> ParentDirs(const Layout& layout, const std::string& parent) {
  std::vector<std::string> out;
  if (layout.version() == Version::kV2) {
    out.push_back(JoinPath(layout.v2_mount, V2ParentComponents(parent).back()));
    return out;
  }
  for (const auto& [controller, mount] : layout.v1_mounts) {
    std::string dir = JoinPath(mount, parent);
    if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
  }
  return out;
}

// Destroys every task cgroup below the test parent, then the parent itself.
class ParentCleanup {
 public:
  ParentCleanup(Layout layout, std::string parent)
      : layout_(std::move(layout)), parent_(std::move(parent)) {}
  ParentCleanup(const ParentCleanup&) = delete;
  ParentCleanup& operator=(const ParentCleanup&) = delete;
  ~ParentCleanup() {
    for (const std::string& dir : ParentDirs(layout_, parent_)) {
      Result<std::string> listing = ListChildren(dir);
      if (!listing) continue;
      for (const std::string& name : SplitWords(*listing)) {
        std::string id = name;
        if (layout_.version() == Version::kV2 && id.ends_with(".scope")) id.resize(id.size() - 6);
        if (auto cg = Open(layout_, {.parent = parent_, .id = id}); cg) {
          Status s = (*cg)->Destroy();
          EXPECT_TRUE(s) << s.error().str();
        }
      }
      Status s = RemoveCgroupTree(dir, milliseconds(2000));
      EXPECT_TRUE(s) << s.error().str();
    }
  }

 private:
  static Result<std::string> ListChildren(const std::string& dir) {
    std::string names;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return Fail(Error::Errno(errno, dir));
    while (dirent* e = ::readdir(d))
      if (e->d_type == DT_DIR && e->d_name[0] != '.') names += std::string(e->d_name) + " ";
    ::closedir(d);
    return names;
  }

  Layout layout_;
  std::string parent_;
};

class CgroupBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (creates cgroups)";
    auto layout = DetectLayout();
    ASSERT_TRUE(layout) << layout.error().str();
    layout_ = *layout;
    parent_ = "isoexec-test-" + std::to_string(::getpid());
  }

  // Skips unless the host backend has `controllers` (v1 hierarchies or v2 controllers).
  void Require(std::initializer_list<const char*> controllers) {
    for (const char* c : controllers) {
      bool have = layout_.version() == Version::kV2 ? layout_.v2_controllers.count(c) > 0
                                                    : layout_.v1_mounts.count(c) > 0;
      if (!have) GTEST_SKIP() << "needs the `" << c << "` cgroup controller";
    }
  }

  // A v2-only view of the host: on hybrid hosts, the controller-free cgroup2 mount.
  bool V2Core(Layout* out) {
    if (layout_.v2_mount.empty()) return false;
    *out = Layout{.v2_mount = layout_.v2_mount, .v2_controllers = layout_.v2_controllers};
    return true;
  }

  std::unique_ptr<Cgroup> MustCreate(const Layout& layout, const std::string& id,
                                     const Limits& limits) {
    auto cg = Create(layout, {.parent = parent_, .id = id}, limits);
    EXPECT_TRUE(cg) << cg.error().str();
    return cg ? std::move(*cg) : nullptr;
  }

  // The hard memory limit file of the host backend.
  std::string MemoryLimitFile(const Cgroup& cg) {
    return JoinPath(cg.path(),
                    cg.version() == Version::kV2 ? "memory.max" : "memory.limit_in_bytes");
  }

  static std::string Trimmed(const std::string& path) {
    auto r = ReadFile(path);
    if (!r) return "<" + r.error().str() + ">";
    while (!r->empty() && r->back() == '\n') r->pop_back();
    return *r;
  }

  Layout layout_;
  std::string parent_;
};

TEST_F(CgroupBackendTest, LifecycleJoinLimitStatsKillDestroy) {
  Require({"memory", "pids", "cpu"});
  ParentCleanup cleanup(layout_, parent_);
  auto cg = MustCreate(layout_, "life",
                       {.memory_hard = 256 * kMiB,
                        .cpu_shares = 512,
                        .pids_max = 100,
                        .devices = DefaultDeviceRules()});
  ASSERT_TRUE(cg);
  EXPECT_EQ(cg->version(), layout_.version());
  EXPECT_EQ(Trimmed(MemoryLimitFile(*cg)), "268435456");

  Child child([] {
    // Some memory and CPU to measure.
    std::vector<char> buf(8 * kMiB, 1);
    volatile uint64_t sum = 0;
    for (int i = 0; i < 20'000'000; ++i) sum = sum + static_cast<uint64_t>(i);
    return buf[0] + static_cast<int>(sum & 0) + SleepForever();
  });
  ASSERT_TRUE(cg->AddProcess(child.pid()));
  child.Release();
  auto pids = cg->Pids();
  ASSERT_TRUE(pids) << pids.error().str();
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});

  std::this_thread::sleep_for(milliseconds(300));
  auto stats = cg->ReadStats();
  ASSERT_TRUE(stats) << stats.error().str();
  EXPECT_GT(stats->usage, 4 * kMiB);
  EXPECT_GT(stats->rss, 4 * kMiB);
  EXPECT_EQ(stats->limit, 256 * kMiB);
  EXPECT_GT(stats->cpu_total_ns, 0u);
  EXPECT_FALSE(stats->memory_measured.empty());
  EXPECT_FALSE(stats->cpu_measured.empty());

  ASSERT_TRUE(cg->KillAll());
  EXPECT_TRUE(KilledBy(child.Wait(), SIGKILL));
  EXPECT_TRUE(cg->Pids()->empty());
  EXPECT_EQ(cg->OomKilled(), false);

  std::vector<std::string> dirs = cg->dirs();
  Status destroyed = cg->Destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().str();
  for (const std::string& d : dirs) EXPECT_TRUE(Gone(d)) << d;
  EXPECT_TRUE(cg->Destroy()) << "idempotent";
}

TEST_F(CgroupBackendTest, LiveUpdateRaisesAndLowersMemory) {
  Require({"memory"});
  ParentCleanup cleanup(layout_, parent_);
  auto cg = MustCreate(layout_, "update", {.memory_hard = 256 * kMiB});
  ASSERT_TRUE(cg);
  auto opened = Open(layout_, {.parent = parent_, .id = "update"});
  ASSERT_TRUE(opened) << opened.error().str();
  for (uint64_t mib : {uint64_t{128}, uint64_t{512}, uint64_t{64}}) {
    Status s = (*opened)->Apply({.memory_hard = mib * kMiB});
    ASSERT_TRUE(s) << mib << ": " << s.error().str();
    EXPECT_EQ(Trimmed(MemoryLimitFile(*cg)), std::to_string(mib * kMiB));
    std::string memsw = JoinPath(cg->path(), "memory.memsw.limit_in_bytes");
    if (cg->version() == Version::kV1 && PathExists(memsw)) {
      EXPECT_EQ(Trimmed(memsw), std::to_string(mib * kMiB));
    }
  }
  ASSERT_TRUE((*opened)->Apply({}));
  EXPECT_EQ(Trimmed(MemoryLimitFile(*cg)),
            cg->version() == Version::kV2 ? "max" : "9223372036854771712");
  ASSERT_TRUE(cg->Destroy());
  EXPECT_EQ(Open(layout_, {.parent = parent_, .id = "update"}).error().code(), Code::kNotFound);
}

TEST_F(CgroupBackendTest, LoweringBelowUsageOnV1SaysSo) {
  Require({"memory"});
  if (layout_.version() != Version::kV1) GTEST_SKIP() << "v2 OOM-kills instead of refusing";
  ParentCleanup cleanup(layout_, parent_);
  auto cg = MustCreate(layout_, "busy", {.memory_hard = 256 * kMiB});
  ASSERT_TRUE(cg);
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  Child child([&] {
    std::vector<char> buf(64 * kMiB, 1);  // anonymous and no swap: cannot be reclaimed
    char c = 'r';
    if (::write(pipefd[1], &c, 1) != 1) return 3;
    return buf[1] + SleepForever();
  });
  ::close(pipefd[1]);
  ASSERT_TRUE(cg->AddProcess(child.pid()));
  child.Release();
  char c;
  ASSERT_EQ(::read(pipefd[0], &c, 1), 1);
  ::close(pipefd[0]);
  Status s = cg->Apply({.memory_hard = 8 * kMiB});
  if (s) {
    // With swap the kernel may manage to push the task out instead.
    GTEST_SKIP() << "the kernel reclaimed below 8 MiB (swap?)";
  }
  EXPECT_EQ(s.error().sys_errno(), EBUSY);
  EXPECT_NE(s.error().str().find("memory.limit_in_bytes"), std::string::npos) << s.error().str();
  EXPECT_NE(s.error().str().find("the task uses"), std::string::npos) << s.error().str();
  EXPECT_EQ(Trimmed(MemoryLimitFile(*cg)), "268435456");  // unchanged
  ASSERT_TRUE(cg->Destroy());
}

TEST_F(CgroupBackendTest, OomKillIsReported) {
  Require({"memory"});
  ParentCleanup cleanup(layout_, parent_);
  auto cg = MustCreate(layout_, "oom", {.memory_hard = 32 * kMiB});
  ASSERT_TRUE(cg);
  Child child([] {
    size_t size = 200 * kMiB;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 2;
    for (size_t i = 0; i < size; i += 4096) static_cast<char*>(p)[i] = 1;
    return 0;  // survived: no limit
  });
  ASSERT_TRUE(cg->AddProcess(child.pid()));
  child.Release();
  int status = child.Wait();
  EXPECT_TRUE(KilledBy(status, SIGKILL)) << "status " << status;
  auto oom = cg->OomKilled();
  ASSERT_TRUE(oom) << oom.error().str();
  EXPECT_TRUE(*oom);  // readable after the task ended, before Destroy
  ASSERT_TRUE(cg->Destroy());
}

TEST_F(CgroupBackendTest, CreateKillsStrayProcesses) {
  Require({"memory"});
  ParentCleanup cleanup(layout_, parent_);
  auto first = MustCreate(layout_, "stray", {});
  ASSERT_TRUE(first);
  Child stray(SleepForever);
  ASSERT_TRUE(first->AddProcess(stray.pid()));
  stray.Release();
  // Same id again, as after a supervisor crash (Nomad #20500).
  auto second = MustCreate(layout_, "stray", {.memory_hard = 64 * kMiB});
  ASSERT_TRUE(second);
  int status = 0;
  ASSERT_TRUE(stray.WaitFor(milliseconds(2000), &status));
  EXPECT_TRUE(KilledBy(status, SIGKILL));
  EXPECT_TRUE(second->Pids()->empty());
  ASSERT_TRUE(second->Destroy());
}

// Forks until the pids limit stops it; every process keeps forking.
int ForkBomb() {
  for (;;) {
    if (sys::RawFork() < 0) ::usleep(1000);
  }
}

TEST_F(CgroupBackendTest, ForkBombIsContainedAndKilled) {
  Require({"pids"});
  ParentCleanup cleanup(layout_, parent_);
  auto cg = MustCreate(layout_, "bomb", {.pids_max = 64});
  ASSERT_TRUE(cg);
  // Orphans come back to us and are reaped here, so nothing is left for init.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  {
    Child bomb(ForkBomb);
    ASSERT_TRUE(cg->AddProcess(bomb.pid()));
    bomb.Release();
    std::this_thread::sleep_for(milliseconds(300));
    auto pids = cg->Pids();
    ASSERT_TRUE(pids);
    EXPECT_GT(pids->size(), 10u);
    EXPECT_LE(pids->size(), 64u);
    Status killed = cg->KillAll();
    EXPECT_TRUE(killed) << killed.error().str();
    EXPECT_TRUE(cg->Pids()->empty());
    EXPECT_TRUE(KilledBy(bomb.Wait(), SIGKILL));
  }
  while (::waitpid(-1, nullptr, __WALL) > 0) {
  }
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
  ASSERT_TRUE(cg->Destroy());
}

TEST_F(CgroupBackendTest, DestroyKillsWhatIsStillRunning) {
  ParentCleanup cleanup(layout_, parent_);
  auto cg = MustCreate(layout_, "running", {});
  ASSERT_TRUE(cg);
  Child child(SleepForever);
  ASSERT_TRUE(cg->AddProcess(child.pid()));
  child.Release();
  std::vector<std::string> dirs = cg->dirs();
  Status s = cg->Destroy();
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_TRUE(KilledBy(child.Wait(), SIGKILL));
  for (const std::string& d : dirs) EXPECT_TRUE(Gone(d)) << d;
}

TEST_F(CgroupBackendTest, V2CoreKillFreezeEventsCpuStat) {
  Layout v2;
  if (!V2Core(&v2)) GTEST_SKIP() << "no cgroup2 mount";
  ParentCleanup cleanup(v2, parent_);
  auto cg = MustCreate(v2, "core", {});
  ASSERT_TRUE(cg);
  ASSERT_EQ(cg->version(), Version::kV2);
  ASSERT_GE(cg->CloneIntoFd(), 0);
  auto events = [&] { return ParseCgroupEvents(Trimmed(JoinPath(cg->path(), "cgroup.events"))); };
  EXPECT_EQ(events().populated, 0u);

  {
    Child child(
        [] {
          volatile uint64_t sum = 0;
          for (int i = 0; i < 50'000'000; ++i) sum = sum + static_cast<uint64_t>(i);
          return static_cast<int>(sum & 0) + SleepForever();
        },
        cg->CloneIntoFd());
    if (!child.used_clone3()) {
      ASSERT_TRUE(cg->AddProcess(child.pid()));
    }
    child.Release();
    // Born in the scope: /proc/<pid>/cgroup names it.
    std::string self = Trimmed("/proc/" + std::to_string(child.pid()) + "/cgroup");
    EXPECT_NE(self.find("0::/" + parent_ + ".slice/core.scope"), std::string::npos) << self;
    EXPECT_EQ(events().populated, 1u);
    std::this_thread::sleep_for(milliseconds(300));
    auto stats = cg->ReadStats();
    ASSERT_TRUE(stats) << stats.error().str();
    EXPECT_GT(stats->cpu_total_ns, 0u);
    EXPECT_NE(std::find(stats->cpu_measured.begin(), stats->cpu_measured.end(), "cpu_total_ns"),
              stats->cpu_measured.end());
    ASSERT_TRUE(cg->KillAll());  // cgroup.kill on 5.14+
    EXPECT_TRUE(KilledBy(child.Wait(), SIGKILL));
    EXPECT_EQ(events().populated, 0u);
  }

  // The freeze fallback, against a process that keeps forking (bounded: no pids limit here).
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  {
    Child forker([] {
      for (int i = 0; i < 200; ++i) {
        pid_t p = sys::RawFork();
        if (p == 0) SleepForever();
        ::usleep(500);
      }
      return SleepForever();
    });
    ASSERT_TRUE(cg->AddProcess(forker.pid()));
    forker.Release();
    std::this_thread::sleep_for(milliseconds(30));
    auto* backend = dynamic_cast<CgroupBackend*>(cg.get());
    ASSERT_NE(backend, nullptr);
    Status killed = backend->KillAllWithin(kKillTimeout, KillMethod::kFreeze);
    EXPECT_TRUE(killed) << killed.error().str();
    EXPECT_TRUE(KilledBy(forker.Wait(), SIGKILL));
    EXPECT_TRUE(cg->Pids()->empty());
    EXPECT_EQ(events().frozen, 0u) << "always thawed";
  }
  while (::waitpid(-1, nullptr, __WALL) > 0) {
  }
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 0), 0);

  std::string path = cg->path();
  ASSERT_TRUE(cg->Destroy());
  EXPECT_TRUE(Gone(path));
}

// Opens `path` in the child; exit code 0 = opened, 1 = EPERM, 2 = anything else.
int TryOpen(const char* path) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return 0;
  }
  return errno == EPERM ? 1 : 2;
}

// Creates a cgroup allowing only c 1:3 (null) and c 1:5 (zero), checks what a child can open,
// then updates it live to the default list.
void CheckDeviceFilter(const Layout& layout, const std::string& parent) {
  auto created =
      Create(layout, {.parent = parent, .id = "dev"},
             {.devices = std::vector<DeviceRule>{{'c', 1, 3, "rwm"}, {'c', 1, 5, "rwm"}}});
  ASSERT_TRUE(created) << created.error().str();
  Cgroup& cg = **created;
  // v2: exactly one program at any time (the update replaces it, never two, never none).
  auto programs = [&]() -> size_t {
    UniqueFd dir(::open(cg.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto ids = QueryDevicePrograms(dir.get(), cg.path());
    EXPECT_TRUE(ids) << ids.error().str();
    return ids ? ids->size() : 0;
  };
  if (cg.version() == Version::kV2) {
    EXPECT_EQ(programs(), 1u);
  }
  auto run = [&](const char* dev) {
    Child child([dev] { return TryOpen(dev); });
    EXPECT_TRUE(cg.AddProcess(child.pid()));
    child.Release();
    int status = child.Wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(run("/dev/null"), 0);
  EXPECT_EQ(run("/dev/zero"), 0);
  EXPECT_EQ(run("/dev/full"), 1);  // EPERM
  EXPECT_EQ(run("/dev/urandom"), 1);

  ASSERT_TRUE(cg.Apply({.devices = DefaultDeviceRules()}));
  if (cg.version() == Version::kV2) {
    EXPECT_EQ(programs(), 1u);
  }
  EXPECT_EQ(run("/dev/null"), 0);
  EXPECT_EQ(run("/dev/full"), 0);
  EXPECT_EQ(run("/dev/urandom"), 0);
  EXPECT_EQ(TryOpen("/dev/full"), 0) << "the test process itself is not filtered";
  Status destroyed = cg.Destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().str();
}

// v1 devices controller on hybrid/v1 hosts, the eBPF program on pure v2.
TEST_F(CgroupBackendTest, DeviceFilterAllowsOnlyTheList) {
  if (layout_.version() == Version::kV1) Require({"devices"});
  ParentCleanup cleanup(layout_, parent_);
  CheckDeviceFilter(layout_, parent_);
}

// The eBPF program, also on hybrid hosts (a child of the cgroup2 mount).
TEST_F(CgroupBackendTest, V2DeviceFilterAllowsOnlyTheList) {
  Layout v2;
  if (!V2Core(&v2)) GTEST_SKIP() << "no cgroup2 mount";
  ParentCleanup cleanup(v2, parent_);
  CheckDeviceFilter(v2, parent_);
}

}  // namespace
}  // namespace isoexec::cgroup
