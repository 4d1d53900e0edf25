// Seccomp: profiles (the built-in default and --seccomp FILE) compiled to classic BPF with
// libseccomp in the parent, and a raw loader for the child. See seccomp(2), docs/seccomp.md.
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace isoexec::isolation {

// Name and version of the built-in profile; bump the version whenever its rules change.
inline constexpr char kDefaultSeccompProfileName[] = "isoexec-default-v1";

enum class SeccompAction {
  kAllow,
  kErrno,        // fail the syscall with errno_ret
  kKillProcess,  // SIGSYS-kill the whole process ("kill" in JSON)
  kKillThread,
  kTrap,  // deliver SIGSYS to the thread
  kLog,   // allow, and log to the audit log
};

enum class SeccompOp { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };

// Compares syscall argument `index` (0..5) with `value`. For kMaskedEq: (arg & value) ==
// value_two.
struct SeccompArg {
  unsigned index = 0;
  SeccompOp op = SeccompOp::kEq;
  uint64_t value = 0;
  uint64_t value_two = 0;
};

// `action` for every syscall in `names` whose arguments satisfy all of `args` (at most one
// comparison per argument index: a libseccomp 2.5 limit).
struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  int errno_ret = 1;  // for kErrno; EPERM by default
  std::vector<SeccompArg> args;
};

struct SeccompProfile {
  SeccompAction default_action = SeccompAction::kErrno;
  int default_errno = 38;  // ENOSYS, so that glibc falls back for syscalls newer than the profile
  std::vector<SeccompRule> rules;
  // Skip syscall names libseccomp does not know instead of failing (profiles listing syscalls
  // newer than the installed libseccomp; those then get the default action).
  bool ignore_unknown_syscalls = false;
};

// The built-in profile (modelled on Docker's default; see docs/seccomp.md).
const SeccompProfile& DefaultSeccompProfile();

// Parses the --seccomp JSON format (docs/seccomp.md). Errors name "--seccomp" and the JSON
// pointer of the offending value: "--seccomp: /syscalls/2/names/0: unknown syscall \"foo\"".
Result<SeccompProfile> ParseSeccompProfile(std::string_view json);

// The JSON form of `profile`, readable by ParseSeccompProfile (for users starting from the
// default profile).
std::string SeccompProfileToJson(const SeccompProfile& profile);

// Builds the BPF program for the native architecture plus its compat ABIs (x86_64: x86 and
// x32; aarch64: arm), with the same rules for each; any other architecture kills the process.
// Names unknown to libseccomp are errors unless profile.ignore_unknown_syscalls (set in the
// built-in profile, which lists syscalls newer than some libseccomp releases); names known to
// libseccomp but absent from all these architectures are skipped. Rules whose action equals the
// default action are dropped. A syscall with an unconditional rule may have no other rule
// (libseccomp would silently discard the conditional ones): that is an error.
Result<std::vector<sock_filter>> CompileSeccompProfile(const SeccompProfile& profile);

// --seccomp: "default", "unconfined" (returns an empty program) or a JSON file path.
Result<std::vector<sock_filter>> CompileSeccomp(const std::string& profile);

// libseccomp's human-readable pseudo-code for `profile` (debugging, tests).
Result<std::string> SeccompProfilePfc(const SeccompProfile& profile);

// For `isoexec features` / status: kDefaultSeccompProfileName, "unconfined", or "file:PATH".
std::string SeccompProfileName(const std::string& profile);

// "2.5.4"
std::string LibseccompVersion();

// Child side: optionally sets no_new_privs, then installs `prog` (len == 0: no filter) with
// seccomp(SECCOMP_SET_MODE_FILTER). Without no_new_privs the kernel requires CAP_SYS_ADMIN in
// the effective set. Async-signal-safe, allocation-free; returns 0 or an errno value.
int LoadSeccomp(const sock_filter* prog, size_t len, bool set_no_new_privs) noexcept;

}  // namespace isoexec::isolation
