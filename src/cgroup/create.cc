// Create / Open: version dispatch plus the steps both backends share (validation, stray
// processes, rollback).
#include "base/scope_exit.h"
#include "cgroup/backend.h"
#include "cgroup/kill.h"
#include "cgroup/paths.h"

namespace isoexec::cgroup {

namespace {

std::unique_ptr<CgroupBackend> NewBackend(const Layout& layout, const Options& options) {
  return layout.version() == Version::kV2 ? NewCgroupV2(layout, options)
                                          : NewCgroupV1(layout, options);
}

Status CheckMounted(const Layout& layout) {
  if (layout.version() == Version::kV1 && layout.v1_mounts.empty())
    return Fail(Error::Make(Code::kFailedPrecondition,
                            "no cgroup filesystem is mounted (neither cgroup2 nor v1 "
                            "controllers in /proc/self/mountinfo); mount cgroup2 on "
                            "/sys/fs/cgroup"));
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Cgroup>> Create(const Layout& layout, const Options& options,
                                       const Limits& limits) {
  ISOEXEC_TRY(ValidateOptions(options));
  ISOEXEC_TRY(ValidateLimits(limits));
  ISOEXEC_TRY(CheckMounted(layout));
  std::unique_ptr<CgroupBackend> cg = NewBackend(layout, options);
  ScopeExit rollback([&] { cg->RollBack(); });
  ISOEXEC_TRY(cg->MakeDirs());
  // Nomad #20500: a cgroup left behind by an earlier run with the same id may still hold
  // processes; they must not become part of the new task.
  ISOEXEC_ASSIGN_OR_RETURN(std::vector<pid_t> strays, cg->Pids());
  if (!strays.empty()) ISOEXEC_TRY(cg->KillAllWithin(kStrayKillTimeout, KillMethod::kBest));
  ISOEXEC_TRY(cg->Apply(limits));
  rollback.Dismiss();
  return std::unique_ptr<Cgroup>(std::move(cg));
}

Result<std::unique_ptr<Cgroup>> Open(const Layout& layout, const Options& options) {
  ISOEXEC_TRY(ValidateOptions(options));
  ISOEXEC_TRY(CheckMounted(layout));
  std::unique_ptr<CgroupBackend> cg = NewBackend(layout, options);
  ISOEXEC_TRY(cg->OpenExisting());
  return std::unique_ptr<Cgroup>(std::move(cg));
}

}  // namespace isoexec::cgroup
