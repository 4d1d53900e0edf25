#include "spec/spec_json.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace isoexec::spec {
namespace {

using json = nlohmann::ordered_json;
using std::chrono::milliseconds;
using std::chrono::seconds;

bool Has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// The default example with something in every list, so array elements have leaves too.
json FullDoc() {
  json d = json::parse(DefaultSpecExample());
  d["id"] = "web-1";
  d["process"]["env"] = {{"FOO", "bar"}};
  d["root"]["chroot_env"] = json::array({{{"host", "/usr"}, {"task", "/usr"}}});
  d["mounts"] = json::array({{{"host", "/srv"}, {"task", "/data"}, {"readonly", true}, {"propagation", "rslave"}}});
  d["devices"] = json::array({{{"host", "/dev/null"}, {"task", "/dev/null"}, {"permissions", "rw"}}});
  d["resources"]["memory"] = "256M";
  d["resources"]["memory_max"] = "512M";
  d["resources"]["cpu_shares"] = 512;
  d["resources"]["pids_max"] = 64;
  d["security"]["cap_add"] = {"NET_ADMIN"};
  d["security"]["cap_drop"] = {"MKNOD"};
  d["lifecycle"]["timeout"] = "1m";
  return d;
}

// Every non-container value with its JSON pointer; empty containers count as leaves.
void Leaves(const json& v, const std::string& path, std::vector<std::pair<std::string, json>>* out) {
  if ((v.is_object() || v.is_array()) && !v.empty() && path.rfind("/process/args", 0) != 0) {
    if (v.is_object()) {
      for (const auto& [k, x] : v.items()) Leaves(x, path + "/" + k, out);
    } else {
      for (size_t i = 0; i < v.size(); ++i) Leaves(v[i], path + "/" + std::to_string(i), out);
    }
    return;
  }
  out->emplace_back(path, v);
}

// A value of a JSON type the field never accepts.
json WrongType(const json& v) {
  if (v.is_string()) return true;
  if (v.is_boolean()) return "yes";
  if (v.is_number()) return "12x";
  if (v.is_null()) return true;
  if (v.is_array()) return json{{"x", 1}};
  return 42;  // object
}

Result<TaskSpec> Parse(const json& d, SpecJsonOptions o = {}) { return ParseSpecJson(d.dump(), o); }

std::string ErrorOf(const json& d, SpecJsonOptions o = {}) {
  auto r = Parse(d, o);
  if (r) return "(parsed fine)";
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  return r.error().str();
}

TEST(SpecJson, DefaultExampleParsesAndIsCanonical) {
  const std::string example = DefaultSpecExample();
  auto s = ParseSpecJson(example);
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->process.argv, (std::vector<std::string>{"/bin/sh", "-c", "echo hello from isoexec"}));
  EXPECT_EQ(SpecToJson(*s), example);
  // Every field at its default: the example equals the default spec plus the command.
  TaskSpec d;
  d.process.argv = s->process.argv;
  EXPECT_EQ(SpecToJson(d), example);
  EXPECT_TRUE(Has(example, "\"version\": 1"));
}

TEST(SpecJson, ExampleHasEveryDocumentedField) {
  std::vector<std::pair<std::string, json>> leaves;
  Leaves(FullDoc(), "", &leaves);
  const std::string explain = Explain();
  for (const auto& [path, v] : leaves) {
    std::string generic = path;
    // /mounts/0/host -> /mounts/*/host; /process/env/FOO is inside /process/env.
    for (const char* arr : {"/mounts/0", "/devices/0", "/root/chroot_env/0"})
      if (generic.rfind(arr, 0) == 0) generic = std::string(arr).substr(0, std::string(arr).size() - 1) + "*" + generic.substr(std::string(arr).size());
    if (generic.rfind("/process/env/", 0) == 0) generic = "/process/env";
    if (generic.rfind("/security/cap_", 0) == 0) generic = generic.substr(0, generic.rfind('/'));
    EXPECT_TRUE(Has(explain, "\n" + generic + "\n")) << generic << " is not explained";
  }
}

TEST(SpecJson, FullRoundTripIsStable) {
  auto s = Parse(FullDoc());
  ASSERT_TRUE(s) << s.error().str();
  const std::string once = SpecToJson(*s);
  auto again = ParseSpecJson(once);
  ASSERT_TRUE(again) << again.error().str();
  EXPECT_EQ(SpecToJson(*again), once);
  EXPECT_EQ(json::parse(once), FullDoc());  // canonical input stays byte-identical in meaning

  EXPECT_EQ(s->id, "web-1");
  EXPECT_EQ(s->process.env, (std::vector<std::string>{"FOO=bar"}));
  ASSERT_EQ(s->mounts.size(), 1u);
  EXPECT_TRUE(s->mounts[0].readonly);
  EXPECT_EQ(s->mounts[0].propagation, Propagation::kSlave);
  ASSERT_EQ(s->devices.size(), 1u);
  EXPECT_EQ(s->devices[0].perms, "rw");
  EXPECT_TRUE(s->root.chroot_env_given);
  EXPECT_EQ(*s->resources.memory, 256u << 20);
  EXPECT_EQ(*s->resources.memory_max, 512u << 20);
  EXPECT_EQ(*s->resources.cpu_shares, 512u);
  EXPECT_EQ(*s->resources.pids_max, 64);
  EXPECT_EQ(*s->lifecycle.timeout, seconds(60));
}

TEST(SpecJson, EveryFieldRoundTripsFromAStruct) {
  TaskSpec s;
  s.id = "t.1";
  s.process.argv = {"/bin/echo", "a b", ""};
  s.process.env = {"A=1", "B=x=y", "C="};
  s.process.workdir = "/tmp";
  s.process.user = "nobody:nogroup";
  s.process.oom_score_adj = -17;
  s.root.rootfs = "/srv/root";
  s.root.chroot_env = {{"/usr", "/opt/usr"}};
  s.root.chroot_env_given = true;
  s.root.no_pivot_root = true;
  s.mounts = {{"/a", "/b", true, Propagation::kShared}, {"/c", "/d", false, Propagation::kPrivate}};
  s.devices = {{"/dev/fuse", "/dev/fuse", "rwm"}};
  s.namespaces = {NsMode::kHost, NsMode::kHost, "none", "box", false};
  s.resources.memory = 1000;  // not a multiple of 1K: stays a byte count
  s.resources.memory_max_unlimited = true;
  s.resources.cpu_shares = 2;
  s.resources.cpuset = "0-1,3";
  s.resources.pids_max = 1;
  s.security = {{"SYS_ADMIN"}, {"all"}, "unconfined", true};
  s.lifecycle.kill_signal = SIGRTMIN + 2;
  s.lifecycle.kill_timeout = milliseconds(1500);
  s.lifecycle.timeout = std::chrono::hours(2) + std::chrono::nanoseconds(1);
  s.output = {"/o", "/e", "/s.json", "/st.jsonl", milliseconds(250)};
  const std::string text = SpecToJson(s);
  auto back = ParseSpecJson(text, {.validate = false});
  ASSERT_TRUE(back) << back.error().str() << "\n" << text;
  EXPECT_EQ(SpecToJson(*back), text);
  EXPECT_EQ(back->process.env, s.process.env);
  EXPECT_EQ(back->process.argv, s.process.argv);
  EXPECT_EQ(back->lifecycle.kill_signal, SIGRTMIN + 2);
  EXPECT_EQ(back->lifecycle.kill_timeout, milliseconds(1500));
  EXPECT_EQ(*back->lifecycle.timeout, s.lifecycle.timeout);
  EXPECT_EQ(back->output.stats_interval, milliseconds(250));
  EXPECT_TRUE(back->resources.memory_max_unlimited);
  EXPECT_EQ(*back->resources.memory, 1000u);
  EXPECT_FALSE(back->namespaces.init);
  EXPECT_EQ(back->mounts[0].propagation, Propagation::kShared);
  auto j = json::parse(text);
  EXPECT_EQ(j["resources"]["memory"], "1000");
  EXPECT_EQ(j["resources"]["memory_max"], "unlimited");
  EXPECT_EQ(j["lifecycle"]["kill_timeout"], "1s500ms");
  EXPECT_EQ(j["lifecycle"]["timeout"], "2h1ns");
  EXPECT_EQ(j["output"]["stats_interval"], "250ms");
}

TEST(SpecJson, EachFieldWithAWrongTypeNamesItsPath) {
  std::vector<std::pair<std::string, json>> leaves;
  Leaves(FullDoc(), "", &leaves);
  ASSERT_GE(leaves.size(), 40u);  // one per field, plus array elements
  for (const auto& [path, v] : leaves) {
    json d = FullDoc();
    d[json::json_pointer(path)] = WrongType(v);
    std::string err = ErrorOf(d);
    EXPECT_TRUE(Has(err, "spec: " + path + ": ")) << path << " -> " << err;
  }
  // process.args elements too.
  json d = FullDoc();
  d["process"]["args"][1] = 7;
  EXPECT_EQ(ErrorOf(d), "spec: /process/args/1: must be a string, got 7");
  // Groups must be objects.
  for (const char* g : {"/process", "/root", "/namespaces", "/resources", "/security", "/lifecycle", "/output",
                        "/mounts/0", "/devices/0", "/root/chroot_env/0"}) {
    json e = FullDoc();
    e[json::json_pointer(g)] = "x";
    EXPECT_TRUE(Has(ErrorOf(e), std::string("spec: ") + g + ": must be an object, got \"x\"")) << ErrorOf(e);
  }
  EXPECT_EQ(ErrorOf(json::array()), "spec: must be a JSON object, got an array");
}

TEST(SpecJson, IssueExampleMessage) {
  json d = FullDoc();
  d["resources"]["memory"] = true;
  EXPECT_EQ(ErrorOf(d), "spec: /resources/memory: must be a size like \"256M\", got true");
}

TEST(SpecJson, UnknownKeyAtEveryLevelNamesItsPath) {
  for (const char* obj : {"", "/process", "/root", "/namespaces", "/resources", "/security", "/lifecycle",
                          "/output", "/mounts/0", "/devices/0", "/root/chroot_env/0"}) {
    json d = FullDoc();
    d[json::json_pointer(std::string(obj) + "/bogus_field")] = 1;
    std::string err = ErrorOf(d);
    EXPECT_TRUE(Has(err, std::string("spec: ") + obj + "/bogus_field: unknown field")) << err;
  }
  json d = FullDoc();
  d["resources"]["memroy"] = "1G";
  EXPECT_EQ(ErrorOf(d), "spec: /resources/memroy: unknown field; did you mean \"memory\"?");
  d = FullDoc();
  d["x~y/z"] = 1;
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /x~0y~1z: unknown field (known here: version, id, process,")) << ErrorOf(d);
}

TEST(SpecJson, SizesAcceptStringsAndByteCounts) {
  for (auto [in, bytes] : std::vector<std::pair<json, uint64_t>>{
           {"256M", 256u << 20}, {"1G", 1u << 30}, {"512k", 512u << 10}, {"64MiB", 64u << 20},
           {16777216, 16u << 20}, {"16777216", 16u << 20}, {"1T", 1ULL << 40}}) {
    json d = FullDoc();
    d["resources"]["memory"] = in;
    d["resources"]["memory_max"] = nullptr;
    auto s = Parse(d, {.validate = false});  // sizes below Validate()'s 4M minimum too
    ASSERT_TRUE(s) << in << ": " << s.error().str();
    EXPECT_EQ(*s->resources.memory, bytes) << in;
  }
  for (json bad : {json("12X"), json(-5), json(1.5), json("1.5G"), json(""), json::array()}) {
    json d = FullDoc();
    d["resources"]["memory"] = bad;
    EXPECT_TRUE(Has(ErrorOf(d), "spec: /resources/memory: must be a size like \"256M\", got")) << ErrorOf(d);
  }
  json d = FullDoc();
  d["resources"]["memory_max"] = "lots";
  EXPECT_EQ(ErrorOf(d), "spec: /resources/memory_max: must be a size like \"256M\", \"unlimited\" or null, got \"lots\"");
  // Range checks from Validate() come back with the JSON path.
  d = FullDoc();
  d["resources"]["memory"] = "1M";
  d["resources"]["memory_max"] = nullptr;
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /resources/memory: must be at least 4M")) << ErrorOf(d);
  d = FullDoc();
  d["resources"]["memory"] = nullptr;
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /resources/memory_max: needs --memory")) << ErrorOf(d);
}

TEST(SpecJson, DurationsAreStrings) {
  for (auto [in, ns] : std::vector<std::pair<std::string, std::chrono::nanoseconds>>{
           {"500ms", milliseconds(500)}, {"10s", seconds(10)}, {"1m30s", seconds(90)}, {"1.5s", milliseconds(1500)},
           {"2h", std::chrono::hours(2)}, {"0", seconds(0)}}) {
    json d = FullDoc();
    d["lifecycle"]["kill_timeout"] = in;
    auto s = Parse(d);
    ASSERT_TRUE(s) << in << ": " << s.error().str();
    EXPECT_EQ(s->lifecycle.kill_timeout, ns) << in;
  }
  json d = FullDoc();
  d["lifecycle"]["kill_timeout"] = 5;  // a bare JSON number is ambiguous: rejected
  EXPECT_EQ(ErrorOf(d),
            "spec: /lifecycle/kill_timeout: must be a duration like \"500ms\", \"10s\" or \"1m30s\", got 5");
  d = FullDoc();
  d["lifecycle"]["timeout"] = "0s";
  EXPECT_EQ(ErrorOf(d), "spec: /lifecycle/timeout: must be positive (null: no limit)");
  d = FullDoc();
  d["lifecycle"]["timeout"] = "soon";
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /lifecycle/timeout: must be a duration")) << ErrorOf(d);
  // Canonical form.
  d = FullDoc();
  d["lifecycle"]["kill_timeout"] = "90s";
  EXPECT_EQ(json::parse(SpecToJson(*Parse(d)))["lifecycle"]["kill_timeout"], "1m30s");
}

TEST(SpecJson, SignalsByNameOrNumber) {
  for (auto [in, sig] : std::vector<std::pair<json, int>>{
           {"SIGTERM", SIGTERM}, {"kill", SIGKILL}, {"HUP", SIGHUP}, {9, SIGKILL}, {"15", SIGTERM},
           {"SIGRTMIN+1", SIGRTMIN + 1}}) {
    json d = FullDoc();
    d["lifecycle"]["kill_signal"] = in;
    auto s = Parse(d);
    ASSERT_TRUE(s) << in << ": " << s.error().str();
    EXPECT_EQ(s->lifecycle.kill_signal, sig) << in;
  }
  for (json bad : {json("SIGFOO"), json(0), json(999), json(-1), json(true)}) {
    json d = FullDoc();
    d["lifecycle"]["kill_signal"] = bad;
    EXPECT_TRUE(Has(ErrorOf(d), "spec: /lifecycle/kill_signal: must be a signal like \"SIGTERM\" or a number"))
        << ErrorOf(d);
  }
  json d = FullDoc();
  d["lifecycle"]["kill_signal"] = 9;
  EXPECT_EQ(json::parse(SpecToJson(*Parse(d)))["lifecycle"]["kill_signal"], "SIGKILL");
}

TEST(SpecJson, EnumsAndPathsAreChecked) {
  struct Case {
    const char* path;
    json value;
    const char* message;
  };
  for (const auto& c : std::vector<Case>{
           {"/namespaces/pid", "shared", "spec: /namespaces/pid: must be \"private\" or \"host\", got \"shared\""},
           {"/namespaces/ipc", "Host", "spec: /namespaces/ipc: must be \"private\" or \"host\", got \"Host\""},
           {"/namespaces/net", "bridge", "spec: /namespaces/net: must be \"host\", \"none\" or an absolute netns path"},
           {"/mounts/0/propagation", "slave", "spec: /mounts/0/propagation: must be \"private\", \"rslave\" or \"rshared\""},
           {"/mounts/0/host", "srv", "spec: /mounts/0/host: must be an absolute path, got \"srv\""},
           {"/devices/0/permissions", "rwx", "spec: /devices/0/permissions: must be a non-empty subset of \"rwm\""},
           {"/process/workdir", "tmp", "spec: /process/workdir: must be an absolute path"},
           {"/process/oom_score_adj", 1001, "spec: /process/oom_score_adj: must be an integer from -1000 to 1000, got 1001"},
           {"/resources/cpu_shares", 1, "spec: /resources/cpu_shares: must be an integer from 2 to 262144 or null, got 1"},
           {"/resources/pids_max", 0, "spec: /resources/pids_max: must be an integer from 1 to 4194304 or null, got 0"},
           {"/resources/cpuset", "all", "spec: /resources/cpuset: must be a CPU list"},
           {"/id", ".hidden", "spec: /id: task id must not start with '.'"},
           {"/id", "a/b", "spec: /id: task id may contain only"},
           {"/security/seccomp", "", "spec: /security/seccomp: must not be empty"},
           {"/security/cap_add/0", "", "spec: /security/cap_add/0: must not be empty"},
           {"/process/env/FOO", 1, "spec: /process/env/FOO: must be a string"},
           {"/process/args/0", std::string("a\0b", 3), "spec: /process/args/0: must not contain a NUL byte"},
       }) {
    json d = FullDoc();
    d[json::json_pointer(c.path)] = c.value;
    EXPECT_TRUE(Has(ErrorOf(d), c.message)) << c.path << ": " << ErrorOf(d);
  }
  json d = FullDoc();
  d["process"]["env"] = {{"A=B", "x"}};
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /process/env/A=B: variable names")) << ErrorOf(d);
  d["process"]["env"] = json::array({"A=B"});  // only the object form
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /process/env: must be an object like {\"KEY\": \"VALUE\"}, got an array"));
}

TEST(SpecJson, RequiredElementFieldsAndDefaults) {
  json d = FullDoc();
  d["mounts"][0].erase("task");
  EXPECT_EQ(ErrorOf(d), "spec: /mounts/0/task: required field is missing");
  d = FullDoc();
  d["devices"] = json::array({{{"host", "/dev/fuse"}}});
  d["root"]["chroot_env"] = json::array({{{"host", "/opt"}}});
  d["mounts"] = json::array({{{"host", "/a"}, {"task", "/b"}}});
  auto s = Parse(d);
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->devices[0].task, "/dev/fuse");
  EXPECT_EQ(s->devices[0].perms, "rwm");
  EXPECT_EQ(s->root.chroot_env[0].task, "/opt");
  EXPECT_FALSE(s->mounts[0].readonly);
  EXPECT_EQ(s->mounts[0].propagation, Propagation::kPrivate);
}

TEST(SpecJson, DuplicateEnvKeysFromFlagsSerializeAsLastWins) {
  // `--env A=1 --env A=2`: JSON objects have one value per key; the later one is kept, at the
  // position of the first (SpecToJson is also the supervisor/state transport).
  TaskSpec s;
  s.process.argv = {"/bin/true"};
  s.process.env = {"A=1", "B=x", "A=2"};
  auto back = ParseSpecJson(SpecToJson(s));
  ASSERT_TRUE(back) << back.error().str();
  EXPECT_EQ(back->process.env, (std::vector<std::string>{"A=2", "B=x"}));
}

TEST(SpecJson, ChrootEnvNullIsTheDefaultSetAndEmptyListReplacesIt) {
  json d = FullDoc();
  d["root"]["chroot_env"] = nullptr;
  auto s = Parse(d);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->root.chroot_env_given);
  d["root"]["chroot_env"] = json::array();
  s = Parse(d);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->root.chroot_env_given);
  EXPECT_TRUE(s->root.chroot_env.empty());
  EXPECT_EQ(json::parse(SpecToJson(*s))["root"]["chroot_env"], json::array());
}

TEST(SpecJson, MinimalSpecTakesDefaults) {
  auto s = ParseSpecJson(R"({"version": 1, "process": {"args": ["/bin/true"]}})");
  ASSERT_TRUE(s) << s.error().str();
  TaskSpec d;
  d.process.argv = {"/bin/true"};
  EXPECT_EQ(SpecToJson(*s), SpecToJson(d));
}

TEST(SpecJson, VersionIsRequiredAndMustBeOne) {
  json d = FullDoc();
  d.erase("version");
  EXPECT_EQ(ErrorOf(d), "spec: /version: required field is missing");
  d["version"] = 2;
  EXPECT_EQ(ErrorOf(d), "spec: /version: unsupported spec version 2 (this isoexec reads version 1)");
  d["version"] = "1";
  EXPECT_EQ(ErrorOf(d), "spec: /version: must be the integer 1, got \"1\"");
  d["version"] = 1.0;
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /version: must be the integer 1")) << ErrorOf(d);
}

TEST(SpecJson, ValidationCanBeDeferredForFlagMerging) {
  const char* no_cmd = R"({"version": 1})";
  EXPECT_EQ(ParseSpecJson(no_cmd).error().str(), "spec: /process/args: no command given");
  auto s = ParseSpecJson(no_cmd, {.validate = false});
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_TRUE(s->process.argv.empty());
  // Per-field checks still run.
  EXPECT_FALSE(ParseSpecJson(R"({"version": 1, "resources": {"memory": true}})", {.validate = false}));
}

TEST(SpecJson, SyntaxErrorsAndDuplicates) {
  auto r = ParseSpecJson("{\"version\": 1,\n \"id\": }");
  ASSERT_FALSE(r);
  EXPECT_TRUE(Has(r.error().str(), "spec: invalid JSON: parse error at line 2")) << r.error().str();
  EXPECT_FALSE(Has(r.error().str(), "json.exception"));
  r = ParseSpecJson(R"({"version": 1, "process": {"args": ["/bin/true"], "env": {"A": "1", "A": "2"}}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().str(), "spec: /process/env/A: duplicate key");
  r = ParseSpecJson(R"({"version": 1, "mounts": [{"host": "/a", "task": "/b"}, {"host": "/a", "host": "/c", "task": "/d"}], "process": {"args": ["x"]}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().str(), "spec: /mounts/1/host: duplicate key");
  EXPECT_FALSE(ParseSpecJson(""));
  EXPECT_FALSE(ParseSpecJson("{\"version\": 1} trailing"));
}

TEST(SpecJson, OverlayFlagsCopiesOnlyGivenFlags) {
  auto file = Parse(FullDoc());
  ASSERT_TRUE(file);
  TaskSpec flags;
  flags.process.argv = {"/bin/true"};
  flags.resources.memory = 64u << 20;
  flags.process.env = {"X=1"};
  flags.namespaces.init = false;
  flags.process.workdir = "/";  // a flag default that must not clobber the file
  TaskSpec merged = *file;
  merged.process.workdir = "/srv";
  OverlayFlags(flags, [](std::string_view f) { return f == "--memory" || f == "--env" || f == "--no-init" || f == "COMMAND"; },
               &merged);
  EXPECT_EQ(merged.process.argv, flags.process.argv);
  EXPECT_EQ(*merged.resources.memory, 64u << 20);
  EXPECT_EQ(merged.process.env, (std::vector<std::string>{"X=1"}));
  EXPECT_FALSE(merged.namespaces.init);
  EXPECT_EQ(merged.process.workdir, "/srv");
  EXPECT_EQ(*merged.resources.memory_max, 512u << 20);
  EXPECT_EQ(FlagForPath("/resources/memory_max"), "--memory-max");
  EXPECT_EQ(FlagForPath("/version"), "");
}

TEST(SpecJson, DocsEmbedTheGeneratedFieldTable) {
  std::string here = __FILE__;  // <src>/tests/unit/spec_json_test.cc
  std::string doc_path = here.substr(0, here.rfind("/tests/unit/")) + "/docs/spec.md";
  std::ifstream in(doc_path);
  if (!in) GTEST_SKIP() << "no " << doc_path;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  EXPECT_TRUE(Has(doc, ExplainMarkdown()))
      << "docs/spec.md is stale: regenerate its field table with `isoexec spec --explain --markdown`";
  // Every ```json example in the doc is a valid spec.
  int examples = 0;
  for (size_t at = doc.find("```json\n"); at != std::string::npos; at = doc.find("```json\n", at)) {
    at += 8;
    size_t end = doc.find("```", at);
    ASSERT_NE(end, std::string::npos);
    auto r = ParseSpecJson(doc.substr(at, end - at));
    EXPECT_TRUE(r) << "docs/spec.md example " << examples << ": " << (r ? "" : r.error().str());
    ++examples;
  }
  EXPECT_GE(examples, 3);
}

}  // namespace
}  // namespace isoexec::spec

namespace isoexec::spec {
namespace {

// Bad input (issue #9): checks that involve the whole list or a normalized path name the
// list's JSON pointer; per-value checks name the value's.
TEST(SpecJson, BadInputNamesTheJsonPointer) {
  struct Case {
    const char* path;
    json value;
    const char* message;
  };
  for (const auto& c : std::vector<Case>{
           {"/resources/cpuset", ",", "spec: /resources/cpuset: must be a CPU list like \"0-1,3\" (an empty element)"},
           {"/resources/cpuset", "1-0", "spec: /resources/cpuset: must be a CPU list like \"0-1,3\" (1-0 is a backwards range)"},
           {"/resources/cpuset", "0-", "spec: /resources/cpuset: must be a CPU list"},
           {"/namespaces/hostname", "a\nb", "spec: /namespaces/hostname: must be a host name"},
           {"/namespaces/hostname", "-web", "spec: /namespaces/hostname: must be a host name"},
           {"/namespaces/hostname", "a..b", "spec: /namespaces/hostname: must be a host name"},
           {"/process/workdir", "/../..", "spec: /process/workdir: \"/../..\" leaves the task root"},
           {"/mounts/0/task", "/../../etc", "spec: /mounts: \"/../../etc\" leaves the task root"},
           {"/mounts/0/task", "/proc", "spec: /mounts: cannot mount over \"/proc\""},
           {"/mounts/0/task", "/", "spec: /mounts: cannot mount over the task root"},
           {"/devices/0/task", "/dev/../../x", "spec: /devices: \"/dev/../../x\" leaves the task root"},
           {"/root/chroot_env/0/task", "/../usr", "spec: /root/chroot_env: \"/../usr\" leaves the task root"},
       }) {
    json d = FullDoc();
    d[json::json_pointer(c.path)] = c.value;
    EXPECT_TRUE(Has(ErrorOf(d), c.message)) << c.path << ": " << ErrorOf(d);
  }
  json d = FullDoc();
  d["mounts"].push_back({{"host", "/usr"}, {"task", "/data/"}});
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /mounts: \"/data/\" is given twice as a task path")) << ErrorOf(d);
  d = FullDoc();
  d["devices"].push_back({{"host", "/dev/zero"}, {"task", "/dev/null"}});
  EXPECT_TRUE(Has(ErrorOf(d), "spec: /devices: \"/dev/null\" is given twice")) << ErrorOf(d);
  // Fine values stay fine.
  d = FullDoc();
  d["resources"]["cpuset"] = "0-1,3";
  d["namespaces"]["hostname"] = "web-1.example";
  d["mounts"][0]["task"] = "/proc/x/../data";
  EXPECT_TRUE(Parse(d)) << ErrorOf(d);
}

}  // namespace
}  // namespace isoexec::spec
