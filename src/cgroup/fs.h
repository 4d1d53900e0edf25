// Control-file I/O shared by both backends. Every error names the full path, and the errnos a
// user can act on (EACCES, EROFS, EBUSY...) carry a one-line hint. See cgroups(7).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"

namespace isoexec::cgroup {

std::string JoinPath(std::string_view dir, std::string_view name);
bool PathExists(const std::string& path);

// Appends "; <hint>" to the message, keeping code and errno.
Error WithHint(Error e, std::string_view hint);

// <dir>/<file> without the trailing newline.
Result<std::string> ReadControl(const std::string& dir, std::string_view file);
// A decimal counter; "max" is an error here (use ReadControl where it can appear).
Result<uint64_t> ReadControlUint(const std::string& dir, std::string_view file);
// Like ReadControl / ReadControlUint, but a missing file is nullopt (optional kernel features).
Result<std::optional<std::string>> ReadOptionalControl(const std::string& dir,
                                                       std::string_view file);
Result<std::optional<uint64_t>> ReadOptionalUint(const std::string& dir, std::string_view file);
// One write(2) of `value` to <dir>/<file> (no O_CREAT: control files exist or it is an error).
Status WriteControl(const std::string& dir, std::string_view file, std::string_view value);

// mkdir(2) of one cgroup directory: true when created, false when it was already there.
Result<bool> MakeCgroupDir(const std::string& path);
// rmdir(2) of a cgroup and, depth first, of any child cgroups. ENOENT is success; EBUSY (the
// last killed processes are still exiting) is retried for up to `busy_for`.
Status RemoveCgroupTree(const std::string& path, std::chrono::milliseconds busy_for);
// One rmdir(2): true when the cgroup is gone (or was never there). False when anything is
// still in it (processes, child cgroups, or files on a test tree): use the full path then.
bool RemoveIfEmpty(const std::string& path) noexcept;

// Every pid in <dir>/cgroup.procs and in the child cgroups below it. Sub-cgroups that vanish
// during the walk are skipped.
Result<std::vector<pid_t>> ReadProcsRecursive(const std::string& dir);

// Calls `done` (-> Result<bool>) with a growing sleep (1 ms .. 20 ms) until it returns true or
// `total` has passed; the result is the last answer (false = timed out).
template <class Pred>
Result<bool> PollFor(std::chrono::milliseconds total, Pred done) {
  auto deadline = std::chrono::steady_clock::now() + total;
  auto sleep = std::chrono::milliseconds(1);
  for (;;) {
    Result<bool> r = done();
    if (!r || *r) return r;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace isoexec::cgroup
