// Parent-side isolation work done on every launch: mount plan, binary lookup, capability
// resolution, seccomp compilation, cgroup layout detection.
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cgroup/cgroup.h"
#include "isolation/caps.h"
#include "isolation/lookup.h"
#include "isolation/mount_plan.h"
#include "isolation/seccomp.h"
#include "spec/task_spec.h"

namespace isoexec::bench {
spec::TaskSpec MicroTypicalSpec(int binds);
}

namespace {

using namespace isoexec;

void BM_BuildMountPlan_Rootfs(benchmark::State& state) {
  const spec::TaskSpec s = bench::MicroTypicalSpec(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto plan = isolation::BuildMountPlan(s, s.root.rootfs, {});
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_BuildMountPlan_Rootfs)->Arg(0)->Arg(16);

void BM_BuildMountPlan_DefaultRoot(benchmark::State& state) {
  spec::TaskSpec s = bench::MicroTypicalSpec(0);
  s.root.rootfs.clear();  // ephemeral root from the default chroot env
  for (auto _ : state) {
    auto plan = isolation::BuildMountPlan(s, "/run/isoexec/t-0123456789ab/root", {});
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_BuildMountPlan_DefaultRoot);

// A small task root on disk: bin/true, usr/bin/ and local/.
class TaskRoot {
 public:
  TaskRoot() {
    char tmpl[] = "/tmp/isoexec-micro-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    dir_ = tmpl;
    for (const char* d : {"/bin", "/usr", "/usr/bin", "/usr/local", "/usr/local/bin", "/local"})
      ::mkdir((dir_ + d).c_str(), 0755);
    if (FILE* f = std::fopen((dir_ + "/bin/true").c_str(), "w")) std::fclose(f);
    ::chmod((dir_ + "/bin/true").c_str(), 0755);
  }
  ~TaskRoot() {
    for (const char* p : {"/bin/true"}) ::unlink((dir_ + p).c_str());
    for (const char* d : {"/local", "/usr/local/bin", "/usr/local", "/usr/bin", "/usr", "/bin", ""})
      ::rmdir((dir_ + d).c_str());
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

void BM_LookupTaskBin_Rootfs(benchmark::State& state) {
  TaskRoot root;
  isolation::RootView view;
  view.rootfs = root.dir();
  const std::string cmd = state.range(0) ? "/bin/true" : "true";  // absolute vs search
  for (auto _ : state) {
    auto r = isolation::LookupTaskBin(view, cmd);
    if (!r) state.SkipWithError(r.error().str().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(state.range(0) ? "absolute /bin/true" : "bare `true` (search)");
}
BENCHMARK(BM_LookupTaskBin_Rootfs)->Arg(1)->Arg(0);

void BM_LookupTaskBin_DefaultRoot(benchmark::State& state) {
  isolation::RootView view;  // ephemeral root: the host chroot env, read-only
  for (const auto& e : spec::DefaultChrootEnv()) view.mappings.push_back({e.host, e.task, false});
  for (auto _ : state) {
    auto r = isolation::LookupTaskBin(view, "true");
    if (!r) state.SkipWithError(r.error().str().c_str());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_LookupTaskBin_DefaultRoot);

void BM_ResolveCapabilities(benchmark::State& state) {
  for (auto _ : state) {
    auto r = isolation::ResolveCapabilities({"net_admin"}, {"mknod"});
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ResolveCapabilities);

// libseccomp compiling the built-in profile to BPF: paid once per `isoexec run` process.
void BM_CompileSeccompProfile(benchmark::State& state) {
  const auto& profile = isolation::DefaultSeccompProfile();
  size_t len = 0;
  for (auto _ : state) {
    auto r = isolation::CompileSeccompProfile(profile);
    if (!r) {
      state.SkipWithError(r.error().str().c_str());
      break;
    }
    len = r->size();
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::to_string(len) + " BPF instructions");
}
BENCHMARK(BM_CompileSeccompProfile)->Unit(benchmark::kMicrosecond);

// CompileSeccomp("default") memoises the program: repeated calls in one process are free.
void BM_CompileSeccompDefaultCached(benchmark::State& state) {
  size_t len = 0;
  for (auto _ : state) {
    auto r = isolation::CompileSeccomp("default");
    if (!r) {
      state.SkipWithError(r.error().str().c_str());
      break;
    }
    len = r->size();
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::to_string(len) + " BPF instructions");
}
BENCHMARK(BM_CompileSeccompDefaultCached);

void BM_DetectCgroupLayout(benchmark::State& state) {
  for (auto _ : state) {
    auto r = cgroup::DetectLayout();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_DetectCgroupLayout)->Unit(benchmark::kMicrosecond);

}  // namespace
