// Both backends against a fake cgroup tree in a temp dir: the files a kernel would create are
// written up front (control files are opened without O_CREAT), then we check what was written.
// Killing and freezing are not exercised here (no processes); the integration tests do that.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "base/file.h"
#include "cgroup/cgroup.h"

namespace isoexec::cgroup {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr char kUnlimitedV1[] = "9223372036854771712";

class CgroupFakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgroup-fake-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(root_)); }

  void Put(const std::string& rel, const std::string& content) {
    std::string path = root_ + rel;
    ASSERT_TRUE(MakeDirs(path.substr(0, path.rfind('/'))));
    std::ofstream(path) << content;
  }
  std::string Get(const std::string& rel) {
    std::ifstream in(root_ + rel);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool Exists(const std::string& rel) { return ::access((root_ + rel).c_str(), F_OK) == 0; }

  std::string root_;
};

// --- v1 ---------------------------------------------------------------------------------------

class CgroupFakeV1 : public CgroupFakeTree {
 protected:
  static constexpr const char* kMounts[] = {"memory",  "cpu,cpuacct", "pids",
                                            "freezer", "cpuset",      "devices"};

  Layout MakeLayout(std::vector<std::string> mounts = {std::begin(kMounts), std::end(kMounts)}) {
    std::string mountinfo;
    int id = 40;
    for (const std::string& m : mounts)
      mountinfo += "" + std::to_string(id++) + " 31 0:40 / /sys/fs/cgroup/" + m +
                   " rw,relatime - cgroup cgroup rw," + m + "\n";
    auto layout = ParseLayout(mountinfo, root_);
    EXPECT_TRUE(layout);
    return *layout;
  }

  // What the kernel would show in a fresh v1 cgroup `rel` ("" = the hierarchy root).
  void MakeCgroup(const std::string& rel, std::vector<std::string> skip = {}) {
    auto dir = [&](const std::string& mount) { return "/sys/fs/cgroup/" + mount + rel + "/"; };
    auto skipped = [&](const std::string& m) {
      return std::find(skip.begin(), skip.end(), m) != skip.end();
    };
    for (const char* m : kMounts)
      if (!skipped(m)) Put(dir(m) + "cgroup.procs", "");
    if (!skipped("memory")) {
      for (const char* f :
           {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes"})
        Put(dir("memory") + f, std::string(kUnlimitedV1) + "\n");
      Put(dir("memory") + "memory.swappiness", "60\n");
      Put(dir("memory") + "memory.usage_in_bytes", "0\n");
      Put(dir("memory") + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
    }
    if (!skipped("cpu,cpuacct")) Put(dir("cpu,cpuacct") + "cpu.shares", "1024\n");
    if (!skipped("pids")) Put(dir("pids") + "pids.max", "max\n");
    if (!skipped("freezer")) Put(dir("freezer") + "freezer.state", "THAWED\n");
    if (!skipped("cpuset")) {
      Put(dir("cpuset") + "cpuset.cpus", rel.empty() ? "0-1\n" : "\n");
      Put(dir("cpuset") + "cpuset.mems", rel.empty() ? "0\n" : "\n");
    }
    if (!skipped("devices")) {
      Put(dir("devices") + "devices.allow", "");
      Put(dir("devices") + "devices.deny", "");
    }
  }

  void MakeTree(std::vector<std::string> skip = {}) {
    MakeCgroup("", skip);
    MakeCgroup("/isoexec", skip);
    MakeCgroup("/isoexec/t1", skip);
  }
};

TEST_F(CgroupFakeV1, CreateWritesLimits) {
  MakeTree();
  Limits limits{.memory_hard = 256 * kMiB,
                .memory_soft = 128 * kMiB,
                .cpu_shares = 500,
                .cpuset_cpus = "0",
                .pids_max = 64,
                .devices = DefaultDeviceRules()};
  auto cg = Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, limits);
  ASSERT_TRUE(cg) << cg.error().str();
  EXPECT_EQ((*cg)->version(), Version::kV1);
  EXPECT_EQ((*cg)->path(), root_ + "/sys/fs/cgroup/memory/isoexec/t1");
  EXPECT_EQ((*cg)->dirs().size(), 6u);  // cpu and cpuacct share a directory
  EXPECT_EQ((*cg)->CloneIntoFd(), -1);

  const std::string mem = "/sys/fs/cgroup/memory/isoexec/t1/";
  EXPECT_EQ(Get(mem + "memory.limit_in_bytes"), "268435456");
  EXPECT_EQ(Get(mem + "memory.memsw.limit_in_bytes"), "268435456");
  EXPECT_EQ(Get(mem + "memory.soft_limit_in_bytes"), "134217728");
  EXPECT_EQ(Get(mem + "memory.swappiness"), "0");
  EXPECT_EQ(Get("/sys/fs/cgroup/cpu,cpuacct/isoexec/t1/cpu.shares"), "500");
  EXPECT_EQ(Get("/sys/fs/cgroup/pids/isoexec/t1/pids.max"), "64");
  EXPECT_EQ(Get("/sys/fs/cgroup/cpuset/isoexec/t1/cpuset.cpus"), "0");
  // Empty cpusets are filled from the parent, top down, before anything joins.
  EXPECT_EQ(Get("/sys/fs/cgroup/cpuset/isoexec/cpuset.cpus"), "0-1");
  EXPECT_EQ(Get("/sys/fs/cgroup/cpuset/isoexec/cpuset.mems"), "0");
  EXPECT_EQ(Get("/sys/fs/cgroup/cpuset/isoexec/t1/cpuset.mems"), "0");
  EXPECT_EQ(Get("/sys/fs/cgroup/devices/isoexec/t1/devices.deny"), "a");
  // Each rule is its own write; the fake file keeps the last one.
  EXPECT_EQ(Get("/sys/fs/cgroup/devices/isoexec/t1/devices.allow"), "c 136:* rwm");
  EXPECT_EQ(Get("/sys/fs/cgroup/freezer/isoexec/t1/freezer.state"), "THAWED\n");
}

TEST_F(CgroupFakeV1, ApplyWithoutLimitsResetsToDefaults) {
  MakeTree();
  auto cg =
      Create(MakeLayout(), {.parent = "isoexec", .id = "t1"},
             {.memory_hard = 64 * kMiB, .cpu_shares = 100, .cpuset_cpus = "1", .pids_max = 10});
  ASSERT_TRUE(cg) << cg.error().str();
  ASSERT_TRUE((*cg)->Apply({})) << "live update";
  const std::string mem = "/sys/fs/cgroup/memory/isoexec/t1/";
  EXPECT_EQ(Get(mem + "memory.limit_in_bytes"), "-1");
  EXPECT_EQ(Get(mem + "memory.memsw.limit_in_bytes"), "-1");
  EXPECT_EQ(Get(mem + "memory.soft_limit_in_bytes"), "-1");
  EXPECT_EQ(Get("/sys/fs/cgroup/cpu,cpuacct/isoexec/t1/cpu.shares"), "1024");
  EXPECT_EQ(Get("/sys/fs/cgroup/pids/isoexec/t1/pids.max"), "max");
  EXPECT_EQ(Get("/sys/fs/cgroup/cpuset/isoexec/t1/cpuset.cpus"), "1");   // left as is
  EXPECT_EQ(Get("/sys/fs/cgroup/devices/isoexec/t1/devices.deny"), "");  // not touched
}

TEST_F(CgroupFakeV1, LeftoverFrozenCgroupIsThawed) {
  MakeTree();
  Put("/sys/fs/cgroup/freezer/isoexec/t1/freezer.state", "FROZEN\n");
  ASSERT_TRUE(Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {}));
  EXPECT_EQ(Get("/sys/fs/cgroup/freezer/isoexec/t1/freezer.state"), "THAWED");
}

TEST_F(CgroupFakeV1, MissingControllerOnlyMattersWhenUsed) {
  MakeTree();
  std::vector<std::string> no_pids = {"memory", "cpu,cpuacct", "freezer", "cpuset", "devices"};
  auto bad = Create(MakeLayout(no_pids), {.parent = "isoexec", .id = "t1"}, {.pids_max = 5});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().str().find("`pids`"), std::string::npos) << bad.error().str();
  EXPECT_EQ(bad.error().code(), Code::kFailedPrecondition);
  auto ok = Create(MakeLayout(no_pids), {.parent = "isoexec", .id = "t1"}, {});
  EXPECT_TRUE(ok) << ok.error().str();

  std::vector<std::string> no_devices = {"memory", "cpu,cpuacct", "pids", "freezer", "cpuset"};
  auto devices = Create(MakeLayout(no_devices), {.parent = "isoexec", .id = "t1"},
                        {.devices = DefaultDeviceRules()});
  ASSERT_FALSE(devices);  // never silently without the device filter
  EXPECT_NE(devices.error().str().find("`devices`"), std::string::npos);
}

TEST_F(CgroupFakeV1, FailedCreateRemovesTheDirectoriesItMade) {
  // The memory hierarchy has no isoexec/t1 yet: Create makes both dirs (empty, since this is
  // not cgroupfs), then fails writing memory.limit_in_bytes and must remove them again.
  MakeTree({"memory"});
  Put("/sys/fs/cgroup/memory/cgroup.procs", "");
  auto cg = Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {.memory_hard = 64 * kMiB});
  ASSERT_FALSE(cg);
  EXPECT_NE(cg.error().str().find(root_ + "/sys/fs/cgroup/memory/isoexec/t1/"), std::string::npos)
      << cg.error().str();
  EXPECT_FALSE(Exists("/sys/fs/cgroup/memory/isoexec"));
  // Directories that were there before stay.
  EXPECT_TRUE(Exists("/sys/fs/cgroup/pids/isoexec/t1"));
}

TEST_F(CgroupFakeV1, InvalidOptionsAndLimitsAreRejectedBeforeTouchingAnything) {
  MakeTree();
  EXPECT_FALSE(Create(MakeLayout(), {.parent = "../etc", .id = "t1"}, {}));
  EXPECT_FALSE(Create(MakeLayout(), {.parent = "isoexec", .id = "t2"}, {.cpu_shares = 1}));
  EXPECT_FALSE(Exists("/sys/fs/cgroup/memory/isoexec/t2"));
  auto none = Create(Layout{}, {.parent = "isoexec", .id = "t1"}, {});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().str().find("no cgroup filesystem"), std::string::npos);
}

TEST_F(CgroupFakeV1, OpenStatsOomAndPids) {
  MakeTree();
  EXPECT_EQ(Open(MakeLayout(), {.parent = "isoexec", .id = "nope"}).error().code(),
            Code::kNotFound);
  const std::string mem = "/sys/fs/cgroup/memory/isoexec/t1/";
  Put(mem + "memory.stat",
      "cache 100\nrss 200\nmapped_file 50\ntotal_cache 1000\n"
      "total_rss 2000\ntotal_mapped_file 500\ntotal_swap 7\n");
  Put(mem + "memory.usage_in_bytes", "4096\n");
  Put(mem + "memory.max_usage_in_bytes", "8192\n");
  Put(mem + "memory.kmem.usage_in_bytes", "16\n");
  Put(mem + "memory.kmem.max_usage_in_bytes", "32\n");
  Put(mem + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  const std::string cpu = "/sys/fs/cgroup/cpu,cpuacct/isoexec/t1/";
  Put(cpu + "cpuacct.stat", "user 150\nsystem 50\n");
  Put(cpu + "cpuacct.usage", "2000000000\n");
  Put(cpu + "cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 999\n");
  Put("/sys/fs/cgroup/pids/isoexec/t1/cgroup.procs", "12\n13\n");
  Put("/sys/fs/cgroup/pids/isoexec/t1/sub/cgroup.procs", "14\n");
  Put("/sys/fs/cgroup/freezer/isoexec/t1/cgroup.procs", "13\n");

  auto cg = Open(MakeLayout(), {.parent = "isoexec", .id = "t1"});
  ASSERT_TRUE(cg) << cg.error().str();
  EXPECT_EQ(*(*cg)->Pids(), (std::vector<pid_t>{12, 13, 14}));
  EXPECT_EQ(*(*cg)->OomKilled(), true);

  auto s = (*cg)->ReadStats();
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->rss, 2000u);
  EXPECT_EQ(s->cache, 1000u);
  EXPECT_EQ(s->mapped_file, 500u);
  EXPECT_EQ(s->swap, 7u);
  EXPECT_EQ(s->usage, 4096u);
  EXPECT_EQ(s->max_usage, 8192u);
  EXPECT_EQ(s->kernel_usage, 16u);
  EXPECT_EQ(s->kernel_max_usage, 32u);
  EXPECT_EQ(s->limit, 0u);  // unlimited
  EXPECT_EQ(s->memory_measured,
            (std::vector<std::string>{"rss", "cache", "swap", "mapped_file", "usage", "max_usage",
                                      "kernel_usage", "kernel_max_usage", "limit"}));
  long hz = ::sysconf(_SC_CLK_TCK);
  EXPECT_EQ(s->cpu_user_ns, uint64_t{150} * 1'000'000'000 / static_cast<uint64_t>(hz));
  EXPECT_EQ(s->cpu_system_ns, uint64_t{50} * 1'000'000'000 / static_cast<uint64_t>(hz));
  EXPECT_EQ(s->cpu_total_ns, 2'000'000'000u);
  EXPECT_EQ(s->throttled_periods, 2u);
  EXPECT_EQ(s->throttled_ns, 999u);
  EXPECT_EQ(s->cpu_measured,
            (std::vector<std::string>{"cpu_user_ns", "cpu_system_ns", "cpu_total_ns",
                                      "throttled_periods", "throttled_ns"}));
}

TEST_F(CgroupFakeV1, StatsListOnlyWhatExists) {
  MakeTree();  // no memory.stat, no kmem files, no cpuacct files
  auto cg = Open(MakeLayout(), {.parent = "isoexec", .id = "t1"});
  ASSERT_TRUE(cg);
  auto s = (*cg)->ReadStats();
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->memory_measured, (std::vector<std::string>{"usage", "limit"}));
  EXPECT_TRUE(s->cpu_measured.empty());
  EXPECT_EQ(*(*cg)->OomKilled(), false);
}

// --- v2 ---------------------------------------------------------------------------------------

class CgroupFakeV2 : public CgroupFakeTree {
 protected:
  Layout MakeLayout() {
    auto layout = ParseLayout(
        "30 23 0:26 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n", root_);
    EXPECT_TRUE(layout);
    return *layout;
  }

  void MakeCgroup(const std::string& rel, const std::string& controllers,
                  const std::string& subtree = "") {
    std::string dir = "/sys/fs/cgroup" + rel + "/";
    Put(dir + "cgroup.controllers", controllers + "\n");
    Put(dir + "cgroup.subtree_control", subtree.empty() ? "" : subtree + "\n");
    Put(dir + "cgroup.procs", "");
    if (rel.empty()) return;
    Put(dir + "cgroup.events", "populated 0\nfrozen 0\n");
    Put(dir + "cgroup.freeze", "0\n");
    Put(dir + "cgroup.kill", "");
    Put(dir + "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    if (controllers.find("memory") != std::string::npos) {
      for (const char* f : {"memory.max", "memory.swap.max"}) Put(dir + f, "max\n");
      Put(dir + "memory.low", "0\n");
      Put(dir + "memory.oom.group", "0\n");
      Put(dir + "memory.current", "0\n");
      Put(dir + "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    }
    if (controllers.find("cpu ") != std::string::npos || controllers.ends_with("cpu"))
      Put(dir + "cpu.weight", "100\n");
    if (controllers.find("pids") != std::string::npos) Put(dir + "pids.max", "max\n");
    if (controllers.find("cpuset") != std::string::npos) Put(dir + "cpuset.cpus", "\n");
  }

  void MakeTree(const std::string& root_subtree = "") {
    MakeCgroup("", "cpuset cpu io memory hugetlb pids rdma misc", root_subtree);
    MakeCgroup("/isoexec.slice", "cpuset cpu memory pids");
    MakeCgroup("/isoexec.slice/t1.scope", "cpuset cpu memory pids");
  }
};

TEST_F(CgroupFakeV2, CreateEnablesControllersAndWritesLimits) {
  MakeTree();
  Limits limits{.memory_hard = 256 * kMiB,
                .memory_soft = 128 * kMiB,
                .cpu_shares = 500,
                .cpuset_cpus = "0",
                .pids_max = 64};
  auto cg = Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, limits);
  ASSERT_TRUE(cg) << cg.error().str();
  EXPECT_EQ((*cg)->version(), Version::kV2);
  EXPECT_EQ((*cg)->path(), root_ + "/sys/fs/cgroup/isoexec.slice/t1.scope");
  EXPECT_EQ((*cg)->dirs(), std::vector<std::string>{(*cg)->path()});
  EXPECT_GE((*cg)->CloneIntoFd(), 0);

  // One controller per write; the fake file keeps the last (memory, pids, cpu, cpuset).
  EXPECT_EQ(Get("/sys/fs/cgroup/cgroup.subtree_control"), "+cpuset");
  EXPECT_EQ(Get("/sys/fs/cgroup/isoexec.slice/cgroup.subtree_control"), "+cpuset");
  EXPECT_EQ(Get("/sys/fs/cgroup/isoexec.slice/t1.scope/cgroup.subtree_control"), "");  // leaf

  const std::string scope = "/sys/fs/cgroup/isoexec.slice/t1.scope/";
  EXPECT_EQ(Get(scope + "memory.max"), "268435456");
  EXPECT_EQ(Get(scope + "memory.low"), "134217728");
  EXPECT_EQ(Get(scope + "memory.swap.max"), "0");
  EXPECT_EQ(Get(scope + "memory.oom.group"), "1");
  EXPECT_EQ(Get(scope + "cpu.weight"), "58");
  EXPECT_EQ(Get(scope + "pids.max"), "64");
  EXPECT_EQ(Get(scope + "cpuset.cpus"), "0");
}

TEST_F(CgroupFakeV2, AlreadyEnabledControllersAreNotRewritten) {
  MakeTree("cpuset cpu io memory pids");
  ASSERT_TRUE(Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {}));
  EXPECT_EQ(Get("/sys/fs/cgroup/cgroup.subtree_control"), "cpuset cpu io memory pids\n");
}

TEST_F(CgroupFakeV2, ApplyWithoutLimitsResetsToDefaults) {
  MakeTree();
  auto cg = Create(MakeLayout(), {.parent = "isoexec", .id = "t1"},
                   {.memory_hard = 64 * kMiB, .cpu_shares = 100, .pids_max = 10});
  ASSERT_TRUE(cg) << cg.error().str();
  ASSERT_TRUE((*cg)->Apply({}));
  const std::string scope = "/sys/fs/cgroup/isoexec.slice/t1.scope/";
  EXPECT_EQ(Get(scope + "memory.max"), "max");
  EXPECT_EQ(Get(scope + "memory.low"), "0");
  EXPECT_EQ(Get(scope + "cpu.weight"), "100");
  EXPECT_EQ(Get(scope + "pids.max"), "max");
}

TEST_F(CgroupFakeV2, ParentWithProcessesIsRefusedBeforeWriting) {
  MakeTree();
  Put("/sys/fs/cgroup/isoexec.slice/cgroup.type", "domain\n");
  Put("/sys/fs/cgroup/isoexec.slice/cgroup.procs", "4242\n");
  auto cg = Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {});
  ASSERT_FALSE(cg);
  std::string msg = cg.error().str();
  EXPECT_NE(msg.find("no internal processes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("isoexec.slice/cgroup.subtree_control"), std::string::npos) << msg;
  EXPECT_EQ(Get("/sys/fs/cgroup/isoexec.slice/cgroup.subtree_control"), "");
  // The real root (no cgroup.type) may hold processes.
  Put("/sys/fs/cgroup/cgroup.procs", "1\n");
  Put("/sys/fs/cgroup/isoexec.slice/cgroup.procs", "");
  EXPECT_TRUE(Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {}));
}

TEST_F(CgroupFakeV2, LeftoverFrozenScopeIsThawed) {
  MakeTree();
  Put("/sys/fs/cgroup/isoexec.slice/t1.scope/cgroup.freeze", "1\n");
  ASSERT_TRUE(Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {}));
  EXPECT_EQ(Get("/sys/fs/cgroup/isoexec.slice/t1.scope/cgroup.freeze"), "0");
}

TEST_F(CgroupFakeV2, UndelegatedControllerErrorNamesWhereItStops) {
  MakeCgroup("", "cpu pids");
  MakeCgroup("/isoexec.slice", "cpu pids");
  MakeCgroup("/isoexec.slice/t1.scope", "cpu pids");
  // Without a memory limit the missing controller does not matter.
  ASSERT_TRUE(Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {.cpu_shares = 2}));
  auto cg = Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {.memory_hard = kMiB});
  ASSERT_FALSE(cg);
  std::string msg = cg.error().str();
  EXPECT_NE(msg.find("`memory`"), std::string::npos) << msg;
  EXPECT_NE(msg.find("`" + root_ + "/sys/fs/cgroup`"), std::string::npos) << msg;
  EXPECT_NE(msg.find("delegated"), std::string::npos) << msg;
}

TEST_F(CgroupFakeV2, FailedCreateRemovesTheDirectoriesItMade) {
  MakeCgroup("", "cpuset cpu memory pids");
  // isoexec.slice and t1.scope do not exist: Create makes them, but this plain directory has
  // no cgroup.controllers, so enabling controllers in isoexec.slice fails.
  auto cg = Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {});
  ASSERT_FALSE(cg);
  EXPECT_NE(cg.error().str().find("isoexec.slice/cgroup.controllers"), std::string::npos)
      << cg.error().str();
  EXPECT_FALSE(Exists("/sys/fs/cgroup/isoexec.slice"));
}

TEST_F(CgroupFakeV2, StatsOomAndPeak) {
  MakeTree();
  const std::string scope = "/sys/fs/cgroup/isoexec.slice/t1.scope/";
  Put(scope + "memory.stat", "anon 100\nfile 200\nkernel 5\nfile_mapped 30\n");
  Put(scope + "memory.current", "4096\n");
  Put(scope + "memory.swap.current", "0\n");
  Put(scope + "memory.max", "268435456\n");
  Put(scope + "memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 0\n");
  Put(scope + "cpu.stat",
      "usage_usec 30\nuser_usec 20\nsystem_usec 10\nnr_periods 0\n"
      "nr_throttled 1\nthrottled_usec 5\n");
  auto cg = Open(MakeLayout(), {.parent = "isoexec", .id = "t1"});
  ASSERT_TRUE(cg) << cg.error().str();
  EXPECT_EQ(*(*cg)->OomKilled(), false);  // hit the limit, nothing killed

  auto s = (*cg)->ReadStats();
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->rss, 100u);
  EXPECT_EQ(s->cache, 200u);
  EXPECT_EQ(s->mapped_file, 30u);
  EXPECT_EQ(s->usage, 4096u);
  EXPECT_EQ(s->max_usage, 4096u);  // no memory.peak: the caller tracks the max
  EXPECT_FALSE(s->max_usage_is_peak_file);
  EXPECT_EQ(s->limit, 268435456u);
  EXPECT_EQ(s->memory_measured, (std::vector<std::string>{"rss", "cache", "mapped_file", "swap",
                                                          "usage", "max_usage", "limit"}));
  EXPECT_EQ(s->cpu_total_ns, 30000u);
  EXPECT_EQ(s->cpu_user_ns, 20000u);
  EXPECT_EQ(s->cpu_system_ns, 10000u);
  EXPECT_EQ(s->throttled_periods, 1u);
  EXPECT_EQ(s->throttled_ns, 5000u);
  EXPECT_EQ(s->cpu_measured.size(), 5u);

  Put(scope + "memory.peak", "65536\n");
  Put(scope + "memory.max", "max\n");
  Put(scope + "memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 2\n");
  s = (*cg)->ReadStats();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->max_usage, 65536u);
  EXPECT_TRUE(s->max_usage_is_peak_file);
  EXPECT_EQ(s->limit, 0u);
  EXPECT_EQ(*(*cg)->OomKilled(), true);
}

TEST_F(CgroupFakeV2, NoControllersLikeAHybridUnifiedChild) {
  MakeCgroup("", "");
  MakeCgroup("/isoexec.slice", "");
  MakeCgroup("/isoexec.slice/t1.scope", "");
  auto cg = Create(MakeLayout(), {.parent = "isoexec", .id = "t1"}, {});
  ASSERT_TRUE(cg) << cg.error().str();
  EXPECT_EQ(*(*cg)->OomKilled(), false);
  auto s = (*cg)->ReadStats();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->memory_measured.empty());
  EXPECT_EQ(s->cpu_measured,
            (std::vector<std::string>{"cpu_user_ns", "cpu_system_ns", "cpu_total_ns"}));
  EXPECT_FALSE((*cg)->Apply({.pids_max = 3}));
  EXPECT_TRUE((*cg)->KillAll());  // cgroup.kill is written; nothing is listed
}

}  // namespace
}  // namespace isoexec::cgroup
