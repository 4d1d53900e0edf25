// Flag and spec parsing: what `isoexec run` does before anything touches the kernel.
// (cli::ToSpec lives in the binary's own target; these are the library pieces it calls.)
#include <benchmark/benchmark.h>

#include <string>

#include "base/parse.h"
#include "spec/flag_parse.h"
#include "spec/task_spec.h"

namespace {

using namespace isoexec;

void BM_ParseSize(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ParseSize("--memory", "256M");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseSize);

void BM_ParseDuration(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ParseDuration("--timeout", "1m30s");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseDuration);

void BM_ParseSignal(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ParseSignal("--kill-signal", "SIGTERM");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseSignal);

void BM_ParseBind(benchmark::State& state) {
  for (auto _ : state) {
    auto r = spec::ParseBind("/srv/data:/data:ro,rslave");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseBind);

// The spec of `isoexec run --rootfs R --memory 256M --cpu-shares 512 --bind ... -- /bin/true`,
// with `binds` bind mounts.
spec::TaskSpec TypicalSpec(int binds) {
  spec::TaskSpec s;
  s.id = "t-0123456789ab";
  s.process.argv = {"/bin/true"};
  s.process.env = {"PATH=/usr/bin:/bin", "HOME=/root", "NOMAD_TASK_NAME=bench"};
  s.root.rootfs = "/var/lib/nomad/alloc/0123/task";
  s.resources.memory = 256ULL << 20;
  s.resources.cpu_shares = 512;
  for (int i = 0; i < binds; ++i) {
    spec::BindMount m;
    m.host = "/srv/data" + std::to_string(i);
    m.task = "/data" + std::to_string(i);
    m.readonly = (i % 2) == 0;
    s.mounts.push_back(m);
  }
  return s;
}

void BM_Validate(benchmark::State& state) {
  const spec::TaskSpec s = TypicalSpec(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = spec::Validate(s);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Validate)->Arg(0)->Arg(16);

}  // namespace

namespace isoexec::bench {
// Shared with the other micro-benchmark files.
spec::TaskSpec MicroTypicalSpec(int binds) { return TypicalSpec(binds); }
}  // namespace isoexec::bench
