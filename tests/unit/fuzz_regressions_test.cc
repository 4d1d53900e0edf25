// Parser bugs found by the libFuzzer targets (fuzz/, scripts/fuzz.sh); each reproducer is also
// in the target's seed corpus (fuzz/corpus/<target>/regress_*).
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>

#include "base/parse.h"
#include "runtime/task_state.h"

namespace isoexec {
namespace {

// value_parse: "rtmax-N"/"rtmin+N" cast N to int before the range check, so a huge N wrapped
// around: "rtmax-21107374182" gave a signal above SIGRTMAX, "SIGRTMIN+4294967295" gave 33
// (SIGRTMIN-1, reserved by glibc); with N near INT_MAX the addition overflowed (UB).
TEST(FuzzRegression, RealtimeSignalOffsetsDoNotWrap) {
  for (const char* bad : {"rtmax-21107374182", "SIGRTMIN+4294967295", "SIGRTMAX-4294967296",
                          "rtmin+2147483647", "rtmax-18446744073709551615"}) {
    auto r = ParseSignal("--kill-signal", bad);
    EXPECT_FALSE(r) << bad << " -> " << *r;
  }
  const int span = SIGRTMAX - SIGRTMIN;
  EXPECT_EQ(*ParseSignal("--kill-signal", "SIGRTMIN+" + std::to_string(span)), SIGRTMAX);
  EXPECT_EQ(*ParseSignal("--kill-signal", "rtmax-" + std::to_string(span)), SIGRTMIN);
  EXPECT_FALSE(ParseSignal("--kill-signal", "SIGRTMIN+" + std::to_string(span + 1)));
  EXPECT_FALSE(ParseSignal("--kill-signal", "rtmax-" + std::to_string(span + 1)));
}

// control: an exit state (control protocol, status file, state.json) with a time after 2262
// overflowed the int64 nanosecond count (UB); it now reads as unknown, like an unparsable time.
TEST(FuzzRegression, ExitStateTimeOutsideInt64NanosIsUnknown) {
  auto e = runtime::ParseExitState(
      R"({"pid":1,"exit_code":0,"started_at":"4585-11-30T18:33:17.123456789Z",)"
      R"("finished_at":"2026-11-30T18:35:01Z"})");
  ASSERT_TRUE(e) << e.error().str();
  EXPECT_EQ(e->started_at, std::chrono::system_clock::time_point{});
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(e->finished_at.time_since_epoch()).count(),
            1796063701);
}

// control: integer fields of state.json / exit states were read with nlohmann's value(),
// whose float-to-integer conversion is undefined out of range ("supervisor_start": 1.4e117).
// Such a value, and an integer out of the field's range, is now an error.
TEST(FuzzRegression, StateIntegerFieldsOutOfRangeAreErrors) {
  EXPECT_FALSE(runtime::ParseTaskState(R"({"version":1,"id":"web","supervisor_start":1.44e117})"));
  EXPECT_FALSE(runtime::ParseTaskState(R"({"version":1,"id":"web","pid":4294967296})"));
  EXPECT_FALSE(runtime::ParseTaskState(R"({"version":1e300})"));
  EXPECT_FALSE(runtime::ParseExitState(R"({"pid":1,"exit_code":-1e300})"));
  EXPECT_FALSE(runtime::ParseExitState(R"({"memory_peak_bytes":-1})"));
  EXPECT_FALSE(runtime::ParseExitState(R"({"setup_error":{"stage":"x","errno":1e19}})"));
  auto s = runtime::ParseTaskState(
      R"({"version":1,"id":"web","pid":-1,"supervisor_pid":2147483647,"supervisor_start":18446744073709551615})");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->pid, -1);
  EXPECT_EQ(s->supervisor_pid, 2147483647);
  EXPECT_EQ(s->supervisor_start, 18446744073709551615u);
  auto e = runtime::ParseExitState(R"({"pid":7,"exit_code":137,"signal":9,"cpu_user_ns":5})");
  ASSERT_TRUE(e) << e.error().str();
  EXPECT_EQ(e->exit_code, 137);
  EXPECT_EQ(e->signal, 9);
  EXPECT_EQ(e->cpu_user_ns, 5u);
}

}  // namespace
}  // namespace isoexec
