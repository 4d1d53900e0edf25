// Binary lookup inside the task root, in Nomad's lookupTaskBin order: <root>/local/<cmd>,
// <root>/<cmd>, bind mounts, then /usr/local/bin, /usr/bin, /bin inside the root. Never the
// host's PATH, and resolution never leaves the root (a symlink in the root pointing at a host
// file is resolved inside the root, so `makeExecutable` can never chmod a host file).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace isoexec::isolation {

// A host directory visible at `task` inside the task (chroot env entry or bind mount).
struct PathMapping {
  std::string host;
  std::string task;       // absolute
  bool writable = false;  // only files in writable places get the +r-x fix-up
};

struct RootView {
  std::string rootfs;                 // host dir that is "/" ("" for the ephemeral root)
  std::vector<PathMapping> mappings;  // later entries shadow earlier ones
};

struct FoundBinary {
  std::string task_path;  // absolute path inside the task: argv[0] and the execve path
  std::string host_path;  // where it lives on the host (for messages)
};

// Errors (Code::kNotFound): "file <cmd> not found under path <root>" (Nomad's wording).
Result<FoundBinary> LookupTaskBin(const RootView& view, const std::string& cmd);

}  // namespace isoexec::isolation

namespace isoexec::isolation {
// Reads a regular file inside the task root through the view (e.g. /etc/passwd), resolving
// symlinks inside the root. nullopt when it does not exist.
std::optional<std::string> ReadTaskFile(const RootView& view, const std::string& task_path);
}  // namespace isoexec::isolation
