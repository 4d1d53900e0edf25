// Hostile tasks (issues #3 and #9): escape attempts from inside a task, each of which must fail,
// with every assertion naming the protection that stops it: seccomp, the capability set, the
// device cgroup, read-only or masked kernel paths, ptrace access checks (non-dumpable isoexec
// processes), in-root path resolution, fd hygiene, and the task's cgroup limits. Asserted from
// the inside with testinit, as root and as the unprivileged `runner`, and checked on the host
// afterwards.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "isolation/mount_plan.h"
#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

std::string HostHostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Host mountinfo lines that mention `needle`.
std::vector<std::string> HostMountsWith(const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& line : Lines(ReadFileOr("/proc/self/mountinfo")))
    if (Contains(line, needle)) out.push_back(line);
  return out;
}

// A host block device to aim at: the one backing "/" (from mountinfo), else (a root on overlay
// or tmpfs, as in the VM) any block device the kernel has, else loop0's numbers.
struct BlockDev {
  unsigned maj = 7, min = 0;
  std::string node;  // its /dev node when there is one
  std::string what;
};

BlockDev FindHostDisk() {
  BlockDev d;
  d.what = "no block device on this host: 7:0 (loop0)";
  std::string root_majmin;
  for (const auto& line : Lines(ReadFileOr("/proc/self/mountinfo"))) {
    std::istringstream f(line);
    std::string id, parent, majmin, root, mountpoint;
    f >> id >> parent >> majmin >> root >> mountpoint;
    if (mountpoint == "/") root_majmin = majmin;  // the last one is the visible root
  }
  std::string pick;
  if (!root_majmin.empty() && root_majmin.rfind("0:", 0) != 0) {
    pick = root_majmin;
    d.what = "the disk backing the host's / (" + pick + ")";
  } else {
    auto all = DirEntries("/sys/dev/block");
    if (!all.empty()) {
      pick = *all.begin();
      d.what = "host block device " + pick + " (the host's / is not on a disk)";
    }
  }
  if (pick.empty()) return d;
  d.maj = static_cast<unsigned>(std::stoul(pick.substr(0, pick.find(':'))));
  d.min = static_cast<unsigned>(std::stoul(pick.substr(pick.find(':') + 1)));
  for (const auto& line : Lines(ReadFileOr("/sys/dev/block/" + pick + "/uevent"))) {
    if (line.rfind("DEVNAME=", 0) != 0) continue;
    std::string node = "/dev/" + line.substr(8);
    struct stat st {};
    if (::stat(node.c_str(), &st) == 0 && S_ISBLK(st.st_mode) && major(st.st_rdev) == d.maj &&
        minor(st.st_rdev) == d.min)
      d.node = node;
  }
  return d;
}

// When the host has no /dev node for the disk (the VM), one made by the test on a tmpfs of its
// own (a tmpfs without nodev, so only the device cgroup can refuse the open). Unmounted at
// destruction, before the enclosing TempDir is removed.
class DiskNode {
 public:
  DiskNode(const BlockDev& d, const std::string& dir) {
    if (!d.node.empty()) {
      path_ = d.node;
      return;
    }
    mnt_ = dir + "/devnode";
    ::mkdir(mnt_.c_str(), 0755);
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=64k,mode=755") != 0) {
      mnt_.clear();
      return;
    }
    std::string node = mnt_ + "/disk";
    if (::mknod(node.c_str(), S_IFBLK | 0600, makedev(d.maj, d.min)) == 0) path_ = node;
  }
  ~DiskNode() {
    if (!mnt_.empty()) ::umount2(mnt_.c_str(), MNT_DETACH);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_, mnt_;
};

struct Attempt {
  std::string name;                // printed label
  std::string command;             // one line of sh, printing one line
  std::set<std::string> expected;  // acceptable outcomes (as root)
  std::set<std::string> expected_nonroot;  // when different for --user runner
  std::string protection;          // what must stop it
};

// A host process for the task to aim at with --pid host: a root `sleep` that holds every
// capability (as every root daemon does). Killed and reaped at destruction.
class HostSleeper {
 public:
  HostSleeper() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sleep", "sleep", "300", nullptr);
      ::_exit(127);
    }
  }
  ~HostSleeper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

std::vector<Attempt> Attempts(const BlockDev& disk, const std::string& user, pid_t host_pid) {
  const std::string eperm = "err EPERM";
  const std::string hp = std::to_string(host_pid);
  std::vector<Attempt> a = {
      {"mount", "/bin/testinit mount /tmp", {eperm}, {}, "seccomp denies mount; no CAP_SYS_ADMIN"},
      {"umount", "/bin/testinit umount /proc", {eperm}, {}, "seccomp denies umount2; no CAP_SYS_ADMIN"},
      {"pivot_root", "/bin/testinit pivot", {eperm}, {}, "seccomp denies pivot_root; no CAP_SYS_ADMIN"},
      {"mknod host disk",
       "/bin/testinit mknod /tmp/disk " + std::to_string(disk.maj) + " " + std::to_string(disk.min),
       {eperm}, {}, "device cgroup: no mknod rule for block devices (CAP_MKNOD is in the set)"},
      {"open bound host disk", "/bin/testinit open /disk", {eperm}, {},
       "device cgroup denies the host disk even when its node is bound in"},
      {"open bound host disk rw", "/bin/testinit openw /disk", {eperm}, {},
       "device cgroup denies the host disk even when its node is bound in"},
      {"write /proc/sys/kernel/hostname", "/bin/testinit openw /proc/sys/kernel/hostname",
       {"err EROFS"}, {"err EROFS", "err EACCES"}, "/proc/sys is read-only"},
      {"write /sys/class/net/lo/mtu", "/bin/testinit openw /sys/class/net/lo/mtu", {"err EROFS"},
       {}, "/sys is mounted read-only"},
      {"create under /sys", "/bin/testinit write /sys/kernel/isoexec-escape x", {"err EROFS"}, {},
       "/sys is mounted read-only"},
      {"stat /proc/keys", "/bin/testinit stat /proc/keys", {"mode=666 type=c rdev=1:3 uid=0 gid=0"},
       {}, "masked path: /dev/null is bound over /proc/keys"},
      {"read /proc/keys", "/bin/testinit cat /proc/keys | wc -c", {"0"}, {},
       "masked path: /proc/keys reads empty"},
      {"read /proc/timer_list", "/bin/testinit cat /proc/timer_list | wc -c", {"0"}, {},
       "masked path: /proc/timer_list reads empty"},
      {"ptrace host init", "/bin/testinit ptrace 1", {eperm}, {},
       "seccomp denies ptrace; no CAP_SYS_PTRACE"},
      {"host init root dir", "/bin/testinit ls /proc/1/root", {"err EACCES"}, {},
       "ptrace access check on /proc/1/root: host init holds capabilities the task lacks"},
      {"isoexec fds", "/bin/testinit open /proc/$PPID/fd/0", {"err EACCES"}, {},
       "ptrace access check on /proc/<isoexec>/fd: isoexec holds capabilities the task lacks"},
      {"open_by_handle_at", "/bin/testinit open_by_handle", {eperm}, {},
       "seccomp denies open_by_handle_at (shocker); no CAP_DAC_READ_SEARCH"},
      {"unshare mount ns", "/bin/testinit unshare", {eperm}, {},
       "seccomp denies unshare; no CAP_SYS_ADMIN"},
      {"unshare user ns", "/bin/testinit unshare-user", {eperm}, {}, "seccomp denies unshare"},
      {"setns (own netns file)", "/bin/testinit setns /proc/self/ns/net", {eperm}, {},
       "seccomp denies setns; no CAP_SYS_ADMIN"},
      {"setns host init netns", "/bin/testinit setns /proc/1/ns/net", {"err EACCES", eperm}, {},
       "ptrace access check on /proc/1/ns, then seccomp denies setns"},
      {"keyctl", "/bin/testinit keyctl", {eperm}, {}, "seccomp denies keyctl (keyrings are not namespaced)"},
      {"bpf", "/bin/testinit bpf", {eperm}, {}, "seccomp denies bpf"},
      {"perf_event_open", "/bin/testinit perf", {eperm}, {}, "seccomp denies perf_event_open"},
      // Issue #9 additions.
      {"mknod host /dev/mem", "/bin/testinit mknod /tmp/mem 1 1 c", {eperm}, {},
       "device cgroup: no mknod rule beyond the default nodes"},
      {"mknod host disk in /dev", "/bin/testinit mknod /dev/disk " + std::to_string(disk.maj) +
       " " + std::to_string(disk.min), {eperm}, {},
       "device cgroup: no mknod rule for block devices"},
      {"write /proc/sys/kernel/core_pattern", "/bin/testinit openw /proc/sys/kernel/core_pattern",
       {"err EROFS"}, {"err EROFS", "err EACCES"},
       "/proc/sys is read-only (core_pattern would run a host program)"},
      {"write /sys/kernel/uevent_helper", "/bin/testinit openw /sys/kernel/uevent_helper",
       {"err EROFS", "err ENOENT"}, {},
       "/sys is mounted read-only (uevent_helper would run a host program)"},
      {"cgroup release_agent", "/bin/testinit write /sys/fs/cgroup/release_agent x",
       {"err EROFS", "err ENOENT"}, {},
       "no cgroup fs is mounted in the task, and /sys is read-only"},
      {"shocker with a real handle", "/bin/testinit shocker /etc/passwd",
       {"name_to_handle=EPERM open_by_handle=EPERM"}, {},
       "seccomp denies name_to_handle_at and open_by_handle_at; no CAP_DAC_READ_SEARCH"},
      {"ptrace host process", "/bin/testinit ptrace " + hp, {eperm}, {},
       "seccomp denies ptrace; no CAP_SYS_PTRACE"},
      {"host process root dir", "/bin/testinit ls /proc/" + hp + "/root", {"err EACCES"}, {},
       "ptrace access check: the host process holds capabilities the task lacks"},
      {"host process environ", "/bin/testinit open /proc/" + hp + "/environ", {"err EACCES"}, {},
       "ptrace access check on /proc/<pid>/environ"},
      {"host process mem", "/bin/testinit openrw /proc/" + hp + "/mem", {"err EACCES"}, {},
       "ptrace access check on /proc/<pid>/mem"},
      {"host process fd", "/bin/testinit open /proc/" + hp + "/fd/0", {"err EACCES"}, {},
       "ptrace access check on /proc/<pid>/fd/N"},
      {"host process exe", "/bin/testinit open /proc/" + hp + "/exe", {"err EACCES"}, {},
       "ptrace access check on /proc/<pid>/exe"},
      {"isoexec exe read", "/bin/testinit open /proc/$PPID/exe", {"err EACCES"}, {},
       "ptrace access check: isoexec holds capabilities the task lacks"},
      {"isoexec exe write", "/bin/testinit openw /proc/$PPID/exe", {"err EACCES"}, {},
       "ptrace access check on isoexec's /proc/<pid>/exe (CVE-2019-5736)"},
      {"isoexec exe rw", "/bin/testinit openrw /proc/$PPID/exe", {"err EACCES"}, {},
       "ptrace access check on isoexec's /proc/<pid>/exe (CVE-2019-5736)"},
      {"setns host mnt ns", "/bin/testinit setns /proc/1/ns/mnt", {"err EACCES", eperm}, {},
       "ptrace access check on /proc/1/ns, then seccomp denies setns"},
      {"setns host pid ns", "/bin/testinit setns /proc/1/ns/pid", {"err EACCES", eperm}, {},
       "ptrace access check on /proc/1/ns, then seccomp denies setns"},
      {"setns host user ns", "/bin/testinit setns /proc/1/ns/user", {"err EACCES", eperm}, {},
       "ptrace access check on /proc/1/ns, then seccomp denies setns"},
  };
  for (const char* ns : {"mnt", "user", "pid", "net", "uts", "ipc", "cgroup"}) {
    a.push_back({std::string("unshare ") + ns, std::string("/bin/testinit unshare-ns ") + ns,
                 {eperm}, {}, "seccomp denies unshare"});
    a.push_back({std::string("clone new ") + ns, std::string("/bin/testinit clone-ns ") + ns,
                 {"clone=EPERM clone3=ENOSYS"}, {},
                 "seccomp: clone with namespace flags gets EPERM, clone3 ENOSYS"});
  }
  // kill(2) of a host process: a non-root task has neither the uid nor CAP_KILL (dropped with
  // --pid host). A root task may: it has the same uid as host root processes and no user
  // namespace separates them (as with Docker's --pid=host), so no case is asserted for root.
  if (user != "root")
    a.push_back({"kill host process", "/bin/testinit kill " + hp + " 0", {eperm}, {},
                 "kill(2) permission check: another uid, and no CAP_KILL with --pid host"});
  // Every masked path the host has reads empty (files: /dev/null bound over; dirs: an empty
  // tmpfs).
  for (const auto& m : isolation::DefaultMaskedPaths()) {
    struct stat st {};
    if (::stat(m.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      a.push_back({"masked dir " + m, "/bin/testinit ls " + m + " | wc -l", {"0"}, {},
                   "masked path: an empty read-only tmpfs over " + m});
    else
      a.push_back({"masked file " + m, "/bin/testinit cat " + m + " | wc -c", {"0"}, {},
                   "masked path: /dev/null is bound over " + m});
  }
  // A root-writable file under each read-only /proc path the host has (a PCI device's config
  // space under /proc/bus is the first one listed).
  std::vector<std::string> ro_files = {"/proc/irq/default_smp_affinity",
                                       "/proc/sys/vm/drop_caches", "/proc/sys/kernel/modprobe"};
  for (const auto& bus : DirEntries("/proc/bus/pci")) {
    auto devs = DirEntries("/proc/bus/pci/" + bus);
    if (bus == "devices" || devs.empty()) continue;
    ro_files.push_back("/proc/bus/pci/" + bus + "/" + *devs.begin());
    break;
  }
  for (const auto& f : ro_files) {
    if (!Exists(f)) continue;
    a.push_back({"write " + f, "/bin/testinit openw " + f, {"err EROFS"},
                 {"err EROFS", "err EACCES"}, "read-only /proc path (bound read-only over itself)"});
  }
  // Paths some kernels do not have (this host's 6.18 has neither kcore nor sysrq-trigger): with
  // no such file on the host the task sees none either.
  if (Exists("/proc/kcore"))
    a.push_back({"read /proc/kcore", "/bin/testinit cat /proc/kcore | wc -c", {"0"}, {},
                 "masked path: /dev/null is bound over /proc/kcore"});
  else
    a.push_back({"read /proc/kcore", "/bin/testinit open /proc/kcore", {"err ENOENT"}, {},
                 "the host kernel has no /proc/kcore"});
  if (Exists("/proc/sysrq-trigger"))
    a.push_back({"write /proc/sysrq-trigger", "/bin/testinit openw /proc/sysrq-trigger",
                 {"err EROFS", "err EACCES"}, {}, "/proc/sysrq-trigger is read-only"});
  else
    a.push_back({"write /proc/sysrq-trigger", "/bin/testinit openw /proc/sysrq-trigger",
                 {"err ENOENT"}, {}, "the host kernel has no /proc/sysrq-trigger"});
  if (Exists("/sys/firmware"))
    a.push_back({"list /sys/firmware", "/bin/testinit ls /sys/firmware | wc -l", {"0"}, {},
                 "masked path: an empty read-only tmpfs over /sys/firmware"});
  return a;
}

void RunEscapeAttempts(const std::string& user) {
  TestRoot root;
  TempDir scratch;
  BlockDev disk = FindHostDisk();
  DiskNode node(disk, scratch.path());
  ASSERT_FALSE(node.path().empty()) << "no node for " << disk.what << ": " << std::strerror(errno);
  HostSleeper sleeper;
  ASSERT_GT(sleeper.pid(), 0);
  auto attempts = Attempts(disk, user, sleeper.pid());
  std::string script;
  for (const auto& a : attempts) script += "printf '%s: ' '" + a.name + "'; " + a.command + "\n";
  script += "true\n";
  const std::string hostname = HostHostname();
  const auto mounts_before = HostMountsWith(root.path());

  auto r = RunIsoexec({"run", "--pid", "host", "--user", user, "--bind", node.path() + ":/disk",
                       "--rootfs", root.path(), "--", "/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  std::map<std::string, std::string> got;
  for (const auto& line : Lines(r.out)) {
    auto sep = line.find(": ");
    if (sep != std::string::npos) got[line.substr(0, sep)] = Trim(line.substr(sep + 2));
  }
  for (const auto& a : attempts) {
    const auto& want = (user != "root" && !a.expected_nonroot.empty()) ? a.expected_nonroot
                                                                        : a.expected;
    ASSERT_TRUE(got.count(a.name)) << a.name << " printed nothing:\n" << r.out << r.err;
    EXPECT_TRUE(want.count(got[a.name]))
        << "as " << user << ": `" << a.command << "` gave \"" << got[a.name]
        << "\"; expected it stopped by: " << a.protection
        << (a.name == "mknod host disk" || Contains(a.name, "disk") ? " [" + disk.what + "]" : "");
  }
  // Nothing reached the host.
  EXPECT_FALSE(Exists(root.path() + "/tmp/disk")) << "a device node was created in the root";
  EXPECT_FALSE(Exists(root.path() + "/tmp/mem")) << "a device node was created in the root";
  EXPECT_TRUE(sleeper.alive()) << "the host process died";
  EXPECT_EQ(HostHostname(), hostname);
  EXPECT_EQ(HostMountsWith(root.path()), mounts_before) << "a task mount appeared on the host";
}

// ---------------------------------------------------------------------------------------
// 3. Escape attempts

TEST(Escape, AttemptsFailAsRoot) {
  REQUIRE_ROOT();
  RunEscapeAttempts("root");
}

TEST(Escape, AttemptsFailAsNonRootUser) {
  REQUIRE_ROOT();
  RunEscapeAttempts("runner");
}

TEST(Escape, NonRootTaskWithoutCapKillCannotSignalHostRootProcesses) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--pid", "host", "--user", "runner", "--cap-drop", "kill",
                       "--rootfs", root.path(), "--", "/bin/testinit", "kill", "1", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "err EPERM\n")
      << "kill(2) permission check: runner is not root's uid and lacks CAP_KILL";
}

// Non-root users get the default capability set in their ambient and effective sets (Nomad's
// model), and that set includes CAP_KILL. With --pid host that would let the task signal every
// host process, root's included: --pid host drops CAP_KILL unless --cap-add asks for it.
TEST(Escape, NonRootTaskCannotSignalHostRootProcessesByDefault) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--pid", "host", "--user", "runner", "--rootfs", root.path(), "--",
                       "/bin/testinit", "kill", "1", "0"});
  EXPECT_EQ(r.out, "err EPERM\n")
      << "runner signalled host pid 1: CAP_KILL must not be in its sets with --pid host";
}

// ---------------------------------------------------------------------------------------
// 4. Bind targets are resolved inside the root

TEST(Escape, BindTargetThroughAnOutwardSymlinkStaysInTheRoot) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir outside;  // a real host dir the symlinks point at; it must stay untouched
  TempDir content;
  std::ofstream(content.path() + "/marker") << "bound-content";
  ASSERT_EQ(::symlink(outside.path().c_str(), (root.path() + "/escape").c_str()), 0);
  // A relative link with more ".." than the root has levels: clamped at the root as well.
  ASSERT_EQ(::symlink(("../../../../../../.." + outside.path()).c_str(),
                      (root.path() + "/local/up").c_str()),
            0);
  auto r = RunIsoexec({"run", "--bind", content.path() + ":/escape/x", "--bind",
                       content.path() + ":/local/up/y:ro", "--rootfs", root.path(), "--",
                       "/bin/sh", "-c", "cat /escape/x/marker; echo; cat /local/up/y/marker"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "bound-content\nbound-content") << "the bind must be visible in the task";
  EXPECT_TRUE(DirEntries(outside.path()).empty())
      << "the bind target was created on the host through the symlink";
  EXPECT_TRUE(HostMountsWith(outside.path()).empty()) << "a mount appeared on the host";
  // Where it went: the symlink's target resolved inside the root.
  struct stat st {};
  EXPECT_EQ(::stat((root.path() + outside.path() + "/x").c_str(), &st), 0)
      << "expected the mount point at <root>" << outside.path() << "/x";
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(::stat((root.path() + outside.path() + "/y").c_str(), &st), 0);
}

TEST(Escape, SymlinkLoopInABindTargetIsRefused) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir content;
  ASSERT_EQ(::symlink("loop-b", (root.path() + "/loop-a").c_str()), 0);
  ASSERT_EQ(::symlink("loop-a", (root.path() + "/loop-b").c_str()), 0);
  auto r = RunIsoexec({"run", "--bind", content.path() + ":/loop-a/x", "--rootfs", root.path(),
                       "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "loop-a/x")) << r.err;
}

TEST(Escape, DotDotInABindTargetIsRefused) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir content;
  auto before = DirEntries(root.path());
  auto r = RunIsoexec({"run", "--bind", content.path() + ":/../../etc", "--rootfs", root.path(),
                       "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "--bind")) << r.err;
  EXPECT_TRUE(Contains(r.err, "leaves the task root")) << r.err;
  EXPECT_EQ(DirEntries(root.path()), before) << "a refused run created mount points";
  EXPECT_TRUE(HostMountsWith(content.path()).empty());
  // Inside the root, ".." that stays inside is fine.
  r = RunIsoexec({"run", "--bind", content.path() + ":/local/../data", "--rootfs", root.path(),
                  "--", "/bin/testinit", "ls", "/data"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// ---------------------------------------------------------------------------------------
// 5. Inherited file descriptors (CVE-2024-21626 class)

// Leaks fd 7 (a host file) and fd 8 (the host's "/", a directory: the CVE-2024-21626 handle)
// into the next program, which is "$0" "$@".
std::string LeakFds(const std::string& secret) {
  return "exec 7<'" + secret + "' 8</; exec \"$0\" \"$@\"";
}

TEST(Escape, InheritedFdNeverReachesTheTask) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir dir;
  std::string secret = dir.path() + "/secret";
  std::ofstream(secret) << "host-secret";
  const std::string leak = LeakFds(secret);
  // Control: the shell trick really hands fds 7 and 8 to the next program.
  auto control = RunCommand({"/bin/sh", "-c", leak, "/bin/sh", "-c",
                             "cat /proc/self/fd/7; ls -d /proc/self/fd/8/etc"});
  ASSERT_EQ(control.out, "host-secret/proc/self/fd/8/etc\n") << control.err;

  for (const char* user : {"root", "runner"}) {
    auto r = RunCommand({"/bin/sh", "-c", leak, ISOEXEC_BIN, "--state-dir", StateDir(),
                         "--cgroup-parent", CgroupParent(), "run", "--user", user, "--rootfs",
                         root.path(), "--", "/bin/sh", "-c",
                         "/bin/testinit fds; "
                         "echo fd7 $(/bin/testinit cat /proc/self/fd/7); "
                         "echo escape $(/bin/testinit fd-escape); "
                         "for n in 0 1 2 3 4 5 6 7 8 9; do "
                         "echo \"init $n $(/bin/testinit open /proc/1/fd/$n)\"; done"});
    ASSERT_EQ(r.exit_code, 0) << user << ": " << r.err;
    auto lines = Lines(r.out);
    std::vector<std::string> fds;
    bool fd7_err = false;
    int init_seen = 0;
    for (const auto& line : lines) {
      if (line.rfind("fd7 ", 0) == 0) {
        fd7_err = line == "fd7 err ENOENT";
      } else if (line.rfind("escape ", 0) == 0) {
        // testinit's own fds are 0-2 only: nothing to fchdir through.
        EXPECT_EQ(line, "escape none") << user << ": fd hygiene (close_range at execve)";
      } else if (line.rfind("init ", 0) == 0) {
        ++init_seen;
        // EACCES for init's open fds, ENOENT for numbers it has not open: never "ok".
        EXPECT_TRUE(Contains(line, " err ")) << user << ": " << line
            << ": the task opened one of isoexec-init's fds (init must be non-dumpable)";
      } else {
        fds.push_back(line.substr(0, line.find(' ')));
      }
    }
    EXPECT_EQ(fds, (std::vector<std::string>{"0", "1", "2"}))
        << user << ": only stdio may reach the task:\n" << r.out;
    EXPECT_TRUE(fd7_err) << user << ": /proc/self/fd/7 must not exist:\n" << r.out;
    EXPECT_FALSE(Contains(r.out, "host-secret")) << user;
    EXPECT_EQ(init_seen, 10) << r.out;
  }
}

// ---------------------------------------------------------------------------------------
// Shared helpers for the issue #9 attacks.

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Deletes a detached task at scope exit, whatever the test did.
struct TaskGuard {
  std::string id;
  ~TaskGuard() {
    if (!id.empty()) RunIsoexec({"delete", "--force", id});
  }
};

bool WaitForContent(const std::string& path, const std::string& needle, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Contains(ReadFileOr(path), needle)) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

// Size, mtime and a hash of the contents: any write to the file changes it.
std::string Fingerprint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  uint64_t h = 1469598103934665603ull;
  for (char c : ReadFileOr(path)) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + "/" + std::to_string(h);
}

// "dev=MAJ:MIN ino=I" of a host file, as testinit's exe-grab prints it.
std::string DevIno(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "?";
  return "dev=" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) +
         " ino=" + std::to_string(st.st_ino);
}

std::string Field(const std::string& line, const std::string& key) {
  auto p = line.find(" " + key + "=");
  if (p == std::string::npos) return "";
  p += key.size() + 2;
  return line.substr(p, line.find(' ', p) - p);
}

// What an exe-grab attacker (testinit exe-grab) got on isoexec's own binary.
struct GrabReport {
  int grabs = 0;           // handles on any binary
  int isoexec_grabs = 0;   // handles on isoexec's binary
  std::vector<std::string> problems;
};

// `allowed_comm`: the only process name through which a handle on isoexec's binary is expected
// (a `#!/proc/self/exe` script the attacker made isoexec execute); none when empty.
GrabReport AnalyseGrabs(const std::string& log, const std::string& allowed_comm) {
  GrabReport g;
  const std::string exe = DevIno(ISOEXEC_BIN);
  for (const auto& line : Lines(log)) {
    bool grab = line.rfind("grab ", 0) == 0, late = line.rfind("late ", 0) == 0;
    if (!grab && !late) continue;
    bool is_isoexec = Contains(line, exe + " ");
    if (grab) ++g.grabs;
    if (!is_isoexec) continue;
    if (grab) ++g.isoexec_grabs;
    if (grab && Field(line, "comm") != allowed_comm)
      g.problems.push_back(line + "  <- a handle on isoexec's binary from an isoexec process "
                                  "before its execve (it must be non-dumpable)");
    if (Field(line, "w") == "ok")
      g.problems.push_back(line + "  <- isoexec's binary opened for writing (CVE-2019-5736)");
  }
  return g;
}

// A script whose interpreter is the executing process's own binary: what isoexec executes on
// behalf of a task when it runs it (CVE-2019-5736's trick).
// `--help` makes isoexec's CLI print its usage, the proof that its binary ran in the task.
constexpr const char* kSelfExeScript = "#!/proc/self/exe --help\n";
constexpr const char* kIsoexecUsage = "Usage: isoexec";

// ---------------------------------------------------------------------------------------
// 6. isoexec's own binary (CVE-2019-5736 class)

// `isoexec exec` into a running task whose attacker watches for new processes and opens their
// /proc/<pid>/exe. The intermediate and final processes are non-dumpable until the final one's
// execve, so while they still run isoexec's binary the attacker gets EACCES. A command that is
// a `#!/proc/self/exe` script does make the kernel execute isoexec's binary inside the task (as
// the task's user), and the attacker gets a read-only handle on it: writing through it fails
// with ETXTBSY for as long as any process executes that binary, and the task's own supervisor
// does for as long as the task lives.
// KNOWN LIMIT (issue #9 report): that read-only handle is all ETXTBSY stands between a task and
// the host binary. Kernels without exec write-denial (6.11-6.12), or a --pid host root task
// that kills its own supervisor (its orphans survive) and waits until no isoexec runs, could
// write it. Closing that needs runc's answer: run task code only from a sealed memfd or
// read-only-mounted copy of the binary.
void ExecIntoAttack(const std::string& user) {
  TempDir out;
  const std::string log = out.path() + "/grab.log";
  const std::string id = std::string("exe-") + (user == "root" ? "root" : "user");
  const std::string before = Fingerprint(ISOEXEC_BIN);
  auto r = RunIsoexec({"run", "-d", "--name", id, "--user", user, "--stdout", log, "--bind",
                       std::string(ISOEXEC_TESTINIT) + ":/t/testinit:ro", "--", "/bin/sh", "-c",
                       std::string("printf '%s' '") + kSelfExeScript +
                           "' > /tmp/evil && chmod 755 /tmp/evil && "
                           "exec /t/testinit exe-grab 120 /tmp/stop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  TaskGuard guard{id};
  ASSERT_TRUE(WaitForContent(log, "ready\n", seconds(30))) << ReadFileOr(log);

  // Init, a fork of isoexec: non-dumpable.
  r = RunIsoexec({"exec", id, "--", "/t/testinit", "reopenw", "/proc/1/exe"});
  EXPECT_EQ(r.out, "r=EACCES\n") << "init's /proc/1/exe: init must be non-dumpable";
  r = RunIsoexec({"exec", id, "--", "/t/testinit", "openw", "/proc/1/exe"});
  EXPECT_EQ(r.out, "err EACCES\n") << "init's /proc/1/exe: init must be non-dumpable";

  int evil_ran = 0;
  for (int i = 0; i < 5; ++i) {
    auto e = RunIsoexec({"exec", id, "--", "/tmp/evil"});
    if (Contains(e.out, kIsoexecUsage)) ++evil_ran;
    EXPECT_EQ(RunIsoexec({"exec", id, "--", "/bin/true"}).exit_code, 0);
  }
  // (It may be killed as it exits: the attacker, the task's main process, ends on this file.)
  RunIsoexec({"exec", id, "--", "/t/testinit", "write", "/tmp/stop", "x"});
  auto w = RunIsoexec({"wait", id}, seconds(60));
  EXPECT_EQ(w.exit_code, 0) << w.err;
  const std::string got = ReadFileOr(log);
  auto g = AnalyseGrabs(got, "evil");
  for (const auto& p : g.problems) ADD_FAILURE() << "as " << user << ": " << p;
  EXPECT_GT(evil_ran, 0) << "the #!/proc/self/exe command never ran isoexec inside the task";
  EXPECT_GT(g.grabs, 0) << "the attacker saw no exec'd process at all:\n" << got;
  EXPECT_EQ(Fingerprint(ISOEXEC_BIN), before) << "isoexec's binary changed";
  std::cout << "[ info ] as " << user << ": " << g.grabs << " handles, " << g.isoexec_grabs
            << " on isoexec's binary (via #!/proc/self/exe; writes refused), " << evil_ran
            << "/5 runs of isoexec inside the task\n";
}

TEST(EscapeExe, ExecIntoNeverHandsOutAWritableIsoexecBinaryAsRoot) {
  REQUIRE_ROOT();
  ExecIntoAttack("root");
}

TEST(EscapeExe, ExecIntoNeverHandsOutAWritableIsoexecBinaryAsNonRoot) {
  REQUIRE_ROOT();
  ExecIntoAttack("1000:1000");
}

// A --pid host attacker sees every process on the host, including each new task's process
// between its fork from isoexec and its execve. Once that process has the task's credentials
// it would pass the ptrace access check, so isoexec makes it non-dumpable from the start
// (the execve resets that): the attacker never gets a handle on isoexec's binary from a
// launch, with or without a PID namespace, and the `#!/proc/self/exe` command only yields a
// read-only one.
void LaunchWindowAttack(const std::string& user) {
  TempDir out, work;
  const std::string log = out.path() + "/grab.log";
  const std::string id = std::string("launch-") + (user == "root" ? "root" : "user");
  std::ofstream(work.path() + "/evil") << kSelfExeScript;
  ::chmod((work.path() + "/evil").c_str(), 0755);
  const std::string before = Fingerprint(ISOEXEC_BIN);
  auto r = RunIsoexec({"run", "-d", "--name", id, "--pid", "host", "--user", user, "--stdout",
                       log, "--bind", std::string(ISOEXEC_TESTINIT) + ":/t/testinit:ro",
                       "--bind", out.path() + ":/out:ro", "--", "/t/testinit", "exe-grab", "180",
                       "/out/stop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  TaskGuard guard{id};
  ASSERT_TRUE(WaitForContent(log, "ready\n", seconds(30))) << ReadFileOr(log);
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(RunIsoexec({"run", "--user", user, "--", "/bin/true"}).exit_code, 0);
    EXPECT_EQ(RunIsoexec({"run", "--pid", "host", "--user", user, "--", "/bin/true"}).exit_code, 0);
  }
  int evil_ran = 0;
  for (int i = 0; i < 3; ++i) {
    auto e = RunIsoexec({"run", "--pid", "host", "--user", user, "--bind",
                         work.path() + ":/w:ro", "--", "/w/evil"});
    if (Contains(e.out, kIsoexecUsage)) ++evil_ran;
  }
  std::ofstream(out.path() + "/stop") << "x";
  auto w = RunIsoexec({"wait", id}, seconds(60));
  EXPECT_EQ(w.exit_code, 0) << w.err;
  const std::string got = ReadFileOr(log);
  auto g = AnalyseGrabs(got, "evil");
  for (const auto& p : g.problems) ADD_FAILURE() << "as " << user << ": " << p;
  EXPECT_GT(evil_ran, 0) << "the #!/proc/self/exe command never ran isoexec";
  EXPECT_GT(g.grabs, 0) << "the attacker saw no launched process at all:\n" << got;
  EXPECT_EQ(Fingerprint(ISOEXEC_BIN), before) << "isoexec's binary changed";
  std::cout << "[ info ] as " << user << ": " << g.grabs << " handles, " << g.isoexec_grabs
            << " on isoexec's binary (via #!/proc/self/exe; writes refused); "
            << Trim(Lines(got).empty() ? "" : Lines(got).back()) << "\n";
}

TEST(EscapeExe, HostPidAttackerNeverGrabsIsoexecFromALaunchAsRoot) {
  REQUIRE_ROOT();
  LaunchWindowAttack("root");
}

TEST(EscapeExe, HostPidAttackerNeverGrabsIsoexecFromALaunchAsNonRoot) {
  REQUIRE_ROOT();
  LaunchWindowAttack("1000:1000");
}

// ---------------------------------------------------------------------------------------
// 7. Working directory and leaked fds (CVE-2024-21626 class)

TEST(EscapeFd, TaskCwdIsInsideTheRoot) {
  REQUIRE_ROOT();
  TestRoot root;
  ASSERT_EQ(RunIsoexec({"run", "-d", "--name", "cwd", "--rootfs", root.path(), "--",
                        "/bin/sleep", "60"})
                .exit_code,
            0);
  TaskGuard guard{"cwd"};
  // isoexec itself runs with a host cwd (this test's): none of it may reach the task.
  for (const char* user : {"root", "runner"}) {
    for (const char* workdir : {"/", "/local", "/tmp"}) {
      auto r = RunIsoexec({"run", "--user", user, "--workdir", workdir, "--rootfs", root.path(),
                           "--", "/bin/testinit", "cwd-escape"});
      EXPECT_EQ(r.out, "root\n") << user << " run --workdir " << workdir
                                 << ": `..` from the task's cwd must stop at its root " << r.err;
      r = RunIsoexec({"exec", "--user", user, "--workdir", workdir, "cwd", "--",
                      "/bin/testinit", "cwd-escape"});
      EXPECT_EQ(r.out, "root\n") << user << " exec --workdir " << workdir
                                 << ": chdir happens after the chroot into the task root " << r.err;
    }
  }
}

// --workdir /proc/self/fd/N is how CVE-2024-21626 used runc's leaked cgroup fd. Here the
// workdir is entered after pivot_root (run) or the chroot (exec), and every fd isoexec still
// holds at that point is a socket or pipe: the chdir fails, or lands inside the root.
TEST(EscapeFd, WorkdirThroughProcSelfFdNeverLeavesTheRoot) {
  REQUIRE_ROOT();
  TestRoot root;
  ASSERT_EQ(RunIsoexec({"run", "-d", "--name", "wdfd", "--rootfs", root.path(), "--",
                        "/bin/sleep", "60"})
                .exit_code,
            0);
  TaskGuard guard{"wdfd"};
  std::vector<std::string> workdirs = {"/proc/1/cwd", "/proc/self/cwd", "/proc/self/root",
                                       "/proc/1/root"};
  for (int n = 3; n <= 12; ++n) workdirs.push_back("/proc/self/fd/" + std::to_string(n));
  int refused = 0, inside = 0;
  for (const char* user : {"root", "runner"}) {
    for (const auto& wd : workdirs) {
      for (bool exec : {false, true}) {
        auto r = exec ? RunIsoexec({"exec", "--user", user, "--workdir", wd, "wdfd", "--",
                                    "/bin/testinit", "cwd-escape"})
                      : RunIsoexec({"run", "--user", user, "--workdir", wd, "--rootfs",
                                    root.path(), "--", "/bin/testinit", "cwd-escape"});
        const std::string what = std::string(user) + (exec ? " exec" : " run") + " --workdir " + wd;
        EXPECT_FALSE(Contains(r.out, "OUTSIDE"))
            << what << ": the task's cwd is outside its root (leaked fd as cwd)";
        if (r.exit_code == 0) {
          ++inside;
          EXPECT_EQ(r.out, "root\n") << what;
        } else {
          ++refused;
          EXPECT_TRUE(r.exit_code == 125 || r.exit_code == 126) << what << ": " << r.err;
          EXPECT_TRUE(Contains(r.err, "chdir")) << what << ": " << r.err;
        }
      }
    }
  }
  std::cout << "[ info ] " << refused << " refused, " << inside << " inside the root\n";
}

TEST(EscapeFd, InheritedFdNeverReachesAnExecProcess) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir dir;
  std::string secret = dir.path() + "/secret";
  std::ofstream(secret) << "host-secret";
  ASSERT_EQ(RunIsoexec({"run", "-d", "--name", "leak", "--rootfs", root.path(), "--",
                        "/bin/sleep", "60"})
                .exit_code,
            0);
  TaskGuard guard{"leak"};
  for (const char* user : {"root", "runner"}) {
    auto r = RunCommand({"/bin/sh", "-c", LeakFds(secret), ISOEXEC_BIN, "--state-dir",
                         StateDir(), "--cgroup-parent", CgroupParent(), "exec", "--user", user,
                         "leak", "--", "/bin/sh", "-c",
                         "/bin/testinit fds; echo escape $(/bin/testinit fd-escape); "
                         "echo fd7 $(/bin/testinit cat /proc/self/fd/7); "
                         "echo fd8 $(/bin/testinit ls /proc/self/fd/8/)"});
    ASSERT_EQ(r.exit_code, 0) << user << ": " << r.err;
    std::vector<std::string> fds;
    for (const auto& line : Lines(r.out))
      if (line.find(' ') != std::string::npos && std::isdigit(static_cast<unsigned char>(line[0])))
        fds.push_back(line.substr(0, line.find(' ')));
    EXPECT_EQ(fds, (std::vector<std::string>{"0", "1", "2"}))
        << user << ": only stdio may reach an exec'd process:\n" << r.out;
    EXPECT_TRUE(Contains(r.out, "escape none\n")) << user << ": " << r.out;
    EXPECT_TRUE(Contains(r.out, "fd7 err ENOENT\n")) << user << ": " << r.out;
    EXPECT_TRUE(Contains(r.out, "fd8 err ENOENT\n")) << user << ": " << r.out;
    EXPECT_FALSE(Contains(r.out, "host-secret")) << user;
  }
}

// ---------------------------------------------------------------------------------------
// 8. Symlink races on bind targets

// A hostile task keeps swapping a directory of its root (RENAME_EXCHANGE, atomic) with a
// symlink that points out of the root, absolute or through "..", while tasks are launched on
// the same root with a bind on that path. Resolution happens inside the root (openat2
// RESOLVE_IN_ROOT, mkdirat on the resolved parent, mounts on the O_PATH fd): whatever state
// the race catches, nothing is created or mounted outside the root.
TEST(EscapeBindRace, SwappedBindTargetNeverLandsOutsideTheRoot) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir outside;  // what the symlinks point at: must stay empty and unmounted
  TempDir content;
  std::ofstream(content.path() + "/marker") << "bound-content";
  struct Racer {
    std::string dir, link, user;
  };
  std::vector<Racer> racers = {
      {"/local/ra", outside.path(), "root"},
      {"/local/rr", "../../../../../../../../.." + outside.path(), "runner"},
  };
  std::vector<Background> bgs;
  for (const auto& rc : racers) {
    ASSERT_EQ(::mkdir((root.path() + rc.dir).c_str(), 0777), 0);
    ::chmod((root.path() + rc.dir).c_str(), 0777);
    bgs.push_back(StartIsoexec({"run", "--user", rc.user, "--rootfs", root.path(), "--",
                                "/bin/testinit", "swaprace", rc.dir, rc.link, "120"}));
  }
  for (auto& bg : bgs) ASSERT_TRUE(Contains(bg.ReadUntil("ready", seconds(20)), "ready"));

  const auto host_mounts = HostMountsWith(root.path());
  int launched = 0, failed = 0;
  std::map<std::string, int> failures;
  for (int i = 0; i < 20; ++i) {
    for (const auto& rc : racers) {
      for (const std::string& target : {rc.dir + "/t", rc.dir + "/t/sub"}) {
        auto r = RunIsoexec({"run", "--bind", content.path() + ":" + target + ":ro", "--rootfs",
                             root.path(), "--", "/bin/true"});
        if (r.exit_code == 0) {
          ++launched;
        } else {
          ++failed;
          ++failures[Trim(r.err).substr(0, 120)];
          EXPECT_EQ(r.exit_code, 125) << r.err;
        }
        // The host after each attempt.
        ASSERT_TRUE(DirEntries(outside.path()).empty())
            << "attempt " << i << " on " << target << " created "
            << *DirEntries(outside.path()).begin() << " outside the root";
        ASSERT_TRUE(HostMountsWith(outside.path()).empty())
            << "attempt " << i << " on " << target << ": a mount outside the root";
      }
    }
  }
  for (const auto& rc : racers) std::ofstream(root.path() + rc.dir + "/stop") << "x";
  for (auto& bg : bgs) {
    auto r = bg.Wait(seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.out, "swaps=")) << r.out;
    EXPECT_FALSE(Contains(r.out, "swaps=0 ")) << "the race never ran: " << r.out;
  }
  EXPECT_EQ(HostMountsWith(root.path()), host_mounts) << "a task mount appeared on the host";
  EXPECT_GT(launched, 0) << "no launch succeeded during the race";
  std::cout << "[ info ] " << launched << " launched, " << failed << " refused during the race\n";
  for (const auto& [msg, n] : failures) std::cout << "[ info ]   " << n << "x " << msg << "\n";
}

// ---------------------------------------------------------------------------------------
// 9. Resource bombs: contained by the task's cgroup, reported, the host unaffected

bool PureV2() {
  auto l = cgroup::DetectLayout();
  return l && l->version() == cgroup::Version::kV2;
}

std::string PidsFile(const std::string& id, const std::string& file) {
  if (PureV2()) return "/sys/fs/cgroup/" + CgroupParent() + ".slice/" + id + ".scope/" + file;
  return "/sys/fs/cgroup/pids/" + CgroupParent() + "/" + id + "/" + file;
}

json StatusOf(const std::string& path) {
  try {
    return json::parse(ReadFileOr(path, "{}"));
  } catch (...) {
    return json::object();
  }
}

// The host can still start processes while a task is bombing.
bool HostCanFork() {
  auto t0 = std::chrono::steady_clock::now();
  auto r = RunCommand({"/bin/true"}, seconds(10));
  return r.exit_code == 0 && std::chrono::steady_clock::now() - t0 < seconds(5);
}

TEST(Security, ForkBombIsContainedByPidsMax) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir out;
  for (const char* user : {"root", "runner"}) {
    SCOPED_TRACE(user);
    const std::string status = out.path() + "/status.json";
    // Counted: how many processes the task gets before the kernel refuses.
    auto r = RunIsoexec({"run", "--pids-max", "64", "--user", user, "--status-file", status,
                         "--rootfs", root.path(), "--", "/bin/testinit", "forkbomb", "1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.out, "err=EAGAIN")) << "pids controller: fork must fail " << r.out;
    int forks = std::atoi(r.out.substr(r.out.find("forks=") + 6).c_str());
    EXPECT_LE(forks, 64) << "pids.max=64 (init and the task count too)";
    EXPECT_GE(forks, 32) << r.out;
    EXPECT_EQ(StatusOf(status)["exit_code"], 0) << ReadFileOr(status);

    // Unbounded: every process forks forever (busybox sh gives up at the first failed fork),
    // until --timeout stops it.
    const std::string id = std::string("bomb-") + user;
    auto bg = StartIsoexec({"run", "--name", id, "--pids-max", "64", "--timeout", "3s",
                            "--kill-timeout", "500ms", "--user", user, "--status-file", status,
                            "--rootfs", root.path(), "--", "/bin/testinit", "forktree"});
    int peak = 0;
    bool host_ok = true;
    for (int i = 0; i < 10; ++i) {
      std::this_thread::sleep_for(milliseconds(200));
      peak = std::max(peak, std::atoi(Trim(ReadFileOr(PidsFile(id, "pids.current"), "0")).c_str()));
      host_ok = host_ok && HostCanFork();
    }
    auto res = bg.Wait(seconds(30));
    auto st = StatusOf(status);
    EXPECT_EQ(st["timed_out"], true) << "the bomb must be stopped by --timeout: " << st.dump();
    EXPECT_NE(res.exit_code, 0);
    EXPECT_EQ(st["exit_code"], res.exit_code) << st.dump();
    EXPECT_GT(peak, 32) << "the bomb never ran";
    EXPECT_LE(peak, 64) << "pids.current above pids.max";
    EXPECT_TRUE(host_ok) << "the host could not start a process during the bomb";
    EXPECT_FALSE(Exists(PidsFile(id, ""))) << "the task's cgroup outlived it";
    EXPECT_EQ(RunIsoexec({"delete", id}).exit_code, 0);
  }
}

TEST(Security, MemoryBombIsKilledInsideAndReportedAsOom) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir out;
  HostSleeper bystander;  // a host process: the OOM kill must stay inside the task
  for (const char* user : {"root", "runner"}) {
    SCOPED_TRACE(user);
    const std::string status = out.path() + "/status.json";
    auto r = RunIsoexec({"run", "--memory", "64M", "--user", user, "--status-file", status,
                         "--rootfs", root.path(), "--", "/bin/testinit", "memhog", "512"},
                        seconds(60));
    EXPECT_EQ(r.exit_code, 137) << "memory cgroup OOM kill (SIGKILL) " << r.err;
    EXPECT_FALSE(Contains(r.out, "allocated")) << r.out;
    auto st = StatusOf(status);
    EXPECT_EQ(st["oom_killed"], true) << st.dump();
    EXPECT_EQ(st["signal"], 9) << st.dump();
    EXPECT_LE(st.value("memory_peak_bytes", uint64_t{0}), 64ull << 20) << st.dump();

    // Detached: the verdict in `wait`, `inspect` and `list --json`.
    const std::string id = std::string("oom-") + user;
    ASSERT_EQ(RunIsoexec({"run", "-d", "--name", id, "--memory", "64M", "--user", user,
                          "--rootfs", root.path(), "--", "/bin/testinit", "memhog", "512"})
                  .exit_code,
              0);
    TaskGuard guard{id};
    EXPECT_EQ(RunIsoexec({"wait", id}, seconds(60)).exit_code, 137);
    auto ins = json::parse(RunIsoexec({"inspect", id}).out, nullptr, false);
    EXPECT_EQ(ins["exit"]["oom_killed"], true) << ins.dump();
    auto list = json::parse(RunIsoexec({"list", "--json"}).out, nullptr, false);
    bool listed = false;
    for (const auto& t : list.is_array() ? list : json::array())
      if (t.value("id", "") == id) {
        listed = true;
        EXPECT_EQ(t["exit"]["oom_killed"], true) << t.dump();
      }
    EXPECT_TRUE(listed) << list.dump();
  }
  EXPECT_TRUE(bystander.alive()) << "the OOM kill reached a host process";
  EXPECT_TRUE(HostCanFork());
}

TEST(Security, FillingDevShmStopsAt64MiB) {
  REQUIRE_ROOT();
  TestRoot root;
  struct statvfs host_before {};
  if (::statvfs("/dev/shm", &host_before) != 0) GTEST_SKIP() << "the host has no /dev/shm";
  const auto host_files = DirEntries("/dev/shm");
  for (const char* user : {"root", "runner"}) {
    for (const char* ipc : {"private", "host"}) {
      SCOPED_TRACE(std::string(user) + " --ipc " + ipc);
      auto r = RunIsoexec({"run", "--user", user, "--ipc", ipc, "--rootfs", root.path(), "--",
                           "/bin/testinit", "fill", "/dev/shm/big", "80"});
      EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
      EXPECT_TRUE(Contains(r.out, " err ENOSPC")) << "the task's /dev/shm is a 64 MiB tmpfs: "
                                                  << r.out;
      long kib = std::atol(Field(" " + r.out, "wrote").c_str());
      EXPECT_LE(kib, 64 * 1024) << r.out;
      EXPECT_GE(kib, 60 * 1024) << r.out;
    }
  }
  struct statvfs host_after {};
  ASSERT_EQ(::statvfs("/dev/shm", &host_after), 0);
  EXPECT_EQ(DirEntries("/dev/shm"), host_files) << "a file appeared in the host's /dev/shm";
  const uint64_t free_before = uint64_t{host_before.f_bavail} * host_before.f_bsize;
  const uint64_t free_after = uint64_t{host_after.f_bavail} * host_after.f_bsize;
  EXPECT_GE(free_after + (16u << 20), free_before)
      << "the host's /dev/shm lost space";
}

}  // namespace
}  // namespace isoexec::test
