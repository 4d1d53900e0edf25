// Build-time generator: compiles the default seccomp profile with libseccomp once and writes
// it as a C++ array, so `isoexec run` never pays libseccomp's 8-16 ms compile per launch.
#include <cstdio>

#include "isolation/seccomp.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.cc\n", argv[0]);
    return 2;
  }
  auto prog = isoexec::isolation::CompileSeccomp("default");
  if (!prog) {
    std::fprintf(stderr, "%s\n", prog.error().str().c_str());
    return 1;
  }
  FILE* f = std::fopen(argv[1], "w");
  if (!f) return 1;
  std::fprintf(f,
               "// Generated at build time by gen_default_filter from the default profile "
               "(%s); do not edit.\n#include \"seccomp_blob/default_filter.h\"\n\n"
               "namespace isoexec::seccomp_blob {\nconst sock_filter kDefaultFilter[] = {\n",
               isoexec::isolation::kDefaultSeccompProfileName);
  for (const auto& i : *prog)
    std::fprintf(f, "    {0x%04x, %u, %u, 0x%08x},\n", i.code, i.jt, i.jf, i.k);
  std::fprintf(f, "};\nconst size_t kDefaultFilterLen = %zu;\n}  // namespace isoexec::seccomp_blob\n",
               prog->size());
  return std::fclose(f) == 0 ? 0 : 1;
}
