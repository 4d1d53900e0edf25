// Cost of one stats sample (stats::Sampler::Next) on a real cgroup holding 1, 10, 100 or 1000
// idle processes, and of its parts. Needs root. Run:
//   build/<dir>/tests/perf/isoexec_stats_sample_bench [--benchmark_filter=...]
// For comparison, BM_ScanAllProc reads /proc/<pid>/stat of every process on the host: what a
// sampler that rescans the process table pays (Nomad before #25870).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "cgroup/cgroup.h"
#include "stats/compute.h"
#include "stats/proc.h"
#include "stats/sampler.h"
#include "stats/table.h"

namespace isoexec::stats {
namespace {

// A task cgroup under the shared "isoexec" parent with `n` sleeping children in it.
class Fixture {
 public:
  explicit Fixture(int n) {
    auto layout = cgroup::DetectLayout();
    if (!layout) Die(layout.error().str());
    auto cg = cgroup::Create(
        *layout, {"isoexec", "stats-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n)},
        {});
    if (!cg) Die(cg.error().str());
    cg_ = std::move(*cg);
    for (int i = 0; i < n; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) ::pause();
      }
      if (p < 0) Die("fork");
      kids_.push_back(p);
      if (auto s = cg_->AddProcess(p); !s) Die(s.error().str());
    }
  }
  ~Fixture() {
    (void)cg_->KillAll();
    for (pid_t p : kids_) ::waitpid(p, nullptr, 0);
    if (auto s = cg_->Destroy(); !s) std::fprintf(stderr, "destroy: %s\n", s.error().str().c_str());
  }
  cgroup::Cgroup* cg() { return cg_.get(); }

 private:
  [[noreturn]] static void Die(const std::string& why) {
    std::fprintf(stderr, "stats bench setup: %s\n", why.c_str());
    std::exit(1);
  }
  std::unique_ptr<cgroup::Cgroup> cg_;
  std::vector<pid_t> kids_;
};

std::map<int, std::unique_ptr<Fixture>>& Fixtures() {
  static std::map<int, std::unique_ptr<Fixture>> f;
  return f;
}

Fixture& Get(int n) {
  auto& f = Fixtures()[n];
  if (!f) f = std::make_unique<Fixture>(n);
  return *f;
}

void BM_SamplerNext(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  Sampler sampler(f.cg(), "bench");
  if (!sampler.Next()) state.SkipWithError("first sample failed");
  size_t pids = 0;
  for (auto _ : state) {
    auto s = sampler.Next();
    if (!s) {
      state.SkipWithError(s.error().str().c_str());
      break;
    }
    pids = s->pids.size();
  }
  state.counters["pids"] = static_cast<double>(pids);
}
BENCHMARK(BM_SamplerNext)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// Sample + its JSON line: what `run --stats-file` pays per interval.
void BM_SamplerNextAndJson(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  Sampler sampler(f.cg(), "bench");
  (void)sampler.Next();
  for (auto _ : state) {
    auto s = sampler.Next();
    benchmark::DoNotOptimize(SampleJson(*s));
  }
}
BENCHMARK(BM_SamplerNextAndJson)->Arg(1)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_ReadStats(benchmark::State& state) {
  Fixture& f = Get(1);
  for (auto _ : state) benchmark::DoNotOptimize(f.cg()->ReadStats());
}
BENCHMARK(BM_ReadStats)->Unit(benchmark::kMicrosecond);

void BM_CgroupPids(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(f.cg()->Pids());
}
BENCHMARK(BM_CgroupPids)->Arg(1)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_ProcReader(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  auto pids = f.cg()->Pids();
  ProcReader reader;
  (void)reader.Read(*pids, state.range(1) != 0);
  for (auto _ : state) benchmark::DoNotOptimize(reader.Read(*pids, state.range(1) != 0));
}
BENCHMARK(BM_ProcReader)
    ->Args({1, 0})
    ->Args({100, 0})
    ->Args({100, 1})
    ->ArgNames({"procs", "swap"})
    ->Unit(benchmark::kMicrosecond);

// Without kept fds: open/read/close of every /proc/<pid>/stat each time.
void BM_ProcReaderNoKeptFds(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  auto pids = f.cg()->Pids();
  ProcReader reader("/proc", 0);
  for (auto _ : state) benchmark::DoNotOptimize(reader.Read(*pids, false));
}
BENCHMARK(BM_ProcReaderNoKeptFds)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_Compute(benchmark::State& state) {
  Reading a, b;
  a.cgroup.memory_measured = b.cgroup.memory_measured = {"rss", "cache", "usage", "max_usage"};
  a.cgroup.cpu_measured = b.cgroup.cpu_measured = {"cpu_user_ns", "cpu_system_ns", "cpu_total_ns"};
  b.mono_ns = 1'000'000'000;
  b.cgroup.cpu_total_ns = 500'000'000;
  for (pid_t p = 1; p <= state.range(0); ++p) {
    a.procs[p] = {.user_ns = 0, .start_ticks = 1};
    b.procs[p] = {.user_ns = 10'000'000, .start_ticks = 1};
  }
  HostCpu host{.cores = 2, .total_mhz = 5000};
  for (auto _ : state) benchmark::DoNotOptimize(Compute("bench", &a, b, host, 0));
}
BENCHMARK(BM_Compute)->Arg(1)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_ScanAllProc(benchmark::State& state) {
  size_t n = 0;
  for (auto _ : state) {
    n = 0;
    DIR* d = ::opendir("/proc");
    char buf[1024];
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::string path = std::string("/proc/") + e->d_name + "/stat";
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      benchmark::DoNotOptimize(::read(fd, buf, sizeof buf));
      ::close(fd);
      ++n;
    }
    ::closedir(d);
  }
  state.counters["procs"] = static_cast<double>(n);
}
BENCHMARK(BM_ScanAllProc)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace isoexec::stats

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "needs root (creates a cgroup)\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  isoexec::stats::Fixtures().clear();
  return 0;
}
