// stats::SampleJson / ParseSampleJson: cli.md's schema, one line, exact round trip.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stats/sample.h"

namespace isoexec::stats {
namespace {

Sample Full() {
  Sample s;
  s.id = "web";
  s.timestamp_ns = 1'764'500'000'123'456'789;
  s.memory = {.rss_bytes = 1,
              .cache_bytes = 2,
              .swap_bytes = 3,
              .mapped_file_bytes = 4,
              .usage_bytes = 5,
              .max_usage_bytes = 6,
              .kernel_usage_bytes = 7,
              .kernel_max_usage_bytes = 8,
              .limit_bytes = 18446744073709551615ull,
              .measured = {"rss", "cache", "max_usage_observed"}};
  s.cpu = {.percent = 99.839,
           .user_percent = 66.667,
           .system_percent = 33.172,
           .user_ns = 123456789012,
           .system_ns = 42,
           .throttled_periods = 3,
           .throttled_ns = 4,
           .total_ticks = 2591.954,
           .measured = {"percent", "total_ticks"}};
  s.pids[1234] = {.rss_bytes = 4096,
                  .swap_bytes = 0,
                  .cpu_percent = 0.001,
                  .user_percent = 0,
                  .system_percent = 0.001};
  s.pids[7] = {.rss_bytes = 1,
               .swap_bytes = 2,
               .cpu_percent = 100,
               .user_percent = 50,
               .system_percent = 50};
  return s;
}

TEST(StatsJson, MatchesTheSchema) {
  std::string line = SampleJson(Full());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["id"], "web");
  EXPECT_EQ(j["timestamp_ns"].get<int64_t>(), 1'764'500'000'123'456'789);
  for (const char* k : {"rss_bytes", "cache_bytes", "swap_bytes", "mapped_file_bytes",
                        "usage_bytes", "max_usage_bytes", "kernel_usage_bytes",
                        "kernel_max_usage_bytes", "limit_bytes", "measured"})
    EXPECT_TRUE(j["memory"].contains(k)) << k;
  EXPECT_EQ(j["memory"].size(), 10u);
  for (const char* k : {"percent", "user_percent", "system_percent", "user_ns", "system_ns",
                        "throttled_periods", "throttled_ns", "total_ticks", "measured"})
    EXPECT_TRUE(j["cpu"].contains(k)) << k;
  EXPECT_EQ(j["cpu"].size(), 9u);
  ASSERT_TRUE(j["pids"].contains("1234"));
  for (const char* k : {"rss_bytes", "swap_bytes", "cpu_percent", "user_percent", "system_percent"})
    EXPECT_TRUE(j["pids"]["1234"].contains(k)) << k;
  EXPECT_EQ(j["memory"]["limit_bytes"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(j["cpu"]["percent"].get<double>(), 99.839);
  EXPECT_EQ(j["memory"]["measured"], nlohmann::json({"rss", "cache", "max_usage_observed"}));
  // The schema's order, and short numbers.
  EXPECT_EQ(
      line.rfind(R"({"id":"web","timestamp_ns":1764500000123456789,"memory":{"rss_bytes":1,)", 0),
      0u)
      << line;
  EXPECT_NE(line.find(R"("percent":99.839,)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("pids":{"7":{)"), std::string::npos) << line;  // numeric order
}

TEST(StatsJson, RoundTripsExactly) {
  Sample s = Full();
  auto back = ParseSampleJson(SampleJson(s));
  ASSERT_TRUE(back) << back.error().str();
  EXPECT_EQ(*back, s);
  Sample empty;
  auto e = ParseSampleJson(SampleJson(empty));
  ASSERT_TRUE(e) << e.error().str();
  EXPECT_EQ(*e, empty);
  EXPECT_NE(SampleJson(empty).find(R"("pids":{})"), std::string::npos);
}

TEST(StatsJson, MissingNumbersAreZeroAndUnknownKeysIgnored) {
  auto s = ParseSampleJson(
      R"({"id":"a","timestamp_ns":5,"memory":{"rss_bytes":3,"future":true},"cpu":{},)"
      R"("pids":{"9":{}},"extra":[1,2]})");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->memory.rss_bytes, 3u);
  EXPECT_EQ(s->memory.cache_bytes, 0u);
  EXPECT_TRUE(s->memory.measured.empty());
  EXPECT_EQ(s->pids.count(9), 1u);
}

TEST(StatsJson, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {"not json", "(document)"},
      {"[1]", "(document)"},
      {R"({"timestamp_ns":1,"memory":{},"cpu":{},"pids":{}})", "id"},
      {R"({"id":1,"timestamp_ns":1,"memory":{},"cpu":{},"pids":{}})", "id"},
      {R"({"id":"a","memory":{},"cpu":{},"pids":{}})", "timestamp_ns"},
      {R"({"id":"a","timestamp_ns":1.5,"memory":{},"cpu":{},"pids":{}})", "timestamp_ns"},
      {R"({"id":"a","timestamp_ns":1,"cpu":{},"pids":{}})", "memory"},
      {R"({"id":"a","timestamp_ns":1,"memory":{"rss_bytes":-1},"cpu":{},"pids":{}})",
       "memory.rss_bytes"},
      {R"({"id":"a","timestamp_ns":1,"memory":{"usage_bytes":"1"},"cpu":{},"pids":{}})",
       "memory.usage_bytes"},
      {R"({"id":"a","timestamp_ns":1,"memory":{"measured":[1]},"cpu":{},"pids":{}})",
       "memory.measured"},
      {R"({"id":"a","timestamp_ns":1,"memory":{},"cpu":{"percent":"x"},"pids":{}})", "cpu.percent"},
      {R"({"id":"a","timestamp_ns":1,"memory":{},"cpu":{},"pids":[]})", "pids"},
      {R"({"id":"a","timestamp_ns":1,"memory":{},"cpu":{},"pids":{"x1":{}}})", "pids.x1"},
      {R"({"id":"a","timestamp_ns":1,"memory":{},"cpu":{},"pids":{"-3":{}}})", "pids.-3"},
      {R"({"id":"a","timestamp_ns":1,"memory":{},"cpu":{},"pids":{"5":{"rss_bytes":1.5}}})",
       "pids.5.rss_bytes"},
  };
  for (const auto& c : cases) {
    auto r = ParseSampleJson(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    EXPECT_NE(r.error().message().find(std::string("stats sample: ") + c.field + ":"),
              std::string::npos)
        << c.json << " -> " << r.error().message();
  }
}

TEST(StatsJson, InvalidUtf8IdDoesNotThrow) {
  Sample s;
  s.id = "bad\xff";
  std::string line;
  EXPECT_NO_THROW(line = SampleJson(s));
  EXPECT_TRUE(ParseSampleJson(line));
}

}  // namespace
}  // namespace isoexec::stats
