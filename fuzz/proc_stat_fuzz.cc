// The /proc parsers of stats/proc.h: /proc/<pid>/stat, /proc/<pid>/status (VmRSS/VmSwap),
// /proc/cpuinfo ("cpu MHz") and kernel CPU lists (/sys/devices/system/cpu/online).
#include <cstdint>

#include "fuzz_util.h"
#include "stats/proc.h"

using namespace isoexec;
using namespace isoexec::stats;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::AsText(data, size);
  (void)ParseProcStat(text);
  (void)ParseProcStatusMemory(text);
  CpuinfoMhz mhz = ParseCpuinfoMhz(text);
  FUZZ_CHECK(mhz.cpus >= 0 && (mhz.cpus > 0 || mhz.total_mhz == 0));
  if (auto cpus = ParseCpuList(text)) {
    for (int c : *cpus) FUZZ_CHECK(c >= 0);
  }
  return 0;
}
