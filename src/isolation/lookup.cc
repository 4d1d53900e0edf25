#include "isolation/lookup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "base/unique_fd.h"
#include "isolation/mount_plan.h"
#include "sys/syscalls.h"

namespace isoexec::isolation {

namespace {

// Is `path` (normalised, no leading '/') at or below `prefix`?
bool Under(const std::string& path, const std::string& prefix, std::string* rest) {
  if (prefix.empty()) {
    *rest = path;
    return true;
  }
  if (path == prefix) {
    rest->clear();
    return true;
  }
  if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
      path[prefix.size()] == '/') {
    *rest = path.substr(prefix.size() + 1);
    return true;
  }
  return false;
}

struct Candidate {
  UniqueFd fd;  // O_PATH of the regular file
  std::string host;
  bool writable;
};

// Opens `rel` inside the host dir `base` with in-root resolution; a regular file only.
std::optional<Candidate> OpenRegular(const std::string& base, const std::string& rel,
                                     bool writable) {
  UniqueFd fd;
  if (rel.empty()) {
    // The mapping itself is the file (a single-file bind or chroot env entry).
    fd.reset(::open(base.c_str(), O_PATH | O_CLOEXEC));
  } else {
    UniqueFd dir(::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return std::nullopt;
    fd.reset(sys::Openat2(dir.get(), rel.c_str(), O_PATH | O_CLOEXEC, 0,
                          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  }
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return Candidate{std::move(fd), rel.empty() ? base : base + "/" + rel, writable};
}

// Resolves an in-task path to a regular file through the view: the mapping with the longest
// task prefix wins, else the rootfs.
std::optional<Candidate> Resolve(const RootView& view, const std::string& rel) {
  const PathMapping* best = nullptr;
  std::string best_rest;
  size_t best_len = 0;
  for (const auto& m : view.mappings) {
    auto prefix = TaskRelative("mapping", m.task);
    if (!prefix) continue;
    std::string rest;
    if (Under(rel, *prefix, &rest) && (!best || prefix->size() >= best_len)) {
      best = &m;
      best_rest = rest;
      best_len = prefix->size();
    }
  }
  if (best) return OpenRegular(best->host, best_rest, best->writable);
  if (!view.rootfs.empty()) return OpenRegular(view.rootfs, rel, true);
  return std::nullopt;
}

// Nomad's makeExecutable: OR r-x for everyone into the mode. Only for files in writable places
// (the task dir or rw binds): a read-only chroot env entry is a host file we must not touch.
void MakeExecutable(const Candidate& c) {
  if (!c.writable) return;
  struct stat st {};
  if (::fstat(c.fd.get(), &st) != 0) return;
  mode_t want = st.st_mode | 0555;
  if ((st.st_mode & 07777) == (want & 07777)) return;
  char path[64];
  sys::FdPath(path, sizeof path, c.fd.get());
  ::chmod(path, want & 07777);
}

}  // namespace

Result<FoundBinary> LookupTaskBin(const RootView& view, const std::string& cmd) {
  const std::string root_name = view.rootfs.empty() ? "/" : view.rootfs;
  const auto not_found = [&] {
    return Fail(Error::Make(Code::kNotFound,
                            fmt::format("file {} not found under path {}", cmd, root_name)));
  };
  if (cmd.empty()) return Fail(Error::Invalid("command", "must not be empty"));
  if (cmd.find('\0') != std::string::npos)
    return Fail(Error::Invalid("command", "contains a NUL byte"));
  // Relative commands are resolved like absolute ones for the root-relative candidates.
  auto rel = TaskRelative("command", "/" + cmd);
  if (!rel) return Fail(std::move(rel.error()));
  if (rel->empty()) return not_found();

  std::vector<std::string> candidates = {"local/" + *rel, *rel};
  for (const auto& c : candidates) {
    if (auto found = Resolve(view, c)) {
      MakeExecutable(*found);
      return FoundBinary{"/" + c, found->host};
    }
  }
  if (cmd.find('/') != std::string::npos) return not_found();
  for (const char* dir : {"usr/local/bin", "usr/bin", "bin"}) {
    std::string c = std::string(dir) + "/" + *rel;
    if (auto found = Resolve(view, c)) {
      MakeExecutable(*found);
      return FoundBinary{"/" + c, found->host};
    }
  }
  return not_found();
}

}  // namespace isoexec::isolation

namespace isoexec::isolation {

std::optional<std::string> ReadTaskFile(const RootView& view, const std::string& task_path) {
  auto rel = TaskRelative("path", task_path);
  if (!rel || rel->empty()) return std::nullopt;
  auto found = Resolve(view, *rel);
  if (!found) return std::nullopt;
  char path[64];
  sys::FdPath(path, sizeof path, found->fd.get());
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (16u << 20)) break;  // a hostile root cannot make us read forever
  }
  return out;
}

}  // namespace isoexec::isolation
