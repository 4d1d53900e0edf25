#include <gtest/gtest.h>

#include <csignal>

#include "runtime/control.h"

namespace isoexec::runtime::control {
namespace {

TEST(ControlRequest, DecodesEveryOpAndItsFields) {
  auto stop = DecodeRequest(R"({"v":1,"op":"stop","signal":2,"grace_ns":5000000000})");
  ASSERT_TRUE(stop) << stop.error().str();
  EXPECT_EQ(stop->op, "stop");
  EXPECT_EQ(stop->signal, 2);
  EXPECT_EQ(stop->grace_ns, 5000000000);

  auto update = DecodeRequest(
      R"({"v":1,"op":"update","resources":{"memory":268435456,"memory_max":"unlimited","pids_max":64}})");
  ASSERT_TRUE(update) << update.error().str();
  EXPECT_EQ(update->resources.memory, 268435456u);
  EXPECT_TRUE(update->resources.memory_max_unlimited);
  EXPECT_FALSE(update->resources.memory_max);
  EXPECT_EQ(update->resources.pids_max, 64);
  EXPECT_FALSE(update->resources.cpu_shares);

  auto stats = DecodeRequest(R"({"v":1,"op":"stats","stream":false})");
  ASSERT_TRUE(stats);
  EXPECT_FALSE(stats->stream);
  EXPECT_EQ(stats->interval_ns, 0);
  for (const char* op : {"state", "wait", "ps", "pidfd"})
    EXPECT_TRUE(DecodeRequest(std::string(R"({"v":1,"op":")") + op + "\"}")) << op;
}

TEST(ControlRequest, RefusesWhatIsOutOfTypeOrRange) {
  struct Case {
    const char* line;
    const char* message;  // part of the answer the client gets
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[1]", "protocol version"},
      {R"({"op":"state"})", "protocol version"},
      {R"({"v":2,"op":"state"})", "protocol version"},
      {R"({"v":1e300,"op":"state"})", "protocol version"},
      {R"({"v":1,"op":"reboot"})", "unknown operation \"reboot\""},
      {R"({"v":1})", "unknown operation \"\""},
      {R"({"v":1,"op":"signal","signal":0})", "unknown signal 0"},
      {R"({"v":1,"op":"signal","signal":65})", "unknown signal 65"},
      {R"({"v":1,"op":"signal","signal":1e300})", "signal: expected an integer"},
      {R"({"v":1,"op":"signal","signal":"TERM"})", "signal: expected an integer"},
      {R"({"v":1,"op":"stop","grace_ns":1.5})", "grace_ns: expected an integer"},
      {R"({"v":1,"op":"stats","interval_ns":-1e300})", "interval_ns: expected an integer"},
      {R"({"v":1,"op":"update"})", "bad request"},
      {R"({"v":1,"op":"update","resources":[]})", "resources: expected an object"},
      {R"({"v":1,"op":"update","resources":{"memory":-5}})", "memory: expected an integer"},
      {R"({"v":1,"op":"update","resources":{"memory_max":"lots"}})", "memory_max: expected"},
      {R"({"v":1,"op":"update","resources":{"cpuset":7}})", "bad request"},
  };
  for (const auto& c : cases) {
    auto r = DecodeRequest(c.line);
    ASSERT_FALSE(r) << c.line;
    EXPECT_NE(r.error().message().find(c.message), std::string::npos)
        << c.line << " -> " << r.error().message();
  }
}

}  // namespace
}  // namespace isoexec::runtime::control
