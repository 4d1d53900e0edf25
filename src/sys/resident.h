#pragma once

#include <cstddef>

namespace isoexec::sys {

// For a process that outlives the work that made it big (a detached supervisor after the
// launch): drops from its resident set the program-text pages it faulted in (CLI parsing,
// spec handling, the launch path) and returns free heap to the kernel. Text pages are clean
// private file mappings, never written, so MADV_DONTNEED only unmaps them: they stay in the
// shared page cache and the few the event loop still runs fault back in on use. Writable and
// relocated (RELRO) mappings are never touched. Returns the bytes of text released.
size_t TrimResidentSet() noexcept;

}  // namespace isoexec::sys
