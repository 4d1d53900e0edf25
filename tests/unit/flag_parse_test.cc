// The compact flag syntaxes and whole-spec validation (spec/flag_parse.h): bad input is refused
// with an error naming the flag.
#include "spec/flag_parse.h"

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

namespace isoexec::spec {
namespace {

bool Has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

TaskSpec Minimal() {
  TaskSpec s;
  s.process.argv = {"/bin/true"};
  return s;
}

std::string ErrorOf(const TaskSpec& s) {
  auto r = Validate(s);
  return r ? "(valid)" : r.error().str();
}

TEST(FlagParse, BindOptionsMayNotConflict) {
  EXPECT_TRUE(ParseBind("/a:/b:ro,rshared"));
  EXPECT_TRUE(ParseBind("/a:/b:rw"));
  for (const char* bad : {"/a:/b:ro,rw", "/a:/b:rw,ro", "/a:/b:ro,ro", "/a:/b:private,rslave", "/a:/b:rshared,shared"}) {
    auto r = ParseBind(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field(), "--bind");
    EXPECT_TRUE(Has(r.error().str(), "conflict")) << r.error().str();
  }
  for (const char* bad : {"", "/a", "/a:/b:ro:x", "rel:/b", "/a:rel", "/a:/b:", "/a:/b:ro,", "/a:/b:bogus"})
    EXPECT_FALSE(ParseBind(bad)) << bad;
}

TEST(FlagParse, CpuLists) {
  auto r = ParseCpuList("--cpuset", "0-2,5");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<bool>{true, true, true, false, false, true}));
  EXPECT_TRUE(ParseCpuList("--cpuset", "3"));
  EXPECT_TRUE(ParseCpuList("--cpuset", "1-1"));
  for (const char* bad : {"", ",", "0,", ",0", "0,,1", "1-0", "0-", "-1", "a", "0 1", "0-1:2", "1--2",
                          "65536", "99999999999999999999", "0-99999999999"}) {
    auto e = ParseCpuList("--cpuset", bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().field(), "--cpuset");
  }
}

TEST(FlagParse, Hostnames) {
  for (const char* ok : {"a", "web-1", "a.b.c", "x_y", "A1"}) EXPECT_TRUE(ValidateHostname("--hostname", ok)) << ok;
  for (const std::string& bad : std::vector<std::string>{std::string(), std::string(65, 'x'), std::string("a b"), std::string("a/b"),
                                std::string("-a"), std::string("a-"), std::string("a..b"), std::string(".a"),
                                std::string("a."), std::string("a\nb"), std::string("a\0b", 3), std::string("h\xc3\xa9"),
                                std::string(64, 'x')}) {
    auto r = ValidateHostname("--hostname", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field(), "--hostname");
  }
}

TEST(FlagParse, TaskPathsAreNormalizedAndStayInTheRoot) {
  EXPECT_EQ(*NormalizeTaskPath("f", "/"), "/");
  EXPECT_EQ(*NormalizeTaskPath("f", "/a/./b//"), "/a/b");
  EXPECT_EQ(*NormalizeTaskPath("f", "/a/../b"), "/b");
  EXPECT_EQ(*NormalizeTaskPath("f", "/a/.."), "/");
  for (const std::string& bad : std::vector<std::string>{std::string(), std::string("rel"), std::string("./x"), std::string("/.."),
                                std::string("/a/../../b"), std::string("/a\0b", 4)}) {
    auto r = NormalizeTaskPath("--workdir", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field(), "--workdir");
  }
}

TEST(FlagParse, ValidateChecksPathsTargetsAndRanges) {
  EXPECT_EQ(ErrorOf(Minimal()), "(valid)");
  struct Case {
    void (*mutate)(TaskSpec&);
    const char* field;
  };
  const std::vector<Case> cases = {
      {[](TaskSpec& s) { s.process.workdir = "/../.."; }, "--workdir"},
      {[](TaskSpec& s) { s.namespaces.hostname = "a\nb"; }, "--hostname"},
      {[](TaskSpec& s) { s.namespaces.hostname = "-a"; }, "--hostname"},
      {[](TaskSpec& s) { s.resources.cpuset = ","; }, "--cpuset"},
      {[](TaskSpec& s) { s.resources.cpuset = "1-0"; }, "--cpuset"},
      {[](TaskSpec& s) { s.lifecycle.kill_signal = 0; }, "--kill-signal"},
      {[](TaskSpec& s) { s.lifecycle.kill_signal = SIGRTMAX + 1; }, "--kill-signal"},
      {[](TaskSpec& s) { s.mounts = {{"/a", "/x"}, {"/b", "/x/"}}; }, "--bind"},
      {[](TaskSpec& s) { s.mounts = {{"/a", "/x/../y"}, {"/b", "/y"}}; }, "--bind"},
      {[](TaskSpec& s) { s.mounts = {{"/a", "/../../etc"}}; }, "--bind"},
      {[](TaskSpec& s) { s.mounts = {{"/a", "/."}}; }, "--bind"},
      {[](TaskSpec& s) { s.mounts = {{"/a", "/proc"}}; }, "--bind"},
      {[](TaskSpec& s) { s.mounts = {{"/a", "/sys/"}}; }, "--bind"},
      {[](TaskSpec& s) { s.mounts = {{"/a", "/dev"}}; }, "--bind"},
      {[](TaskSpec& s) { s.devices = {{"/dev/null", "/dev/x"}, {"/dev/zero", "/dev/x"}}; }, "--device"},
      {[](TaskSpec& s) { s.devices = {{"/dev/null", "/dev/../../x"}}; }, "--device"},
      {[](TaskSpec& s) { s.devices = {{"rel", ""}}; }, "--device"},
      {[](TaskSpec& s) { s.root.chroot_env = {{"/usr", "/x"}, {"/bin", "/x"}}; }, "--chroot-env"},
      {[](TaskSpec& s) { s.root.chroot_env = {{"/usr", "/../x"}}; }, "--chroot-env"},
      {[](TaskSpec& s) { s.root.chroot_env = {{"rel", ""}}; }, "--chroot-env"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    TaskSpec s = Minimal();
    cases[i].mutate(s);
    auto r = Validate(s);
    ASSERT_FALSE(r) << "case " << i;
    EXPECT_EQ(r.error().field(), cases[i].field) << "case " << i << ": " << r.error().str();
  }
  // Below the kernel file systems, and nested targets, are fine.
  TaskSpec s = Minimal();
  s.mounts = {{"/a", "/proc/x"}, {"/b", "/dev/fuse"}, {"/c", "/x"}, {"/d", "/x/y"}};
  s.devices = {{"/dev/null", ""}, {"/dev/zero", "/dev/z"}};
  s.root.chroot_env = {{"/usr", ""}, {"/dev", ""}};
  EXPECT_EQ(ErrorOf(s), "(valid)");
}

}  // namespace
}  // namespace isoexec::spec
