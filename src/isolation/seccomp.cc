#include "isolation/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/unique_fd.h"

namespace isoexec::isolation {

namespace {

constexpr std::string_view kField = "--seccomp";
constexpr int kMaxErrno = 4095;  // SECCOMP_RET_DATA is 16 bits, but errno values stop at 4095
constexpr unsigned kMaxArgs = 6;

Error Invalid(std::string_view path, std::string_view why) {
  return Error::Invalid(kField, path.empty() ? std::string(why) : fmt::format("{}: {}", path, why));
}

// ---- names <-> enums ------------------------------------------------------------------------

struct ActionName {
  std::string_view name;
  SeccompAction action;
};
constexpr ActionName kActionNames[] = {
    {"allow", SeccompAction::kAllow},
    {"errno", SeccompAction::kErrno},
    {"kill", SeccompAction::kKillProcess},
    {"kill_process", SeccompAction::kKillProcess},
    {"kill_thread", SeccompAction::kKillThread},
    {"trap", SeccompAction::kTrap},
    {"log", SeccompAction::kLog},
};

std::string_view ActionToString(SeccompAction a) {
  for (const ActionName& n : kActionNames)
    if (n.action == a) return n.name;
  return "?";
}

struct OpName {
  std::string_view name;
  SeccompOp op;
  scmp_compare scmp;
};
constexpr OpName kOpNames[] = {
    {"eq", SeccompOp::kEq, SCMP_CMP_EQ},
    {"ne", SeccompOp::kNe, SCMP_CMP_NE},
    {"lt", SeccompOp::kLt, SCMP_CMP_LT},
    {"le", SeccompOp::kLe, SCMP_CMP_LE},
    {"gt", SeccompOp::kGt, SCMP_CMP_GT},
    {"ge", SeccompOp::kGe, SCMP_CMP_GE},
    {"masked_eq", SeccompOp::kMaskedEq, SCMP_CMP_MASKED_EQ},
};

const OpName& OpInfo(SeccompOp op) {
  for (const OpName& n : kOpNames)
    if (n.op == op) return n;
  return kOpNames[0];
}

uint32_t ScmpAction(SeccompAction a, int errno_ret) {
  switch (a) {
    case SeccompAction::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::kErrno:
      return SCMP_ACT_ERRNO(static_cast<uint32_t>(errno_ret));
    case SeccompAction::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kKillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kTrap:
      return SCMP_ACT_TRAP;
    case SeccompAction::kLog:
      return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

// ---- architectures --------------------------------------------------------------------------

// The native architecture and the compat ABIs that matter: i386 on x86_64 (old binaries still
// run in containers), arm on aarch64, s390 on s390x. x32 is left out: mainstream kernels do not
// enable it, and every added architecture roughly doubles libseccomp's compile time. Its
// syscalls, like any ABI not listed, get the bad-arch action, ENOSYS, which is what a kernel
// without x32 support answers too.
std::vector<uint32_t> FilterArches() {
  const uint32_t native = seccomp_arch_native();
  std::vector<uint32_t> arches{native};
  switch (native) {
    case SCMP_ARCH_X86_64:
      arches.push_back(SCMP_ARCH_X86);
      break;
    case SCMP_ARCH_AARCH64:
      arches.push_back(SCMP_ARCH_ARM);
      break;
    case SCMP_ARCH_S390X:
      arches.push_back(SCMP_ARCH_S390);
      break;
    default:
      break;
  }
  return arches;
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

// ---- validation / compilation ---------------------------------------------------------------

std::string RulePath(size_t rule) { return fmt::format("/syscalls/{}", rule); }

bool SameAsDefault(const SeccompProfile& p, const SeccompRule& r) {
  if (r.action != p.default_action) return false;
  return r.action != SeccompAction::kErrno || r.errno_ret == p.default_errno;
}

Status CheckErrno(std::string_view path, int e) {
  if (e < 1 || e > kMaxErrno)
    return Fail(Invalid(path, fmt::format("errno must be 1..{}", kMaxErrno)));
  return Ok();
}

// One syscall of one rule, ready for seccomp_rule_add_array.
struct ResolvedRule {
  std::string name;
  int nr;
  uint32_t action;
  std::vector<scmp_arg_cmp> args;
};

// Checks `p` and resolves it into libseccomp terms. Paths in errors are JSON pointers into the
// file form, which has one array element per rule.
Result<std::vector<ResolvedRule>> Resolve(const SeccompProfile& p,
                                          const std::vector<uint32_t>& arches) {
  if (p.default_action == SeccompAction::kErrno)
    ISOEXEC_TRY(CheckErrno("/default_errno", p.default_errno));

  std::vector<ResolvedRule> out;
  struct Seen {
    std::string path;
    bool unconditional;
    uint32_t action;
  };
  std::map<int, std::vector<Seen>> seen;  // syscall -> rules so far

  for (size_t i = 0; i < p.rules.size(); ++i) {
    const SeccompRule& rule = p.rules[i];
    const std::string rpath = RulePath(i);
    if (rule.names.empty())
      return Fail(Invalid(rpath + "/names", "must list at least one syscall"));
    if (rule.action == SeccompAction::kErrno)
      ISOEXEC_TRY(CheckErrno(rpath + "/errno", rule.errno_ret));

    std::vector<scmp_arg_cmp> cmps;
    unsigned used = 0;
    for (size_t k = 0; k < rule.args.size(); ++k) {
      const SeccompArg& a = rule.args[k];
      const std::string apath = fmt::format("{}/args/{}", rpath, k);
      if (a.index >= kMaxArgs) return Fail(Invalid(apath + "/index", "must be 0..5"));
      if ((used & (1U << a.index)) != 0) {
        return Fail(Invalid(apath + "/index",
                            fmt::format("argument {} is already compared in this rule (libseccomp "
                                        "allows one comparison per argument; use several rules)",
                                        a.index)));
      }
      used |= 1U << a.index;
      scmp_arg_cmp c{};
      c.arg = a.index;
      c.op = OpInfo(a.op).scmp;
      c.datum_a = a.value;
      c.datum_b = a.op == SeccompOp::kMaskedEq ? a.value_two : 0;
      cmps.push_back(c);
    }
    if (SameAsDefault(p, rule)) continue;  // libseccomp rejects these; they change nothing
    const uint32_t action = ScmpAction(rule.action, rule.errno_ret);

    for (size_t j = 0; j < rule.names.size(); ++j) {
      const std::string& name = rule.names[j];
      const std::string npath = fmt::format("{}/names/{}", rpath, j);
      const int nr = name.empty() ? __NR_SCMP_ERROR : seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        if (p.ignore_unknown_syscalls && !name.empty()) continue;
        return Fail(Invalid(npath, fmt::format("unknown syscall \"{}\"", name)));
      }
      bool on_some_arch = false;
      for (uint32_t arch : arches)
        on_some_arch = on_some_arch || seccomp_syscall_resolve_name_arch(arch, name.c_str()) >= 0;
      if (!on_some_arch) continue;

      std::vector<Seen>& prior = seen[nr];
      const bool unconditional = cmps.empty();
      bool duplicate = false;
      for (const Seen& s : prior) {
        if (s.unconditional && unconditional && s.action == action) {
          duplicate = true;
        } else if (s.unconditional || unconditional) {
          return Fail(Invalid(
              npath, fmt::format("syscall \"{}\" also has a rule at {}; a syscall with a rule "
                                 "without args can have no other rule (libseccomp would keep "
                                 "only that one)",
                                 name, s.path)));
        }
      }
      if (duplicate) continue;
      prior.push_back({npath, unconditional, action});
      out.push_back({name, nr, action, cmps});
    }
  }
  return out;
}

Result<Ctx> Build(const SeccompProfile& p) {
  const std::vector<uint32_t> arches = FilterArches();
  ISOEXEC_ASSIGN_OR_RETURN(std::vector<ResolvedRule> rules, Resolve(p, arches));

  Ctx ctx(seccomp_init(ScmpAction(p.default_action, p.default_errno)));
  if (!ctx) return Fail(Error::Make(Code::kInternal, "seccomp_init failed"));
  // An ABI not listed in FilterArches: fail every syscall as a kernel without that ABI would.
  // (Not the profile's default action: that may be "allow".)
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
  if (rc < 0) return Fail(Error::Errno(-rc, "seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH)"));
  // No SCMP_FLTATR_CTL_OPTIMIZE binary tree: it makes compiling ~1.7x slower, and since Linux
  // 5.11 the kernel caches the verdict of syscalls that are allowed regardless of arguments
  // (most of them), so the linear filter only runs for the few argument-filtered or denied
  // ones.
  for (uint32_t arch : arches) {
    if (arch == seccomp_arch_native()) continue;
    rc = seccomp_arch_add(ctx.get(), arch);
    if (rc < 0 && rc != -EEXIST) {
      return Fail(Error::Errno(-rc, fmt::format("seccomp_arch_add({:#x})", arch)));
    }
  }
  // r.nr is the native number, or a negative pseudo number for syscalls the native ABI lacks
  // (chown32, socketcall...): libseccomp translates it by name for each architecture, leaves
  // it out where it does not exist, and on x86 also rewrites socket/ipc calls into rules for
  // the socketcall/ipc multiplexers.
  for (const ResolvedRule& r : rules) {
    rc = seccomp_rule_add_array(ctx.get(), r.action, r.nr, static_cast<unsigned>(r.args.size()),
                                r.args.empty() ? nullptr : r.args.data());
    if (rc < 0) {
      return Fail(Error::Errno(-rc, fmt::format("adding the rule for syscall \"{}\"", r.name))
                      .With(std::string(kField)));
    }
  }
  return ctx;
}

enum class Export { kBpf, kPfc };

Result<std::string> ExportToString(void* ctx, Export kind) {
  UniqueFd fd(::memfd_create("isoexec-seccomp", MFD_CLOEXEC));
  if (!fd) return Fail(Error::Errno(errno, "memfd_create"));
  const int rc =
      kind == Export::kBpf ? seccomp_export_bpf(ctx, fd.get()) : seccomp_export_pfc(ctx, fd.get());
  if (rc < 0)
    return Fail(
        Error::Errno(-rc, kind == Export::kBpf ? "seccomp_export_bpf" : "seccomp_export_pfc"));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail(Error::Errno(errno, "fstat memfd"));
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pread(fd.get(), data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Error::Errno(errno, "read memfd"));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

// ---- JSON -----------------------------------------------------------------------------------

using nlohmann::json;

Result<uint64_t> JsonU64(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    // Hex strings ("0x7e020000") read better for masks.
    const std::string& s = v.get_ref<const std::string&>();
    std::string_view digits = s;
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      digits.remove_prefix(2);
      base = 16;
    }
    uint64_t out = 0;
    const char* end = digits.data() + digits.size();
    auto [ptr, ec] = std::from_chars(digits.data(), end, out, base);
    if (!digits.empty() && ec == std::errc() && ptr == end) return out;
  }
  return Fail(Invalid(path, "must be a non-negative integer (or a \"0x...\" string)"));
}

Result<int64_t> JsonInt(const json& v, const std::string& path, int64_t min, int64_t max) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(max) && static_cast<int64_t>(u) >= min)
      return static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if (s >= min && s <= max) return s;
  }
  return Fail(Invalid(path, fmt::format("must be an integer in {}..{}", min, max)));
}

Result<std::string> JsonString(const json& v, const std::string& path) {
  if (!v.is_string()) return Fail(Invalid(path, "must be a string"));
  return v.get<std::string>();
}

Status CheckKeys(const json& obj, const std::string& path,
                 std::initializer_list<std::string_view> known) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = it.key() == "comment";
    for (std::string_view k : known) ok = ok || it.key() == k;
    if (!ok) return Fail(Invalid(path + "/" + it.key(), "unknown field"));
  }
  return Ok();
}

Result<SeccompAction> JsonAction(const json& v, const std::string& path) {
  ISOEXEC_ASSIGN_OR_RETURN(std::string s, JsonString(v, path));
  for (const ActionName& n : kActionNames)
    if (n.name == s) return n.action;
  return Fail(Invalid(path, fmt::format("unknown action \"{}\" (expected allow, errno, kill, "
                                        "kill_thread, trap or log)",
                                        s)));
}

Result<SeccompArg> JsonArg(const json& v, const std::string& path) {
  if (!v.is_object()) return Fail(Invalid(path, "must be an object"));
  ISOEXEC_TRY(CheckKeys(v, path, {"index", "op", "value", "value_two"}));
  SeccompArg a;
  for (const char* required : {"index", "op", "value"})
    if (!v.contains(required)) return Fail(Invalid(path, fmt::format("missing \"{}\"", required)));
  ISOEXEC_ASSIGN_OR_RETURN(int64_t index, JsonInt(v["index"], path + "/index", 0, kMaxArgs - 1));
  a.index = static_cast<unsigned>(index);
  ISOEXEC_ASSIGN_OR_RETURN(std::string op, JsonString(v["op"], path + "/op"));
  bool found = false;
  for (const OpName& n : kOpNames) {
    if (n.name == op) {
      a.op = n.op;
      found = true;
    }
  }
  if (!found) {
    return Fail(Invalid(path + "/op", fmt::format("unknown op \"{}\" (expected eq, ne, lt, le, "
                                                  "gt, ge or masked_eq)",
                                                  op)));
  }
  ISOEXEC_ASSIGN_OR_RETURN(a.value, JsonU64(v["value"], path + "/value"));
  if (a.op == SeccompOp::kMaskedEq) {
    if (!v.contains("value_two")) {
      return Fail(Invalid(path, "masked_eq needs \"value_two\" (compared with arg & value)"));
    }
    ISOEXEC_ASSIGN_OR_RETURN(a.value_two, JsonU64(v["value_two"], path + "/value_two"));
  } else if (v.contains("value_two")) {
    return Fail(Invalid(path + "/value_two", "only used with op \"masked_eq\""));
  }
  return a;
}

Result<SeccompRule> JsonRule(const json& v, const std::string& path) {
  if (!v.is_object()) return Fail(Invalid(path, "must be an object"));
  ISOEXEC_TRY(CheckKeys(v, path, {"names", "action", "errno", "args"}));
  SeccompRule rule;
  if (!v.contains("names")) return Fail(Invalid(path, "missing \"names\""));
  const json& names = v["names"];
  if (!names.is_array() || names.empty()) {
    return Fail(Invalid(path + "/names", "must be a non-empty array of syscall names"));
  }
  for (size_t j = 0; j < names.size(); ++j) {
    ISOEXEC_ASSIGN_OR_RETURN(std::string name,
                             JsonString(names[j], fmt::format("{}/names/{}", path, j)));
    rule.names.push_back(std::move(name));
  }
  if (!v.contains("action")) return Fail(Invalid(path, "missing \"action\""));
  ISOEXEC_ASSIGN_OR_RETURN(rule.action, JsonAction(v["action"], path + "/action"));
  if (v.contains("errno")) {
    if (rule.action != SeccompAction::kErrno) {
      return Fail(Invalid(path + "/errno", "only used with action \"errno\""));
    }
    ISOEXEC_ASSIGN_OR_RETURN(int64_t e, JsonInt(v["errno"], path + "/errno", 1, kMaxErrno));
    rule.errno_ret = static_cast<int>(e);
  } else {
    rule.errno_ret = EPERM;
  }
  if (v.contains("args")) {
    const json& args = v["args"];
    if (!args.is_array()) return Fail(Invalid(path + "/args", "must be an array"));
    for (size_t k = 0; k < args.size(); ++k) {
      ISOEXEC_ASSIGN_OR_RETURN(SeccompArg a, JsonArg(args[k], fmt::format("{}/args/{}", path, k)));
      rule.args.push_back(a);
    }
  }
  return rule;
}

std::string ShortJsonError(const std::string& what) {
  // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
  const size_t pos = what.find("] ");
  return pos == std::string::npos ? what : what.substr(pos + 2);
}

json ValueJson(uint64_t v, bool hex) {
  if (hex) return fmt::format("{:#x}", v);
  return v;
}

}  // namespace

Result<SeccompProfile> ParseSeccompProfile(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return Fail(Invalid("", "invalid JSON: " + ShortJsonError(e.what())));
  }
  if (!doc.is_object()) return Fail(Invalid("", "the profile must be a JSON object"));
  ISOEXEC_TRY(CheckKeys(
      doc, "", {"default_action", "default_errno", "syscalls", "ignore_unknown_syscalls"}));
  SeccompProfile p;
  p.default_action = SeccompAction::kErrno;
  p.default_errno = ENOSYS;
  if (doc.contains("default_action")) {
    ISOEXEC_ASSIGN_OR_RETURN(p.default_action,
                             JsonAction(doc["default_action"], "/default_action"));
  }
  if (doc.contains("default_errno")) {
    if (p.default_action != SeccompAction::kErrno) {
      return Fail(Invalid("/default_errno", "only used with default_action \"errno\""));
    }
    ISOEXEC_ASSIGN_OR_RETURN(int64_t e,
                             JsonInt(doc["default_errno"], "/default_errno", 1, kMaxErrno));
    p.default_errno = static_cast<int>(e);
  }
  if (doc.contains("ignore_unknown_syscalls")) {
    const json& v = doc["ignore_unknown_syscalls"];
    if (!v.is_boolean()) return Fail(Invalid("/ignore_unknown_syscalls", "must be true or false"));
    p.ignore_unknown_syscalls = v.get<bool>();
  }
  if (doc.contains("syscalls")) {
    const json& rules = doc["syscalls"];
    if (!rules.is_array()) return Fail(Invalid("/syscalls", "must be an array"));
    for (size_t i = 0; i < rules.size(); ++i) {
      ISOEXEC_ASSIGN_OR_RETURN(SeccompRule r, JsonRule(rules[i], RulePath(i)));
      p.rules.push_back(std::move(r));
    }
  }
  // Syscall names, conflicts, duplicate argument indexes: the same checks as compilation, so
  // that a bad file is reported with its JSON path before any task starts.
  ISOEXEC_TRY(Resolve(p, FilterArches()));
  return p;
}

std::string SeccompProfileToJson(const SeccompProfile& p) {
  nlohmann::ordered_json doc;
  doc["default_action"] = ActionToString(p.default_action);
  if (p.default_action == SeccompAction::kErrno) doc["default_errno"] = p.default_errno;
  if (p.ignore_unknown_syscalls) doc["ignore_unknown_syscalls"] = true;
  doc["syscalls"] = nlohmann::ordered_json::array();
  for (const SeccompRule& r : p.rules) {
    nlohmann::ordered_json jr;
    jr["names"] = r.names;
    jr["action"] = ActionToString(r.action);
    if (r.action == SeccompAction::kErrno) jr["errno"] = r.errno_ret;
    if (!r.args.empty()) {
      jr["args"] = nlohmann::ordered_json::array();
      for (const SeccompArg& a : r.args) {
        nlohmann::ordered_json ja;
        const bool masked = a.op == SeccompOp::kMaskedEq;
        ja["index"] = a.index;
        ja["op"] = OpInfo(a.op).name;
        ja["value"] = ValueJson(a.value, masked);
        if (masked) ja["value_two"] = ValueJson(a.value_two, masked);
        jr["args"].push_back(std::move(ja));
      }
    }
    doc["syscalls"].push_back(std::move(jr));
  }
  return doc.dump(2) + "\n";
}

Result<std::vector<sock_filter>> CompileSeccompProfile(const SeccompProfile& profile) {
  ISOEXEC_ASSIGN_OR_RETURN(Ctx ctx, Build(profile));
  ISOEXEC_ASSIGN_OR_RETURN(std::string bytes, ExportToString(ctx.get(), Export::kBpf));
  if (bytes.size() % sizeof(sock_filter) != 0) {
    return Fail(Error::Make(Code::kInternal, "seccomp_export_bpf: truncated program"));
  }
  std::vector<sock_filter> prog(bytes.size() / sizeof(sock_filter));
  std::memcpy(prog.data(), bytes.data(), bytes.size());
  if (prog.empty() || prog.size() > BPF_MAXINSNS) {
    return Fail(Error::Invalid(
        kField, fmt::format("the compiled filter has {} instructions; the kernel accepts 1..{}",
                            prog.size(), BPF_MAXINSNS)));
  }
  return prog;
}

Result<std::vector<sock_filter>> CompileSeccomp(const std::string& profile) {
  if (profile == "unconfined") return std::vector<sock_filter>{};
  if (profile == "default") {
    // ~8 ms of libseccomp work; a long-lived executor launches many tasks with it.
    static const Result<std::vector<sock_filter>>* const kDefault =
        new Result<std::vector<sock_filter>>(CompileSeccompProfile(DefaultSeccompProfile()));
    return *kDefault;
  }
  if (profile.empty()) {
    return Fail(Error::Invalid(kField, "empty (expected \"default\", \"unconfined\" or a file)"));
  }
  auto text = ReadFile(profile);
  if (!text) {
    return Fail(Error::Invalid(
        kField, fmt::format("\"{}\" is not \"default\", \"unconfined\" or a readable profile "
                            "file: {}",
                            profile, text.error().message())));
  }
  ISOEXEC_ASSIGN_OR_RETURN(SeccompProfile p, ParseSeccompProfile(*text));
  return CompileSeccompProfile(p);
}

Result<std::string> SeccompProfilePfc(const SeccompProfile& profile) {
  ISOEXEC_ASSIGN_OR_RETURN(Ctx ctx, Build(profile));
  return ExportToString(ctx.get(), Export::kPfc);
}

std::string SeccompProfileName(const std::string& profile) {
  if (profile == "default") return kDefaultSeccompProfileName;
  if (profile == "unconfined") return profile;
  return "file:" + profile;
}

std::string LibseccompVersion() {
  const scmp_version* v = seccomp_version();
  if (v == nullptr) return "unknown";
  return fmt::format("{}.{}.{}", v->major, v->minor, v->micro);
}

int LoadSeccomp(const sock_filter* prog, size_t len, bool set_no_new_privs) noexcept {
  if (set_no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0) return errno;
  if (len == 0) return 0;
  if (prog == nullptr || len > BPF_MAXINSNS) return EINVAL;
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(len);
  fprog.filter = const_cast<sock_filter*>(prog);  // the kernel only reads it
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U, &fprog) != 0) return errno;
  return 0;
}

}  // namespace isoexec::isolation
