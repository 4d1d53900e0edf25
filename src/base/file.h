// Small file helpers with errors that name the path.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace isoexec {

Result<std::string> ReadFile(const std::string& path);
// Reads a file relative to a directory fd (cgroup control files, /proc/<pid>/...).
Result<std::string> ReadFileAt(int dirfd, const std::string& name);
// Plain write (O_WRONLY|O_TRUNC, no create): control files in cgroupfs/procfs.
// write(2) until all of `data` is out (EINTR retried); the error names `what`.
Status WriteAll(int fd, std::string_view data, const std::string& what);
Status WriteFile(const std::string& path, std::string_view data);
Status WriteFileAt(int dirfd, const std::string& name, std::string_view data);
// Crash-safe replace: write a temp file in the same dir, fsync, rename over `path`.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
// mkdir -p with `mode` for created components.
Status MakeDirs(const std::string& path, unsigned mode = 0755);
// rm -rf that never crosses into another mount (so a leaked bind never deletes host data).
Status RemoveTree(const std::string& path);

}  // namespace isoexec
