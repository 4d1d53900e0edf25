#include "stats/table.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace isoexec::stats {

std::string FormatSize(uint64_t bytes) {
  static constexpr std::array<const char*, 7> kUnits = {"B",   "KiB", "MiB", "GiB",
                                                        "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < kUnits.size()) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{:.4g}{}", v, kUnits[u]);
}

std::string RenderTable(const std::vector<Sample>& samples, bool header,
                        uint64_t host_memory_bytes) {
  using Row = std::array<std::string, 5>;
  std::vector<Row> rows;
  rows.push_back({"ID", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"});
  for (const Sample& s : samples) {
    const MemoryStats& m = s.memory;
    Row r;
    r[0] = s.id;
    r[1] = Measured(s.cpu.measured, "percent") ? fmt::format("{:.2f}%", s.cpu.percent) : "--";
    const uint64_t used = Measured(m.measured, "usage") ? m.usage_bytes : m.rss_bytes;
    const uint64_t limit = m.limit_bytes ? m.limit_bytes : host_memory_bytes;
    r[2] = FormatSize(used) + " / " + (limit ? FormatSize(limit) : std::string("unlimited"));
    r[3] = limit ? fmt::format("{:.2f}%",
                               static_cast<double>(used) / static_cast<double>(limit) * 100.0)
                 : "--";
    r[4] = std::to_string(s.pids.size());
    rows.push_back(std::move(r));
  }
  std::array<size_t, 5> width{};
  for (const Row& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (size_t k = header ? 0 : 1; k < rows.size(); ++k) {
    const Row& r = rows[k];
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out.append(width[i] - r[i].size() + 3, ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace isoexec::stats
