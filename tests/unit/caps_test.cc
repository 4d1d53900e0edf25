#include "isolation/caps.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "isolation/seccomp.h"

namespace isoexec::isolation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kLastCap = 40;  // CAP_CHECKPOINT_RESTORE, Linux 5.9+

TEST(Caps, DefaultMaskAndNames) {
  EXPECT_EQ(kDefaultCapabilities, 0xa80405fbULL);
  auto r = ResolveCapabilities({}, {}, kLastCap);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, kDefaultCapabilities);
  EXPECT_THAT(CapNames(kDefaultCapabilities),
              ElementsAre("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                          "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                          "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"));
}

TEST(Caps, CapName) {
  EXPECT_EQ(CapName(0), "CAP_CHOWN");
  EXPECT_EQ(CapName(10), "CAP_NET_BIND_SERVICE");
  EXPECT_EQ(CapName(21), "CAP_SYS_ADMIN");
  EXPECT_EQ(CapName(40), "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(CapName(63), "63");  // unknown to libcap: the number
}

TEST(Caps, AddAndDrop) {
  auto r = ResolveCapabilities({"NET_ADMIN", "sys_ptrace"}, {"chown", "CAP_KILL"}, kLastCap);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(*r, (kDefaultCapabilities | (1ULL << 12) | (1ULL << 19)) & ~1ULL & ~(1ULL << 5));
}

TEST(Caps, DropAllThenAdd) {
  auto r = ResolveCapabilities({"net_bind_service"}, {"all"}, kLastCap);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0x400ULL);
  auto none = ResolveCapabilities({}, {"ALL"}, kLastCap);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}

TEST(Caps, AddsAreAppliedAfterDrops) {
  auto r = ResolveCapabilities({"chown"}, {"chown"}, kLastCap);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, kDefaultCapabilities);
}

TEST(Caps, AddAllIsEveryKernelCap) {
  auto r = ResolveCapabilities({"all"}, {}, kLastCap);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0x1ffffffffffULL);
  auto older = ResolveCapabilities({"all"}, {"all"}, 37);
  ASSERT_TRUE(older);
  EXPECT_EQ(*older, 0x3fffffffffULL);

  auto last = KernelLastCap();
  ASSERT_TRUE(last) << last.error().str();
  auto live = ResolveCapabilities({"all"}, {});
  ASSERT_TRUE(live) << live.error().str();
  EXPECT_EQ(*live, (1ULL << (*last + 1)) - 1);
}

TEST(Caps, CaseInsensitiveWithOrWithoutPrefix) {
  for (const char* name :
       {"net_bind_service", "NET_BIND_SERVICE", "Net_Bind_Service", "cap_net_bind_service",
        "CAP_NET_BIND_SERVICE", "Cap_Net_Bind_Service"}) {
    auto r = ResolveCapabilities({name}, {"all"}, kLastCap);
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(*r, 0x400ULL) << name;
  }
}

TEST(Caps, UnknownNamesNameTheFlag) {
  auto add = ResolveCapabilities({"foo"}, {}, kLastCap);
  ASSERT_FALSE(add);
  EXPECT_EQ(add.error().field(), "--cap-add");
  EXPECT_THAT(add.error().str(), HasSubstr("unknown capability \"foo\""));

  auto drop = ResolveCapabilities({}, {"CAP_BOGUS"}, kLastCap);
  ASSERT_FALSE(drop);
  EXPECT_EQ(drop.error().field(), "--cap-drop");
  EXPECT_THAT(drop.error().str(), HasSubstr("unknown capability \"CAP_BOGUS\""));

  for (const char* bad : {"", "cap_", "12", "cap_12", "net bind", "all_"}) {
    auto r = ResolveCapabilities({bad}, {}, kLastCap);
    EXPECT_FALSE(r) << "accepted \"" << bad << "\"";
  }
}

TEST(Caps, AddingACapTheKernelLacksFails) {
  auto r = ResolveCapabilities({"checkpoint_restore"}, {}, 37);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field(), "--cap-add");
  EXPECT_THAT(r.error().str(), HasSubstr("not supported by the running kernel"));
  EXPECT_TRUE(ResolveCapabilities({}, {"checkpoint_restore"}, 37));
}

TEST(Caps, CapSetsForRootAndUser) {
  const CapSets root = CapSetsFor(kDefaultCapabilities, true);
  EXPECT_EQ(root.bounding, kDefaultCapabilities);
  EXPECT_EQ(root.permitted, kDefaultCapabilities);
  EXPECT_EQ(root.effective, kDefaultCapabilities);
  EXPECT_EQ(root.inheritable, 0u);
  EXPECT_EQ(root.ambient, 0u);

  const CapSets user = CapSetsFor(0x400, false);
  EXPECT_EQ(user.bounding, 0x400u);
  EXPECT_EQ(user.permitted, 0x400u);
  EXPECT_EQ(user.effective, 0x400u);
  EXPECT_EQ(user.inheritable, 0x400u);
  EXPECT_EQ(user.ambient, 0x400u);
}

// ---- real identity switches in a forked child (root only) ---------------------------------

struct ChildResult {
  int status = -1;
  std::string output;  // stdout of the exec'd program, or "step: strerror" on setup failure
};

// Forks; the child runs `setup` (returns 0 or an errno, setting *step) and then execs `argv`
// with stdout on a pipe. Setup failures are written as "FAIL step errno".
ChildResult RunChild(const std::function<int(const char** step)>& setup, const char* const argv[]) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    const char* step = "setup";
    const int err = setup(&step);
    if (err != 0) {
      char buf[128];
      const int n = snprintf(buf, sizeof buf, "FAIL %s %s", step, strerror(err));
      if (n > 0) (void)!write(fds[1], buf, static_cast<size_t>(n));
      _exit(100);
    }
    dup2(fds[1], 1);
    execv(argv[0], const_cast<char* const*>(argv));
    _exit(127);
  }
  close(fds[1]);
  ChildResult res;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) res.output.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, &res.status, 0);
  return res;
}

// "CapEff" -> "00000000a80405fb" etc. from /proc/<pid>/status text.
std::map<std::string, std::string> StatusFields(const std::string& status) {
  std::map<std::string, std::string> out;
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    const size_t start = value.find_first_not_of(" \t");
    const size_t end = value.find_last_not_of(" \t");
    out[line.substr(0, colon)] =
        start == std::string::npos ? "" : value.substr(start, end - start + 1);
  }
  return out;
}

constexpr const char* kCatStatus[] = {"/bin/cat", "/proc/self/status", nullptr};

class CapsApply : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (access(kCatStatus[0], X_OK) != 0) GTEST_SKIP() << "needs /bin/cat";
  }

  // Applies CapSetsFor(caps) as uid/gid, execs cat /proc/self/status, returns its fields.
  std::map<std::string, std::string> RunAs(uint64_t caps, uid_t uid, gid_t gid,
                                           std::vector<gid_t> groups, int seccomp_mode = 0) {
    const CapSets sets = CapSetsFor(caps, uid == 0);
    std::vector<sock_filter> prog;
    if (seccomp_mode != 0) {
      auto compiled = CompileSeccomp("default");
      EXPECT_TRUE(compiled);
      if (compiled) prog = *compiled;
    }
    ChildResult r = RunChild(
        [&](const char** step) {
          // 1: no_new_privs order (caps, then filter); 2: --allow-new-privileges order.
          if (seccomp_mode == 2) {
            if (int e = LoadSeccomp(prog.data(), prog.size(), false); e != 0) {
              *step = "seccomp";
              return e;
            }
          }
          if (int e = ApplyCapabilities(sets, uid, gid, groups.data(), groups.size(), step);
              e != 0) {
            return e;
          }
          if (seccomp_mode == 1) {
            if (int e = LoadSeccomp(prog.data(), prog.size(), true); e != 0) {
              *step = "seccomp";
              return e;
            }
          }
          return 0;
        },
        kCatStatus);
    EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0)
        << "status " << r.status << ": " << r.output;
    return StatusFields(r.output);
  }
};

TEST_F(CapsApply, NonRootDefaultGetsAllFiveSets) {
  auto f = RunAs(kDefaultCapabilities, 65534, 65534, {65534, 100});
  EXPECT_EQ(f["CapInh"], "00000000a80405fb");
  EXPECT_EQ(f["CapPrm"], "00000000a80405fb");
  EXPECT_EQ(f["CapEff"], "00000000a80405fb");
  EXPECT_EQ(f["CapBnd"], "00000000a80405fb");
  EXPECT_EQ(f["CapAmb"], "00000000a80405fb");
  EXPECT_EQ(f["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(f["Gid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(f["Groups"], "100 65534");  // the kernel sorts the list
  EXPECT_EQ(f["NoNewPrivs"], "0");
}

TEST_F(CapsApply, RootDefaultHasNoInheritableOrAmbient) {
  auto f = RunAs(kDefaultCapabilities, 0, 0, {0});
  EXPECT_EQ(f["CapInh"], "0000000000000000");
  EXPECT_EQ(f["CapPrm"], "00000000a80405fb");
  EXPECT_EQ(f["CapEff"], "00000000a80405fb");
  EXPECT_EQ(f["CapBnd"], "00000000a80405fb");
  EXPECT_EQ(f["CapAmb"], "0000000000000000");
  EXPECT_EQ(f["Uid"], "0\t0\t0\t0");
  EXPECT_EQ(f["Groups"], "0");
}

TEST_F(CapsApply, NonRootDropAllAddNetBindService) {
  auto caps = ResolveCapabilities({"net_bind_service"}, {"all"});
  ASSERT_TRUE(caps);
  auto f = RunAs(*caps, 65534, 65534, {65534});
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(f[set], "0000000000000400") << set;
}

TEST_F(CapsApply, NoCapsAtAll) {
  auto f = RunAs(0, 65534, 65534, {});
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(f[set], "0000000000000000") << set;
  EXPECT_EQ(f["Groups"], "");
}

TEST_F(CapsApply, AmbientSurvivesNoNewPrivsAndSeccomp) {
  // The launcher's default order: identity switch, then no_new_privs + filter, then execve.
  auto f = RunAs(kDefaultCapabilities, 65534, 65534, {65534}, /*seccomp_mode=*/1);
  EXPECT_EQ(f["CapEff"], "00000000a80405fb");
  EXPECT_EQ(f["CapAmb"], "00000000a80405fb");
  EXPECT_EQ(f["NoNewPrivs"], "1");
  EXPECT_EQ(f["Seccomp"], "2");
}

TEST_F(CapsApply, FilterBeforeIdentitySwitchForAllowNewPrivileges) {
  // --allow-new-privileges: no no_new_privs, so the filter must be loaded while the process
  // still has CAP_SYS_ADMIN, and the default profile must allow the identity-switch syscalls.
  auto f = RunAs(kDefaultCapabilities, 65534, 65534, {65534}, /*seccomp_mode=*/2);
  EXPECT_EQ(f["CapEff"], "00000000a80405fb");
  EXPECT_EQ(f["CapAmb"], "00000000a80405fb");
  EXPECT_EQ(f["NoNewPrivs"], "0");
  EXPECT_EQ(f["Seccomp"], "2");
}

TEST_F(CapsApply, ReportsTheFailingStep) {
  // Once the first switch has dropped every capability, the second cannot set groups.
  ChildResult r = RunChild(
      [](const char** step) {
        const CapSets none = CapSetsFor(0, false);
        if (int e = ApplyCapabilities(none, 65534, 65534, nullptr, 0, step); e != 0) return e;
        const CapSets full = CapSetsFor(~0ULL >> 20, false);
        return ApplyCapabilities(full, 65534, 65534, nullptr, 0, step);
      },
      kCatStatus);
  EXPECT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 100);
  EXPECT_THAT(r.output, HasSubstr("FAIL setgroups Operation not permitted"));
}

}  // namespace
}  // namespace isoexec::isolation
