#include "sys/resident.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>

namespace isoexec::sys {

namespace {

TextRanges ReadProgramText() {
  TextRanges t;
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (!maps) return t;
  char line[512];
  while (t.n < TextRanges::kMax && std::fgets(line, sizeof line, maps)) {
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3)
      continue;
    // Executable, not writable, private, backed by a file (not [vdso] or anonymous JIT).
    if (std::strcmp(perms, "r-xp") != 0 || line[path_at] != '/') continue;
    t.range[t.n++] = {start, end};
  }
  std::fclose(maps);
  return t;
}

}  // namespace

const TextRanges& ProgramText() {
  static const TextRanges text = ReadProgramText();
  return text;
}

size_t DropText(const TextRanges& text) noexcept {
  size_t released = 0;
  for (size_t i = 0; i < text.n; ++i) {
    const auto& r = text.range[i];
    if (::madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTNEED) == 0)
      released += r.end - r.start;
  }
  return released;
}

size_t TrimResidentSet() noexcept {
  size_t released = DropText(ProgramText());
  ::malloc_trim(0);
  return released;
}

}  // namespace isoexec::sys
