// The command-line contract (/work/shared/spec/cli.md) as seen from outside: every verb and
// flag it names is offered by `isoexec --help` / `isoexec VERB --help`, usage errors are one
// line and exit 125, spec files round-trip through `isoexec spec` and `isoexec run --spec`, and
// the generated docs (man page, completion words) cover the same names.
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

using json = nlohmann::ordered_json;

// Transcribed from cli.md. Never rename: scripts outside the project use these names.
const std::vector<std::string> kGlobalFlags = {"--state-dir", "--cgroup-parent", "--log-level", "--log-format"};

const std::map<std::string, std::vector<std::string>>& ContractVerbs() {
  static const std::map<std::string, std::vector<std::string>> verbs = {
      {"run",
       {// Filesystem
        "--rootfs", "--chroot-env", "--bind", "--device", "--no-pivot-root", "--workdir",
        // Process
        "--env", "--user", "--oom-score-adj",
        // Namespaces
        "--pid", "--ipc", "--no-init", "--net", "--hostname",
        // Resources
        "--memory", "--memory-max", "--cpu-shares", "--cpuset", "--pids-max",
        // Security
        "--cap-add", "--cap-drop", "--seccomp", "--allow-new-privileges",
        // Lifecycle
        "--kill-signal", "--kill-timeout", "--timeout",
        // Output
        "--stdout", "--stderr", "--status-file", "--stats-file", "--stats-interval",
        // Config file, detached mode, ids, state lifetime
        "--spec", "-d", "--detach", "--name", "--rm"}},
      {"exec", {"-i", "-t", "--timeout", "--user", "--env"}},
      {"stop", {"--signal", "--timeout"}},
      {"kill", {"--all"}},
      {"wait", {}},
      {"stats", {"--interval", "--no-stream", "--json"}},
      {"ps", {}},
      {"list", {"--json"}},
      {"inspect", {}},
      {"update", {"--memory", "--memory-max", "--cpu-shares", "--cpuset", "--pids-max"}},
      {"logs", {"-f", "--stderr"}},
      {"delete", {"--force"}},
      {"version", {}},
      {"features", {}},
      {"spec", {}},
      {"executor", {}},
  };
  return verbs;
}

// Defaults the contract states; `--help` must show them (CLI11 prints `--flag TYPE=DEFAULT`).
const std::map<std::string, std::string> kRunDefaults = {
    {"--workdir", "/"},         {"--oom-score-adj", "0"}, {"--pid", "private"},     {"--ipc", "private"},
    {"--net", "host"},          {"--seccomp", "default"}, {"--kill-signal", "SIGTERM"},
    {"--kill-timeout", "5s"},   {"--stats-interval", "1s"},
};
const std::map<std::string, std::string> kGlobalDefaults = {{"--state-dir", "/run/isoexec"},
                                                            {"--cgroup-parent", "isoexec"}};

// Option names offered by a CLI11 help text, mapped to their whole help line: the first
// column of every line starting with '-' ("-d,--detach", "--memory SIZE").
std::map<std::string, std::string> HelpOptions(const std::string& help) {
  std::map<std::string, std::string> names;
  std::istringstream in(help);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    size_t i = line.find_first_not_of(' ');
    if (i == std::string::npos) continue;
    if (line[i] != '-') {
      // CLI11 puts the description on the next line after a long option column.
      if (!last.empty() && i >= 20) names[last] += " " + line.substr(i);
      continue;
    }
    std::string col = line.substr(i, line.find(' ', i) - i);
    std::istringstream parts(col);
    std::string name;
    last.clear();
    while (std::getline(parts, name, ',')) {
      names[name] = line;
      last = name;
    }
  }
  return names;
}

// Verbs listed under "Subcommands:" in `isoexec --help`.
std::set<std::string> HelpVerbs(const std::string& help) {
  std::set<std::string> verbs;
  std::istringstream in(help);
  std::string line;
  bool in_list = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.back() == ':' && line[0] != ' ') {
      in_list = line.find("ubcommand") != std::string::npos;
      continue;
    }
    if (!in_list || line[0] != ' ') continue;
    std::istringstream words(line);
    std::string verb;
    words >> verb;
    verbs.insert(verb);
  }
  return verbs;
}

bool OneLine(const std::string& err) {
  std::string t = Trim(err);
  return !t.empty() && t.find('\n') == std::string::npos;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

// Every non-container value of a JSON document with its pointer (empty containers included).
void Leaves(const json& v, const std::string& path, std::vector<std::pair<std::string, json>>* out) {
  if ((v.is_object() || v.is_array()) && !v.empty() && path != "/process/args") {
    if (v.is_object()) {
      for (const auto& [k, x] : v.items()) Leaves(x, path + "/" + k, out);
    } else {
      for (size_t i = 0; i < v.size(); ++i) Leaves(v[i], path + "/" + std::to_string(i), out);
    }
    return;
  }
  out->emplace_back(path, v);
}

json WrongType(const json& v) {
  if (v.is_string()) return true;
  if (v.is_boolean()) return "yes";
  if (v.is_number()) return "12x";
  if (v.is_null()) return true;
  if (v.is_array()) return json{{"x", 1}};
  return 42;
}

// ------------------------------------------------------------------------------------------
// Verbs and flags.

TEST(CliContract, EveryVerbIsListedInTopLevelHelp) {
  auto r = RunIsoexec({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto verbs = HelpVerbs(r.out);
  for (const auto& [verb, flags] : ContractVerbs())
    EXPECT_TRUE(verbs.count(verb)) << "`isoexec --help` does not list the verb `" << verb << "`";
  auto options = HelpOptions(r.out);
  for (const auto& flag : kGlobalFlags)
    EXPECT_TRUE(options.count(flag)) << "`isoexec --help` does not offer " << flag;
}

TEST(CliContract, EveryFlagOfEveryVerbIsInItsHelp) {
  for (const auto& [verb, flags] : ContractVerbs()) {
    auto r = RunIsoexec({verb, "--help"});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "`isoexec " << verb << " --help` exited " << r.exit_code << ": " << Trim(r.err);
      continue;
    }
    auto options = HelpOptions(r.out);
    for (const auto& flag : flags)
      EXPECT_TRUE(options.count(flag)) << "`isoexec " << verb << " --help` does not offer " << flag;
  }
}

TEST(CliContract, HelpShowsTheContractDefaults) {
  auto check = [](const std::vector<std::string>& args, const std::map<std::string, std::string>& defaults) {
    auto r = RunIsoexec(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto options = HelpOptions(r.out);
    for (const auto& [flag, def] : defaults) {
      auto it = options.find(flag);
      if (it == options.end()) {
        ADD_FAILURE() << flag << " missing from `isoexec " << args[0] << "`";
        continue;
      }
      const std::string& line = it->second;
      bool shown = Contains(line, "=" + def) || Contains(line, "default " + def) ||
                   Contains(line, "default: " + def) || Contains(line, "Default: " + def);
      EXPECT_TRUE(shown) << flag << " does not show its default " << def << ":\n" << line;
    }
  };
  check({"run", "--help"}, kRunDefaults);
  check({"--help"}, kGlobalDefaults);
}

// ------------------------------------------------------------------------------------------
// Usage errors: one line on stderr, exit 125.

TEST(CliContract, UsageErrorsAreOneLineAndExit125) {
  TempDir dir;
  const std::string bad_spec = dir.path() + "/bad.json";
  WriteFile(bad_spec, "{\"version\": 1, \"resources\": {\"memory\": true}}");
  const std::vector<std::vector<std::string>> cases = {
      {"no-such-verb"},
      {"run", "--no-such-flag", "--", "/bin/true"},
      {"run", "--memory"},
      {"run", "--memory", "lots", "--", "/bin/true"},
      {"run", "--kill-timeout", "soon", "--", "/bin/true"},
      {"run", "--pid", "shared", "--", "/bin/true"},
      {"run", "--bind", "relative:/x", "--", "/bin/true"},
      {"run", "--name", ".hidden", "--", "/bin/true"},
      {"run"},  // no command
      {"run", "--spec", dir.path() + "/missing.json", "--", "/bin/true"},
      {"run", "--spec", bad_spec, "--", "/bin/true"},
      {"--log-level", "loud", "version"},
      {"stop"},  // no id
      {"inspect", "no-such-task"},
      {"spec", "--no-such-flag"},
  };
  for (const auto& args : cases) {
    auto r = RunIsoexec(args);
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    EXPECT_EQ(r.exit_code, 125) << "isoexec" << cmd << "\n" << r.err;
    EXPECT_TRUE(OneLine(r.err)) << "isoexec" << cmd << " should print one line, got:\n" << r.err;
  }
}

// ------------------------------------------------------------------------------------------
// Spec files.

TEST(CliContract, SpecPrintsAValidCompleteExample) {
  auto r = RunIsoexec({"spec"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json doc = json::parse(r.out);  // throws (fails the test) when not JSON
  EXPECT_EQ(doc["version"], 1);
  for (const char* group : {"process", "root", "mounts", "devices", "namespaces", "resources", "security",
                            "lifecycle", "output"})
    EXPECT_TRUE(doc.contains(group)) << group;
  auto explain = RunIsoexec({"spec", "--explain"});
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  std::vector<std::pair<std::string, json>> leaves;
  Leaves(doc, "", &leaves);
  for (const auto& [path, v] : leaves)
    EXPECT_TRUE(Contains(explain.out, "\n" + path + "\n")) << path << " is not in `isoexec spec --explain`";
}

TEST(CliContract, SpecRoundTripRuns) {
  REQUIRE_ROOT();
  TempDir dir;
  const std::string s = dir.path() + "/s.json";
  auto spec = RunIsoexec({"spec"});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  WriteFile(s, spec.out);
  // The round trip: the printed example, a command on the command line.
  auto r = RunIsoexec({"run", "--spec", s, "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  // Without a command the file's /process/args runs.
  r = RunIsoexec({"run", "--spec", s});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from isoexec\n");
  // Flags override the file.
  json doc = json::parse(spec.out);
  doc["process"]["env"] = {{"WHO", "file"}, {"PATH", "/usr/bin:/bin"}};
  doc["process"]["args"] = {"/bin/sh", "-c", "echo $WHO; exit 3"};
  WriteFile(s, doc.dump(2));
  r = RunIsoexec({"run", "--spec", s});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "file\n");
  r = RunIsoexec({"run", "--spec", s, "--env", "WHO=flag"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "flag\n");
}

TEST(CliContract, SpecWithAWrongTypeOrUnknownKeyNamesThePath) {
  TempDir dir;
  const std::string s = dir.path() + "/s.json";
  auto spec = RunIsoexec({"spec"});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  json base = json::parse(spec.out);
  // Give every list an element, so element fields are covered too.
  base["process"]["env"] = {{"FOO", "bar"}};
  base["root"]["chroot_env"] = json::array({{{"host", "/usr"}, {"task", "/usr"}}});
  base["mounts"] = json::array({{{"host", "/srv"}, {"task", "/data"}, {"readonly", true}, {"propagation", "private"}}});
  base["devices"] = json::array({{{"host", "/dev/null"}, {"task", "/dev/null"}, {"permissions", "rw"}}});
  base["security"]["cap_add"] = {"NET_ADMIN"};
  std::vector<std::pair<std::string, json>> leaves;
  Leaves(base, "", &leaves);
  ASSERT_GE(leaves.size(), 40u);

  std::vector<std::pair<std::string, json>> cases;  // path named in the error, document
  for (const auto& [path, v] : leaves) {
    json d = base;
    d[json::json_pointer(path)] = WrongType(v);
    cases.emplace_back(path, d);
  }
  for (const char* obj : {"", "/process", "/root", "/namespaces", "/resources", "/security", "/lifecycle",
                          "/output", "/mounts/0", "/devices/0", "/root/chroot_env/0"}) {
    json d = base;
    const std::string path = std::string(obj) + "/no_such_field";
    d[json::json_pointer(path)] = 1;
    cases.emplace_back(path, d);
  }
  for (const auto& [path, d] : cases) {
    WriteFile(s, d.dump(2));
    auto r = RunIsoexec({"run", "--spec", s, "--", "/bin/true"});
    EXPECT_EQ(r.exit_code, 125) << path << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, "spec: " + path + ": ")) << path << ": " << r.err;
    EXPECT_TRUE(OneLine(r.err)) << path << ": " << r.err;
  }
  // The example, verbatim.
  json d = base;
  d["resources"]["memory"] = true;
  WriteFile(s, d.dump());
  auto r = RunIsoexec({"run", "--spec", s, "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(Contains(r.err, "spec: /resources/memory: must be a size like \"256M\", got true")) << r.err;
}

// ------------------------------------------------------------------------------------------
// Generated docs.

TEST(CliContract, ManPageCoversEveryVerbAndFlag) {
  auto r = RunIsoexec({"__man"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, ".TH ISOEXEC 1")) << r.out.substr(0, 200);
  for (const char* section : {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH COMMANDS", ".SH EXIT STATUS",
                              ".SH FILES", ".SH EXAMPLES", ".SH SEE ALSO"})
    EXPECT_TRUE(Contains(r.out, section)) << section;
  auto roff = [](const std::string& flag) {
    std::string out;
    for (char c : flag) out += c == '-' ? std::string("\\-") : std::string(1, c);
    return "\\fB" + out + "\\fR";
  };
  for (const auto& [verb, flags] : ContractVerbs()) {
    EXPECT_TRUE(Contains(r.out, ".SS isoexec " + verb + "\n")) << "no section for " << verb;
    for (const auto& flag : flags) EXPECT_TRUE(Contains(r.out, roff(flag))) << verb << " " << flag;
  }
  for (const auto& flag : kGlobalFlags) EXPECT_TRUE(Contains(r.out, roff(flag))) << flag;

  // groff, when installed, must not warn about it.
  for (const char* groff : {"/usr/bin/groff", "/bin/groff"}) {
    if (::access(groff, X_OK) != 0) continue;
    TempDir dir;
    WriteFile(dir.path() + "/isoexec.1", r.out);
    auto lint = RunCommand({groff, "-man", "-Tutf8", "-ww", "-z", dir.path() + "/isoexec.1"});
    EXPECT_EQ(lint.exit_code, 0);
    EXPECT_EQ(lint.err, "");
    break;
  }
}

TEST(CliContract, CompletionWordsCoverEveryVerbAndFlag) {
  auto r = RunIsoexec({"__complete-words"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> words;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) words.insert(line.substr(0, line.find(' ')));
  for (const auto& [verb, flags] : ContractVerbs()) EXPECT_TRUE(words.count(verb)) << verb;
  for (const auto& flag : kGlobalFlags) EXPECT_TRUE(words.count(flag)) << flag;
  for (const auto& [verb, flags] : ContractVerbs()) {
    auto v = RunIsoexec({"__complete-words", verb});
    if (v.exit_code != 0) {
      ADD_FAILURE() << "__complete-words " << verb << ": " << v.err;
      continue;
    }
    for (const auto& flag : flags) {
      bool found = v.out.rfind(flag + "\n", 0) == 0 || v.out.rfind(flag + " ", 0) == 0 ||
                   Contains(v.out, "\n" + flag + "\n") || Contains(v.out, "\n" + flag + " ");
      EXPECT_TRUE(found) << verb << " " << flag;
    }
  }
}

}  // namespace
}  // namespace isoexec::test
