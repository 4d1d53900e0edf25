#include "runtime/task_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "base/file.h"
#include "base/unique_fd.h"
#include "runtime/json_int.h"

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
  // system_clock counts ns in an int64 (years 1678..2261): a time outside it reads as unknown
  // instead of overflowing.
  constexpr time_t kMaxSecs = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  if (secs > kMaxSecs || secs < -kMaxSecs) return {};
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos)));
}

constexpr const char* kLogNames[2] = {"stdout", "stderr"};
constexpr char kReserveName[] = "state.reserve";

bool NoSpace(const Error& e) { return e.sys_errno() == ENOSPC || e.sys_errno() == EDQUOT; }

// WriteFileAtomic with a temporary name of its own: a supervisor and a verb marking the task
// lost (or two such verbs) may write at the same time.
Status WriteAtomicUnique(const std::string& path, const std::string& data) {
  static std::atomic<unsigned> counter{0};
  std::string tmp = fmt::format("{}.{}.{}.tmp", path, ::getpid(), counter++);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("open `{}`", tmp)));
  const auto fail = [&](int e, const char* what) {
    ::unlink(tmp.c_str());
    return Fail(Error::Errno(e, fmt::format("{} `{}`", what, tmp)));
  };
  std::string_view rest = data;
  while (!rest.empty()) {
    ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno, "write");
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return fail(errno, "fsync");
  if (::close(fd.release()) != 0) return fail(errno, "close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Fail(Error::Errno(e, fmt::format("rename `{}` to `{}`", tmp, path)));
  }
  return Ok();
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
    s.pid = IntValue<pid_t>(j, "pid", 0);
    s.exit_code = IntValue(j, "exit_code", -1);
    s.signal = IntValue(j, "signal", 0);
    s.oom_killed = j.value("oom_killed", false);
    s.timed_out = j.value("timed_out", false);
    if (j.contains("setup_error") && j["setup_error"].is_object()) {
      const auto& e = j["setup_error"];
      s.setup_error = SetupError{e.value("stage", ""), IntValue(e, "errno", 0), e.value("message", "")};
    }
    if (j.contains("started_at") && j["started_at"].is_string())
      s.started_at = ParseRfc3339(j["started_at"].get<std::string>());
    if (j.contains("finished_at") && j["finished_at"].is_string())
      s.finished_at = ParseRfc3339(j["finished_at"].get<std::string>());
    s.cpu_user_ns = IntValue(j, "cpu_user_ns", uint64_t{0});
    s.cpu_system_ns = IntValue(j, "cpu_system_ns", uint64_t{0});
    s.memory_peak_bytes = IntValue(j, "memory_peak_bytes", uint64_t{0});
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
  if (s.logs[0] || s.logs[1]) {
    json logs = json::object();
    for (int i = 0; i < 2; ++i) {
      if (!s.logs[i]) continue;
      logs[kLogNames[i]] = {{"dropped_bytes", s.logs[i]->dropped_bytes},
                            {"failing", s.logs[i]->failing},
                            {"error", s.logs[i]->error}};
    }
    j["logs"] = logs;
  } else {
    j["logs"] = nullptr;
  }
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
    s.version = IntValue(j, "version", 1);
    if (s.version != 1)
      return Fail(Error::Make(Code::kFailedPrecondition,
                              fmt::format("state file version {} is not supported", s.version)));
    s.id = j.value("id", "");
    s.status = StatusFromName(j.value("state", "created"));
    s.pid = IntValue<pid_t>(j, "pid", 0);
    s.supervisor_pid = IntValue<pid_t>(j, "supervisor_pid", 0);
    s.supervisor_start = IntValue(j, "supervisor_start", uint64_t{0});
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
    if (j.contains("logs") && j["logs"].is_object()) {
      for (int i = 0; i < 2; ++i) {
        if (!j["logs"].contains(kLogNames[i])) continue;
        const json& l = j["logs"][kLogNames[i]];
        s.logs[i] = LogHealth{IntValue(l, "dropped_bytes", uint64_t{0}), l.value("failing", false),
                              l.value("error", "")};
      }
    }
    if (j.contains("spec") && !j["spec"].is_null()) s.spec_json = j["spec"].dump();
    return s;
  } catch (const std::exception& e) {
    return Fail(Error::Make(Code::kInvalidArgument, fmt::format("state file: {}", e.what())));
  }
}

Status WriteTaskState(const std::string& task_dir, const TaskState& s, bool use_reserve) {
  const std::string path = task_dir + "/state.json";
  const std::string text = TaskStateJson(s);
  Status st = WriteAtomicUnique(path, text);
  if (st || !use_reserve || !NoSpace(st.error())) return st;
  // The file system is full (usually of logs): the reserve makes room for this write.
  const std::string reserve = task_dir + "/" + kReserveName;
  if (::unlink(reserve.c_str()) != 0) return st;
  Status again = WriteAtomicUnique(path, text);
  if (!again) return again;
  (void)ReserveStateSpace(task_dir, s);  // for the next one, if there is room again
  return again;
}

Status ReserveStateSpace(const std::string& task_dir, const TaskState& s) {
  // Room for the temporary copy of a state file somewhat larger than this one (the exit
  // object and warnings come later), in whole pages.
  const uint64_t want = (2 * TaskStateJson(s).size() + 4096 + 4095) / 4096 * 4096;
  const std::string path = task_dir + "/" + kReserveName;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("open `{}`", path)));
  // glibc emulates it by writing where the file system has no fallocate.
  int rc = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(want));
  if (rc != 0) {
    ::unlink(path.c_str());
    return Fail(Error::Errno(rc, fmt::format("reserve {} bytes in `{}`", want, path)));
  }
  return Ok();
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
