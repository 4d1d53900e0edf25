#include "sys/resident.h"

#include <link.h>
#include <malloc.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

namespace isoexec::sys {

namespace {

// The executable, never-written PT_LOAD segments of every loaded object, from the loader's own
// program headers: no /proc read on the launch path. The vDSO is skipped (not file-backed).
int AddText(dl_phdr_info* info, size_t, void* out) {
  auto* t = static_cast<TextRanges*>(out);
  const uintptr_t vdso = ::getauxval(AT_SYSINFO_EHDR);
  if (vdso != 0 && reinterpret_cast<uintptr_t>(info->dlpi_phdr) - vdso < 4096) return 0;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum && t->n < TextRanges::kMax; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) || (ph.p_flags & PF_W)) continue;
    // Whole pages inside the segment only: the neighbours may be written (RELRO, data).
    uintptr_t start = (info->dlpi_addr + ph.p_vaddr + page - 1) & ~(page - 1);
    uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_filesz) & ~(page - 1);
    if (end > start) t->range[t->n++] = {start, end};
  }
  return 0;
}

TextRanges ReadProgramText() {
  TextRanges t;
  ::dl_iterate_phdr(AddText, &t);
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
