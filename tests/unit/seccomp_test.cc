#include "isolation/seccomp.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace isoexec::isolation {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<sock_filter> MustCompile(const std::string& profile) {
  auto r = CompileSeccomp(profile);
  EXPECT_TRUE(r) << r.error().str();
  return r ? *r : std::vector<sock_filter>{};
}

std::string ErrorOf(std::string_view json) {
  auto r = ParseSeccompProfile(json);
  if (r) return "(no error)";
  EXPECT_EQ(r.error().field(), "--seccomp");
  return r.error().str();
}

TEST(Seccomp, DefaultProfileCompiles) {
  const auto start = std::chrono::steady_clock::now();
  auto prog = CompileSeccompProfile(DefaultSeccompProfile());  // uncached
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(prog) << prog.error().str();
  EXPECT_GT(prog->size(), 100u);
  EXPECT_LE(prog->size(), 4096u);
  std::printf(
      "default profile: %zu BPF instructions, compiled in %lld us\n", prog->size(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
  // CompileSeccomp("default") caches the same program.
  auto cached = MustCompile("default");
  ASSERT_EQ(cached.size(), prog->size());
  EXPECT_EQ(std::memcmp(cached.data(), prog->data(), cached.size() * sizeof(sock_filter)), 0);
}

TEST(Seccomp, UnconfinedIsEmpty) { EXPECT_TRUE(MustCompile("unconfined").empty()); }

TEST(Seccomp, ProfileNames) {
  EXPECT_EQ(SeccompProfileName("default"), "isoexec-default-v1");
  EXPECT_EQ(SeccompProfileName("unconfined"), "unconfined");
  EXPECT_EQ(SeccompProfileName("/etc/p.json"), "file:/etc/p.json");
  EXPECT_THAT(LibseccompVersion(), HasSubstr("."));
}

TEST(Seccomp, DefaultProfileShape) {
  const SeccompProfile& p = DefaultSeccompProfile();
  EXPECT_EQ(p.default_action, SeccompAction::kErrno);
  EXPECT_EQ(p.default_errno, ENOSYS);
  auto pfc = SeccompProfilePfc(p);
  ASSERT_TRUE(pfc) << pfc.error().str();
  // x86_64 and i386; x32 (and any other ABI) gets ENOSYS.
#if defined(__x86_64__)
  EXPECT_THAT(*pfc, HasSubstr("arch x86_64"));
  EXPECT_THAT(*pfc, HasSubstr("arch x86 "));
  EXPECT_THAT(*pfc, Not(HasSubstr("arch x32")));
#endif
  EXPECT_THAT(*pfc, HasSubstr("invalid architecture action\naction ERRNO(38)"));
  EXPECT_THAT(*pfc, HasSubstr("\"mount\""));
  EXPECT_THAT(*pfc, HasSubstr("ERRNO(1)"));
  EXPECT_THAT(*pfc, HasSubstr("action ERRNO(38)"));
}

TEST(Seccomp, JsonRoundTripOfTheDefaultProfile) {
  const std::string json = SeccompProfileToJson(DefaultSeccompProfile());
  auto parsed = ParseSeccompProfile(json);
  ASSERT_TRUE(parsed) << parsed.error().str();
  EXPECT_EQ(parsed->rules.size(), DefaultSeccompProfile().rules.size());
  auto a = CompileSeccompProfile(DefaultSeccompProfile());
  auto b = CompileSeccompProfile(*parsed);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), b->size());
  EXPECT_EQ(std::memcmp(a->data(), b->data(), a->size() * sizeof(sock_filter)), 0);
}

constexpr const char* kGoodProfile = R"({
  "comment": "test profile",
  "default_action": "errno",
  "default_errno": 38,
  "syscalls": [
    {"names": ["read", "write", "exit_group"], "action": "allow"},
    {"names": ["mount"], "action": "errno", "errno": 13},
    {"names": ["clone"], "action": "allow",
     "args": [{"index": 0, "op": "masked_eq", "value": "0x7e020000", "value_two": 0}]},
    {"names": ["personality"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": 0}]},
    {"names": ["kill"], "action": "log"},
    {"names": ["ptrace"], "action": "kill"},
    {"names": ["tkill"], "action": "trap"},
    {"names": ["clone3"], "action": "errno", "errno": 38}
  ]
})";

TEST(Seccomp, ParsesJsonProfile) {
  auto p = ParseSeccompProfile(kGoodProfile);
  ASSERT_TRUE(p) << p.error().str();
  EXPECT_EQ(p->default_action, SeccompAction::kErrno);
  EXPECT_EQ(p->default_errno, 38);
  ASSERT_EQ(p->rules.size(), 8u);
  EXPECT_EQ(p->rules[0].names.size(), 3u);
  EXPECT_EQ(p->rules[1].action, SeccompAction::kErrno);
  EXPECT_EQ(p->rules[1].errno_ret, 13);
  ASSERT_EQ(p->rules[2].args.size(), 1u);
  EXPECT_EQ(p->rules[2].args[0].op, SeccompOp::kMaskedEq);
  EXPECT_EQ(p->rules[2].args[0].value, 0x7e020000u);
  EXPECT_EQ(p->rules[2].args[0].value_two, 0u);
  EXPECT_EQ(p->rules[4].action, SeccompAction::kLog);
  EXPECT_EQ(p->rules[5].action, SeccompAction::kKillProcess);
  EXPECT_EQ(p->rules[6].action, SeccompAction::kTrap);
  auto prog = CompileSeccompProfile(*p);
  ASSERT_TRUE(prog) << prog.error().str();
  EXPECT_FALSE(prog->empty());
}

TEST(Seccomp, MinimalJsonDefaultsToEnosys) {
  auto p = ParseSeccompProfile(R"({"syscalls": []})");
  ASSERT_TRUE(p) << p.error().str();
  EXPECT_EQ(p->default_action, SeccompAction::kErrno);
  EXPECT_EQ(p->default_errno, ENOSYS);
  auto allow_all = ParseSeccompProfile(R"({"default_action": "allow"})");
  ASSERT_TRUE(allow_all);
  EXPECT_EQ(allow_all->default_action, SeccompAction::kAllow);
}

TEST(Seccomp, JsonErrorsNameThePath) {
  EXPECT_EQ(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow"},
                                     {"names": ["write"], "action": "allow"},
                                     {"names": ["foo"], "action": "allow"}]})"),
            "--seccomp: /syscalls/2/names/0: unknown syscall \"foo\"");
  EXPECT_THAT(ErrorOf("{"), HasSubstr("--seccomp: invalid JSON: parse error"));
  EXPECT_THAT(ErrorOf("[]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(ErrorOf(R"({"defaultAction": "allow"})"), HasSubstr("/defaultAction: unknown field"));
  EXPECT_THAT(ErrorOf(R"({"default_action": "deny"})"),
              HasSubstr("/default_action: unknown action \"deny\""));
  EXPECT_THAT(ErrorOf(R"({"default_action": "allow", "default_errno": 1})"),
              HasSubstr("/default_errno: only used with default_action \"errno\""));
  EXPECT_THAT(ErrorOf(R"({"default_errno": 0})"), HasSubstr("/default_errno: must be an integer"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": {}})"), HasSubstr("/syscalls: must be an array"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": [], "action": "allow"}]})"),
              HasSubstr("/syscalls/0/names: must be a non-empty array"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read", 3], "action": "allow"}]})"),
              HasSubstr("/syscalls/0/names/1: must be a string"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"nmes": ["read"], "action": "allow"}]})"),
              HasSubstr("/syscalls/0/nmes: unknown field"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"]}]})"),
              HasSubstr("/syscalls/0: missing \"action\""));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "errno", "errno": 5000}]})"),
              HasSubstr("/syscalls/0/errno: must be an integer in 1..4095"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow", "errno": 1}]})"),
              HasSubstr("/syscalls/0/errno: only used with action \"errno\""));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow",
                                "args": [{"index": 6, "op": "eq", "value": 1}]}]})"),
              HasSubstr("/syscalls/0/args/0/index: must be an integer in 0..5"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow",
                                "args": [{"index": 0, "op": "eq", "value": -1}]}]})"),
              HasSubstr("/syscalls/0/args/0/value: must be a non-negative integer"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow",
                                "args": [{"index": 0, "op": "like", "value": 1}]}]})"),
              HasSubstr("/syscalls/0/args/0/op: unknown op \"like\""));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow",
                                "args": [{"index": 0, "op": "masked_eq", "value": 1}]}]})"),
              HasSubstr("/syscalls/0/args/0: masked_eq needs \"value_two\""));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow",
                                "args": [{"index": 0, "op": "eq", "value": 1, "value_two": 2}]}]})"),
              HasSubstr("/syscalls/0/args/0/value_two: only used with op \"masked_eq\""));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow",
                                        "args": [{"index": 0, "op": "gt", "value": 1},
                                                 {"index": 0, "op": "lt", "value": 9}]}]})"),
              HasSubstr("/syscalls/0/args/1/index: argument 0 is already compared"));
  // libseccomp would silently drop the conditional rule: refuse instead.
  EXPECT_THAT(ErrorOf(R"({"syscalls": [
                {"names": ["personality"], "action": "allow",
                 "args": [{"index": 0, "op": "eq", "value": 0}]},
                {"names": ["personality"], "action": "errno"}]})"),
              HasSubstr("/syscalls/1/names/0: syscall \"personality\" also has a rule at "
                        "/syscalls/0/names/0"));
  EXPECT_THAT(ErrorOf(R"({"syscalls": [{"names": ["read"], "action": "allow"},
                                        {"names": ["read"], "action": "errno"}]})"),
              HasSubstr("/syscalls/1/names/0"));
}

TEST(Seccomp, DuplicatesAndRedundantRulesAreFine) {
  auto p = ParseSeccompProfile(R"({"syscalls": [
      {"names": ["read", "read"], "action": "allow"},
      {"names": ["read"], "action": "allow"},
      {"names": ["getpid"], "action": "errno", "errno": 38}]})");
  ASSERT_TRUE(p) << p.error().str();
  EXPECT_TRUE(CompileSeccompProfile(*p));
}

TEST(Seccomp, IgnoreUnknownSyscalls) {
  auto p = ParseSeccompProfile(
      R"({"ignore_unknown_syscalls": true,
          "syscalls": [{"names": ["read", "no_such_syscall"], "action": "allow"}]})");
  ASSERT_TRUE(p) << p.error().str();
  EXPECT_TRUE(CompileSeccompProfile(*p));
}

TEST(Seccomp, ProfileFromFile) {
  char path[] = "/tmp/isoexec-seccomp-XXXXXX.json";
  const int fd = mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, kGoodProfile, strlen(kGoodProfile)),
            static_cast<ssize_t>(strlen(kGoodProfile)));
  close(fd);
  auto prog = CompileSeccomp(path);
  unlink(path);
  ASSERT_TRUE(prog) << prog.error().str();
  EXPECT_FALSE(prog->empty());

  auto missing = CompileSeccomp("/nonexistent/profile.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().field(), "--seccomp");
  EXPECT_THAT(missing.error().str(), HasSubstr("/nonexistent/profile.json"));
  auto typo = CompileSeccomp("defualt");
  ASSERT_FALSE(typo);
  EXPECT_THAT(typo.error().str(), HasSubstr("is not \"default\", \"unconfined\""));
}

// ---- the real filter, in a forked child (any user: no_new_privs needs no privilege) ----------

enum Check {
  kMount,
  kUmount,
  kUnshareNs,
  kUnshareUser,
  kSetns,
  kKeyctl,
  kAddKey,
  kBpf,
  kPtrace,
  kOpenByHandle,
  kUnknownNr,
  kClone3,
  kCloneNewUts,
  kIoUring,
  kPersonalityQuery,
  kPersonalityOther,
  kVsock,
  kVsockHighBits,
  kUnixSocket,
  kInetSocket,
  kGetpid,
  kFork,
  kThreadClone,
  kI386Mount,
  kI386Getpid,
  kX32Getpid,
  kNumChecks
};

// 0 = success, else the errno; -2 = not run.
struct Results {
  int v[kNumChecks];
};

int Errno(long ret) { return ret < 0 ? errno : 0; }

#if defined(__x86_64__)
// A 32-bit syscall through int $0x80, in a grandchild in case IA-32 emulation is off.
int I386Syscall(long nr, long a, long b, long c) {
  const pid_t pid = fork();
  if (pid == 0) {
    long ret;
    asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    _exit(ret < 0 && ret > -4096 ? static_cast<int>(-ret) : 0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -3;
}
#endif

Results RunChecksUnderDefaultProfile() {
  Results res;
  for (int& v : res.v) v = -2;
  const std::vector<sock_filter> prog = MustCompile("default");
  int fds[2];
  if (pipe(fds) != 0) return res;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Results r;
    for (int& v : r.v) v = -2;
    if (LoadSeccomp(prog.data(), prog.size(), true) != 0) _exit(10);
    r.v[kMount] = Errno(mount("none", "/tmp", "tmpfs", 0, nullptr));
    r.v[kUmount] = Errno(umount2("/tmp", MNT_DETACH));
    r.v[kUnshareNs] = Errno(unshare(CLONE_NEWNS));
    r.v[kUnshareUser] = Errno(unshare(CLONE_NEWUSER));
    r.v[kSetns] = Errno(setns(0, 0));
    r.v[kKeyctl] = Errno(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
    r.v[kAddKey] = Errno(syscall(SYS_add_key, "user", "x", "y", 1, -3));
    r.v[kBpf] = Errno(syscall(SYS_bpf, 0, nullptr, 0));
    r.v[kPtrace] = Errno(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr));
    r.v[kOpenByHandle] = Errno(syscall(SYS_open_by_handle_at, -1, nullptr, 0));
    r.v[kUnknownNr] = Errno(syscall(1000));
    clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    long c3 = syscall(SYS_clone3, &ca, sizeof ca);
    if (c3 == 0) _exit(0);
    r.v[kClone3] = Errno(c3);
    long c = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (c == 0) _exit(0);
    r.v[kCloneNewUts] = Errno(c);
    r.v[kIoUring] = Errno(syscall(SYS_io_uring_setup, 1, nullptr));
    r.v[kPersonalityQuery] = Errno(personality(0xffffffff));
    r.v[kPersonalityOther] = Errno(personality(ADDR_NO_RANDOMIZE));
    r.v[kVsock] = Errno(socket(AF_VSOCK, SOCK_STREAM, 0));
    r.v[kVsockHighBits] = Errno(syscall(SYS_socket, (1L << 32) | AF_VSOCK, SOCK_STREAM, 0));
    r.v[kUnixSocket] = Errno(socket(AF_UNIX, SOCK_STREAM, 0));
    r.v[kInetSocket] = Errno(socket(AF_INET, SOCK_DGRAM, 0));
    r.v[kGetpid] = getpid() > 0 ? 0 : errno;
    const pid_t child = fork();  // glibc: clone(2) without namespace flags
    if (child == 0) _exit(7);
    int status = 0;
    r.v[kFork] =
        child < 0 ? errno
        : (waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 7)
            ? 0
            : -1;
    // Other clone flags are fine (CLONE_SIGHAND/THREAD would need CLONE_VM).
    long t = syscall(SYS_clone, CLONE_FS | CLONE_FILES | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (t == 0) _exit(0);
    r.v[kThreadClone] = t > 0 ? (waitpid(static_cast<pid_t>(t), &status, 0), 0) : errno;
#if defined(__x86_64__)
    r.v[kI386Mount] = I386Syscall(21 /* i386 mount */, 0, 0, 0);
    r.v[kI386Getpid] = I386Syscall(20 /* i386 getpid */, 0, 0, 0);
    r.v[kX32Getpid] = Errno(syscall(0x40000000L | SYS_getpid));
#endif
    (void)!write(fds[1], &r, sizeof r);
    _exit(0);
  }
  close(fds[1]);
  const ssize_t n = read(fds[0], &res, sizeof res);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(n, static_cast<ssize_t>(sizeof res)) << "child status " << status;
  return res;
}

TEST(SeccompLoad, DefaultProfileInAChild) {
  const Results r = RunChecksUnderDefaultProfile();
  EXPECT_EQ(r.v[kMount], EPERM);
  EXPECT_EQ(r.v[kUmount], EPERM);
  EXPECT_EQ(r.v[kUnshareNs], EPERM);
  EXPECT_EQ(r.v[kUnshareUser], EPERM);
  EXPECT_EQ(r.v[kSetns], EPERM);
  EXPECT_EQ(r.v[kKeyctl], EPERM);
  EXPECT_EQ(r.v[kAddKey], EPERM);
  EXPECT_EQ(r.v[kBpf], EPERM);
  EXPECT_EQ(r.v[kPtrace], EPERM);
  EXPECT_EQ(r.v[kOpenByHandle], EPERM);
  EXPECT_EQ(r.v[kUnknownNr], ENOSYS);
  EXPECT_EQ(r.v[kClone3], ENOSYS);
  EXPECT_EQ(r.v[kCloneNewUts], EPERM);
  EXPECT_EQ(r.v[kIoUring], ENOSYS);
  EXPECT_EQ(r.v[kPersonalityQuery], 0);
  EXPECT_EQ(r.v[kPersonalityOther], ENOSYS);  // documented: no else-branch in libseccomp 2.5
  EXPECT_EQ(r.v[kVsock], EPERM);
  EXPECT_EQ(r.v[kVsockHighBits], EPERM);
  EXPECT_EQ(r.v[kUnixSocket], 0);
  EXPECT_EQ(r.v[kInetSocket], 0);
  EXPECT_EQ(r.v[kGetpid], 0);
  EXPECT_EQ(r.v[kFork], 0);
  EXPECT_EQ(r.v[kThreadClone], 0);
#if defined(__x86_64__)
  if (r.v[kI386Getpid] == -3) {
    std::printf("IA-32 emulation unavailable: 32-bit checks skipped\n");
  } else {
    EXPECT_EQ(r.v[kI386Mount], EPERM);
    EXPECT_EQ(r.v[kI386Getpid], 0);
  }
  EXPECT_EQ(r.v[kX32Getpid], ENOSYS);  // not killed
#endif
}

TEST(SeccompLoad, ExecWorksUnderTheFilter) {
  if (access("/bin/cat", X_OK) != 0) GTEST_SKIP() << "needs /bin/cat";
  const std::vector<sock_filter> prog = MustCompile("default");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    if (LoadSeccomp(prog.data(), prog.size(), true) != 0) _exit(10);
    execl("/bin/cat", "cat", "/proc/self/status", nullptr);
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_THAT(out, HasSubstr("NoNewPrivs:\t1"));
  EXPECT_THAT(out, HasSubstr("Seccomp:\t2"));
}

TEST(SeccompLoad, EmptyProgramOnlySetsNoNewPrivs) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (LoadSeccomp(nullptr, 0, true) != 0) _exit(1);
    _exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0
              ? 0
              : 2);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(SeccompLoad, RejectsOversizedProgram) {
  std::vector<sock_filter> big(BPF_MAXINSNS + 1);
  EXPECT_EQ(LoadSeccomp(big.data(), big.size(), false), EINVAL);
}

}  // namespace
}  // namespace isoexec::isolation
