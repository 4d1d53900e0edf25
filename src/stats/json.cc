// SampleJson / ParseSampleJson: cli.md's "Stats sample" schema.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stats/sample.h"

namespace isoexec::stats {

namespace {

using OJson = nlohmann::ordered_json;
using Json = nlohmann::json;

// Percentages are finite by construction; never emit null for a bad one.
double Finite(double v) { return std::isfinite(v) ? v : 0.0; }

Error Bad(std::string_view path, std::string_view why) {
  return Error::Make(Code::kInvalidArgument, fmt::format("stats sample: {}: {}", path, why));
}

std::string Path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

// The object at `key` of `obj`; required.
Result<const Json*> Object(const Json& obj, std::string_view parent, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return Fail(Bad(Path(parent, key), "missing"));
  if (!it->is_object()) return Fail(Bad(Path(parent, key), "expected an object"));
  return &*it;
}

Status Uint(const Json& obj, std::string_view parent, const char* key, uint64_t& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Ok();
  if (it->is_number_unsigned()) {
    out = it->get<uint64_t>();
    return Ok();
  }
  // A whole non-negative float (another writer's formatting) is accepted too.
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (d >= 0 && d < 18446744073709551616.0 && std::floor(d) == d) {
      out = static_cast<uint64_t>(d);
      return Ok();
    }
  }
  return Fail(Bad(Path(parent, key), "expected an unsigned integer"));
}

Status Double(const Json& obj, std::string_view parent, const char* key, double& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Ok();
  if (!it->is_number()) return Fail(Bad(Path(parent, key), "expected a number"));
  out = it->get<double>();
  return Ok();
}

Status Names(const Json& obj, std::string_view parent, std::vector<std::string>& out) {
  auto it = obj.find("measured");
  if (it == obj.end()) return Ok();
  const std::string path = Path(parent, "measured");
  if (!it->is_array()) return Fail(Bad(path, "expected an array of strings"));
  for (const Json& v : *it) {
    if (!v.is_string()) return Fail(Bad(path, "expected an array of strings"));
    out.push_back(v.get<std::string>());
  }
  return Ok();
}

}  // namespace

bool Measured(const std::vector<std::string>& measured, std::string_view name) {
  return std::find(measured.begin(), measured.end(), name) != measured.end();
}

std::string SampleJson(const Sample& s) {
  const MemoryStats& m = s.memory;
  const CpuStats& c = s.cpu;
  OJson mem = {{"rss_bytes", m.rss_bytes},
               {"cache_bytes", m.cache_bytes},
               {"swap_bytes", m.swap_bytes},
               {"mapped_file_bytes", m.mapped_file_bytes},
               {"usage_bytes", m.usage_bytes},
               {"max_usage_bytes", m.max_usage_bytes},
               {"kernel_usage_bytes", m.kernel_usage_bytes},
               {"kernel_max_usage_bytes", m.kernel_max_usage_bytes},
               {"limit_bytes", m.limit_bytes},
               {"measured", m.measured}};
  OJson cpu = {{"percent", Finite(c.percent)},
               {"user_percent", Finite(c.user_percent)},
               {"system_percent", Finite(c.system_percent)},
               {"user_ns", c.user_ns},
               {"system_ns", c.system_ns},
               {"throttled_periods", c.throttled_periods},
               {"throttled_ns", c.throttled_ns},
               {"total_ticks", Finite(c.total_ticks)},
               {"measured", c.measured}};
  OJson pids = OJson::object();
  for (const auto& [pid, p] : s.pids) {
    pids[std::to_string(pid)] = {{"rss_bytes", p.rss_bytes},
                                 {"swap_bytes", p.swap_bytes},
                                 {"cpu_percent", Finite(p.cpu_percent)},
                                 {"user_percent", Finite(p.user_percent)},
                                 {"system_percent", Finite(p.system_percent)}};
  }
  OJson j = {{"id", s.id},
             {"timestamp_ns", s.timestamp_ns},
             {"memory", std::move(mem)},
             {"cpu", std::move(cpu)},
             {"pids", std::move(pids)}};
  // Invalid UTF-8 in an id must not throw: replace it.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<Sample> ParseSampleJson(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Fail(Bad("(document)", "not valid JSON"));
  if (!j.is_object()) return Fail(Bad("(document)", "expected an object"));
  Sample s;
  auto id = j.find("id");
  if (id == j.end()) return Fail(Bad("id", "missing"));
  if (!id->is_string()) return Fail(Bad("id", "expected a string"));
  s.id = id->get<std::string>();
  auto ts = j.find("timestamp_ns");
  if (ts == j.end()) return Fail(Bad("timestamp_ns", "missing"));
  if (!ts->is_number_integer()) return Fail(Bad("timestamp_ns", "expected an integer"));
  if (ts->is_number_unsigned() &&
      ts->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return Fail(Bad("timestamp_ns", "out of range"));
  s.timestamp_ns = ts->get<int64_t>();

  ISOEXEC_ASSIGN_OR_RETURN(const Json* mem, Object(j, "", "memory"));
  MemoryStats& m = s.memory;
  struct {
    const char* key;
    uint64_t MemoryStats::*field;
  } const mem_fields[] = {
      {"rss_bytes", &MemoryStats::rss_bytes},
      {"cache_bytes", &MemoryStats::cache_bytes},
      {"swap_bytes", &MemoryStats::swap_bytes},
      {"mapped_file_bytes", &MemoryStats::mapped_file_bytes},
      {"usage_bytes", &MemoryStats::usage_bytes},
      {"max_usage_bytes", &MemoryStats::max_usage_bytes},
      {"kernel_usage_bytes", &MemoryStats::kernel_usage_bytes},
      {"kernel_max_usage_bytes", &MemoryStats::kernel_max_usage_bytes},
      {"limit_bytes", &MemoryStats::limit_bytes},
  };
  for (const auto& f : mem_fields) ISOEXEC_TRY(Uint(*mem, "memory", f.key, m.*f.field));
  ISOEXEC_TRY(Names(*mem, "memory", m.measured));

  ISOEXEC_ASSIGN_OR_RETURN(const Json* cpu, Object(j, "", "cpu"));
  CpuStats& c = s.cpu;
  ISOEXEC_TRY(Double(*cpu, "cpu", "percent", c.percent));
  ISOEXEC_TRY(Double(*cpu, "cpu", "user_percent", c.user_percent));
  ISOEXEC_TRY(Double(*cpu, "cpu", "system_percent", c.system_percent));
  ISOEXEC_TRY(Uint(*cpu, "cpu", "user_ns", c.user_ns));
  ISOEXEC_TRY(Uint(*cpu, "cpu", "system_ns", c.system_ns));
  ISOEXEC_TRY(Uint(*cpu, "cpu", "throttled_periods", c.throttled_periods));
  ISOEXEC_TRY(Uint(*cpu, "cpu", "throttled_ns", c.throttled_ns));
  ISOEXEC_TRY(Double(*cpu, "cpu", "total_ticks", c.total_ticks));
  ISOEXEC_TRY(Names(*cpu, "cpu", c.measured));

  ISOEXEC_ASSIGN_OR_RETURN(const Json* pids, Object(j, "", "pids"));
  for (const auto& [key, value] : pids->items()) {
    const std::string path = Path("pids", key);
    int64_t pid = 0;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), pid);
    if (ec != std::errc() || end != key.data() + key.size() || pid <= 0 ||
        pid > std::numeric_limits<pid_t>::max())
      return Fail(Bad(path, "expected a pid (a positive decimal) as the key"));
    if (!value.is_object()) return Fail(Bad(path, "expected an object"));
    ProcessStats p;
    ISOEXEC_TRY(Uint(value, path, "rss_bytes", p.rss_bytes));
    ISOEXEC_TRY(Uint(value, path, "swap_bytes", p.swap_bytes));
    ISOEXEC_TRY(Double(value, path, "cpu_percent", p.cpu_percent));
    ISOEXEC_TRY(Double(value, path, "user_percent", p.user_percent));
    ISOEXEC_TRY(Double(value, path, "system_percent", p.system_percent));
    s.pids[static_cast<pid_t>(pid)] = p;
  }
  return s;
}

}  // namespace isoexec::stats
