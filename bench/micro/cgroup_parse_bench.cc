// Parsing cgroup control files for a stats sample (v1 memory.stat is the big one). The parsers
// header is new; without it these benchmarks report themselves as skipped.
#include <benchmark/benchmark.h>

#include <string>

#if __has_include("cgroup/parsers.h")
#include "cgroup/parsers.h"
#define ISOEXEC_HAVE_CGROUP_PARSERS 1
#endif

namespace {

// memory.stat of a v1 task cgroup (kernel 6.x, 36 keys), as the kernel prints it.
constexpr char kMemoryStatV1[] =
    "cache 1216512\nrss 24576\nrss_huge 0\nshmem 0\nmapped_file 1085440\ndirty 0\n"
    "writeback 0\nswap 0\npgpgin 412\npgpgout 109\npgfault 627\npgmajfault 0\n"
    "inactive_anon 24576\nactive_anon 0\ninactive_file 1216512\nactive_file 0\n"
    "unevictable 0\nhierarchical_memory_limit 268435456\nhierarchical_memsw_limit "
    "9223372036854771712\ntotal_cache 1216512\ntotal_rss 24576\ntotal_rss_huge 0\n"
    "total_shmem 0\ntotal_mapped_file 1085440\ntotal_dirty 0\ntotal_writeback 0\n"
    "total_swap 0\ntotal_pgpgin 412\ntotal_pgpgout 109\ntotal_pgfault 627\n"
    "total_pgmajfault 0\ntotal_inactive_anon 24576\ntotal_active_anon 0\n"
    "total_inactive_file 1216512\ntotal_active_file 0\ntotal_unevictable 0\n";

// memory.stat of a v2 cgroup (kernel 6.x, abridged to the usual first 30 keys).
constexpr char kMemoryStatV2[] =
    "anon 4096000\nfile 12288000\nkernel 1048576\nkernel_stack 32768\npagetables 65536\n"
    "sec_pagetables 0\npercpu 960\nsock 0\nvmalloc 0\nshmem 0\nzswap 0\nzswapped 0\n"
    "file_mapped 8192000\nfile_dirty 0\nfile_writeback 0\nswapcached 0\nanon_thp 0\n"
    "file_thp 0\nshmem_thp 0\ninactive_anon 4096000\nactive_anon 0\ninactive_file 12288000\n"
    "active_file 0\nunevictable 0\nslab_reclaimable 200000\nslab_unreclaimable 100000\n"
    "slab 300000\nworkingset_refault_anon 0\nworkingset_refault_file 0\npgfault 5000\n";

constexpr char kCpuStatV2[] =
    "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 0\nnr_throttled 0\n"
    "throttled_usec 0\nnr_bursts 0\nburst_usec 0\n";

constexpr char kProcs[] = "1234\n1235\n1236\n1237\n";

#ifdef ISOEXEC_HAVE_CGROUP_PARSERS
using namespace isoexec::cgroup;

void BM_ParseMemoryStatV1(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ParseMemoryStatV1(kMemoryStatV1);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseMemoryStatV1);

void BM_ParseMemoryStatV2(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ParseMemoryStatV2(kMemoryStatV2);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseMemoryStatV2);

void BM_ParseKeyedCounters(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ParseKeyedCounters(kMemoryStatV1);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseKeyedCounters);

void BM_ParseCpuStat(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ParseCpuStat(kCpuStatV2);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseCpuStat);

void BM_ParseProcs(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ParseProcs(kProcs, "cgroup.procs");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseProcs);
#else
void BM_CgroupParsers(benchmark::State& state) {
  benchmark::DoNotOptimize(kMemoryStatV1);
  benchmark::DoNotOptimize(kMemoryStatV2);
  benchmark::DoNotOptimize(kCpuStatV2);
  benchmark::DoNotOptimize(kProcs);
  state.SkipWithError("src/cgroup/parsers.h does not exist yet");
  for (auto _ : state) {
  }
}
BENCHMARK(BM_CgroupParsers);
#endif

}  // namespace
