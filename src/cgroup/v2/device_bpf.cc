#include "cgroup/v2/device_bpf.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/unique_fd.h"
#include "cgroup/fs.h"

namespace isoexec::cgroup {

namespace {

// Registers: r1 = context on entry; the prologue loads it into r2..r5 so r1 is free after.
constexpr uint8_t kR0 = 0, kR1 = 1, kType = 2, kAccess = 3, kMajor = 4, kMinor = 5;

bpf_insn Insn(int code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn{};
  insn.code = static_cast<uint8_t>(code);
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

bpf_insn LoadCtxWord(uint8_t dst, int16_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, kR1, off, 0);
}
bpf_insn AluImm(int op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn MovReg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn JneImm(uint8_t dst, int32_t imm) {
  return Insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm);
}
bpf_insn JneReg(uint8_t dst, uint8_t src) {
  return Insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, 0, 0);
}
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int32_t AccessMask(const std::string& access) {
  int32_t mask = 0;
  for (char c : access) {
    if (c == 'm') mask |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') mask |= BPF_DEVCG_ACC_READ;
    if (c == 'w') mask |= BPF_DEVCG_ACC_WRITE;
  }
  return mask;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

long Bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

uint64_t Ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

Result<UniqueFd> Load(const std::vector<bpf_insn>& program, const std::string& path) {
  static const char kLicense[] = "GPL";
  static constexpr char kProgName[] = "isoexec_devices";  // shown by bpftool
  auto attempt = [&](char* log, uint32_t log_size) {
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = Ptr(program.data());
    attr.insn_cnt = static_cast<uint32_t>(program.size());
    attr.license = Ptr(kLicense);
    static_assert(sizeof(kProgName) <= sizeof(attr.prog_name));
    std::memcpy(attr.prog_name, kProgName, sizeof(kProgName));
    if (log) {
      attr.log_buf = Ptr(log);
      attr.log_size = log_size;
      attr.log_level = 1;
    }
    return UniqueFd(static_cast<int>(Bpf(BPF_PROG_LOAD, &attr)));  // bpf fds are O_CLOEXEC
  };
  UniqueFd fd = attempt(nullptr, 0);
  if (fd) return fd;
  int e = errno;
  Error err = Error::Errno(e, fmt::format("load the device eBPF program for `{}`", path));
  if (e == EPERM)
    return Fail(WithHint(std::move(err), "loading eBPF programs needs root (CAP_SYS_ADMIN)"));
  if (e != EINVAL && e != EACCES) return Fail(std::move(err));
  // Rejected by the verifier: load again with its log, which says why.
  std::string log(64 * 1024, '\0');
  fd = attempt(log.data(), static_cast<uint32_t>(log.size()));
  if (fd) return fd;  // not expected; the program is deterministic
  log.resize(std::strlen(log.c_str()));
  while (!log.empty() && log.back() == '\n') log.pop_back();
  for (char& c : log)
    if (c == '\n') c = '|';
  return Fail(WithHint(std::move(err), fmt::format("verifier: {}", log)));
}

}  // namespace

std::vector<bpf_insn> BuildDeviceProgram(const std::vector<DeviceRule>& rules) {
  // ctx is struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } with
  // access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*.
  std::vector<bpf_insn> prog = {
      LoadCtxWord(kType, 0),        AluImm(BPF_AND, kType, 0xffff), LoadCtxWord(kAccess, 0),
      AluImm(BPF_RSH, kAccess, 16), LoadCtxWord(kMajor, 4),         LoadCtxWord(kMinor, 8),
  };
  for (const DeviceRule& rule : rules) {
    std::vector<bpf_insn> block;
    if (rule.type == 'c' || rule.type == 'b')
      block.push_back(JneImm(kType, rule.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
    int32_t mask = AccessMask(rule.access);
    if (mask != kAllAccess) {
      // Allowed only when the requested bits are a subset of the rule's: (req & mask) == req.
      block.push_back(MovReg(kR1, kAccess));
      block.push_back(AluImm(BPF_AND, kR1, mask));
      block.push_back(JneReg(kR1, kAccess));
    }
    if (rule.major >= 0) block.push_back(JneImm(kMajor, static_cast<int32_t>(rule.major)));
    if (rule.minor >= 0) block.push_back(JneImm(kMinor, static_cast<int32_t>(rule.minor)));
    block.push_back(AluImm(BPF_MOV, kR0, 1));
    block.push_back(Exit());
    // Every failed check skips to the next rule's block.
    for (size_t i = 0; i < block.size(); ++i)
      if (BPF_CLASS(block[i].code) == BPF_JMP && BPF_OP(block[i].code) == BPF_JNE)
        block[i].off = static_cast<int16_t>(block.size() - i - 1);
    prog.insert(prog.end(), block.begin(), block.end());
    // A rule that matches everything makes the rest unreachable, which the verifier rejects.
    if (block.size() == 2) return prog;
  }
  prog.push_back(AluImm(BPF_MOV, kR0, 0));
  prog.push_back(Exit());
  return prog;
}

std::string Disassemble(const std::vector<bpf_insn>& program) {
  std::string out;
  for (size_t i = 0; i < program.size(); ++i) {
    const bpf_insn& in = program[i];
    std::string text;
    uint8_t cls = BPF_CLASS(in.code);
    if (cls == BPF_LDX) {
      text = fmt::format("r{} = *(u32 *)(r{} + {})", in.dst_reg, in.src_reg, in.off);
    } else if (cls == BPF_ALU64) {
      const char* op = BPF_OP(in.code) == BPF_AND   ? "&="
                       : BPF_OP(in.code) == BPF_RSH ? ">>="
                       : BPF_OP(in.code) == BPF_MOV ? "="
                                                    : "?=";
      text = BPF_SRC(in.code) == BPF_X ? fmt::format("r{} {} r{}", in.dst_reg, op, in.src_reg)
                                       : fmt::format("r{} {} {}", in.dst_reg, op, in.imm);
    } else if (cls == BPF_JMP && BPF_OP(in.code) == BPF_EXIT) {
      text = "exit";
    } else if (cls == BPF_JMP && BPF_OP(in.code) == BPF_JNE) {
      text = BPF_SRC(in.code) == BPF_X
                 ? fmt::format("if r{} != r{} goto +{}", in.dst_reg, in.src_reg, in.off)
                 : fmt::format("if r{} != {} goto +{}", in.dst_reg, in.imm, in.off);
    } else {
      text = fmt::format("code {:#04x}", in.code);
    }
    out += fmt::format("{}: {}\n", i, text);
  }
  return out;
}

Result<std::vector<uint32_t>> QueryDevicePrograms(int cgroup_fd, const std::string& path) {
  std::vector<uint32_t> ids(16);
  for (;;) {
    bpf_attr attr{};
    attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = Ptr(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, &attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      return ids;
    }
    if (errno == ENOSPC && attr.query.prog_cnt > ids.size()) {
      ids.resize(attr.query.prog_cnt);
      continue;
    }
    return Fail(Error::Errno(errno, fmt::format("query the device eBPF programs of `{}`", path)));
  }
}

Status AttachDeviceProgram(int cgroup_fd, const std::string& path,
                           const std::vector<bpf_insn>& program) {
  ISOEXEC_ASSIGN_OR_RETURN(std::vector<uint32_t> old, QueryDevicePrograms(cgroup_fd, path));
  ISOEXEC_ASSIGN_OR_RETURN(UniqueFd prog, Load(program, path));
  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attr) != 0) {
    int e = errno;
    Error err = Error::Errno(e, fmt::format("attach the device eBPF program to `{}`", path));
    if (e == EPERM)
      return Fail(WithHint(std::move(err),
                           "another program is attached there without "
                           "BPF_F_ALLOW_MULTI, or we are not root"));
    if (e == EINVAL) return Fail(WithHint(std::move(err), "the kernel may lack CONFIG_CGROUP_BPF"));
    return Fail(std::move(err));
  }
  // The attachment holds its own reference: `prog` can be closed once attached.
  for (uint32_t id : old) {
    bpf_attr get{};
    get.prog_id = id;
    UniqueFd old_fd(static_cast<int>(Bpf(BPF_PROG_GET_FD_BY_ID, &get)));
    if (!old_fd) {
      if (errno == ENOENT) continue;  // detached meanwhile
      return Fail(
          Error::Errno(errno, fmt::format("open device eBPF program {} of `{}`", id, path)));
    }
    bpf_attr detach{};
    detach.target_fd = static_cast<uint32_t>(cgroup_fd);
    detach.attach_bpf_fd = static_cast<uint32_t>(old_fd.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &detach) != 0 && errno != ENOENT)
      return Fail(Error::Errno(errno, fmt::format("detach the previous device eBPF program {} "
                                                  "from `{}`",
                                                  id, path)));
  }
  return Ok();
}

}  // namespace isoexec::cgroup
