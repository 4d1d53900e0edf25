// Limits on cgroup v2: memory.max/low/swap.max/oom.group, cpu.weight, cpuset.cpus, pids.max,
// and the device allow-list as an eBPF program.
#include <fmt/format.h>

#include "cgroup/fs.h"
#include "cgroup/v2/cgroup_v2.h"
#include "cgroup/v2/device_bpf.h"

namespace isoexec::cgroup {

Status CgroupV2::Apply(const Limits& limits) {
  ISOEXEC_TRY(ValidateLimits(limits));
  ISOEXEC_ASSIGN_OR_RETURN(std::set<std::string> available, Available());
  // Every missing controller is reported before anything is written.
  struct Need {
    bool wanted;
    const char* limit;
    const char* controller;
  } const needs[] = {
      {limits.memory_hard || limits.memory_soft, "a memory limit", "memory"},
      {limits.cpu_shares.has_value(), "cpu_shares", "cpu"},
      {limits.cpuset_cpus.has_value(), "a cpuset", "cpuset"},
      {limits.pids_max.has_value(), "pids_max", "pids"},
  };
  for (const Need& n : needs)
    if (n.wanted && !available.count(n.controller)) return Fail(Missing(n.controller, n.limit));
  if (limits.devices && !dir_fd_)
    return Fail(
        Error::Make(Code::kFailedPrecondition, fmt::format("cgroup `{}` was destroyed", scope_)));

  if (available.count("memory")) ISOEXEC_TRY(ApplyMemory(limits));
  if (available.count("cpu"))
    ISOEXEC_TRY(WriteControl(scope_, "cpu.weight",
                             std::to_string(SharesToWeight(limits.cpu_shares.value_or(1024)))));
  if (limits.cpuset_cpus) {
    Status s = WriteControl(scope_, "cpuset.cpus", *limits.cpuset_cpus);
    if (!s) return Fail(CpusetError(std::move(s.error()), chain_.back(), "cpuset.cpus.effective"));
  }
  if (available.count("pids"))
    ISOEXEC_TRY(WriteControl(scope_, "pids.max", PidsMaxValue(limits.pids_max)));
  if (limits.devices)
    ISOEXEC_TRY(AttachDeviceProgram(dir_fd_.get(), scope_, BuildDeviceProgram(*limits.devices)));
  return Ok();
}

Status CgroupV2::ApplyMemory(const Limits& limits) {
  // Over memory.max the kernel reclaims, then OOM-kills inside the cgroup: no EBUSY as on v1.
  ISOEXEC_TRY(WriteControl(scope_, "memory.max",
                           limits.memory_hard ? std::to_string(*limits.memory_hard) : "max"));
  ISOEXEC_TRY(WriteControl(scope_, "memory.low",
                           limits.memory_soft ? std::to_string(*limits.memory_soft) : "0"));
  // Swap would let the task use more than its limit; the file is missing without swap
  // accounting.
  if (PathExists(JoinPath(scope_, "memory.swap.max")))
    ISOEXEC_TRY(WriteControl(scope_, "memory.swap.max", "0"));
  // One OOM kill takes the whole task down, like a task that exits, instead of leaving it
  // half-alive (Linux 4.19+).
  if (PathExists(JoinPath(scope_, "memory.oom.group")))
    ISOEXEC_TRY(WriteControl(scope_, "memory.oom.group", "1"));
  return Ok();
}

}  // namespace isoexec::cgroup
