#include "base/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace isoexec {

namespace {

Result<std::string> ReadAll(int fd, const std::string& path) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Errno(errno, fmt::format("read `{}`", path)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status RemoveTreeAt(int parent, const char* name, dev_t dev, const std::string& path) {
  UniqueFd fd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOTDIR || errno == ELOOP) {
      if (::unlinkat(parent, name, 0) != 0 && errno != ENOENT)
        return Fail(Error::Errno(errno, fmt::format("unlink `{}`", path)));
      return Ok();
    }
    if (errno == ENOENT) return Ok();
    return Fail(Error::Errno(errno, fmt::format("open `{}`", path)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail(Error::Errno(errno, fmt::format("stat `{}`", path)));
  if (st.st_dev != dev)
    return Fail(Error::Make(Code::kFailedPrecondition,
                            fmt::format("refusing to remove `{}`: it is a mount point", path)));
  DIR* dir = ::fdopendir(::dup(fd.get()));
  if (!dir) return Fail(Error::Errno(errno, fmt::format("opendir `{}`", path)));
  Status status = Ok();
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    status = RemoveTreeAt(fd.get(), e->d_name, dev, path + "/" + e->d_name);
    if (!status) break;
  }
  ::closedir(dir);
  if (!status) return status;
  if (::unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Fail(Error::Errno(errno, fmt::format("rmdir `{}`", path)));
  return Ok();
}

}  // namespace

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Errno(errno, fmt::format("write `{}`", path)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("open `{}`", path)));
  return ReadAll(fd.get(), path);
}

Result<std::string> ReadFileAt(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("open `{}`", name)));
  return ReadAll(fd.get(), name);
}

Status WriteFile(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("open `{}`", path)));
  return WriteAll(fd.get(), data, path);
}

Status WriteFileAt(int dirfd, const std::string& name, std::string_view data) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("open `{}`", name)));
  return WriteAll(fd.get(), data, name);
}

Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("open `{}`", tmp)));
  if (auto s = WriteAll(fd.get(), data, tmp); !s) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::fsync(fd.get()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Fail(Error::Errno(e, fmt::format("fsync `{}`", tmp)));
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Fail(Error::Errno(e, fmt::format("rename `{}` to `{}`", tmp, path)));
  }
  return Ok();
}

Status MakeDirs(const std::string& path, unsigned mode) {
  if (path.empty()) return Ok();
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return Fail(Error::Errno(errno, fmt::format("mkdir `{}`", cur)));
  }
  return Ok();
}

Status RemoveTree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok();
    return Fail(Error::Errno(errno, fmt::format("stat `{}`", path)));
  }
  return RemoveTreeAt(AT_FDCWD, path.c_str(), st.st_dev, path);
}

}  // namespace isoexec
