// Controller placement from /proc/self/mountinfo (proc(5)): cgroup v1 hierarchies name their
// controllers in the super options ("rw,cpu,cpuacct"); cgroup2 lists them in cgroup.controllers.
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "base/file.h"
#include "cgroup/cgroup.h"
#include "cgroup/fs.h"
#include "cgroup/parsers.h"

namespace isoexec::cgroup {

namespace {

constexpr std::array<std::string_view, 14> kV1Controllers = {
    "blkio",  "cpu",     "cpuacct",  "cpuset",     "devices", "freezer", "hugetlb",
    "memory", "net_cls", "net_prio", "perf_event", "pids",    "rdma",    "misc"};

// Mount points escape space, tab, newline and backslash as \ooo octal.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

bool IsV1Controller(std::string_view name) {
  for (std::string_view c : kV1Controllers)
    if (c == name) return true;
  return false;
}

}  // namespace

Version Layout::version() const {
  // Hybrid hosts keep memory/cpu/pids on v1 and only an empty cgroup2 on .../unified: the task
  // cgroup must be a v1 one there, since that is where the limits are enforced.
  for (const char* c : {"memory", "cpu", "pids"})
    if (v1_mounts.count(c)) return Version::kV1;
  return v2_mount.empty() ? Version::kV1 : Version::kV2;
}

Result<Layout> ParseLayout(const std::string& mountinfo_text, const std::string& fs_prefix) {
  Layout layout;
  for (std::string_view line : Split(mountinfo_text, '\n')) {
    if (line.empty()) continue;
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> head = Split(line.substr(0, dash), ' ');
    std::vector<std::string_view> tail = Split(line.substr(dash + 3), ' ');
    if (head.size() < 5 || tail.size() < 3) continue;
    std::string mount_point = fs_prefix + Unescape(head[4]);
    std::string_view fstype = tail[0];
    if (fstype == "cgroup2") {
      if (layout.v2_mount.empty()) layout.v2_mount = mount_point;
    } else if (fstype == "cgroup") {
      for (std::string_view opt : Split(tail[2], ','))
        if (IsV1Controller(opt)) layout.v1_mounts.emplace(std::string(opt), mount_point);
    }
  }
  if (!layout.v2_mount.empty()) {
    // Missing on odd setups (and in fake trees): then no controller is usable there.
    Result<std::string> controllers = ReadFile(JoinPath(layout.v2_mount, "cgroup.controllers"));
    if (controllers)
      for (std::string& c : SplitWords(*controllers)) layout.v2_controllers.insert(std::move(c));
  }
  return layout;
}

Result<Layout> DetectLayout() {
  ISOEXEC_ASSIGN_OR_RETURN(std::string text, ReadFile("/proc/self/mountinfo"));
  return ParseLayout(text);
}

}  // namespace isoexec::cgroup
