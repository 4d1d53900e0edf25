#include <gtest/gtest.h>

#include "cgroup/cgroup.h"
#include "cgroup/paths.h"
#include "cgroup/v1/cgroup_v1.h"

namespace isoexec::cgroup {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// Nomad's memoryLimits table.
TEST(CgroupFromResources, MemoryOnlyIsHard) {
  spec::Resources r;
  r.memory = 100 * kMiB;
  Limits l = FromResources(r);
  EXPECT_EQ(l.memory_hard, 100 * kMiB);
  EXPECT_FALSE(l.memory_soft);
}

TEST(CgroupFromResources, MemoryMaxIsHardMemoryIsSoft) {
  spec::Resources r;
  r.memory = 100 * kMiB;
  r.memory_max = 200 * kMiB;
  Limits l = FromResources(r);
  EXPECT_EQ(l.memory_hard, 200 * kMiB);
  EXPECT_EQ(l.memory_soft, 100 * kMiB);
}

TEST(CgroupFromResources, MemoryMaxUnlimitedHasNoHardLimit) {
  spec::Resources r;
  r.memory = 100 * kMiB;
  r.memory_max_unlimited = true;
  Limits l = FromResources(r);
  EXPECT_FALSE(l.memory_hard);
  EXPECT_EQ(l.memory_soft, 100 * kMiB);
}

TEST(CgroupFromResources, OtherFields) {
  spec::Resources r;
  Limits none = FromResources(r);
  EXPECT_FALSE(none.memory_hard);
  EXPECT_FALSE(none.memory_soft);
  EXPECT_FALSE(none.cpuset_cpus);  // "" = inherit
  EXPECT_FALSE(none.devices);      // the launcher decides
  r.cpu_shares = 500;
  r.cpuset = "0-1";
  r.pids_max = 64;
  Limits l = FromResources(r);
  EXPECT_EQ(l.cpu_shares, 500u);
  EXPECT_EQ(l.cpuset_cpus, "0-1");
  EXPECT_EQ(l.pids_max, 64);
}

TEST(CgroupSharesToWeight, FitPoints) {
  EXPECT_EQ(SharesToWeight(2), 1u);
  EXPECT_EQ(SharesToWeight(1024), 100u);
  EXPECT_EQ(SharesToWeight(262144), 10000u);
  // opencontainers/cgroups v0.0.3+ values (Nomad HEAD).
  EXPECT_EQ(SharesToWeight(100), 17u);
  EXPECT_EQ(SharesToWeight(500), 58u);
  EXPECT_EQ(SharesToWeight(1000), 99u);
  EXPECT_EQ(SharesToWeight(2000), 170u);
  // Clamped outside the range.
  EXPECT_EQ(SharesToWeight(0), 1u);
  EXPECT_EQ(SharesToWeight(1 << 20), 10000u);
}

TEST(CgroupSharesToWeight, MonotonicWithinRange) {
  uint64_t prev = 0;
  for (uint64_t s = 2; s <= 262144; s += 97) {
    uint64_t w = SharesToWeight(s);
    EXPECT_GE(w, prev) << s;
    EXPECT_GE(w, 1u);
    EXPECT_LE(w, 10000u);
    prev = w;
  }
}

TEST(CgroupValidateLimits, Ranges) {
  EXPECT_TRUE(ValidateLimits({}));
  EXPECT_FALSE(ValidateLimits({.cpu_shares = 1}));
  EXPECT_FALSE(ValidateLimits({.cpu_shares = 262145}));
  EXPECT_TRUE(ValidateLimits({.cpu_shares = 2}));
  EXPECT_FALSE(ValidateLimits({.pids_max = 0}));
  EXPECT_FALSE(ValidateLimits({.memory_hard = 0}));
  auto soft_over_hard = ValidateLimits({.memory_hard = 100, .memory_soft = 200});
  ASSERT_FALSE(soft_over_hard);
  EXPECT_EQ(soft_over_hard.error().field(), "memory");
  EXPECT_TRUE(ValidateLimits({.memory_soft = 200}));  // memory_max unlimited
  EXPECT_FALSE(ValidateLimits({.cpuset_cpus = ""}));
  EXPECT_FALSE(ValidateLimits({.cpuset_cpus = "0;1"}));
  EXPECT_TRUE(ValidateLimits({.cpuset_cpus = "0-2,4"}));
}

TEST(CgroupDeviceRules, DefaultsHaveNoBlanketMknod) {
  std::vector<DeviceRule> rules = DefaultDeviceRules();
  ASSERT_EQ(rules.size(), 8u);
  std::vector<std::string> text;
  for (const DeviceRule& r : rules) {
    EXPECT_NE(r.type, 'a');
    EXPECT_GE(r.major, 0);  // no c *:* / b *:* rule
    text.push_back(FormatDeviceRule(r));
  }
  EXPECT_EQ(text, (std::vector<std::string>{"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
                                            "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"}));
  EXPECT_TRUE(ValidateDeviceRules(rules, "devices"));
}

TEST(CgroupDeviceRules, Format) {
  EXPECT_EQ(FormatDeviceRule({'b', 8, -1, "r"}), "b 8:* r");
  EXPECT_EQ(FormatDeviceRule({'c', -1, -1, "m"}), "c *:* m");
  EXPECT_EQ(FormatDeviceRule({'a', -1, -1, "rwm"}), "a");
}

TEST(CgroupDeviceRules, ValidationNamesTheRule) {
  auto bad_type = ValidateDeviceRules({{'c', 1, 3, "rwm"}, {'x', 1, 3, "rwm"}}, "devices");
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().field(), "devices[1]");
  EXPECT_FALSE(ValidateDeviceRules({{'c', 1, 3, ""}}, "d"));
  EXPECT_FALSE(ValidateDeviceRules({{'c', 1, 3, "rx"}}, "d"));
  EXPECT_FALSE(ValidateDeviceRules({{'c', 1, 3, "rr"}}, "d"));
  EXPECT_FALSE(ValidateDeviceRules({{'c', -2, 3, "r"}}, "d"));
  EXPECT_FALSE(ValidateDeviceRules({{'c', 1, int64_t{1} << 31, "r"}}, "d"));
  EXPECT_TRUE(ValidateDeviceRules({{'b', 259, 0, "mw"}}, "d"));
}

TEST(CgroupPaths, ValidateOptions) {
  EXPECT_TRUE(ValidateOptions({.parent = "isoexec", .id = "t1"}));
  EXPECT_TRUE(ValidateOptions({.parent = "/nomad/share/", .id = "a.web"}));
  EXPECT_TRUE(ValidateOptions({.parent = "", .id = "t1"}));
  EXPECT_FALSE(ValidateOptions({.parent = "isoexec", .id = ""}));
  EXPECT_FALSE(ValidateOptions({.parent = "isoexec", .id = ".."}));
  EXPECT_FALSE(ValidateOptions({.parent = "isoexec", .id = "a/b"}));
  auto up = ValidateOptions({.parent = "a/../b", .id = "t"});
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().field(), "--cgroup-parent");
  EXPECT_FALSE(ValidateOptions({.parent = "a//b", .id = "t"}));
}

TEST(CgroupPaths, V2Names) {
  EXPECT_EQ(V2ParentComponents("isoexec"), (std::vector<std::string>{"isoexec.slice"}));
  EXPECT_EQ(V2ParentComponents("nomad.slice"), (std::vector<std::string>{"nomad.slice"}));
  EXPECT_EQ(V2ParentComponents("/nomad/share"), (std::vector<std::string>{"nomad", "share.slice"}));
  EXPECT_TRUE(V2ParentComponents("").empty());
  EXPECT_EQ(V2ScopeName("t1"), "t1.scope");
}

TEST(CgroupV1MemoryPlan, RaisingWritesMemswFirst) {
  // Current memsw 128 MiB (= limit); raise to 256 MiB.
  EXPECT_EQ(PlanV1MemoryLimit(256 * kMiB, 128 * kMiB),
            (std::vector<ControlWrite>{{"memory.memsw.limit_in_bytes", "268435456"},
                                       {"memory.limit_in_bytes", "268435456"}}));
}

TEST(CgroupV1MemoryPlan, LoweringWritesLimitFirst) {
  // Fresh cgroup: memsw is "unlimited" (PAGE_COUNTER_MAX * 4096).
  EXPECT_EQ(PlanV1MemoryLimit(256 * kMiB, 9223372036854771712u),
            (std::vector<ControlWrite>{{"memory.limit_in_bytes", "268435456"},
                                       {"memory.memsw.limit_in_bytes", "268435456"}}));
}

TEST(CgroupV1MemoryPlan, RemovingTheLimit) {
  EXPECT_EQ(PlanV1MemoryLimit(std::nullopt, 256 * kMiB),
            (std::vector<ControlWrite>{{"memory.memsw.limit_in_bytes", "-1"},
                                       {"memory.limit_in_bytes", "-1"}}));
}

TEST(CgroupV1MemoryPlan, NoSwapAccounting) {
  EXPECT_EQ(PlanV1MemoryLimit(256 * kMiB, std::nullopt),
            (std::vector<ControlWrite>{{"memory.limit_in_bytes", "268435456"}}));
}

}  // namespace
}  // namespace isoexec::cgroup
