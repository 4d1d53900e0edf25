// Bad input (issue #9): every flag of every verb and every spec field given invalid values:
// wrong types, negative, overflowing, empty, relative, `..`, NUL bytes (JSON \u0000), unknown
// signals and capabilities, duplicate ids and mount targets, missing or wrong-kind files, unknown
// keys. Each must give exactly one line on stderr naming the flag or the JSON pointer, the
// documented exit status (cli.md: 125; 126/127 for a command that cannot run), nothing on
// stdout, and leave nothing behind: no state dir entry, no cgroup, no mount, no process.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using json = nlohmann::ordered_json;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

// ------------------------------------------------------------------------------------------
// What a case may leave behind: state dir entries, cgroups under the test's parent, mounts
// and processes that mention the test's state dir or cgroup parent.

struct Snapshot {
  std::set<std::string> items;
};

void AddSubdirs(const std::string& dir, const std::string& tag, std::set<std::string>* out) {
  DIR* d = ::opendir(dir.c_str());
  while (d) {
    dirent* e = ::readdir(d);
    if (!e) break;
    if (e->d_name[0] == '.' || e->d_type != DT_DIR) continue;
    out->insert(tag + dir + "/" + e->d_name);
  }
  if (d) ::closedir(d);
}

Snapshot Take() {
  Snapshot s;
  for (const auto& e : DirEntries(StateDir())) s.items.insert("state: " + e);
  for (const std::string base : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    std::vector<std::string> parents = {base + "/" + CgroupParent(), base + "/" + CgroupParent() + ".slice"};
    for (const auto& ctrl : DirEntries(base)) {
      parents.push_back(base + "/" + ctrl + "/" + CgroupParent());
      parents.push_back(base + "/" + ctrl + "/" + CgroupParent() + ".slice");
    }
    for (const auto& p : parents) AddSubdirs(p, "cgroup: ", &s.items);
  }
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);)
    if (Contains(line, "isoexec")) s.items.insert("mount: " + line);
  for (const auto& pid : DirEntries("/proc")) {
    if (pid.empty() || pid[0] < '0' || pid[0] > '9') continue;
    std::string cmd = ReadFileOr("/proc/" + pid + "/cmdline");
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (Contains(cmd, StateDir()) || Contains(cmd, CgroupParent())) s.items.insert("process: " + pid + " " + cmd);
  }
  return s;
}

// Items in `after` that were not in `before`.
std::vector<std::string> Appeared(const Snapshot& before, const Snapshot& after) {
  std::vector<std::string> out;
  for (const auto& i : after.items)
    if (!before.items.count(i)) out.push_back(i);
  return out;
}

// ------------------------------------------------------------------------------------------
// Cases.

struct Case {
  std::vector<std::string> args;  // after the harness's --state-dir/--cgroup-parent
  std::string field;              // the one error line must contain it
  int exit_code = 125;
  std::optional<std::string> spec;  // written to @SPEC first (a `run --spec @SPEC` case)
  bool raw = false;               // args are the whole command line (global options under test)
};

// Fixtures every case may refer to, substituted for @NAME in args and spec text.
struct Env {
  std::map<std::string, std::string> vars;
  std::string Sub(std::string s) const {
    for (const auto& [k, v] : vars) {
      for (size_t i = s.find(k); i != std::string::npos; i = s.find(k, i + v.size())) s.replace(i, k.size(), v);
    }
    return s;
  }
};

std::string Describe(const std::vector<std::string>& args) {
  std::string out = "isoexec";
  for (const auto& a : args) {
    std::string q;
    for (char c : a) {
      if (c == '\n') q += "\\n";
      else q += c;
    }
    out += " " + (q.empty() || q.find(' ') != std::string::npos ? "'" + q + "'" : q);
  }
  return out;
}

class BadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    root_ = new TestRoot();
    dir_ = new TempDir();
    env_.vars["@ROOT"] = root_->path();
    env_.vars["@DIR"] = dir_->path();
    env_.vars["@FILE"] = dir_->path() + "/plain-file";
    env_.vars["@SPEC"] = dir_->path() + "/spec.json";
    env_.vars["@TARGET"] = "bi-target";
    env_.vars["@EXITED"] = "bi-exited";
    WriteFile(dir_->path() + "/plain-file", "");
    // A running task (verbs must refuse bad flags before talking to it) and an exited one.
    auto d = RunIsoexec({"run", "-d", "--name", "bi-target", "--rootfs", root_->path(), "--", "/bin/sleep", "1000"});
    target_ok_ = d.exit_code == 0;
    auto e = RunIsoexec({"run", "--name", "bi-exited", "--rootfs", root_->path(), "--", "/bin/true"});
    exited_ok_ = e.exit_code == 0;
  }
  static void TearDownTestSuite() {
    if (::geteuid() != 0) return;
    (void)RunIsoexec({"delete", "--force", "bi-target"});
    (void)RunIsoexec({"delete", "bi-exited"});
    delete root_;
    delete dir_;
    root_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    REQUIRE_ROOT();
    ASSERT_TRUE(target_ok_) << "could not start the running target task";
    ASSERT_TRUE(exited_ok_) << "could not run the exited target task";
  }

  // Runs every case and checks the contract; returns how many ran.
  static size_t Check(const std::vector<Case>& cases) {
    Snapshot before = Take();  // then each case's "after" is the next one's "before"
    for (const auto& c : cases) {
      std::vector<std::string> args;
      for (const auto& a : c.args) args.push_back(env_.Sub(a));
      if (c.spec) WriteFile(env_.vars["@SPEC"], env_.Sub(*c.spec));
      const std::string what = Describe(args) + (c.spec ? "  with spec " + env_.Sub(*c.spec) : "");
      ProcResult r;
      if (c.raw) {
        std::vector<std::string> argv = {ISOEXEC_BIN};
        argv.insert(argv.end(), args.begin(), args.end());
        r = RunCommand(argv, std::chrono::seconds(20));
      } else {
        r = RunIsoexec(args, std::chrono::seconds(20));
      }
      if (std::getenv("BAD_INPUT_VERBOSE")) std::fprintf(stderr, "%s\n  -> %d %s", what.c_str(), r.exit_code, r.err.c_str());
      EXPECT_EQ(r.exit_code, c.exit_code) << what << "\n" << r.err;
      const size_t newlines = static_cast<size_t>(std::count(r.err.begin(), r.err.end(), '\n'));
      EXPECT_TRUE(newlines == 1 && r.err.size() > 1 && r.err.back() == '\n')
          << what << ": stderr must be exactly one line, got:\n" << r.err;
      EXPECT_TRUE(Contains(r.err, env_.Sub(c.field))) << what << ": the error does not name `" << c.field << "`:\n" << r.err;
      EXPECT_EQ(r.out, "") << what;
      // Nothing may be left. Give a launch that failed late a moment to be cleaned up (it is
      // synchronous, so this is only for slow reaping of the supervisor's children).
      std::vector<std::string> left;
      Snapshot after;
      for (int i = 0; i < 20; ++i) {
        after = Take();
        left = Appeared(before, after);
        if (left.empty()) break;
        ::usleep(20000);
      }
      for (const auto& item : left) ADD_FAILURE() << what << " left " << item;
      if (!left.empty()) {
        Cleanup(before);
        after = Take();
      }
      before = std::move(after);
    }
    return cases.size();
  }

  // After a failed case: remove what it created, so later cases are judged on their own.
  static void Cleanup(const Snapshot& before) {
    for (const auto& e : DirEntries(StateDir()))
      if (!before.items.count("state: " + e)) (void)RunIsoexec({"delete", "--force", e});
  }

  static TestRoot* root_;
  static TempDir* dir_;
  static Env env_;
  static bool target_ok_, exited_ok_;
};

TestRoot* BadInput::root_ = nullptr;
TempDir* BadInput::dir_ = nullptr;
Env BadInput::env_;
bool BadInput::target_ok_ = false;
bool BadInput::exited_ok_ = false;

// `run FLAG VALUE -- /bin/true`, expecting FLAG named.
std::vector<Case> FlagCases(const std::string& flag, const std::vector<std::string>& values) {
  std::vector<Case> out;
  for (const auto& v : values) out.push_back({{"run", flag, v, "--", "/bin/true"}, flag});
  return out;
}

void Append(std::vector<Case>* to, const std::vector<Case>& more) { to->insert(to->end(), more.begin(), more.end()); }

const std::string k65(65, 'x');

std::vector<Case> RunCases() {
  std::vector<Case> c;
  // Filesystem
  Append(&c, FlagCases("--rootfs", {"", "/nonexistent-bi", "@FILE", "/", "relative-missing-bi"}));
  Append(&c, FlagCases("--chroot-env", {"", "rel", "/usr:rel", "/usr:", "/usr:/a:/b", "/usr:/../x", "/:/", "/usr:/"}));
  c.push_back({{"run", "--chroot-env", "/usr:/x", "--chroot-env", "/bin:/x/.", "--", "/bin/true"}, "--chroot-env"});
  Append(&c, FlagCases("--bind", {"", "rel:/x", "/tmp:rel", "/tmp", ":/x", "/tmp:", "/tmp:/x:ro:extra",
                                  "/tmp:/x:bogus", "/tmp:/x:ro,rw", "/tmp:/x:rw,rw", "/tmp:/x:private,rshared",
                                  "/tmp:/x:ro,", "/tmp:/x:", "/nonexistent-bi:/x", "/tmp:/../../x",
                                  "/tmp:/a/../../x", "/tmp:/", "/tmp:/.", "/tmp:/proc", "/tmp:/sys", "/tmp:/dev",
                                  "/tmp:/./proc/"}));
  c.push_back({{"run", "--bind", "/tmp:/x", "--bind", "/usr:/x/", "--", "/bin/true"}, "--bind"});
  Append(&c, FlagCases("--device", {"", "rel", "/dev/null:rel", "/dev/null:/dev/x:rwx", "/dev/null:/dev/x:",
                                    "/dev/null:/a:r:x", "/nonexistent-bi", "@FILE", "/tmp",
                                    "/dev/null:/dev/../../x", "/dev/null:/", "/dev/null:/dev"}));
  c.push_back({{"run", "--device", "/dev/null:/dev/x", "--device", "/dev/zero:/dev/x", "--", "/bin/true"}, "--device"});
  Append(&c, FlagCases("--workdir", {"", "rel", "./x", "/../..", "/a/../../b"}));
  // Process
  Append(&c, FlagCases("--env", {"", "=x", "NOEQUALS"}));
  Append(&c, FlagCases("--user", {"", "-1", "99999999999", "4294967295", "1:2:3", ":", "root:", ":0",
                                  "nosuchuser-bi", "0:nosuchgroup-bi"}));
  c.push_back({{"run", "--rootfs", "@ROOT", "--user", "nosuchuser-bi", "--", "/bin/true"}, "--user"});
  c.push_back({{"run", "--rootfs", "@ROOT", "--user", "runner:nosuchgroup-bi", "--", "/bin/true"}, "--user"});
  Append(&c, FlagCases("--oom-score-adj", {"", "1001", "-1001", "x", "1.5", "99999999999999999999", "0x10"}));
  // Namespaces
  Append(&c, FlagCases("--pid", {"", "shared", "HOST", "private "}));
  Append(&c, FlagCases("--ipc", {"", "none"}));
  Append(&c, FlagCases("--net", {"", "rel", "bridge", "/nonexistent-bi", "@FILE", "/proc/self/ns/pid"}));
  Append(&c, FlagCases("--hostname", {"", "a b", k65, "a/b", "-bad", "bad-", "a..b", ".a", "a\nb", "h\xc3\xa9"}));
  // Resources
  Append(&c, FlagCases("--memory", {"", "-1", "x", "1.5G", "99999999999999999999", "17179869184T", "1M", "0", "1Q"}));
  Append(&c, FlagCases("--memory-max", {"", "x", "-1", "8M", "unlimited", "Unlimited"}));
  c.push_back({{"run", "--memory", "8M", "--memory-max", "4M", "--", "/bin/true"}, "--memory-max"});
  c.push_back({{"run", "--memory", "8M", "--memory-max", "1M", "--", "/bin/true"}, "--memory-max"});
  Append(&c, FlagCases("--cpu-shares", {"", "1", "262145", "-5", "abc", "99999999999999999999999", "2.5"}));
  Append(&c, FlagCases("--cpuset", {"", "abc", ",", "1-0", "0-", "-1", "0,,1", "0,", "9999", "99999999999999999999", "0 1",
                                    "0-1:2"}));
  Append(&c, FlagCases("--pids-max", {"", "0", "-5", "4194305", "x", "99999999999999999999"}));
  // Security
  Append(&c, FlagCases("--cap-add", {"", "NOPE", "CAP_NOPE", "12", "cap_", "CAP_CAP_CHOWN"}));
  Append(&c, FlagCases("--cap-drop", {"", "nope", "7"}));
  Append(&c, FlagCases("--seccomp", {"", "/nonexistent-bi.json", "@FILE", "@DIR", "relative-missing-bi.json"}));
  c.push_back({{"run", "--allow-new-privileges=x", "--", "/bin/true"}, "--allow-new-privileges"});
  // Lifecycle
  Append(&c, FlagCases("--kill-signal", {"", "0", "65", "-1", "NOPE", "SIG", "SIGRTMIN+99", "99999999999999999999", "9x"}));
  Append(&c, FlagCases("--kill-timeout", {"", "-1s", "1x", "99999999h", "soon", "5 s"}));
  Append(&c, FlagCases("--timeout", {"", "0", "0s", "-5s", "1e9s", ".s", "1.2.3s", "99999999999999999999"}));
  Append(&c, FlagCases("--name", {"", ".x", "..", "a/b", k65, "x y", "@TARGET", "@EXITED"}));
  c.push_back({{"run", "-d", "--name", "@TARGET", "--", "/bin/true"}, "--name"});
  c.push_back({{"run", "--detach=maybe", "--", "/bin/true"}, "--detach"});
  c.push_back({{"run", "--rm=maybe", "--", "/bin/true"}, "--rm"});
  c.push_back({{"run", "--no-init=maybe", "--", "/bin/true"}, "--no-init"});
  c.push_back({{"run", "--no-pivot-root=maybe", "--", "/bin/true"}, "--no-pivot-root"});
  // Output
  for (const char* f : {"--stdout", "--stderr", "--status-file", "--stats-file"})
    Append(&c, FlagCases(f, {"", "@DIR", "/nonexistent-bi/x", "@FILE/x"}));
  Append(&c, FlagCases("--stats-interval", {"", "-1s", "x"}));
  Append(&c, FlagCases("--log-max-size", {"", "0", "x", "-1"}));
  Append(&c, FlagCases("--log-max-files", {"", "0", "1001", "x"}));
  // Config file
  Append(&c, FlagCases("--spec", {"", "/nonexistent-bi.json", "@DIR"}));
  // The status file is named once, with the flag in error.
  c.push_back({{"run", "--status-file", "/nonexistent-bi/x", "--memory", "x", "--", "/bin/true"}, "--memory"});
  // Usage: unknown, missing or repeated flags, no command.
  c.push_back({{"run", "--memroy", "1G", "--", "/bin/true"}, "--memroy"});
  c.push_back({{"run", "--memory"}, "--memory"});
  c.push_back({{"run", "--memory", "1G", "--memory", "2G", "--", "/bin/true"}, "--memory"});
  c.push_back({{"run"}, "command"});
  c.push_back({{"run", "--"}, "command"});
  c.push_back({{"run", "--", ""}, "command"});
  c.push_back({{"run", "--memory", "1G"}, "command"});
  // run's own copies of the global options
  c.push_back({{"run", "--state-dir", "", "--", "/bin/true"}, "--state-dir"});
  c.push_back({{"run", "--state-dir", "@FILE", "--", "/bin/true"}, "--state-dir"});
  c.push_back({{"run", "--cgroup-parent", "", "--", "/bin/true"}, "--cgroup-parent"});
  c.push_back({{"run", "--cgroup-parent", "../x", "--", "/bin/true"}, "--cgroup-parent"});
  c.push_back({{"run", "--cgroup-parent", "a/../../b", "--", "/bin/true"}, "--cgroup-parent"});
  c.push_back({{"run", "--cgroup-parent", "a b", "--", "/bin/true"}, "--cgroup-parent"});
  c.push_back({{"run", "--log-level", "loud", "--", "/bin/true"}, "--log-level"});
  c.push_back({{"run", "--log-format", "", "--", "/bin/true"}, "--log-format"});
  // Commands that cannot run (cli.md: 127 not found, 126 not executable): these need the launch.
  c.push_back({{"run", "--", "/nonexistent-bi"}, "/nonexistent-bi", 127});
  c.push_back({{"run", "--rootfs", "@ROOT", "--", "nosuchcmd-bi"}, "nosuchcmd-bi", 127});
  c.push_back({{"run", "--rootfs", "@ROOT", "--", "/etc/passwd"}, "/etc/passwd", 126});
  c.push_back({{"run", "-d", "--rootfs", "@ROOT", "--", "/nonexistent-bi"}, "/nonexistent-bi", 127});
  c.push_back({{"run", "--name", "bi-named", "--rootfs", "@ROOT", "--", "/nonexistent-bi"}, "/nonexistent-bi", 127});
  // ...and values only the launch can judge.
  c.push_back({{"run", "--rootfs", "@ROOT", "--workdir", "/nonexistent-bi", "--", "/bin/true"}, "--workdir"});
  c.push_back({{"run", "-d", "--rootfs", "@ROOT", "--workdir", "/nonexistent-bi", "--", "/bin/true"}, "--workdir"});
  return c;
}

// Global options, on the whole command line.
std::vector<Case> GlobalCases() {
  std::vector<Case> c;
  const std::vector<std::string> tail = {"run", "--", "/bin/true"};
  const auto with = [&](std::vector<std::string> head, std::vector<std::string> rest, const std::string& field) {
    head.insert(head.end(), rest.begin(), rest.end());
    return Case{head, field, 125, std::nullopt, true};
  };
  const std::vector<std::string> parent = {"--cgroup-parent", CgroupParent()};
  const std::vector<std::string> state = {"--state-dir", StateDir()};
  for (const std::string& v : std::vector<std::string>{"", "@FILE"}) {
    auto head = parent;
    head.insert(head.end(), {"--state-dir", v});
    c.push_back(with(head, tail, "--state-dir"));
  }
  for (const std::string& v : std::vector<std::string>{"", "../x", "a/./b", "a b"}) {
    auto head = state;
    head.insert(head.end(), {"--cgroup-parent", v});
    c.push_back(with(head, tail, "--cgroup-parent"));
  }
  auto head = state;
  head.insert(head.end(), parent.begin(), parent.end());
  c.push_back(with(head, {"--log-level", "loud", "version"}, "--log-level"));
  c.push_back(with(head, {"--log-level", "", "version"}, "--log-level"));
  c.push_back(with(head, {"--log-format", "xml", "version"}, "--log-format"));
  c.push_back(with(head, {"--no-such-global", "version"}, "--no-such-global"));
  c.push_back(with(head, {"no-such-verb"}, "no-such-verb"));
  c.push_back(with(head, {"--state-dir", "/x", "version"}, "--state-dir"));  // given twice
  return c;
}

std::vector<Case> VerbCases() {
  std::vector<Case> c;
  // Bad, missing and unknown task ids; `pre` and `post` make the rest of the command valid.
  const auto ids = [&](const std::string& verb, std::vector<std::string> pre = {}, std::vector<std::string> post = {}) {
    for (const std::string& id : std::vector<std::string>{"", "../x", "a/b", ".hidden", k65, "x y", "nosuch-bi"}) {
      std::vector<std::string> args = {verb};
      args.insert(args.end(), pre.begin(), pre.end());
      args.push_back(id);
      args.insert(args.end(), post.begin(), post.end());
      c.push_back({args, id == "nosuch-bi" ? id : "ID"});
    }
    c.push_back({{verb}, "ID"});  // missing
  };
  // exec
  ids("exec", {}, {"--", "/bin/true"});
  c.push_back({{"exec", "--interactive=maybe", "@TARGET", "--", "/bin/true"}, "--interactive"});
  c.push_back({{"exec", "@TARGET"}, "command"});
  c.push_back({{"exec", "@TARGET", "--"}, "command"});
  for (const std::string& v : std::vector<std::string>{"", "x", "-1s", "1e9s"})
    c.push_back({{"exec", "--timeout", v, "@TARGET", "--", "/bin/true"}, "--timeout"});
  for (const std::string& v : std::vector<std::string>{"", "rel"}) c.push_back({{"exec", "--workdir", v, "@TARGET", "--", "/bin/true"}, "--workdir"});
  for (const std::string& v : std::vector<std::string>{"", "=x", "NOEQUALS"}) c.push_back({{"exec", "--env", v, "@TARGET", "--", "/bin/true"}, "--env"});
  for (const std::string& v : std::vector<std::string>{"", "1:2:3", "nosuchuser-bi", "-1"})
    c.push_back({{"exec", "--user", v, "@TARGET", "--", "/bin/true"}, "--user"});
  c.push_back({{"exec", "--no-such", "@TARGET", "--", "/bin/true"}, "--no-such"});
  c.push_back({{"exec", "--tty=maybe", "@TARGET", "--", "/bin/true"}, "--tty"});
  c.push_back({{"exec", "@EXITED", "--", "/bin/true"}, "@EXITED"});
  c.push_back({{"exec", "@TARGET", "--", "/nonexistent-bi"}, "/nonexistent-bi", 127});
  c.push_back({{"exec", "@TARGET", "--", "/etc/passwd"}, "/etc/passwd", 126});
  // kill
  ids("kill");
  for (const std::string& sig : std::vector<std::string>{"", "NOPE", "0", "65", "-1", "SIGRTMIN+99", "99999999999999999999", "9x"})
    c.push_back({{"kill", "@TARGET", sig}, "SIG"});
  c.push_back({{"kill", "@TARGET", "--", "-1"}, "SIG"});
  c.push_back({{"kill", "@TARGET", "TERM", "extra"}, "extra"});
  c.push_back({{"kill", "--all=maybe", "@TARGET"}, "--all"});
  // stop
  ids("stop");
  for (const std::string& v : std::vector<std::string>{"", "NOPE", "0", "65"}) c.push_back({{"stop", "--signal", v, "@TARGET"}, "--signal"});
  for (const std::string& v : std::vector<std::string>{"", "x", "-1s", "99999999h"}) c.push_back({{"stop", "--timeout", v, "@TARGET"}, "--timeout"});
  // update
  ids("update", {"--memory", "1G"});
  c.push_back({{"update", "@TARGET"}, "--memory"});  // nothing to change: names what could be
  for (const std::string& v : std::vector<std::string>{"", "x", "-1", "99999999999999999999"})
    c.push_back({{"update", "@TARGET", "--memory", v}, "--memory"});
  for (const std::string& v : std::vector<std::string>{"", "x", "-1"}) c.push_back({{"update", "@TARGET", "--memory-max", v}, "--memory-max"});
  for (const std::string& v : std::vector<std::string>{"", "1", "262145", "abc"}) c.push_back({{"update", "@TARGET", "--cpu-shares", v}, "--cpu-shares"});
  for (const std::string& v : std::vector<std::string>{"", "abc", ",", "1-0", "99999999999999999999"})
    c.push_back({{"update", "@TARGET", "--cpuset", v}, "--cpuset"});
  for (const std::string& v : std::vector<std::string>{"", "0", "-1", "4194305"}) c.push_back({{"update", "@TARGET", "--pids-max", v}, "--pids-max"});
  // logs, wait, delete, inspect, ps, stats, list, spec, version
  ids("logs");
  c.push_back({{"logs", "--follow=maybe", "@TARGET"}, "--follow"});
  c.push_back({{"logs", "--stderr=maybe", "@TARGET"}, "--stderr"});
  ids("wait");
  ids("delete");
  c.push_back({{"delete", "--force=maybe", "@EXITED"}, "--force"});
  ids("inspect");
  c.push_back({{"inspect", "@TARGET", "extra"}, "extra"});
  ids("ps");
  c.push_back({{"stats", ""}, "ID"});
  c.push_back({{"stats", "--no-stream", "nosuch-bi"}, "nosuch-bi"});
  c.push_back({{"stats", "--no-stream", "@EXITED"}, "@EXITED"});
  for (const std::string& v : std::vector<std::string>{"", "x", "-1s"}) c.push_back({{"stats", "--interval", v, "@TARGET"}, "--interval"});
  c.push_back({{"list", "extra"}, "extra"});
  c.push_back({{"list", "--json=maybe"}, "--json"});
  c.push_back({{"list", "--quiet=maybe"}, "--quiet"});
  c.push_back({{"stats", "--json=maybe", "@TARGET"}, "--json"});
  c.push_back({{"spec", "extra"}, "extra"});
  c.push_back({{"spec", "--markdown"}, "--markdown"});
  c.push_back({{"spec", "--explain=maybe"}, "--explain"});
  c.push_back({{"version", "extra"}, "extra"});
  c.push_back({{"features", "extra"}, "extra"});
  return c;
}

// ------------------------------------------------------------------------------------------
// Spec files: `run --spec @SPEC`, the error names the JSON pointer.

const json& BaseSpec() {
  static const json base = json::parse(R"({"version": 1, "process": {"args": ["/bin/true"]}})");
  return base;
}

Case SpecCase(const std::string& pointer, const json& value, const std::string& field, int code = 125) {
  json d = BaseSpec();
  d[json::json_pointer(pointer)] = value;
  return Case{{"run", "--spec", "@SPEC"}, field, code, d.dump()};
}
Case RawSpec(const std::string& text, const std::string& field) { return Case{{"run", "--spec", "@SPEC"}, field, 125, text}; }

std::vector<Case> SpecCases() {
  std::vector<Case> c;
  const std::string nul("a\0b", 3);
  // Document level
  c.push_back(RawSpec("", "invalid JSON"));
  c.push_back(RawSpec("{", "invalid JSON"));
  c.push_back(RawSpec("[]", "JSON object"));
  c.push_back(RawSpec("null", "JSON object"));
  c.push_back(RawSpec("{\"version\": 1} trailing", "invalid JSON"));
  c.push_back(RawSpec("{\"version\": 1, \"process\": {\"args\": [\"/bin/true\",]}}", "invalid JSON"));
  c.push_back(RawSpec("{\"process\": {\"args\": [\"/bin/true\"]}}", "/version"));
  c.push_back(RawSpec("{\"version\": 1, \"version\": 1, \"process\": {\"args\": [\"/bin/true\"]}}", "/version"));
  c.push_back(RawSpec("{\"version\": 1, \"process\": {\"args\": [\"/bin/true\"], \"args\": []}}", "/process/args"));
  c.push_back(RawSpec("{\"version\": 1, \"process\": {\"args\": [\"/bin/true\"]}, \"resources\": {\"memory\": 1e400}}",
                      "invalid JSON"));
  c.push_back(RawSpec("{\"version\": 1, \"process\": {\"args\": [\"/bin/true\"]}, \"id\": \"a\xff\"}", "invalid JSON"));
  for (const json& v : {json(2), json(0), json(-1), json("1"), json(1.0), json(nullptr), json(99999999999999999.0)})
    c.push_back(SpecCase("/version", v, "/version"));
  // id
  for (const json& v : {json("."), json(".x"), json("a/b"), json(k65), json(nul), json(1), json("@TARGET"), json("@EXITED")})
    c.push_back(SpecCase("/id", v, "/id"));
  // process
  for (const json& v : {json::array(), json::array({""}), json::array({nul}), json::array({1}), json("/bin/true"), json(nullptr)})
    c.push_back(SpecCase("/process/args", v, "/process/args"));
  c.push_back(SpecCase("/process/args", json::array({"/nonexistent-bi"}), "/nonexistent-bi", 127));
  for (const json& v : {json(json::object({{"", "x"}})), json(json::object({{"A=B", "x"}})), json(json::object({{nul, "x"}}))})
    c.push_back(SpecCase("/process/env", v, "/process/env/"));
  c.push_back(SpecCase("/process/env", json::object({{"PORT", 8080}}), "/process/env/PORT"));
  c.push_back(SpecCase("/process/env", json::object({{"A", nul}}), "/process/env/A"));
  c.push_back(SpecCase("/process/env", json::array({"A=B"}), "/process/env"));
  for (const json& v : {json(""), json("rel"), json("/../.."), json(nul), json(nullptr)})
    c.push_back(SpecCase("/process/workdir", v, "/process/workdir"));
  for (const json& v : {json(1), json(nul), json(nullptr), json("nosuchuser-bi"), json("1:2:3"), json("0:nosuchgroup-bi"),
                        json("4294967295")})
    c.push_back(SpecCase("/process/user", v, "/process/user"));
  for (const json& v : {json(1001), json(-1001), json(1.5), json("0"), json(99999999999999999999.0), json(nullptr)})
    c.push_back(SpecCase("/process/oom_score_adj", v, "/process/oom_score_adj"));
  // root
  for (const json& v : {json("/nonexistent-bi"), json("@FILE"), json("/"), json(nul), json(false)})
    c.push_back(SpecCase("/root/rootfs", v, "/root/rootfs"));
  for (const json& v : {json::array({json::object({{"task", "/x"}})}), json::array({json::object({{"host", "rel"}})}),
                        json::array({json::object({{"host", "/usr"}, {"task", "rel"}})}),
                        json::array({json::object({{"host", "/usr"}, {"task", "/../x"}})}),
                        json::array({json::object({{"host", nul}})}), json::array({"/usr"}), json("/usr"),
                        json::array({json::object({{"host", "/usr"}, {"task", "/x"}}), json::object({{"host", "/bin"}, {"task", "/x"}})})})
    c.push_back(SpecCase("/root/chroot_env", v, "/root/chroot_env"));
  c.push_back(SpecCase("/root/no_pivot_root", "yes", "/root/no_pivot_root"));
  // mounts
  const auto mount = [](json host, json task) { return json::array({json::object({{"host", host}, {"task", task}})}); };
  for (const json& v : {mount("rel", "/x"), mount("/tmp", "rel"), mount("", "/x"), mount("/tmp", ""),
                        mount(nul, "/x"), mount("/tmp", nul), mount(1, "/x")})
    c.push_back(SpecCase("/mounts", v, "/mounts/0/"));
  for (const json& v : {mount("/nonexistent-bi", "/x"), mount("/tmp", "/../../x"), mount("/tmp", "/"), mount("/tmp", "/proc"),
                        mount("/tmp", "/sys/"), mount("/tmp", "/dev"),
                        json::array({json::object({{"host", "/tmp"}, {"task", "/x"}}), json::object({{"host", "/usr"}, {"task", "/x"}})}),
                        json::array({json::object({{"task", "/x"}})}), json::object(), json::array({1})})
    c.push_back(SpecCase("/mounts", v, "/mounts"));
  c.push_back(SpecCase("/mounts", json::array({json::object({{"host", "/tmp"}, {"task", "/x"}, {"propagation", "slave"}})}),
                       "/mounts/0/propagation"));
  c.push_back(SpecCase("/mounts", json::array({json::object({{"host", "/tmp"}, {"task", "/x"}, {"readonly", "yes"}})}),
                       "/mounts/0/readonly"));
  c.push_back(SpecCase("/mounts", json::array({json::object({{"host", "/tmp"}, {"task", "/x"}, {"rw", true}})}),
                       "/mounts/0/rw"));
  // devices
  const auto device = [](json host, json task, json perms) {
    return json::array({json::object({{"host", host}, {"task", task}, {"permissions", perms}})});
  };
  for (const json& v : {device("rel", "", "rwm"), device("/dev/null", "rel", "rwm"), device("/dev/null", "", "rwx"),
                        device("/dev/null", "", ""), device("/dev/null", nul, "rwm")})
    c.push_back(SpecCase("/devices", v, "/devices/0/"));
  for (const json& v : {device("/nonexistent-bi", "", "rwm"), device("@FILE", "", "rwm"), device("/dev/null", "/dev/../../x", "rwm"),
                        device("/dev/null", "/", "rwm"),
                        json::array({json::object({{"host", "/dev/null"}, {"task", "/dev/x"}}),
                                     json::object({{"host", "/dev/zero"}, {"task", "/dev/x"}})})})
    c.push_back(SpecCase("/devices", v, "/devices"));
  // namespaces
  for (const json& v : {json("shared"), json(""), json(1), json(nullptr)}) {
    c.push_back(SpecCase("/namespaces/pid", v, "/namespaces/pid"));
    c.push_back(SpecCase("/namespaces/ipc", v, "/namespaces/ipc"));
  }
  for (const json& v : {json(""), json("bridge"), json("rel"), json("/nonexistent-bi"), json("@FILE"), json(nul)})
    c.push_back(SpecCase("/namespaces/net", v, "/namespaces/net"));
  for (const json& v : {json("a b"), json(k65), json("a\nb"), json("-x"), json("a..b"), json(nul), json(1)})
    c.push_back(SpecCase("/namespaces/hostname", v, "/namespaces/hostname"));
  c.push_back(SpecCase("/namespaces/init", 0, "/namespaces/init"));
  // resources
  for (const json& v : {json(-1), json(1.5), json("x"), json(""), json("1.5G"), json("17179869184T"),
                        json("18446744073709551616"), json(1e30), json(true), json("1M")})
    c.push_back(SpecCase("/resources/memory", v, "/resources/memory"));
  for (const json& v : {json(-1), json("x"), json("Unlimited"), json("1M"), json("4M")}) {
    json d = BaseSpec();
    d["resources"]["memory"] = "8M";
    d["resources"]["memory_max"] = v;
    c.push_back(Case{{"run", "--spec", "@SPEC"}, "/resources/memory_max", 125, d.dump()});
  }
  c.push_back(SpecCase("/resources/memory_max", "unlimited", "/resources/memory_max"));  // needs memory
  for (const json& v : {json(1), json(262145), json(-1), json(2.5), json("512"), json(1e30)})
    c.push_back(SpecCase("/resources/cpu_shares", v, "/resources/cpu_shares"));
  for (const json& v : {json("abc"), json(","), json("1-0"), json("0-"), json("9999"), json(0), json(nul)})
    c.push_back(SpecCase("/resources/cpuset", v, "/resources/cpuset"));
  for (const json& v : {json(0), json(-1), json(4194305), json("64"), json(1e30)})
    c.push_back(SpecCase("/resources/pids_max", v, "/resources/pids_max"));
  // security
  for (const char* key : {"cap_add", "cap_drop"}) {
    const std::string p = std::string("/security/") + key;
    for (const json& v : {json::array({"NOPE"}), json::array({""}), json::array({nul}), json::array({12}), json("NET_ADMIN")})
      c.push_back(SpecCase(p, v, p));
  }
  for (const json& v : {json(""), json("/nonexistent-bi.json"), json("@FILE"), json(nul), json(nullptr)})
    c.push_back(SpecCase("/security/seccomp", v, "/security/seccomp"));
  c.push_back(SpecCase("/security/allow_new_privileges", 1, "/security/allow_new_privileges"));
  // lifecycle
  for (const json& v : {json(0), json(65), json(-1), json(15.0), json("SIGNOPE"), json(""), json("SIGRTMIN+99"), json(nullptr)})
    c.push_back(SpecCase("/lifecycle/kill_signal", v, "/lifecycle/kill_signal"));
  for (const json& v : {json(5), json("-1s"), json("x"), json(""), json("99999999h"), json(nullptr)})
    c.push_back(SpecCase("/lifecycle/kill_timeout", v, "/lifecycle/kill_timeout"));
  for (const json& v : {json("0s"), json("0"), json(10), json("-5s"), json("")})
    c.push_back(SpecCase("/lifecycle/timeout", v, "/lifecycle/timeout"));
  // output
  for (const char* key : {"stdout", "stderr", "status_file", "stats_file"}) {
    const std::string p = std::string("/output/") + key;
    for (const json& v : {json("@DIR"), json("/nonexistent-bi/x"), json(nul), json(1)}) c.push_back(SpecCase(p, v, p));
  }
  for (const json& v : {json(1), json("-1s"), json("x"), json("")})
    c.push_back(SpecCase("/output/stats_interval", v, "/output/stats_interval"));
  // A flag given on the command line is blamed as the flag, the file's value as its pointer.
  {
    json d = BaseSpec();
    d["resources"]["memory_max"] = "8M";
    c.push_back(Case{{"run", "--spec", "@SPEC", "--memory", "x"}, "--memory", 125, d.dump()});
  }
  return c;
}

// Generated: for every leaf of the printed example (`isoexec spec`, lists given an element): a
// value of the wrong JSON type, a NUL byte in every string, and an unknown key in every object.
std::vector<Case> GeneratedSpecCases(std::set<std::string>* covered) {
  std::vector<Case> c;
  auto printed = RunIsoexec({"spec"});
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  json base = json::parse(printed.out);
  base["process"]["args"] = {"/bin/true"};
  base["process"]["env"] = {{"FOO", "bar"}};
  base["root"]["chroot_env"] = json::array({{{"host", "/usr"}, {"task", "/usr"}}});
  base["mounts"] = json::array({{{"host", "/tmp"}, {"task", "/data"}, {"readonly", true}, {"propagation", "private"}}});
  base["devices"] = json::array({{{"host", "/dev/null"}, {"task", "/dev/null2"}, {"permissions", "rw"}}});
  base["security"]["cap_add"] = {"NET_ADMIN"};
  base["resources"]["memory"] = "64M";
  // /mounts/0/host -> /mounts/*/host, as `isoexec spec --explain` names it.
  const auto generic = [](const std::string& path) {
    std::string out;
    std::istringstream in(path);
    std::string comp;
    std::getline(in, comp, '/');  // the empty part before the first '/'
    while (std::getline(in, comp, '/'))
      out += "/" + (!comp.empty() && comp.find_first_not_of("0123456789") == std::string::npos ? "*" : comp);
    return out.rfind("/process/env/", 0) == 0 ? std::string("/process/env") : out;
  };
  std::vector<std::pair<std::string, json>> leaves;
  std::function<void(const json&, const std::string&)> walk = [&](const json& v, const std::string& path) {
    covered->insert(generic(path));
    if ((v.is_object() || v.is_array()) && !v.empty()) {
      if (v.is_object())
        for (const auto& [k, x] : v.items()) walk(x, path + "/" + k);
      else
        for (size_t i = 0; i < v.size(); ++i) walk(v[i], path + "/" + std::to_string(i));
      if (v.is_object() && path != "/process/env") {  // env keys are the user's
        json d = base;
        d[json::json_pointer(path + "/no_such_field")] = 1;
        c.push_back(Case{{"run", "--spec", "@SPEC"}, "spec: " + path + "/no_such_field: unknown field", 125, d.dump()});
      }
      return;
    }
    leaves.emplace_back(path, v);
  };
  walk(base, "");
  for (const auto& [path, v] : leaves) {
    json wrong = v.is_string() ? json(true) : v.is_boolean() ? json("yes") : v.is_number() ? json("12x")
                 : v.is_null() ? json(true) : v.is_array() ? json{{"x", 1}} : json(42);
    json d = base;
    d[json::json_pointer(path)] = wrong;
    c.push_back(Case{{"run", "--spec", "@SPEC"}, "spec: " + path + ": ", 125, d.dump()});
    if (v.is_string()) {
      d = base;
      d[json::json_pointer(path)] = v.get<std::string>() + std::string(1, '\0') + "x";
      c.push_back(Case{{"run", "--spec", "@SPEC"}, "spec: " + path, 125, d.dump()});
    }
  }
  return c;
}

// Option names in a CLI11 help text, one entry per option line ("-d,--detach" -> {-d, --detach}).
std::vector<std::vector<std::string>> HelpOptionLines(const std::string& help) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(help);
  for (std::string line; std::getline(in, line);) {
    size_t i = line.find_first_not_of(' ');
    if (i == std::string::npos || line[i] != '-') continue;
    std::istringstream parts(line.substr(i, line.find(' ', i) - i));
    std::vector<std::string> names;
    for (std::string n; std::getline(parts, n, ',');) names.push_back(n);
    out.push_back(names);
  }
  return out;
}

bool Mentions(const std::vector<Case>& cases, const std::string& name) {
  for (const auto& c : cases)
    for (const auto& a : c.args)
      if (a == name || a.rfind(name + "=", 0) == 0) return true;
  return false;
}

// ------------------------------------------------------------------------------------------

TEST_F(BadInput, EveryRunFlag) {
  auto cases = RunCases();
  // The table covers every option `isoexec run --help` offers.
  auto help = RunIsoexec({"run", "--help"});
  ASSERT_EQ(help.exit_code, 0);
  for (const auto& names : HelpOptionLines(help.out)) {
    if (names.front() == "-h" || names.front() == "--help") continue;
    bool any = false;
    for (const auto& n : names) any = any || Mentions(cases, n);
    EXPECT_TRUE(any) << "no bad-input case for run " << names.back();
  }
  EXPECT_GE(Check(cases), 200u);
}

TEST_F(BadInput, GlobalOptions) { Check(GlobalCases()); }

TEST_F(BadInput, EveryVerb) {
  auto cases = VerbCases();
  // Every verb of `isoexec --help` with an option or argument has cases.
  for (const char* verb : {"exec", "kill", "stop", "update", "logs", "stats", "wait", "delete", "inspect", "ps",
                           "list", "spec", "version", "features"}) {
    bool any = false;
    for (const auto& c : cases) any = any || (!c.args.empty() && c.args[0] == verb);
    EXPECT_TRUE(any) << verb;
  }
  // ...and every option of those verbs.
  for (const char* verb : {"exec", "kill", "stop", "update", "logs", "stats", "delete", "list", "spec"}) {
    auto help = RunIsoexec({verb, "--help"});
    ASSERT_EQ(help.exit_code, 0) << verb;
    for (const auto& names : HelpOptionLines(help.out)) {
      if (names.front() == "-h" || names.front() == "--help") continue;
      if (names.back() == "--state-dir" || names.back() == "--cgroup-parent" || names.back() == "--log-level" ||
          names.back() == "--log-format")
        continue;  // the globals, covered by GlobalOptions
      bool any = false;
      for (const auto& n : names) any = any || Mentions(cases, n);
      EXPECT_TRUE(any) << "no bad-input case for " << verb << " " << names.back();
    }
  }
  Check(cases);
  // The running target was not disturbed by any of it.
  auto st = RunIsoexec({"inspect", "bi-target"});
  EXPECT_TRUE(Contains(st.out, "\"state\": \"running\"")) << st.out;
}

TEST_F(BadInput, EverySpecField) {
  std::set<std::string> covered;
  auto cases = GeneratedSpecCases(&covered);
  // Every field `isoexec spec --explain` documents is among the generated leaves.
  auto explain = RunIsoexec({"spec", "--explain"});
  ASSERT_EQ(explain.exit_code, 0);
  for (const auto& line : Lines(explain.out)) {
    if (line.empty() || line[0] != '/') continue;
    if (line == "/process/args") continue;  // hand-written below
    EXPECT_TRUE(covered.count(line)) << "no generated case for " << line;
  }
  Append(&cases, SpecCases());
  EXPECT_GE(Check(cases), 250u);
}

}  // namespace
}  // namespace isoexec::test
