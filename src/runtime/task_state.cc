#include "runtime/task_state.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <sstream>

#include "base/file.h"

namespace isoexec::runtime {

using nlohmann::json;

const char* StatusName(TaskStatus s) {
  switch (s) {
    case TaskStatus::kCreated: return "created";
    case TaskStatus::kRunning: return "running";
    case TaskStatus::kExited: return "exited";
    case TaskStatus::kLost: return "lost";
  }
  return "unknown";
}

namespace {

TaskStatus StatusFromName(const std::string& n) {
  if (n == "running") return TaskStatus::kRunning;
  if (n == "exited") return TaskStatus::kExited;
  if (n == "lost") return TaskStatus::kLost;
  return TaskStatus::kCreated;
}

std::chrono::system_clock::time_point ParseRfc3339(const std::string& s) {
  struct tm tm {};
  long nanos = 0;
  if (s.size() < 20) return {};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return {};
  auto dot = s.find('.');
  if (dot != std::string::npos) {
    std::string frac = s.substr(dot + 1, 9);
    while (!frac.empty() && (frac.back() < '0' || frac.back() > '9')) frac.pop_back();
    while (frac.size() < 9) frac += '0';
    nanos = std::stol(frac);
  }
  time_t secs = timegm(&tm);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos)));
}

}  // namespace

std::string ExitStateJsonObject(const std::string& id, const ExitState& s) {
  std::string out = StatusJson(id, s);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Result<ExitState> ParseExitState(const std::string& text) {
  try {
    json j = json::parse(text);
    ExitState s;
    s.pid = j.value("pid", 0);
    s.exit_code = j.value("exit_code", -1);
    s.signal = j.value("signal", 0);
    s.oom_killed = j.value("oom_killed", false);
    s.timed_out = j.value("timed_out", false);
    if (j.contains("setup_error") && j["setup_error"].is_object()) {
      const auto& e = j["setup_error"];
      s.setup_error = SetupError{e.value("stage", ""), e.value("errno", 0), e.value("message", "")};
    }
    if (j.contains("started_at") && j["started_at"].is_string())
      s.started_at = ParseRfc3339(j["started_at"].get<std::string>());
    if (j.contains("finished_at") && j["finished_at"].is_string())
      s.finished_at = ParseRfc3339(j["finished_at"].get<std::string>());
    s.cpu_user_ns = j.value("cpu_user_ns", uint64_t{0});
    s.cpu_system_ns = j.value("cpu_system_ns", uint64_t{0});
    s.memory_peak_bytes = j.value("memory_peak_bytes", uint64_t{0});
    return s;
  } catch (const std::exception& e) {
    return Fail(Error::Make(Code::kInvalidArgument, fmt::format("exit state: {}", e.what())));
  }
}

std::string TaskStateJson(const TaskState& s) {
  json j;
  j["version"] = s.version;
  j["id"] = s.id;
  j["state"] = StatusName(s.status);
  j["pid"] = s.pid;
  j["supervisor_pid"] = s.supervisor_pid;
  j["supervisor_start"] = s.supervisor_start;
  j["cgroup"] = s.cgroup;
  j["cgroup_parent"] = s.cgroup_parent;
  j["detached"] = s.detached;
  j["remove_on_exit"] = s.remove_on_exit;
  j["command"] = s.command;
  j["created_at"] = s.created_at;
  if (s.exit) j["exit"] = json::parse(ExitStateJsonObject(s.id, *s.exit));
  else j["exit"] = nullptr;
  j["lost_reason"] = s.lost_reason;
  j["warnings"] = s.warnings;
  if (!s.spec_json.empty()) {
    try {
      j["spec"] = json::parse(s.spec_json);
    } catch (...) {
      j["spec"] = nullptr;
    }
  } else {
    j["spec"] = nullptr;
  }
  return j.dump(2) + "\n";
}

Result<TaskState> ParseTaskState(const std::string& text) {
  try {
    json j = json::parse(text);
    TaskState s;
    s.version = j.value("version", 1);
    if (s.version != 1)
      return Fail(Error::Make(Code::kFailedPrecondition,
                              fmt::format("state file version {} is not supported", s.version)));
    s.id = j.value("id", "");
    s.status = StatusFromName(j.value("state", "created"));
    s.pid = j.value("pid", 0);
    s.supervisor_pid = j.value("supervisor_pid", 0);
    s.supervisor_start = j.value("supervisor_start", uint64_t{0});
    s.cgroup = j.value("cgroup", "");
    s.cgroup_parent = j.value("cgroup_parent", "");
    s.detached = j.value("detached", false);
    s.remove_on_exit = j.value("remove_on_exit", false);
    if (j.contains("command")) s.command = j["command"].get<std::vector<std::string>>();
    s.created_at = j.value("created_at", "");
    if (j.contains("exit") && j["exit"].is_object()) {
      ISOEXEC_ASSIGN_OR_RETURN(auto e, ParseExitState(j["exit"].dump()));
      s.exit = e;
    }
    s.lost_reason = j.value("lost_reason", "");
    if (j.contains("warnings")) s.warnings = j["warnings"].get<std::vector<std::string>>();
    if (j.contains("spec") && !j["spec"].is_null()) s.spec_json = j["spec"].dump();
    return s;
  } catch (const std::exception& e) {
    return Fail(Error::Make(Code::kInvalidArgument, fmt::format("state file: {}", e.what())));
  }
}

Status WriteTaskState(const std::string& task_dir, const TaskState& s) {
  return WriteFileAtomic(task_dir + "/state.json", TaskStateJson(s), 0600);
}

Result<TaskState> ReadTaskState(const std::string& task_dir) {
  ISOEXEC_ASSIGN_OR_RETURN(std::string text, ReadFile(task_dir + "/state.json"));
  return ParseTaskState(text);
}

uint64_t ProcessStartTime(pid_t pid) {
  auto text = ReadFile(fmt::format("/proc/{}/stat", pid));
  if (!text) return 0;
  auto rp = text->rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(text->substr(rp + 2));
  std::string field;
  // A zombie (or dying) process is no supervisor any more, even before it is reaped.
  if (rp + 2 < text->size() && ((*text)[rp + 2] == 'Z' || (*text)[rp + 2] == 'X')) return 0;
  // Fields after the command: state(3) ... starttime(22).
  for (int i = 3; i <= 22; ++i) {
    if (!(in >> field)) return 0;
  }
  return std::stoull(field);
}

}  // namespace isoexec::runtime
