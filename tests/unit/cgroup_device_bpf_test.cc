#include <gtest/gtest.h>

#include "cgroup/v2/device_bpf.h"

namespace isoexec::cgroup {
namespace {

constexpr char kPrologue[] =
    "0: r2 = *(u32 *)(r1 + 0)\n"
    "1: r2 &= 65535\n"
    "2: r3 = *(u32 *)(r1 + 0)\n"
    "3: r3 >>= 16\n"
    "4: r4 = *(u32 *)(r1 + 4)\n"
    "5: r5 = *(u32 *)(r1 + 8)\n";

TEST(CgroupDeviceBpf, OneCharDeviceAllRights) {
  EXPECT_EQ(Disassemble(BuildDeviceProgram({{'c', 1, 3, "rwm"}})), std::string(kPrologue) +
                                                                       "6: if r2 != 2 goto +4\n"
                                                                       "7: if r4 != 1 goto +3\n"
                                                                       "8: if r5 != 3 goto +2\n"
                                                                       "9: r0 = 1\n"
                                                                       "10: exit\n"
                                                                       "11: r0 = 0\n"
                                                                       "12: exit\n");
}

TEST(CgroupDeviceBpf, AccessSubsetAndWildcardMinor) {
  EXPECT_EQ(Disassemble(BuildDeviceProgram({{'c', 1, 3, "r"}, {'b', 8, -1, "rw"}})),
            std::string(kPrologue) +
                // c 1:3 r: requested access must be within BPF_DEVCG_ACC_READ (2).
                "6: if r2 != 2 goto +7\n"
                "7: r1 = r3\n"
                "8: r1 &= 2\n"
                "9: if r1 != r3 goto +4\n"
                "10: if r4 != 1 goto +3\n"
                "11: if r5 != 3 goto +2\n"
                "12: r0 = 1\n"
                "13: exit\n"
                // b 8:* rw: no minor check.
                "14: if r2 != 1 goto +6\n"
                "15: r1 = r3\n"
                "16: r1 &= 6\n"
                "17: if r1 != r3 goto +3\n"
                "18: if r4 != 8 goto +2\n"
                "19: r0 = 1\n"
                "20: exit\n"
                "21: r0 = 0\n"
                "22: exit\n");
}

TEST(CgroupDeviceBpf, EmptyListDeniesEverything) {
  EXPECT_EQ(Disassemble(BuildDeviceProgram({})), std::string(kPrologue) +
                                                     "6: r0 = 0\n"
                                                     "7: exit\n");
}

TEST(CgroupDeviceBpf, AllowAllStopsBeforeUnreachableCode) {
  // The verifier rejects unreachable instructions, so nothing follows a match-all rule.
  EXPECT_EQ(Disassemble(BuildDeviceProgram({{'a', -1, -1, "rwm"}, {'c', 1, 3, "rwm"}})),
            std::string(kPrologue) +
                "6: r0 = 1\n"
                "7: exit\n");
}

// A tiny interpreter for the opcodes BuildDeviceProgram emits, to check the semantics of
// whole allow-lists rather than their spelling.
int Interpret(const std::vector<bpf_insn>& prog, char type, uint32_t major, uint32_t minor,
              std::string_view access) {
  uint32_t acc = 0;
  for (char c : access)
    acc |= c == 'm' ? BPF_DEVCG_ACC_MKNOD : c == 'r' ? BPF_DEVCG_ACC_READ : BPF_DEVCG_ACC_WRITE;
  uint32_t ctx[3] = {(acc << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK), major,
                     minor};
  uint64_t r[11] = {};
  bool r1_is_ctx = true;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& in = prog[pc];
    uint64_t src = BPF_SRC(in.code) == BPF_X ? r[in.src_reg]
                                             : static_cast<uint64_t>(static_cast<int64_t>(in.imm));
    switch (BPF_CLASS(in.code)) {
      case BPF_LDX:
        EXPECT_EQ(in.src_reg, 1);
        EXPECT_TRUE(r1_is_ctx);
        EXPECT_EQ(in.off % 4, 0);
        r[in.dst_reg] = ctx[in.off / 4];
        break;
      case BPF_ALU64:
        if (in.dst_reg == 1) r1_is_ctx = false;
        if (BPF_OP(in.code) == BPF_AND)
          r[in.dst_reg] &= src;
        else if (BPF_OP(in.code) == BPF_RSH)
          r[in.dst_reg] >>= src;
        else if (BPF_OP(in.code) == BPF_MOV)
          r[in.dst_reg] = src;
        else
          ADD_FAILURE() << "alu op";
        break;
      case BPF_JMP:
        if (BPF_OP(in.code) == BPF_EXIT) return static_cast<int>(r[0]);
        EXPECT_EQ(BPF_OP(in.code), BPF_JNE);
        EXPECT_GE(in.off, 0);
        if (r[in.dst_reg] != src) pc += static_cast<size_t>(in.off);
        break;
      default:
        ADD_FAILURE() << "opcode " << int{in.code};
        return -1;
    }
  }
  ADD_FAILURE() << "fell off the end";
  return -1;
}

TEST(CgroupDeviceBpf, DefaultRulesSemantics) {
  auto prog = BuildDeviceProgram(DefaultDeviceRules());
  EXPECT_EQ(Interpret(prog, 'c', 1, 3, "rw"), 1);  // null
  EXPECT_EQ(Interpret(prog, 'c', 1, 3, "m"), 1);
  EXPECT_EQ(Interpret(prog, 'c', 1, 9, "r"), 1);     // urandom
  EXPECT_EQ(Interpret(prog, 'c', 5, 2, "rw"), 1);    // ptmx
  EXPECT_EQ(Interpret(prog, 'c', 136, 0, "rw"), 1);  // pts/0
  EXPECT_EQ(Interpret(prog, 'c', 136, 4095, "w"), 1);
  EXPECT_EQ(Interpret(prog, 'c', 1, 1, "r"), 0);   // mem
  EXPECT_EQ(Interpret(prog, 'c', 1, 4, "r"), 0);   // port
  EXPECT_EQ(Interpret(prog, 'c', 5, 1, "rw"), 0);  // console
  EXPECT_EQ(Interpret(prog, 'c', 4, 0, "rw"), 0);  // tty0
  EXPECT_EQ(Interpret(prog, 'b', 1, 3, "r"), 0);   // right numbers, wrong type
  EXPECT_EQ(Interpret(prog, 'b', 8, 0, "m"), 0);   // no blanket mknod
  EXPECT_EQ(Interpret(prog, 'c', 10, 200, "m"), 0);
}

TEST(CgroupDeviceBpf, AccessSubsetSemantics) {
  auto prog = BuildDeviceProgram({{'c', 1, 3, "r"}, {'b', 8, -1, "rw"}});
  EXPECT_EQ(Interpret(prog, 'c', 1, 3, "r"), 1);
  EXPECT_EQ(Interpret(prog, 'c', 1, 3, "w"), 0);
  EXPECT_EQ(Interpret(prog, 'c', 1, 3, "rw"), 0);
  EXPECT_EQ(Interpret(prog, 'c', 1, 3, "m"), 0);
  EXPECT_EQ(Interpret(prog, 'b', 8, 16, "rw"), 1);
  EXPECT_EQ(Interpret(prog, 'b', 8, 16, "m"), 0);
  EXPECT_EQ(Interpret(prog, 'c', 8, 16, "r"), 0);
}

TEST(CgroupDeviceBpf, TypeAllMatchesBothTypes) {
  auto prog = BuildDeviceProgram({{'a', 7, -1, "r"}});
  EXPECT_EQ(Interpret(prog, 'c', 7, 1, "r"), 1);
  EXPECT_EQ(Interpret(prog, 'b', 7, 1, "r"), 1);
  EXPECT_EQ(Interpret(prog, 'b', 7, 1, "w"), 0);
  EXPECT_EQ(Interpret(prog, 'b', 6, 1, "r"), 0);
  EXPECT_EQ(Interpret(BuildDeviceProgram({}), 'c', 1, 3, "r"), 0);
}

}  // namespace
}  // namespace isoexec::cgroup
