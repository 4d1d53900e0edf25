#include "cgroup/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include <fmt/format.h>

#include "base/file.h"
#include "base/unique_fd.h"
#include "cgroup/parsers.h"

namespace isoexec::cgroup {

namespace {

// Hints for the errnos any cgroup file can give; call sites add the file-specific ones.
Error Decorate(Error e) {
  switch (e.sys_errno()) {
    case EACCES:  // EPERM means something specific per file; the call sites explain it
      return WithHint(std::move(e),
                      "run as root, or delegate this cgroup subtree to the user running isoexec");
    case EROFS:
      return WithHint(std::move(e),
                      "the cgroup filesystem is mounted read-only (inside a container, mount it "
                      "read-write or run on the host)");
    default:
      return e;
  }
}

}  // namespace

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/' && !name.empty()) out += '/';
  out += name;
  return out;
}

bool PathExists(const std::string& path) {
  return ::faccessat(AT_FDCWD, path.c_str(), F_OK, AT_EACCESS) == 0;
}

Error WithHint(Error e, std::string_view hint) {
  return Error(e.code(), fmt::format("{}; {}", e.message(), hint), e.sys_errno());
}

Result<std::string> ReadControl(const std::string& dir, std::string_view file) {
  Result<std::string> r = ReadFile(JoinPath(dir, file));
  if (!r) return Fail(Decorate(std::move(r.error())));
  while (!r->empty() && (r->back() == '\n' || r->back() == ' ')) r->pop_back();
  return r;
}

Result<uint64_t> ReadControlUint(const std::string& dir, std::string_view file) {
  ISOEXEC_ASSIGN_OR_RETURN(std::string text, ReadControl(dir, file));
  std::optional<uint64_t> v = ParseUint(text);
  if (!v)
    return Fail(Error::Make(Code::kInternal, fmt::format("read `{}`: unexpected content `{}`",
                                                         JoinPath(dir, file), text)));
  return *v;
}

Result<std::optional<std::string>> ReadOptionalControl(const std::string& dir,
                                                       std::string_view file) {
  Result<std::string> r = ReadControl(dir, file);
  if (!r) {
    if (r.error().sys_errno() == ENOENT) return std::optional<std::string>();
    return Fail(std::move(r.error()));
  }
  return std::optional<std::string>(std::move(*r));
}

Result<std::optional<uint64_t>> ReadOptionalUint(const std::string& dir, std::string_view file) {
  Result<uint64_t> r = ReadControlUint(dir, file);
  if (!r) {
    if (r.error().sys_errno() == ENOENT) return std::optional<uint64_t>();
    return Fail(std::move(r.error()));
  }
  return std::optional<uint64_t>(*r);
}

Status WriteControl(const std::string& dir, std::string_view file, std::string_view value) {
  std::string path = JoinPath(dir, file);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return Fail(Decorate(Error::Errno(errno, fmt::format("open `{}`", path))));
  // Control files take one value per write(2); a short write is an error, not a retry.
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    Error e = Error::Errno(errno, fmt::format("write `{}` to `{}`", value, path));
    // The file opened, so this is no permission problem: cgroup v1 refuses CPUs or memory
    // nodes outside the parent's set with EACCES.
    if (e.sys_errno() == EACCES && file.starts_with("cpuset."))
      return Fail(WithHint(std::move(e), "the CPUs and memory nodes must be within the parent "
                                         "cgroup's (see its cpuset.cpus and cpuset.mems)"));
    return Fail(Decorate(std::move(e)));
  }
  if (static_cast<size_t>(n) != value.size())
    return Fail(
        Error::Make(Code::kInternal, fmt::format("write `{}` to `{}`: short write", value, path)));
  return Ok();
}

Result<bool> MakeCgroupDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return false;
    return Fail(Error::Make(Code::kAlreadyExists,
                            fmt::format("mkdir `{}`: exists and is not a directory", path)));
  }
  return Fail(Decorate(Error::Errno(errno, fmt::format("mkdir `{}`", path))));
}

Status RemoveCgroupTree(const std::string& path, std::chrono::milliseconds busy_for) {
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) return Ok();
      return Fail(Decorate(Error::Errno(errno, fmt::format("open `{}`", path))));
    }
    DIR* dir = ::fdopendir(fd.get());
    if (!dir) return Fail(Error::Errno(errno, fmt::format("opendir `{}`", path)));
    fd.release();  // now owned by `dir`
    std::vector<std::string> children;
    while (dirent* e = ::readdir(dir)) {
      std::string_view n = e->d_name;
      if (e->d_type == DT_DIR && n != "." && n != "..") children.emplace_back(n);
    }
    ::closedir(dir);
    for (const std::string& child : children)
      ISOEXEC_TRY(RemoveCgroupTree(JoinPath(path, child), busy_for));
  }
  auto deadline = std::chrono::steady_clock::now() + busy_for;
  for (;;) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return Ok();
    int e = errno;
    if (e != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      Error err = Error::Errno(e, fmt::format("rmdir `{}`", path));
      if (e == EBUSY) return Fail(WithHint(std::move(err), "processes are still running in it"));
      return Fail(Decorate(std::move(err)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool RemoveIfEmpty(const std::string& path) noexcept {
  return ::rmdir(path.c_str()) == 0 || errno == ENOENT;
}

Result<std::vector<pid_t>> ReadProcsRecursive(const std::string& dir) {
  std::vector<pid_t> pids;
  Result<std::string> procs = ReadControl(dir, "cgroup.procs");
  if (!procs) return Fail(std::move(procs.error()));
  ISOEXEC_ASSIGN_OR_RETURN(pids, ParseProcs(*procs, JoinPath(dir, "cgroup.procs")));

  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Fail(Decorate(Error::Errno(errno, fmt::format("open `{}`", dir))));
  DIR* d = ::fdopendir(fd.get());
  if (!d) return Fail(Error::Errno(errno, fmt::format("opendir `{}`", dir)));
  fd.release();
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (e->d_type == DT_DIR && n != "." && n != "..") children.emplace_back(n);
  }
  ::closedir(d);
  for (const std::string& child : children) {
    Result<std::vector<pid_t>> sub = ReadProcsRecursive(JoinPath(dir, child));
    if (!sub) {
      if (sub.error().sys_errno() == ENOENT) continue;
      return sub;
    }
    pids.insert(pids.end(), sub->begin(), sub->end());
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

}  // namespace isoexec::cgroup
