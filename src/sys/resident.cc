#include "sys/resident.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace isoexec::sys {

size_t TrimResidentSet() noexcept {
  size_t released = 0;
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps) {
    char line[512];
    while (std::fgets(line, sizeof line, maps)) {
      unsigned long start = 0, end = 0;
      char perms[5] = {};
      int path_at = 0;
      if (std::sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3)
        continue;
      // Executable, not writable, private, backed by a file (not [vdso] or anonymous JIT).
      if (std::strcmp(perms, "r-xp") != 0 || line[path_at] != '/') continue;
      if (::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) == 0)
        released += end - start;
    }
    std::fclose(maps);
  }
  ::malloc_trim(0);
  return released;
}

}  // namespace isoexec::sys
