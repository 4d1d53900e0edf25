// Integration-test harness: runs the real isoexec binary, builds throw-away task roots with
// busybox and the static testinit helper, and checks that nothing leaks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace isoexec::test {

struct ProcResult {
  int exit_code = -1;  // 128+N when killed by a signal
  std::string out, err;
};

// Per-process state dir and cgroup parent, so tests never touch a real /run/isoexec.
const std::string& StateDir();
const std::string& CgroupParent();

// Runs `isoexec --state-dir S --cgroup-parent P ARGS...` and waits (killing it after timeout).
ProcResult RunIsoexec(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60),
                      const std::string& stdin_data = "");
// Runs any command (argv[0] is a path).
ProcResult RunCommand(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60),
                      const std::string& stdin_data = "");

// Starts isoexec in the background; the caller signals/waits it.
struct Background {
  pid_t pid = -1;
  int out_fd = -1, err_fd = -1;
  ProcResult Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Reads stdout until `needle` appears (or timeout); returns what was read.
  std::string ReadUntil(const std::string& needle, std::chrono::milliseconds timeout);
  std::string out_so_far;
};
Background StartIsoexec(const std::vector<std::string>& args);

// A temp dir removed at destruction (never crossing mounts).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
 private:
  std::string path_;
};

// A minimal task root: static busybox applets in /bin, testinit at /bin/testinit,
// /etc/passwd and /etc/group with root, nobody and a user `runner` (uid 1000).
class TestRoot : public TempDir {
 public:
  TestRoot();
};

std::string Trim(std::string s);
bool Contains(const std::string& hay, const std::string& needle);
std::string ReadFileOr(const std::string& path, const std::string& fallback = "");
bool Exists(const std::string& path);
std::vector<std::string> Lines(const std::string& text);
// Names in `dir` (without . and ..); empty when it cannot be read.
std::set<std::string> DirEntries(const std::string& dir);

}  // namespace isoexec::test

// Integration tests run real containers and need root; elsewhere they skip with the reason.
#define REQUIRE_ROOT()                                                        \
  do {                                                                        \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (real namespaces, mounts, cgroups)"; \
  } while (0)
