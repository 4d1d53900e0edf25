// `isoexec stats` table, like `docker stats`:
//   ID    CPU %     MEM USAGE / LIMIT     MEM %    PIDS
//   web   100.02%   200.4MiB / 256MiB     78.28%   2
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stats/sample.h"

namespace isoexec::stats {

// One line per sample (each ending in '\n'), after a header line when `header`. Column widths
// come from the header labels and every row (also when the header is not printed), 3 spaces
// apart. CPU %: cpu.percent ("--" when not measured). MEM USAGE: usage_bytes (what the limit
// is enforced against, page cache included), rss_bytes when usage is not measured. LIMIT: the
// hard limit; with none, `host_memory_bytes` (HostMemoryBytes()) like docker, or "unlimited"
// when that is 0 (then MEM % is "--"). Sizes are binary, 4 significant digits ("200.4MiB").
// PIDS: the number of processes in the sample.
std::string RenderTable(const std::vector<Sample>& samples, bool header,
                        uint64_t host_memory_bytes = 0);

// "0B", "512B", "200.4MiB", "1GiB": docker's size format.
std::string FormatSize(uint64_t bytes);

}  // namespace isoexec::stats
