// The default seccomp profile as a BPF program compiled at build time (gen_default_filter).
// A unit test checks it equals a fresh libseccomp compile, so the two cannot drift.
#pragma once

#include <linux/filter.h>

#include <cstddef>

namespace isoexec::seccomp_blob {
extern const sock_filter kDefaultFilter[];
extern const size_t kDefaultFilterLen;
}  // namespace isoexec::seccomp_blob
