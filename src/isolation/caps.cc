#include "isolation/caps.h"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/file.h"
#include "base/parse.h"

namespace isoexec::isolation {

namespace {

constexpr int kMaxCap = 63;  // capability masks are 64-bit

uint64_t Bit(int cap) { return uint64_t{1} << cap; }

uint64_t MaskUpTo(int last_cap) {
  if (last_cap >= kMaxCap) return ~uint64_t{0};
  return Bit(last_cap + 1) - 1;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IsAll(std::string_view name) { return LowerCase(name) == "all"; }

// Raw syscalls: in the child after clone, glibc's setxid wrappers would try to synchronise
// threads that do not exist in this process with signals.
#if defined(SYS_setgroups32)
constexpr long kSysSetgroups = SYS_setgroups32;
constexpr long kSysSetresgid = SYS_setresgid32;
constexpr long kSysSetresuid = SYS_setresuid32;
constexpr long kSysGetresgid = SYS_getresgid32;
constexpr long kSysGetresuid = SYS_getresuid32;
#else
constexpr long kSysSetgroups = SYS_setgroups;
constexpr long kSysSetresgid = SYS_setresgid;
constexpr long kSysSetresuid = SYS_setresuid;
constexpr long kSysGetresgid = SYS_getresgid;
constexpr long kSysGetresuid = SYS_getresuid;
#endif

int StepFailed(const char** failed_step, const char* step) noexcept {
  const int e = errno;
  if (failed_step != nullptr) *failed_step = step;
  return e != 0 ? e : EINVAL;
}

}  // namespace

Result<int> KernelLastCap() {
  constexpr const char* kPath = "/proc/sys/kernel/cap_last_cap";
  ISOEXEC_ASSIGN_OR_RETURN(std::string text, ReadFile(kPath));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  ISOEXEC_ASSIGN_OR_RETURN(int64_t v, ParseInt(kPath, text, 0, kMaxCap));
  return static_cast<int>(v);
}

Result<int> ParseCapability(std::string_view field, std::string_view name) {
  std::string lower = LowerCase(name);
  std::string_view base = lower;
  if (base.substr(0, 4) == "cap_") base.remove_prefix(4);
  // Only letters and '_': libcap would also accept "12" or "cap_12", which are not names.
  bool ok = !base.empty();
  for (char c : base) ok = ok && ((c >= 'a' && c <= 'z') || c == '_');
  cap_value_t value = 0;
  if (!ok || cap_from_name(("cap_" + std::string(base)).c_str(), &value) != 0 || value < 0 ||
      value > kMaxCap) {
    return Fail(Error::Invalid(field, fmt::format("unknown capability \"{}\"", name)));
  }
  return static_cast<int>(value);
}

Result<uint64_t> ResolveCapabilities(const std::vector<std::string>& add,
                                     const std::vector<std::string>& drop) {
  int last_cap = kMaxCap;
  // Only "all" and validation of --cap-add need the kernel's limit; without --cap-add a missing
  // /proc does not matter.
  if (!add.empty()) {
    auto r = KernelLastCap();
    if (!r) return Fail(std::move(r.error()).With("--cap-add"));
    last_cap = *r;
  }
  return ResolveCapabilities(add, drop, last_cap);
}

Result<uint64_t> ResolveCapabilities(const std::vector<std::string>& add,
                                     const std::vector<std::string>& drop, int last_cap) {
  const uint64_t supported = MaskUpTo(last_cap);
  uint64_t caps = kDefaultCapabilities & supported;
  for (const std::string& name : drop) {
    if (IsAll(name)) {
      caps = 0;
      continue;
    }
    ISOEXEC_ASSIGN_OR_RETURN(int cap, ParseCapability("--cap-drop", name));
    caps &= ~Bit(cap);
  }
  for (const std::string& name : add) {
    if (IsAll(name)) {
      caps |= supported;
      continue;
    }
    ISOEXEC_ASSIGN_OR_RETURN(int cap, ParseCapability("--cap-add", name));
    if (cap > last_cap) {
      return Fail(Error::Invalid(
          "--cap-add", fmt::format("capability \"{}\" is not supported by the running kernel "
                                   "(cap_last_cap is {})",
                                   name, last_cap)));
    }
    caps |= Bit(cap);
  }
  return caps;
}

std::string CapName(int cap) {
  if (cap < 0 || cap > kMaxCap) return std::to_string(cap);
  char* raw = cap_to_name(static_cast<cap_value_t>(cap));
  if (raw == nullptr) return std::to_string(cap);
  std::string name(raw);
  cap_free(raw);
  if (name.substr(0, 4) != "cap_") return name;  // libcap prints unknown caps as numbers
  for (char& c : name) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return name;
}

std::vector<std::string> CapNames(uint64_t mask) {
  std::vector<std::string> names;
  for (int cap = 0; cap <= kMaxCap; ++cap)
    if ((mask & Bit(cap)) != 0) names.push_back(CapName(cap));
  return names;
}

CapSets CapSetsFor(uint64_t caps, bool root_user) {
  CapSets s;
  s.bounding = caps;
  s.permitted = caps;
  s.effective = caps;
  if (!root_user) {
    s.inheritable = caps;
    s.ambient = caps;
  }
  return s;
}

int ApplyCapabilities(const CapSets& sets, uid_t uid, gid_t gid, const gid_t* groups,
                      size_t ngroups, const char** failed_step) noexcept {
  // 1. Bounding set first: dropping needs CAP_SETPCAP in the effective set, which the uid
  //    change below clears.
  for (int cap = 0; cap <= kMaxCap; ++cap) {
    errno = 0;
    const int in_set = ::prctl(PR_CAPBSET_READ, static_cast<unsigned long>(cap), 0, 0, 0);
    if (in_set < 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      return StepFailed(failed_step, "capbset_read");
    }
    if (in_set == 1 && (sets.bounding & Bit(cap)) == 0 &&
        ::prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(cap), 0, 0, 0) != 0) {
      return StepFailed(failed_step, "capbset_drop");
    }
  }

  // 2-4. Identity. KEEPCAPS keeps the permitted set across a change away from uid 0 (the
  //      effective set is still cleared; capset restores it). Groups always: the launcher's
  //      supplementary groups must not leak into the task.
  if (::prctl(PR_SET_KEEPCAPS, 1UL, 0, 0, 0) != 0) return StepFailed(failed_step, "keepcaps");
  if (::syscall(kSysSetgroups, static_cast<long>(ngroups), groups) != 0)
    return StepFailed(failed_step, "setgroups");
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (::syscall(kSysGetresgid, &rgid, &egid, &sgid) != 0 || rgid != gid || egid != gid ||
      sgid != gid) {
    if (::syscall(kSysSetresgid, gid, gid, gid) != 0) return StepFailed(failed_step, "setresgid");
  }
  uid_t ruid = 0, euid = 0, suid = 0;
  if (::syscall(kSysGetresuid, &ruid, &euid, &suid) != 0 || ruid != uid || euid != uid ||
      suid != uid) {
    if (::syscall(kSysSetresuid, uid, uid, uid) != 0) return StepFailed(failed_step, "setresuid");
  }
  if (::prctl(PR_SET_KEEPCAPS, 0UL, 0, 0, 0) != 0) return StepFailed(failed_step, "keepcaps");

  // 5. capset: version 3 takes two 32-bit words per set.
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    const int shift = 32 * i;
    data[i].effective = static_cast<uint32_t>(sets.effective >> shift);
    data[i].permitted = static_cast<uint32_t>(sets.permitted >> shift);
    data[i].inheritable = static_cast<uint32_t>(sets.inheritable >> shift);
  }
  if (::syscall(SYS_capset, &header, data) != 0) return StepFailed(failed_step, "capset");

  // 6. Ambient last: raising requires the cap to be permitted and inheritable already.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    // Kernels before 4.3 have no ambient set; only a problem if we need one.
    if (errno != EINVAL || sets.ambient != 0) return StepFailed(failed_step, "ambient_clear");
  }
  for (int cap = 0; cap <= kMaxCap; ++cap) {
    if ((sets.ambient & Bit(cap)) == 0) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(cap), 0, 0) != 0)
      return StepFailed(failed_step, "ambient_raise");
  }
  return 0;
}

}  // namespace isoexec::isolation
