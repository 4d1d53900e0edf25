#include "runtime/exit_state.h"

#include <sys/wait.h>

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace isoexec::runtime {

void ApplyWaitStatus(int status, ExitState* s) {
  if (WIFEXITED(status)) {
    s->exit_code = WEXITSTATUS(status);
    s->signal = 0;
  } else if (WIFSIGNALED(status)) {
    s->signal = WTERMSIG(status);
    s->exit_code = kExitSignalBase + s->signal;
  }
}

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  if (t.time_since_epoch().count() == 0) return "";
  auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ns % 1'000'000'000);
}

std::string StatusJson(const std::string& id, const ExitState& s) {
  nlohmann::json j;
  j["id"] = id;
  j["pid"] = s.pid;
  j["exit_code"] = s.exit_code;
  j["signal"] = s.signal;
  j["oom_killed"] = s.oom_killed;
  j["timed_out"] = s.timed_out;
  if (s.setup_error) {
    j["setup_error"] = {{"stage", s.setup_error->stage},
                        {"errno", s.setup_error->err},
                        {"message", s.setup_error->message}};
  } else {
    j["setup_error"] = nullptr;
  }
  auto ts = [](auto t) -> nlohmann::json {
    auto s2 = Rfc3339(t);
    if (s2.empty()) return nullptr;
    return s2;
  };
  j["started_at"] = ts(s.started_at);
  j["finished_at"] = ts(s.finished_at);
  j["cpu_user_ns"] = s.cpu_user_ns;
  j["cpu_system_ns"] = s.cpu_system_ns;
  j["memory_peak_bytes"] = s.memory_peak_bytes;
  return j.dump() + "\n";
}

}  // namespace isoexec::runtime
