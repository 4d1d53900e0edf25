// Linux capabilities for the task: resolving --cap-add/--cap-drop into a mask (parent side) and
// the identity switch that installs them (child side). See capabilities(7), prctl(2).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace isoexec::isolation {

// Nomad's (= Docker's minus NET_RAW) default set: AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID
// KILL MKNOD NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT.
inline constexpr uint64_t kDefaultCapabilities = 0x00000000a80405fbULL;

// The highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap).
Result<int> KernelLastCap();

// One capability name to its number: case-insensitive, with or without "CAP_" ("net_admin",
// "CAP_NET_ADMIN"). Numbers and "all" are not names. Errors name `field`.
Result<int> ParseCapability(std::string_view field, std::string_view name);

// Starts from kDefaultCapabilities, removes `drop` ("all" clears everything), then adds `add`
// ("all" = every capability the running kernel supports). Errors name "--cap-add"/"--cap-drop".
// Adding a capability the running kernel does not support is an error; dropping one is not.
Result<uint64_t> ResolveCapabilities(const std::vector<std::string>& add,
                                     const std::vector<std::string>& drop);
// Same, against an explicit cap_last_cap (tests, or a value the caller already read).
Result<uint64_t> ResolveCapabilities(const std::vector<std::string>& add,
                                     const std::vector<std::string>& drop, int last_cap);

// "CAP_NET_BIND_SERVICE" for 10; the number as text for a capability libcap does not know.
std::string CapName(int cap);
// Names of the bits set in `mask`, in capability-number order.
std::vector<std::string> CapNames(uint64_t mask);

// The five sets the task process should hold right before execve.
struct CapSets {
  uint64_t bounding = 0;
  uint64_t permitted = 0;
  uint64_t effective = 0;
  uint64_t inheritable = 0;
  uint64_t ambient = 0;
};

// Sets that make the task see exactly `caps` after execve (in /proc/<pid>/status):
//  - root: bounding = permitted = effective = caps, inheritable = ambient = 0. execve as uid 0
//    recomputes permitted from the bounding set, so the configured set applies to root too
//    (Nomad instead gives root a fixed 38-cap list and ignores the configuration).
//  - any other uid: all five = caps. execve by a non-root uid keeps only ambient capabilities
//    (without file capabilities), and a cap can be ambient only if it is permitted and
//    inheritable.
CapSets CapSetsFor(uint64_t caps, bool root_user);

// Child side, between clone and execve: switches to uid/gid/groups and installs `sets`, in this
// order (each step needs the privileges the previous ones have not yet given up):
//   1. drop every bounding-set capability not in sets.bounding (PR_CAPBSET_DROP, needs
//      CAP_SETPCAP; capabilities past the kernel's last one are detected via EINVAL, so no
//      /proc access is needed);
//   2. PR_SET_KEEPCAPS 1, so permitted survives the uid change;
//   3. setgroups, setresgid, setresuid (raw syscalls: glibc's wrappers broadcast to threads
//      with signals; the ids are only changed when they differ from the current ones);
//   4. PR_SET_KEEPCAPS 0;
//   5. capset(permitted, effective, inheritable);
//   6. clear the ambient set and raise each capability in sets.ambient.
// Async-signal-safe and allocation-free. Returns 0, or an errno value with *failed_step (if
// non-null) set to a static string naming the step: "capbset_read", "capbset_drop",
// "keepcaps", "setgroups", "setresgid", "setresuid", "capset", "ambient_clear",
// "ambient_raise".
int ApplyCapabilities(const CapSets& sets, uid_t uid, gid_t gid, const gid_t* groups,
                      size_t ngroups, const char** failed_step) noexcept;

}  // namespace isoexec::isolation
