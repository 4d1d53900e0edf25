// Limits on cgroup v1: memory.limit_in_bytes & co., cpu.shares, cpuset.cpus, pids.max and the
// devices allow-list.
#include <fmt/format.h>

#include "base/parse.h"
#include "cgroup/fs.h"
#include "cgroup/v1/cgroup_v1.h"

namespace isoexec::cgroup {

namespace {

constexpr char kNotMounted[] = "(no cgroup v1 hierarchy for it in /proc/self/mountinfo)";

}  // namespace

std::vector<ControlWrite> PlanV1MemoryLimit(std::optional<uint64_t> hard,
                                            std::optional<uint64_t> current_memsw) {
  std::string value = hard ? std::to_string(*hard) : "-1";
  ControlWrite limit{"memory.limit_in_bytes", value};
  if (!current_memsw) return {limit};
  ControlWrite memsw{"memory.memsw.limit_in_bytes", value};
  uint64_t wanted = hard.value_or(UINT64_MAX);
  if (wanted > *current_memsw) return {memsw, limit};
  return {limit, memsw};
}

Status CgroupV1::Apply(const Limits& limits) {
  ISOEXEC_TRY(ValidateLimits(limits));
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
      // Running without the filter would silently give the task every host device.
      {limits.devices.has_value(), "the device allow-list", "devices"},
  };
  for (const Need& n : needs)
    if (n.wanted && !DirFor(n.controller))
      return Fail(MissingController(n.limit, n.controller, kNotMounted));
  ISOEXEC_TRY(ApplyMemory(limits));
  ISOEXEC_TRY(ApplyCpu(limits));
  ISOEXEC_TRY(ApplyCpuset(limits));
  ISOEXEC_TRY(ApplyPids(limits));
  return ApplyDevices(limits);
}

Status CgroupV1::ApplyMemory(const Limits& limits) {
  const Dir* d = DirFor("memory");
  if (!d) return Ok();
  ISOEXEC_ASSIGN_OR_RETURN(std::optional<uint64_t> memsw,
                           ReadOptionalUint(d->path, "memory.memsw.limit_in_bytes"));
  for (const ControlWrite& w : PlanV1MemoryLimit(limits.memory_hard, memsw)) {
    Status s = WriteControl(d->path, w.file, w.value);
    if (!s && s.error().sys_errno() == EBUSY && limits.memory_hard) {
      // v1 reclaims synchronously and gives up with EBUSY instead of OOM-killing.
      Result<uint64_t> usage = ReadControlUint(d->path, "memory.usage_in_bytes");
      return Fail(WithHint(
          std::move(s.error()),
          fmt::format("the task uses {}, more than the new limit {}, and the kernel could not "
                      "reclaim enough; free memory in the task or choose a higher limit",
                      usage ? FormatBytes(*usage) : std::string("more"),
                      FormatBytes(*limits.memory_hard))));
    }
    ISOEXEC_TRY(std::move(s));
  }
  ISOEXEC_TRY(
      WriteControl(d->path, "memory.soft_limit_in_bytes",
                   limits.memory_soft ? std::to_string(*limits.memory_soft) : std::string("-1")));
  // Swapping would let the task exceed its limit in all but name (Nomad sets 0 as well).
  if (PathExists(JoinPath(d->path, "memory.swappiness")))
    ISOEXEC_TRY(WriteControl(d->path, "memory.swappiness", "0"));
  return Ok();
}

Status CgroupV1::ApplyCpu(const Limits& limits) {
  const Dir* d = DirFor("cpu");
  if (!d) return Ok();
  return WriteControl(d->path, "cpu.shares", std::to_string(limits.cpu_shares.value_or(1024)));
}

Status CgroupV1::ApplyCpuset(const Limits& limits) {
  if (!limits.cpuset_cpus) return Ok();
  const Dir* d = DirFor("cpuset");
  Status s = WriteControl(d->path, "cpuset.cpus", *limits.cpuset_cpus);
  if (!s)
    return Fail(
        CpusetError(std::move(s.error()), d->path.substr(0, d->path.rfind('/')), "cpuset.cpus"));
  return Ok();
}

Status CgroupV1::ApplyPids(const Limits& limits) {
  const Dir* d = DirFor("pids");
  if (!d) return Ok();
  return WriteControl(d->path, "pids.max", PidsMaxValue(limits.pids_max));
}

Status CgroupV1::ApplyDevices(const Limits& limits) {
  if (!limits.devices) return Ok();
  const Dir* d = DirFor("devices");
  // Deny everything first (the kernel then keeps an empty exception list), then open the
  // listed devices. During a live update the window in between denies more, never less.
  ISOEXEC_TRY(WriteControl(d->path, "devices.deny", "a"));
  for (const DeviceRule& rule : *limits.devices) {
    Status s = WriteControl(d->path, "devices.allow", FormatDeviceRule(rule));
    if (!s && s.error().sys_errno() == EPERM)
      return Fail(WithHint(std::move(s.error()), "the parent cgroup does not allow this device"));
    ISOEXEC_TRY(std::move(s));
  }
  return Ok();
}

}  // namespace isoexec::cgroup
