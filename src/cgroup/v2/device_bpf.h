// The v2 device allow-list: cgroup v2 has no devices controller, so access to device nodes is
// decided by a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the task cgroup (bpf(2)). We
// generate it from the rules with raw bpf(2) calls: no libbpf, no compiled object files.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"

namespace isoexec::cgroup {

// Default deny; each rule is one block that returns 1 (allow) when the device type, major,
// minor and requested access all match. `rules` must pass ValidateDeviceRules.
std::vector<bpf_insn> BuildDeviceProgram(const std::vector<DeviceRule>& rules);

// One instruction per line, "6: if r2 != 2 goto +4" (only the opcodes we generate).
std::string Disassemble(const std::vector<bpf_insn>& program);

// Loads `program` and attaches it to the cgroup `cgroup_fd` (`path` for messages) with
// BPF_F_ALLOW_MULTI, then detaches the device programs attached there before: a live update
// never leaves the cgroup without a filter (while both are attached, both must allow).
Status AttachDeviceProgram(int cgroup_fd, const std::string& path,
                           const std::vector<bpf_insn>& program);

// Ids of the device programs attached directly to the cgroup.
Result<std::vector<uint32_t>> QueryDevicePrograms(int cgroup_fd, const std::string& path);

}  // namespace isoexec::cgroup
