#include "cgroup/parsers.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace isoexec::cgroup {

namespace {

std::optional<uint64_t> Get(const std::map<std::string, uint64_t, std::less<>>& m,
                            std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> GetFirst(const std::map<std::string, uint64_t, std::less<>>& m,
                                 std::string_view preferred, std::string_view fallback) {
  if (auto v = Get(m, preferred)) return v;
  return Get(m, fallback);
}

std::optional<uint64_t> UsecToNs(std::optional<uint64_t> usec) {
  if (!usec) return std::nullopt;
  if (*usec > std::numeric_limits<uint64_t>::max() / 1000)
    return std::numeric_limits<uint64_t>::max();
  return *usec * 1000;
}

}  // namespace

std::optional<uint64_t> ParseUint(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::map<std::string, uint64_t, std::less<>> ParseKeyedCounters(std::string_view text) {
  std::map<std::string, uint64_t, std::less<>> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0) continue;
    std::optional<uint64_t> v = ParseUint(line.substr(sp + 1));
    if (!v) continue;
    out.emplace(line.substr(0, sp), *v);
  }
  return out;
}

Result<std::vector<pid_t>> ParseProcs(std::string_view text, std::string_view path) {
  std::vector<pid_t> pids;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    std::optional<uint64_t> v = ParseUint(line);
    if (!v || *v == 0 || *v > static_cast<uint64_t>(std::numeric_limits<pid_t>::max()))
      return Fail(
          Error::Make(Code::kInternal, fmt::format("read `{}`: `{}` is not a pid", path, line)));
    pids.push_back(static_cast<pid_t>(*v));
  }
  return pids;
}

MemoryStatV1 ParseMemoryStatV1(std::string_view text) {
  auto m = ParseKeyedCounters(text);
  return {.rss = GetFirst(m, "total_rss", "rss"),
          .cache = GetFirst(m, "total_cache", "cache"),
          .swap = GetFirst(m, "total_swap", "swap"),
          .mapped_file = GetFirst(m, "total_mapped_file", "mapped_file")};
}

MemoryStatV2 ParseMemoryStatV2(std::string_view text) {
  auto m = ParseKeyedCounters(text);
  return {.anon = Get(m, "anon"), .file = Get(m, "file"), .file_mapped = Get(m, "file_mapped")};
}

CpuStat ParseCpuStat(std::string_view text) {
  auto m = ParseKeyedCounters(text);
  CpuStat s{.usage_ns = UsecToNs(Get(m, "usage_usec")),
            .user_ns = UsecToNs(Get(m, "user_usec")),
            .system_ns = UsecToNs(Get(m, "system_usec")),
            .nr_throttled = Get(m, "nr_throttled"),
            .throttled_ns = UsecToNs(Get(m, "throttled_usec"))};
  if (!s.throttled_ns) s.throttled_ns = Get(m, "throttled_time");
  return s;
}

CpuacctStat ParseCpuacctStat(std::string_view text) {
  auto m = ParseKeyedCounters(text);
  return {.user_ticks = Get(m, "user"), .system_ticks = Get(m, "system")};
}

uint64_t TicksToNs(uint64_t ticks, uint64_t hz) {
  if (hz == 0) return 0;
  constexpr uint64_t kNsPerSec = 1'000'000'000;
  return ticks / hz * kNsPerSec + ticks % hz * kNsPerSec / hz;
}

MemoryEvents ParseMemoryEvents(std::string_view text) {
  auto m = ParseKeyedCounters(text);
  return {.oom = Get(m, "oom"), .oom_kill = Get(m, "oom_kill")};
}

OomControl ParseOomControl(std::string_view text) {
  auto m = ParseKeyedCounters(text);
  return {.oom_kill_disable = Get(m, "oom_kill_disable"),
          .under_oom = Get(m, "under_oom"),
          .oom_kill = Get(m, "oom_kill")};
}

CgroupEvents ParseCgroupEvents(std::string_view text) {
  auto m = ParseKeyedCounters(text);
  return {.populated = Get(m, "populated"), .frozen = Get(m, "frozen")};
}

std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n' && text[j] != '\t') ++j;
    if (j > i) out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace isoexec::cgroup
