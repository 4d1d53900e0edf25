// Isolation as the task sees it (issue #3): the chroot env, capabilities and users, devices and
// bind mounts, /dev, namespaces, no_new_privs and seccomp, oom_score_adj. Every fact is read
// from inside the task with testinit or busybox; every refused request must exit 125 with one
// line naming the flag and leave nothing behind.
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using std::chrono::seconds;

// "CapEff:\t00000000a80405fb" lines of `testinit caps` -> {"CapEff": "00000000a80405fb"}.
std::map<std::string, std::string> StatusFields(const std::string& out) {
  std::map<std::string, std::string> m;
  for (const auto& line : Lines(out)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto v = line.find_first_not_of(" \t", colon + 1);
    m[line.substr(0, colon)] = v == std::string::npos ? "" : Trim(line.substr(v));
  }
  return m;
}

// What a run can leave behind: state entries and task cgroups under this suite's parent.
std::set<std::string> Residue() {
  std::set<std::string> out;
  for (const auto& e : DirEntries(StateDir())) out.insert("state " + e);
  for (const char* base : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    std::vector<std::string> parents = {std::string(base) + "/" + CgroupParent() + ".slice"};
    for (const auto& ctrl : DirEntries(base)) {
      parents.push_back(std::string(base) + "/" + ctrl + "/" + CgroupParent());
      parents.push_back(std::string(base) + "/" + ctrl + "/" + CgroupParent() + ".slice");
    }
    for (const auto& p : parents) {
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      for (const auto& e : DirEntries(p)) {
        struct stat cst {};
        if (::stat((p + "/" + e).c_str(), &cst) == 0 && S_ISDIR(cst.st_mode))
          out.insert("cgroup " + p + "/" + e);
      }
    }
  }
  return out;
}

// The refusal contract: exit 125, exactly one line on stderr naming `needle`, no output, and
// nothing created (no state, no cgroup).
void ExpectRefused(const std::vector<std::string>& args, const std::string& needle) {
  auto before = Residue();
  auto r = RunIsoexec(args);
  std::string what = args.size() > 1 ? args[1] : "";
  EXPECT_EQ(r.exit_code, 125) << what << ": " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
  EXPECT_TRUE(Contains(r.err, needle)) << "error does not name " << needle << ": " << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Residue(), before) << "a refused request left something behind";
}

std::string HostHostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string FindTool(std::initializer_list<const char*> candidates) {
  for (const char* c : candidates)
    if (::access(c, X_OK) == 0) return c;
  return "";
}

// A tmpfs mounted on the host for the duration of a test; unmounted even when the test fails.
class HostTmpfs {
 public:
  explicit HostTmpfs(const std::string& path) : path_(path) {
    ::mkdir(path.c_str(), 0755);
    ok_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=1m,mode=755") == 0;
  }
  ~HostTmpfs() {
    if (ok_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }

 private:
  std::string path_;
  bool ok_ = false;
};

// ---------------------------------------------------------------------------------------
// 1. A root built like Nomad's test chroot (executor_linux_test.go IsolationAndConstraints).

TEST(Isolation, ChrootEnvBuildsExactlyTheGivenRoot) {
  REQUIRE_ROOT();
  TempDir root;  // empty: everything the task sees comes from --chroot-env and /dev /proc /sys
  const std::vector<std::string> entries = {"/etc/ld.so.cache", "/etc/ld.so.conf",
                                            "/etc/ld.so.conf.d", "/etc/passwd", "/lib",
                                            "/lib64", "/usr/lib", "/bin/ls"};
  std::vector<std::string> args = {"run", "--rootfs", root.path()};
  for (const auto& e : entries) {
    args.push_back("--chroot-env");
    args.push_back(e);
  }
  args.insert(args.end(), {"--chroot-env", "/does/not/exist:/foobar", "--", "/bin/ls", "-F", "/",
                           "/etc/"});
  auto r = RunIsoexec(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "a missing chroot env source must be skipped silently";

  // Top level: the first component of each entry that exists on the host, plus dev proc sys.
  // (Debian 12 is merged-usr: /lib, /lib64 and /bin are symlinks, bound as the resolved dirs.)
  std::set<std::string> top = {"dev/", "proc/", "sys/"};
  for (const auto& e : entries) {
    struct stat st {};
    if (::stat(e.c_str(), &st) != 0) continue;
    top.insert(e.substr(1, e.find('/', 1) - 1) + "/");
  }
  std::string want = "/:\n";
  for (const auto& t : top) want += t + "\n";
  want += "\n/etc/:\nld.so.cache\nld.so.conf\nld.so.conf.d/\npasswd\n";
  EXPECT_EQ(r.out, want);
  EXPECT_FALSE(Contains(r.out, "foobar"));
  EXPECT_EQ(DirEntries(root.path()).count("foobar"), 0u) << "no mount point for a missing source";
}

// ---------------------------------------------------------------------------------------
// 2. Capabilities and users (executor_linux_test.go Capabilities, UserEnv, drivers/exec User).

TEST(Isolation, RootGetsTheDefaultCapabilitySetOnly) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "caps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = StatusFields(r.out);
  EXPECT_EQ(f["CapInh"], "0000000000000000");
  EXPECT_EQ(f["CapPrm"], "00000000a80405fb");
  EXPECT_EQ(f["CapEff"], "00000000a80405fb");
  EXPECT_EQ(f["CapBnd"], "00000000a80405fb");
  EXPECT_EQ(f["CapAmb"], "0000000000000000");
}

TEST(Isolation, NonRootUserGetsTheDefaultSetInAllFive) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--user", "runner", "--rootfs", root.path(), "--", "/bin/testinit",
                       "caps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = StatusFields(r.out);
  for (const char* k : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(f[k], "00000000a80405fb") << k;
}

TEST(Isolation, CapDropAllThenAddOne) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--user", "runner", "--cap-drop", "all", "--cap-add",
                       "net_bind_service", "--rootfs", root.path(), "--", "/bin/testinit", "caps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = StatusFields(r.out);
  for (const char* k : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(f[k], "0000000000000400") << k;
}

TEST(Isolation, UnknownCapabilityAndUnknownUserAreRefused) {
  REQUIRE_ROOT();
  TestRoot root;
  ExpectRefused({"run", "--cap-add", "bogus", "--rootfs", root.path(), "--", "/bin/true"},
                "--cap-add");
  ExpectRefused({"run", "--cap-drop", "bogus", "--rootfs", root.path(), "--", "/bin/true"},
                "--cap-drop");
  ExpectRefused({"run", "--user", "alice", "--rootfs", root.path(), "--", "/bin/true"},
                "user alice");
}

TEST(Isolation, UserGetsEnvironmentAndSupplementaryGroups) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--user", "runner", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                       "echo USER=$USER LOGNAME=$LOGNAME HOME=$HOME; /bin/testinit id"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "USER=runner LOGNAME=runner HOME=/home/runner\n"
            "uid=1000 gid=1000 euid=1000 groups=1000,2000\n")
      << "runner is in `extra` (2000) in the root's /etc/group";
  r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "id"});
  EXPECT_EQ(r.out, "uid=0 gid=0 euid=0 groups=\n") << "root keeps no host supplementary groups";
}

// ---------------------------------------------------------------------------------------
// 6. Devices and bind mounts (drivers/exec DevicesAndMounts).

TEST(Isolation, DevicesAndMounts) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir host;
  std::ofstream(host.path() + "/testfile") << "from-host";
  auto r = RunIsoexec(
      {"run", "--device", "/dev/random:/dev/inserted-random:rw", "--bind",
       host.path() + ":/tmp/task-path-rw", "--bind", host.path() + ":/tmp/task-path-ro:ro",
       "--rootfs", root.path(), "--", "/bin/sh", "-c",
       "echo \"mounted device /inserted-random: $(/bin/testinit stat /dev/inserted-random)\"\n"
       "echo \"opening it: $(/bin/testinit open /dev/inserted-random)\"\n"
       "echo \"reading from ro path: $(cat /tmp/task-path-ro/testfile)\"\n"
       "echo \"reading from rw path: $(cat /tmp/task-path-rw/testfile)\"\n"
       "echo from-exec > /tmp/task-path-rw/testfile && echo 'overwriting file in rw succeeded'\n"
       "echo from-exec > /tmp/task-path-rw/testfile-from-rw && echo 'writing new file in rw succeeded'\n"
       "touch /tmp/task-path-ro/testfile\n"
       "touch /tmp/task-path-ro/testfile-from-ro\n"
       "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "mounted device /inserted-random: mode=666 type=c rdev=1:8 uid=0 gid=0\n"
            "opening it: ok\n"
            "reading from ro path: from-host\n"
            "reading from rw path: from-host\n"
            "overwriting file in rw succeeded\n"
            "writing new file in rw succeeded\n");
  // busybox: "touch: PATH: Read-only file system" (coreutils words it differently).
  auto err = Lines(r.err);
  ASSERT_EQ(err.size(), 2u) << r.err;
  EXPECT_TRUE(Contains(err[0], "/tmp/task-path-ro/testfile:") &&
              Contains(err[0], "Read-only file system"))
      << err[0];
  EXPECT_TRUE(Contains(err[1], "/tmp/task-path-ro/testfile-from-ro") &&
              Contains(err[1], "Read-only file system"))
      << err[1];
  EXPECT_EQ(ReadFileOr(host.path() + "/testfile-from-rw"), "from-exec\n");
  EXPECT_EQ(ReadFileOr(host.path() + "/testfile"), "from-exec\n");
  EXPECT_EQ(DirEntries(host.path()).count("testfile-from-ro"), 0u);
}

TEST(Isolation, ReadOnlyBindIsReadOnlyInEverySubmount) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir host;
  std::ofstream(host.path() + "/top") << "top";
  HostTmpfs sub(host.path() + "/sub");  // destroyed (unmounted) before `host` is removed
  ASSERT_TRUE(sub.ok()) << "mount tmpfs: " << std::strerror(errno);
  std::ofstream(host.path() + "/sub/inner") << "inner";
  auto r = RunIsoexec({"run", "--bind", host.path() + ":/ro:ro", "--bind", host.path() + ":/rw",
                       "--rootfs", root.path(), "--", "/bin/sh", "-c",
                       "echo \"ro-sub-read $(cat /ro/sub/inner)\"\n"
                       "echo \"ro-top $(/bin/testinit write /ro/new x)\"\n"
                       "echo \"ro-sub $(/bin/testinit write /ro/sub/new x)\"\n"
                       "echo \"ro-sub-existing $(/bin/testinit write /ro/sub/inner x)\"\n"
                       "echo \"rw-sub $(/bin/testinit write /rw/sub/from-rw y)\""});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ro-sub-read inner\n"
            "ro-top err EROFS\n"
            "ro-sub err EROFS\n"
            "ro-sub-existing err EROFS\n"
            "rw-sub ok\n")
      << "`:ro` must be recursive (MOUNT_ATTR_RDONLY with AT_RECURSIVE), and the submount "
         "must be carried into the task (rbind)";
  EXPECT_EQ(ReadFileOr(host.path() + "/sub/inner"), "inner");
  EXPECT_EQ(ReadFileOr(host.path() + "/sub/from-rw"), "y");
}

// ---------------------------------------------------------------------------------------
// 7. /dev

TEST(Isolation, DevHasExactlyTheDefaultNodesAndLinks) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                       "ls /dev; for n in null zero full random urandom tty pts/ptmx; do "
                       "echo \"$n $(/bin/testinit stat /dev/$n)\"; done; "
                       "for l in fd stdin stdout stderr ptmx; do "
                       "echo \"$l -> $(/bin/testinit readlink /dev/$l)\"; done"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n"
            "null mode=666 type=c rdev=1:3 uid=0 gid=0\n"
            "zero mode=666 type=c rdev=1:5 uid=0 gid=0\n"
            "full mode=666 type=c rdev=1:7 uid=0 gid=0\n"
            "random mode=666 type=c rdev=1:8 uid=0 gid=0\n"
            "urandom mode=666 type=c rdev=1:9 uid=0 gid=0\n"
            "tty mode=666 type=c rdev=5:0 uid=0 gid=0\n"
            "pts/ptmx mode=666 type=c rdev=5:2 uid=0 gid=0\n"
            "fd -> /proc/self/fd\n"
            "stdin -> /proc/self/fd/0\n"
            "stdout -> /proc/self/fd/1\n"
            "stderr -> /proc/self/fd/2\n"
            "ptmx -> pts/ptmx\n");
}

TEST(Isolation, DevShmIs64MiB) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                       "dd if=/dev/zero of=/dev/shm/big bs=1M count=80 2>/tmp/dd.err; "
                       "echo dd=$?; stat -c %s /dev/shm/big; cat /tmp/dd.err"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_GE(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "dd=1") << "writing 80 MiB into /dev/shm must fail";
  EXPECT_EQ(lines[1], std::to_string(64 << 20)) << "/dev/shm holds exactly 64 MiB";
  EXPECT_TRUE(Contains(r.out, "No space left on device")) << r.out;
}

TEST(Isolation, DevPtsIsAPrivateDevptsInstance) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                       "grep ' /dev/pts ' /proc/self/mountinfo; /bin/testinit openw /dev/ptmx"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  std::istringstream mi(lines[0]);
  std::string id, parent, majmin;
  mi >> id >> parent >> majmin;
  EXPECT_TRUE(Contains(lines[0], " - devpts devpts ")) << lines[0];
  EXPECT_TRUE(Contains(lines[0], "ptmxmode=666")) << lines[0];
  struct stat host_pts {};
  if (::stat("/dev/pts", &host_pts) == 0) {
    std::string host_majmin =
        std::to_string(major(host_pts.st_dev)) + ":" + std::to_string(minor(host_pts.st_dev));
    EXPECT_NE(majmin, host_majmin) << "the task must get its own devpts instance (newinstance)";
  }
  EXPECT_EQ(lines[1], "ok") << "ptmx must be usable (device cgroup allows 5:2)";
}

// ---------------------------------------------------------------------------------------
// 8. Namespaces

TEST(Isolation, HostnameIsTheTasksOwn) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string before = HostHostname();
  auto r = RunIsoexec({"run", "--hostname", "foo", "--rootfs", root.path(), "--", "/bin/testinit",
                       "hostname"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "foo\n");
  EXPECT_EQ(HostHostname(), before) << "the host's hostname changed";
  ASSERT_NE(before, "foo");
}

TEST(Isolation, NetNoneHasOnlyLoopbackAndItIsUp) {
  REQUIRE_ROOT();
  TestRoot root;
  char buf[128] = {};
  ASSERT_GT(::readlink("/proc/self/ns/net", buf, sizeof buf - 1), 0);
  auto r = RunIsoexec({"run", "--net", "none", "--rootfs", root.path(), "--", "/bin/sh", "-c",
                       "tail -n +3 /proc/net/dev; echo flags=$(cat /sys/class/net/lo/flags); "
                       "/bin/testinit readlink /proc/self/ns/net"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(Trim(lines[0]).rfind("lo:", 0), 0u) << "only lo: " << r.out;
  EXPECT_EQ(lines[1], "flags=0x9") << "lo must be UP|LOOPBACK";
  EXPECT_NE(lines[2], buf) << "--net none must create a new network namespace";
}

// A named network namespace (`ip netns add`) with one extra interface; deleted at destruction.
class NamedNetns {
 public:
  NamedNetns() : name_("isoexec-test-" + std::to_string(::getpid())) {
    ip_ = FindTool({"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"});
    if (ip_.empty()) return;
    if (RunCommand({ip_, "netns", "add", name_}).exit_code != 0) return;
    created_ = true;
    // dummy when the kernel has it (the VM loads the module), else a bridge: any link type
    // that only exists in this netns will do.
    for (const char* type : {"dummy", "bridge"}) {
      if (RunCommand({ip_, "-n", name_, "link", "add", "dummyiso0", "type", type}).exit_code == 0) {
        ok_ = true;
        break;
      }
    }
  }
  ~NamedNetns() {
    if (created_) RunCommand({ip_, "netns", "del", name_});
  }
  bool ok() const { return ok_; }
  bool have_ip() const { return !ip_.empty(); }
  std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_, ip_;
  bool created_ = false, ok_ = false;
};

TEST(Isolation, NetPathJoinsThatNamespace) {
  REQUIRE_ROOT();
  TestRoot root;
  NamedNetns ns;
  if (!ns.have_ip()) GTEST_SKIP() << "iproute2 `ip` not installed";
  ASSERT_TRUE(ns.ok()) << "could not create a netns with an interface";
  auto r = RunIsoexec({"run", "--net", ns.path(), "--rootfs", root.path(), "--", "/bin/testinit",
                       "cat", "/proc/net/dev"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "dummyiso0:")) << r.out;
  EXPECT_TRUE(Contains(r.out, "lo:")) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << "exactly lo and dummyiso0:\n" << r.out;
  ExpectRefused({"run", "--net", "/nonexistent/netns", "--rootfs", root.path(), "--", "/bin/true"},
                "--net");
}

TEST(Isolation, IpcNamespacePrivateByDefaultHostOnRequest) {
  REQUIRE_ROOT();
  TestRoot root;
  char host_ipc[128] = {};
  ASSERT_GT(::readlink("/proc/self/ns/ipc", host_ipc, sizeof host_ipc - 1), 0);
  auto priv = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "readlink",
                          "/proc/self/ns/ipc"});
  ASSERT_EQ(priv.exit_code, 0) << priv.err;
  EXPECT_TRUE(Contains(priv.out, "ipc:[")) << priv.out;
  EXPECT_NE(Trim(priv.out), host_ipc) << "default --ipc private must not share the host's";
  auto host = RunIsoexec({"run", "--ipc", "host", "--rootfs", root.path(), "--", "/bin/testinit",
                          "readlink", "/proc/self/ns/ipc"});
  ASSERT_EQ(host.exit_code, 0) << host.err;
  EXPECT_EQ(Trim(host.out), host_ipc);
}

// ---------------------------------------------------------------------------------------
// 9. no_new_privs and seccomp

TEST(Isolation, NoNewPrivsAndSeccompByDefault) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "caps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = StatusFields(r.out);
  EXPECT_EQ(f["NoNewPrivs"], "1");
  EXPECT_EQ(f["Seccomp"], "2") << "2 = SECCOMP_MODE_FILTER";
  r = RunIsoexec({"run", "--allow-new-privileges", "--user", "runner", "--rootfs", root.path(),
                  "--", "/bin/testinit", "caps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  f = StatusFields(r.out);
  EXPECT_EQ(f["NoNewPrivs"], "0");
  EXPECT_EQ(f["Seccomp"], "2") << "the filter stays without no_new_privs (loaded before the "
                                  "identity switch)";
}

TEST(Isolation, SeccompUnconfinedStillLacksCapabilities) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--seccomp", "unconfined", "--rootfs", root.path(), "--", "/bin/sh",
                       "-c", "/bin/testinit caps | grep -E 'NoNewPrivs|Seccomp'; "
                             "/bin/testinit mount /tmp; /bin/testinit unshare; true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "NoNewPrivs:\t1\nSeccomp:\t0\nerr EPERM\nerr EPERM\n")
      << "without a filter, mount/unshare must still fail: CAP_SYS_ADMIN is not in the set";
}

TEST(Isolation, CustomSeccompProfile) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir dir;
  std::string profile = dir.path() + "/profile.json";
  std::ofstream(profile) << R"({
  "comment": "everything allowed except: getppid kills, mknod fails with EACCES",
  "default_action": "allow",
  "syscalls": [
    {"names": ["getppid"], "action": "kill"},
    {"names": ["mknod", "mknodat"], "action": "errno", "errno": 13}
  ]
})";
  auto r = RunIsoexec({"run", "--seccomp", profile, "--rootfs", root.path(), "--", "/bin/testinit",
                       "mknod", "/tmp/node", "1", "3"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "err EACCES\n") << "the profile's errno (13), not the default EPERM";
  r = RunIsoexec({"run", "--seccomp", profile, "--rootfs", root.path(), "--", "/bin/testinit",
                  "caps"});
  EXPECT_EQ(StatusFields(r.out)["Seccomp"], "2") << r.err;
  // testinit pid calls getppid: SIGSYS, 128+31.
  r = RunIsoexec({"run", "--seccomp", profile, "--rootfs", root.path(), "--", "/bin/testinit",
                  "pid"});
  EXPECT_EQ(r.exit_code, 159) << r.err;
  EXPECT_EQ(r.out, "");
  r = RunIsoexec({"run", "--seccomp", profile, "--pid", "host", "--rootfs", root.path(), "--",
                  "/bin/testinit", "pid"});
  EXPECT_EQ(r.exit_code, 159) << "without isoexec's init too: " << r.err;
}

TEST(Isolation, InvalidSeccompProfileIsRefused) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir dir;
  std::string bad = dir.path() + "/bad.json";
  std::ofstream(bad) << R"({"syscalls": [{"names": ["no_such_syscall"], "action": "allow"}]})";
  ExpectRefused({"run", "--seccomp", bad, "--rootfs", root.path(), "--", "/bin/true"}, "--seccomp");
  std::string broken = dir.path() + "/broken.json";
  std::ofstream(broken) << "{\n";
  ExpectRefused({"run", "--seccomp", broken, "--rootfs", root.path(), "--", "/bin/true"},
                "--seccomp");
  ExpectRefused({"run", "--seccomp", dir.path() + "/missing.json", "--rootfs", root.path(), "--",
                 "/bin/true"},
                "--seccomp");
  ExpectRefused({"run", "--seccomp", "defualt", "--rootfs", root.path(), "--", "/bin/true"},
                "--seccomp");
}

// ---------------------------------------------------------------------------------------
// 10. oom_score_adj (executor_linux_test.go DoesNotInheritOomScoreAdj)

// Sets this process's oom_score_adj for the scope of a test; restores it even on failure.
class OwnOomScoreAdj {
 public:
  explicit OwnOomScoreAdj(int value) : old_(Trim(ReadFileOr("/proc/self/oom_score_adj", "0"))) {
    std::ofstream f("/proc/self/oom_score_adj");
    f << value;
    f.flush();
    ok_ = f.good() && Trim(ReadFileOr("/proc/self/oom_score_adj")) == std::to_string(value);
  }
  ~OwnOomScoreAdj() { std::ofstream("/proc/self/oom_score_adj") << old_; }
  bool ok() const { return ok_; }

 private:
  std::string old_;
  bool ok_ = false;
};

TEST(Isolation, TaskDoesNotInheritOomScoreAdj) {
  REQUIRE_ROOT();
  TestRoot root;
  OwnOomScoreAdj own(-100);
  if (!own.ok())
    GTEST_SKIP() << "cannot lower this process's oom_score_adj to -100 (no CAP_SYS_RESOURCE)";
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "cat",
                       "/proc/self/oom_score_adj"},
                      seconds(5));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n") << "the task must not inherit isoexec's -100";
}

TEST(Isolation, OomScoreAdjIsSet) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--oom-score-adj", "500", "--rootfs", root.path(), "--",
                       "/bin/testinit", "cat", "/proc/self/oom_score_adj"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "500\n");
  ExpectRefused({"run", "--oom-score-adj", "1001", "--rootfs", root.path(), "--", "/bin/true"},
                "--oom-score-adj");
}

TEST(Isolation, NegativeOomScoreAdjNeedsCapSysResource) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string setpriv = FindTool({"/usr/bin/setpriv", "/bin/setpriv"});
  if (setpriv.empty()) GTEST_SKIP() << "util-linux setpriv not installed";
  const std::vector<std::string> drop = {setpriv, "--inh-caps=-all", "--bounding-set=-sys_resource",
                                         "--"};
  // Check that the drop works: CAP_SYS_RESOURCE (24) must be gone from CapEff.
  auto probe = drop;
  probe.insert(probe.end(), {"/bin/cat", "/proc/self/status"});
  auto p = RunCommand(probe);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  uint64_t eff = std::stoull(StatusFields(p.out)["CapEff"], nullptr, 16);
  ASSERT_EQ(eff & (1ULL << 24), 0u) << "setpriv did not drop CAP_SYS_RESOURCE";

  auto argv = drop;
  argv.insert(argv.end(), {ISOEXEC_BIN, "--state-dir", StateDir(), "--cgroup-parent",
                           CgroupParent(), "run", "--oom-score-adj", "-500", "--rootfs",
                           root.path(), "--", "/bin/true"});
  auto before = Residue();
  auto r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "--oom-score-adj")) << r.err;
  EXPECT_EQ(Residue(), before);
  // A value at or above isoexec's own needs no capability.
  argv = drop;
  argv.insert(argv.end(), {ISOEXEC_BIN, "--state-dir", StateDir(), "--cgroup-parent",
                           CgroupParent(), "run", "--oom-score-adj", "300", "--rootfs",
                           root.path(), "--", "/bin/testinit", "cat", "/proc/self/oom_score_adj"});
  r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "300\n");
}

}  // namespace
}  // namespace isoexec::test
