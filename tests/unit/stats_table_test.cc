// stats::RenderTable: the docker-stats-like table of `isoexec stats`.
#include <gtest/gtest.h>

#include "stats/table.h"

namespace isoexec::stats {
namespace {

Sample Make(std::string id, double percent, uint64_t usage, uint64_t limit, int pids) {
  Sample s;
  s.id = std::move(id);
  s.cpu.percent = percent;
  s.cpu.measured = {"percent"};
  s.memory.usage_bytes = usage;
  s.memory.limit_bytes = limit;
  s.memory.measured = {"usage", "limit"};
  for (int i = 1; i <= pids; ++i) s.pids[i] = {};
  return s;
}

TEST(StatsTable, FormatSize) {
  EXPECT_EQ(FormatSize(0), "0B");
  EXPECT_EQ(FormatSize(512), "512B");
  EXPECT_EQ(FormatSize(1024), "1KiB");
  EXPECT_EQ(FormatSize(1536), "1.5KiB");
  EXPECT_EQ(FormatSize(210'135'040), "200.4MiB");
  EXPECT_EQ(FormatSize(256ull << 20), "256MiB");
  EXPECT_EQ(FormatSize(1023ull << 20), "1023MiB");
  EXPECT_EQ(FormatSize(3ull << 40), "3TiB");
  EXPECT_EQ(FormatSize(UINT64_MAX), "16EiB");
}

TEST(StatsTable, RendersLikeDockerStats) {
  std::vector<Sample> v = {Make("web", 100.02, 210'135'040, 256ull << 20, 2),
                           Make("a-much-longer-id", 0, 4096, 0, 11)};
  EXPECT_EQ(RenderTable(v, true, 8ull << 30),
            "ID                 CPU %     MEM USAGE / LIMIT   MEM %    PIDS\n"
            "web                100.02%   200.4MiB / 256MiB   78.28%   2\n"
            "a-much-longer-id   0.00%     4KiB / 8GiB         0.00%    11\n");
  // Without the header the columns stay where they were.
  EXPECT_EQ(RenderTable(v, false, 8ull << 30),
            "web                100.02%   200.4MiB / 256MiB   78.28%   2\n"
            "a-much-longer-id   0.00%     4KiB / 8GiB         0.00%    11\n");
}

TEST(StatsTable, UnknownHostMemoryAndUnmeasuredFields) {
  Sample s = Make("t", 0, 0, 0, 0);
  s.cpu.measured.clear();
  s.memory.measured = {"rss"};  // no usage: RSS is shown
  s.memory.rss_bytes = 2048;
  EXPECT_EQ(RenderTable({s}, true),
            "ID   CPU %   MEM USAGE / LIMIT   MEM %   PIDS\n"
            "t    --      2KiB / unlimited    --      0\n");
}

TEST(StatsTable, EmptyIsJustTheHeader) {
  EXPECT_EQ(RenderTable({}, true), "ID   CPU %   MEM USAGE / LIMIT   MEM %   PIDS\n");
  EXPECT_EQ(RenderTable({}, false), "");
}

}  // namespace
}  // namespace isoexec::stats
