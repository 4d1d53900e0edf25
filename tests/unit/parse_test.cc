#include "base/parse.h"

#include <gtest/gtest.h>

#include <csignal>

namespace isoexec {
namespace {

TEST(ParseSize, AcceptsSuffixesBase1024) {
  EXPECT_EQ(*ParseSize("--memory", "256M"), 268435456u);
  EXPECT_EQ(*ParseSize("--memory", "1G"), 1073741824u);
  EXPECT_EQ(*ParseSize("--memory", "512k"), 524288u);
  EXPECT_EQ(*ParseSize("--memory", "256MiB"), 268435456u);
  EXPECT_EQ(*ParseSize("--memory", "2MB"), 2097152u);
  EXPECT_EQ(*ParseSize("--memory", "1024"), 1024u);
  EXPECT_EQ(*ParseSize("--memory", "1T"), 1099511627776u);
}

TEST(ParseSize, RejectsGarbageNamingTheField) {
  for (const char* bad : {"", "M", "-1", "12X", "1.5G", "abc", "99999999999999999999",
                          "17179869184G"}) {
    auto r = ParseSize("--memory", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field(), "--memory");
    EXPECT_NE(r.error().str().find("--memory"), std::string::npos);
  }
}

TEST(ParseDuration, GoAndSystemdStyles) {
  using std::chrono::nanoseconds;
  EXPECT_EQ(*ParseDuration("t", "500ms"), nanoseconds(500'000'000));
  EXPECT_EQ(*ParseDuration("t", "10s"), nanoseconds(10'000'000'000));
  EXPECT_EQ(*ParseDuration("t", "1m30s"), nanoseconds(90'000'000'000));
  EXPECT_EQ(*ParseDuration("t", "1.5s"), nanoseconds(1'500'000'000));
  EXPECT_EQ(*ParseDuration("t", "2h"), nanoseconds(7'200'000'000'000));
  EXPECT_EQ(*ParseDuration("t", "7"), nanoseconds(7'000'000'000));
  EXPECT_EQ(*ParseDuration("t", "0"), nanoseconds(0));
  EXPECT_EQ(*ParseDuration("t", "100us"), nanoseconds(100'000));
  for (const char* bad : {"", "s", "10x", "-1s", "1..2s", "ms5", "."})
    EXPECT_FALSE(ParseDuration("t", bad)) << bad;
}

TEST(ParseInt, Range) {
  EXPECT_EQ(*ParseInt("n", "42", 0, 100), 42);
  EXPECT_EQ(*ParseInt("n", "-5", -10, 10), -5);
  EXPECT_FALSE(ParseInt("n", "101", 0, 100));
  EXPECT_FALSE(ParseInt("n", "", 0, 100));
  EXPECT_FALSE(ParseInt("n", "4x", 0, 100));
  EXPECT_FALSE(ParseInt("n", "99999999999999999999999", 0, 100));
}

TEST(ParseSignal, NamesAndNumbers) {
  EXPECT_EQ(*ParseSignal("s", "SIGTERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("s", "term"), SIGTERM);
  EXPECT_EQ(*ParseSignal("s", "Kill"), SIGKILL);
  EXPECT_EQ(*ParseSignal("s", "9"), SIGKILL);
  EXPECT_EQ(*ParseSignal("s", "SIGRTMIN+2"), SIGRTMIN + 2);
  EXPECT_FALSE(ParseSignal("s", "SIGFOO"));
  EXPECT_FALSE(ParseSignal("s", "0"));
  EXPECT_FALSE(ParseSignal("s", "65"));
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
}

}  // namespace
}  // namespace isoexec
