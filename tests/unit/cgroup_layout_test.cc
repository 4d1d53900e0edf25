#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "base/file.h"
#include "cgroup/cgroup.h"

namespace isoexec::cgroup {
namespace {

// Debian 11 style, systemd hybrid.
constexpr char kHybrid[] =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 "
    "rw,nsdelegate\n";

constexpr char kPureV2[] =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

constexpr char kPureV1[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "42 31 0:39 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n";

TEST(CgroupLayout, HybridUsesV1WithCoMountedCpu) {
  auto l = ParseLayout(kHybrid);
  ASSERT_TRUE(l) << l.error().str();
  EXPECT_EQ(l->v2_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l->v1_mounts.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(l->v1_mounts.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(l->v1_mounts.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(l->v1_mounts.count("systemd"), 0u);  // named hierarchy, no controller
  EXPECT_EQ(l->v1_mounts.count("name=systemd"), 0u);
  EXPECT_FALSE(l->pure_v2());
  EXPECT_EQ(l->version(), Version::kV1);
}

TEST(CgroupLayout, PureV2) {
  auto l = ParseLayout(kPureV2);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->v2_mount, "/sys/fs/cgroup");
  EXPECT_TRUE(l->v1_mounts.empty());
  EXPECT_TRUE(l->pure_v2());
  EXPECT_EQ(l->version(), Version::kV2);
}

TEST(CgroupLayout, PureV1) {
  auto l = ParseLayout(kPureV1);
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->v2_mount.empty());
  EXPECT_EQ(l->v1_mounts.size(), 6u);
  EXPECT_EQ(l->v1_mounts.at("net_prio"), "/sys/fs/cgroup/net_cls,net_prio");
  EXPECT_EQ(l->version(), Version::kV1);
}

TEST(CgroupLayout, V2WhenOnlyUnrelatedV1ControllersRemain) {
  // cgroup2 on /sys/fs/cgroup plus a leftover net_cls hierarchy: the limits live on v2.
  std::string text =
      std::string(kPureV2) + "42 30 0:39 / /sys/fs/cgroup/net_cls rw - cgroup cgroup rw,net_cls\n";
  auto l = ParseLayout(text);
  ASSERT_TRUE(l);
  EXPECT_FALSE(l->pure_v2());
  EXPECT_EQ(l->version(), Version::kV2);
}

TEST(CgroupLayout, NoCgroupsAtAll) {
  auto l = ParseLayout("22 27 0:21 / /proc rw,relatime - proc proc rw\n");
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->v2_mount.empty());
  EXPECT_TRUE(l->v1_mounts.empty());
}

TEST(CgroupLayout, UnescapesMountPoints) {
  auto l = ParseLayout("30 23 0:26 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->v2_mount, "/mnt/my cgroup");
}

TEST(CgroupLayout, FsPrefixAndControllersFile) {
  char tmpl[] = "/tmp/cgroup-layout-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  ASSERT_TRUE(MakeDirs(root + "/sys/fs/cgroup"));
  std::ofstream(root + "/sys/fs/cgroup/cgroup.controllers") << "cpuset cpu io memory pids\n";
  auto l = ParseLayout(kPureV2, root);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->v2_mount, root + "/sys/fs/cgroup");
  EXPECT_EQ(l->v2_controllers, (std::set<std::string>{"cpuset", "cpu", "io", "memory", "pids"}));
  ASSERT_TRUE(RemoveTree(root));
}

TEST(CgroupLayout, DetectOnThisHost) {
  auto l = DetectLayout();
  ASSERT_TRUE(l) << l.error().str();
  // Whatever the host is, the answer must be self-consistent.
  if (l->pure_v2()) {
    EXPECT_EQ(l->version(), Version::kV2);
  }
  if (l->v1_mounts.count("memory")) {
    EXPECT_EQ(l->version(), Version::kV1);
  }
}

}  // namespace
}  // namespace isoexec::cgroup
