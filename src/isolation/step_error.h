// How child-side code (between clone and execve) reports a failure without allocating:
// a static step name, the path involved (points into parent-prepared memory) and errno.
#pragma once

namespace isoexec::isolation {

struct StepError {
  const char* step = nullptr;  // static string: "mount", "pivot_root", "mknod", ...
  const char* path = nullptr;  // path inside the task root, or a host path
  int err = 0;
};

// Records the failure and returns false, so callers can write `return Failed(e, ...);`.
inline bool Failed(StepError* e, const char* step, const char* path, int err) noexcept {
  e->step = step;
  e->path = path;
  e->err = err;
  return false;
}

}  // namespace isoexec::isolation
