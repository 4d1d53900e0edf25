#pragma once

#include <cstddef>
#include <cstdint>

namespace isoexec::sys {

// The program text mapped into this process: the executable, never-written segments of
// isoexec and, in a dynamic build, its libraries. Found once (dl_iterate_phdr, no system
// call); a fork has the same ranges.
struct TextRanges {
  struct Range {
    uintptr_t start = 0, end = 0;
  };
  static constexpr size_t kMax = 32;
  Range range[kMax];
  size_t n = 0;
};
const TextRanges& ProgramText();

// Drops those pages from the resident set. They are clean and never written, so MADV_DONTNEED
// only unmaps them: they stay in the shared page cache, and the few still run fault back in on
// use. Writable and relocated (RELRO) mappings are never touched. Async-signal-safe (for a
// forked init between clone and exec). Returns the bytes released.
size_t DropText(const TextRanges& text) noexcept;

// For a process that outlives the work that made it big (a detached supervisor after the
// launch): drops the text it faulted in (CLI parsing, spec handling, the launch path) and
// returns free heap to the kernel.
size_t TrimResidentSet() noexcept;

}  // namespace isoexec::sys
