// `isoexec run`: the launch path end to end, asserted from inside the task.
#include <sys/stat.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Run, EchoInBusyboxRoot) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/echo", "hi"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.err, "");
}

TEST(Run, DefaultEphemeralRootShowsChrootEnv) {
  REQUIRE_ROOT();
  auto r = RunIsoexec({"run", "--", "sh", "-c", "ls /"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* d : {"bin", "dev", "etc", "proc", "sys", "tmp", "usr"})
    EXPECT_TRUE(Contains(r.out, std::string(d) + "\n")) << d << " missing in:\n" << r.out;
  // Nothing of the host beyond the chroot env: no /root, /home, /var, /work.
  for (const char* d : {"root\n", "home\n", "var\n", "work\n", "boot\n"})
    EXPECT_FALSE(Contains(r.out, d)) << d << " leaked into:\n" << r.out;
}

TEST(Run, EphemeralRootIsReadOnlyButTmpIsWritable) {
  REQUIRE_ROOT();
  auto r = RunIsoexec({"run", "--", "sh", "-c",
                       "touch /newfile 2>/dev/null && echo root-writable; "
                       "touch /usr/x 2>/dev/null && echo usr-writable; "
                       "echo x > /tmp/f && cat /tmp/f"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "x\n");
}

TEST(Run, ExitCodesFollowTheContract) {
  REQUIRE_ROOT();
  TestRoot root;
  EXPECT_EQ(RunIsoexec({"run", "--", "false"}).exit_code, 1);
  EXPECT_EQ(RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "exit", "42"}).exit_code, 42);
  auto killed = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "signal", "9"});
  EXPECT_EQ(killed.exit_code, 137);
  auto missing = RunIsoexec({"run", "--rootfs", root.path(), "--", "nosuchcmd"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_TRUE(Contains(missing.err, "file nosuchcmd not found under path")) << missing.err;
  auto abs_missing = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/kill2"});
  EXPECT_EQ(abs_missing.exit_code, 127);
  EXPECT_TRUE(Contains(abs_missing.err, "file /bin/kill2 not found under path " + root.path()))
      << abs_missing.err;
}

TEST(Run, InvalidFlagIsOneLineAnd125) {
  REQUIRE_ROOT();
  for (std::vector<std::string> args :
       {std::vector<std::string>{"run", "--bogus", "--", "true"},
        {"run", "--memory", "lots", "--", "true"},
        {"run", "--cpu-shares", "1", "--", "true"},
        {"run", "--pid", "shared", "--", "true"},
        {"run", "--workdir", "relative", "--", "true"},
        {"run", "--kill-signal", "SIGNOPE", "--", "true"},
        {"run", "--bind", "/tmp", "--", "true"},
        {"run", "--rootfs", "/nonexistent-root", "--", "true"},
        {"run"}}) {
    auto r = RunIsoexec(args);
    EXPECT_EQ(r.exit_code, 125) << args[1] << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(Contains(r.err, "isoexec: ")) << r.err;
  }
  auto r = RunIsoexec({"run", "--memory", "lots", "--", "true"});
  EXPECT_TRUE(Contains(r.err, "--memory")) << r.err;
}

TEST(Run, ExecErrors126And127) {
  REQUIRE_ROOT();
  TestRoot root;
  // ENOEXEC: a file with garbage content.
  std::ofstream(root.path() + "/bin/garbage") << "\x7f\x01\x02 not a binary";
  ::chmod((root.path() + "/bin/garbage").c_str(), 0755);
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/garbage"});
  EXPECT_EQ(r.exit_code, 126) << r.err;
  // A script whose interpreter is missing: execve gives ENOENT -> 127.
  std::ofstream(root.path() + "/bin/noint") << "#!/nonexistent/interp\n";
  ::chmod((root.path() + "/bin/noint").c_str(), 0755);
  r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/noint"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
}

TEST(Run, NonExecutableBinaryIsMadeExecutable) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string script = root.path() + "/local/hello.sh";
  std::ofstream(script) << "#!/bin/sh\necho hello world\n";
  ::chmod(script.c_str(), 0600);
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "hello.sh"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello world\n");
  struct stat st {};
  ::stat(script.c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(Run, LookupNeverLeavesTheRoot) {
  REQUIRE_ROOT();
  TestRoot root;
  // A symlink in the task dir pointing at a host file must not be followed onto the host.
  ::symlink("/etc/shadow", (root.path() + "/local/evil").c_str());
  struct stat before {};
  ::stat("/etc/shadow", &before);
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "evil"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  struct stat after {};
  ::stat("/etc/shadow", &after);
  EXPECT_EQ(before.st_mode, after.st_mode) << "host file permissions changed";
  auto dots = RunIsoexec({"run", "--rootfs", root.path(), "--", "../../bin/sh"});
  EXPECT_EQ(dots.exit_code, 125) << dots.err;
  EXPECT_TRUE(Contains(dots.err, "leaves the task root")) << dots.err;
}

TEST(Run, CommandFromASingleFileBind) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--bind", std::string(ISOEXEC_TESTINIT) + ":/opt/ti:ro", "--rootfs",
                       root.path(), "--", "/opt/ti", "exit", "5"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  // Through the default ephemeral root too.
  r = RunIsoexec({"run", "--bind", std::string(ISOEXEC_TESTINIT) + ":/ti:ro", "--", "/ti", "exit", "6"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
}

TEST(Run, PrivatePidNamespaceHasInitAsPid1) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "pid"});
  EXPECT_EQ(Trim(r.out), "pid=2 ppid=1") << r.err;
  r = RunIsoexec({"run", "--no-init", "--rootfs", root.path(), "--", "/bin/testinit", "pid"});
  EXPECT_EQ(Trim(r.out), "pid=1 ppid=0") << r.err;
  r = RunIsoexec({"run", "--pid", "host", "--rootfs", root.path(), "--", "/bin/testinit", "pid"});
  EXPECT_FALSE(Contains(r.out, "pid=1 ")) << r.out;
  EXPECT_FALSE(Contains(r.out, "pid=2 ")) << r.out;
}

TEST(Run, ForwardsSignalsToTheTask) {
  REQUIRE_ROOT();
  TestRoot root;
  for (const char* pidmode : {"private", "host"}) {
    auto bg = StartIsoexec({"run", "--pid", pidmode, "--rootfs", root.path(), "--",
                            "/bin/testinit", "trap-term"});
    ASSERT_TRUE(Contains(bg.ReadUntil("ready", seconds(10)), "ready"));
    ::kill(bg.pid, SIGTERM);
    auto r = bg.Wait(seconds(10));
    EXPECT_EQ(r.exit_code, 0) << pidmode << r.err;
    EXPECT_TRUE(Contains(r.out, "got SIGTERM")) << pidmode << r.out;
  }
  // A plain sleep as the task (init is PID 1) dies from a forwarded SIGTERM: 143.
  auto bg = StartIsoexec({"run", "--rootfs", root.path(), "--", "/bin/sleep", "30"});
  ::usleep(300000);
  ::kill(bg.pid, SIGTERM);
  EXPECT_EQ(bg.Wait(seconds(10)).exit_code, 143);
}

TEST(Run, TimeoutStopsGracefullyThenKills) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir out;
  std::string status = out.path() + "/status.json";
  auto t0 = std::chrono::steady_clock::now();
  auto r = RunIsoexec({"run", "--timeout", "300ms", "--kill-timeout", "200ms", "--status-file",
                       status, "--rootfs", root.path(), "--", "/bin/testinit", "ignore-term"});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code, 137) << r.err;  // SIGTERM ignored -> killed after the grace period
  EXPECT_LT(took, seconds(5));
  auto j = nlohmann::json::parse(ReadFileOr(status, "{}"));
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(j["signal"], 9);
  EXPECT_EQ(j["oom_killed"], false);
}

TEST(Run, StatusFileOnSuccessAndSetupFailure) {
  REQUIRE_ROOT();
  TestRoot root;
  TempDir out;
  std::string status = out.path() + "/s.json";
  auto r = RunIsoexec({"run", "--status-file", status, "--rootfs", root.path(), "--",
                       "/bin/testinit", "exit", "3"});
  EXPECT_EQ(r.exit_code, 3);
  auto j = nlohmann::json::parse(ReadFileOr(status, "{}"));
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["signal"], 0);
  EXPECT_TRUE(j["setup_error"].is_null());
  EXPECT_GT(j["pid"].get<int>(), 0);
  EXPECT_TRUE(j["started_at"].is_string());
  EXPECT_TRUE(j["finished_at"].is_string());
  for (const char* k : {"id", "oom_killed", "timed_out", "cpu_user_ns", "cpu_system_ns", "memory_peak_bytes"})
    EXPECT_TRUE(j.contains(k)) << k;

  r = RunIsoexec({"run", "--status-file", status, "--rootfs", root.path(), "--", "nope"});
  EXPECT_EQ(r.exit_code, 127);
  j = nlohmann::json::parse(ReadFileOr(status, "{}"));
  EXPECT_EQ(j["exit_code"], 127);
  ASSERT_TRUE(j["setup_error"].is_object());
  EXPECT_TRUE(Contains(j["setup_error"]["message"].get<std::string>(), "not found"));

  r = RunIsoexec({"run", "--status-file", status, "--memory", "x", "--", "true"});
  EXPECT_EQ(r.exit_code, 125);
  j = nlohmann::json::parse(ReadFileOr(status, "{}"));
  EXPECT_EQ(j["exit_code"], 125);
  EXPECT_EQ(j["setup_error"]["stage"], "config");
}

TEST(Run, EnvironmentIsExactlyWhatWasGiven) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--env", "A=1", "--env", "B=two words", "--rootfs", root.path(),
                       "--", "/bin/testinit", "env"});
  EXPECT_EQ(r.out, "A=1\nB=two words\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  r = RunIsoexec({"run", "--env", "PATH=/bin", "--rootfs", root.path(), "--", "/bin/testinit", "env"});
  EXPECT_EQ(r.out, "PATH=/bin\n");
}

TEST(Run, WorkdirIsEnteredInsideTheRoot) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--workdir", "/etc", "--rootfs", root.path(), "--", "/bin/pwd"});
  EXPECT_EQ(r.out, "/etc\n") << r.err;
  r = RunIsoexec({"run", "--workdir", "/missing", "--rootfs", root.path(), "--", "/bin/pwd"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(Contains(r.err, "chdir")) << r.err;
}

TEST(Run, OnlyStdioFdsReachTheTask) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "fds"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    int fd = std::atoi(line.c_str());
    EXPECT_LE(fd, 2) << "leaked fd: " << line;
  }
}

TEST(Run, TaskMountsNeverAppearOnTheHost) {
  REQUIRE_ROOT();
  TestRoot root;
  std::string before = ReadFileOr("/proc/self/mountinfo");
  auto bg = StartIsoexec({"run", "--rootfs", root.path(), "--", "/bin/testinit", "trap-term"});
  ASSERT_TRUE(Contains(bg.ReadUntil("ready", seconds(10)), "ready"));
  std::string during = ReadFileOr("/proc/self/mountinfo");
  EXPECT_EQ(before, during);
  EXPECT_FALSE(Contains(during, root.path()));
  ::kill(bg.pid, SIGTERM);
  bg.Wait();
  EXPECT_EQ(before, ReadFileOr("/proc/self/mountinfo"));
  // Mount points created in the rootfs are left there, as Nomad does.
  struct stat st {};
  EXPECT_EQ(::stat((root.path() + "/proc").c_str(), &st), 0);
}

TEST(Run, WaitDoesNotWaitForDetachedGrandchildren) {
  REQUIRE_ROOT();
  TestRoot root;
  for (const char* pidmode : {"private", "host"}) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = RunIsoexec({"run", "--pid", pidmode, "--rootfs", root.path(), "--", "/bin/sh", "-c",
                         "(sleep 30 > /dev/null &) ; exec sleep 1"},
                        seconds(20));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(7)) << pidmode;
  }
}

TEST(Run, NoPivotRootWorks) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "--no-pivot-root", "--rootfs", root.path(), "--", "/bin/ls", "/"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "testinit") || Contains(r.out, "bin")) << r.out;
}

TEST(Run, VersionAndFeatures) {
  auto r = RunCommand({ISOEXEC_BIN, "version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "isoexec ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "clone3")) << r.out;
  r = RunCommand({ISOEXEC_BIN, "features"});
  EXPECT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.contains("default_capabilities"));
}

}  // namespace
}  // namespace isoexec::test
