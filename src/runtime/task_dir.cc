#include "runtime/task_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "base/file.h"
#include "runtime/task_state.h"

namespace isoexec::runtime {

namespace {

void RandomBytes(unsigned char* b, size_t n) {
  if (::getrandom(b, n, 0) == static_cast<ssize_t>(n)) return;
  auto t = static_cast<uint64_t>(::getpid()) ^ static_cast<uint64_t>(time(nullptr));
  for (size_t i = 0; i < n; ++i) {
    b[i] = static_cast<unsigned char>(t & 0xff);
    t = (t >> 8) | (t << 56);
  }
}

Result<UniqueFd> LockDir(const std::string& dir, bool wait) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Fail(Error::Errno(errno, fmt::format("open `{}`", dir)));
  while (::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK)
      return Fail(Error(Code::kUnavailable, fmt::format("`{}` is locked by its supervisor", dir), errno));
    return Fail(Error::Errno(errno, fmt::format("flock `{}`", dir)));
  }
  return fd;
}

Error TakenError(const std::string& id) {
  return Error::Make(Code::kAlreadyExists,
                     fmt::format("--name: a task with id \"{}\" already exists", id));
}

}  // namespace

std::string GenerateTaskId() {
  unsigned char b[6] = {};
  RandomBytes(b, sizeof b);
  return fmt::format("t-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]);
}

Result<TaskDirClaim> CreateTaskDir(const std::string& state_dir, const std::string& id) {
  ISOEXEC_TRY(MakeDirs(state_dir, 0711));
  std::string dir = state_dir + "/" + id;
  // Hidden while it is being claimed (verbs skip dot names), visible only once locked: a
  // verb never sees an unlocked directory without state and takes it for an abandoned one.
  // Its name says who claims it, so a claim whose creator died is known stale.
  std::string tmp = fmt::format("{}/{}{}-{}-{}", state_dir, kClaimPrefix, ::getpid(),
                                ProcessStartTime(::getpid()), id);
  if (::mkdir(tmp.c_str(), 0700) != 0) return Fail(Error::Errno(errno, fmt::format("mkdir `{}`", tmp)));
  auto lock = LockDir(tmp, false);
  if (!lock) {
    ::rmdir(tmp.c_str());
    return Fail(std::move(lock.error()));
  }
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) == 0)
    return TaskDirClaim{dir, std::move(*lock)};
  int e = errno;
  ::rmdir(tmp.c_str());
  if (e == EEXIST) return Fail(TakenError(id));
  if (e != EINVAL && e != ENOSYS)
    return Fail(Error::Errno(e, fmt::format("rename `{}` to `{}`", tmp, dir)));
  // A file system without RENAME_NOREPLACE: plain mkdir, then the lock.
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Fail(TakenError(id));
    return Fail(Error::Errno(errno, fmt::format("mkdir `{}`", dir)));
  }
  auto direct = LockDir(dir, false);
  if (!direct) {
    ::rmdir(dir.c_str());
    return Fail(std::move(direct.error()));
  }
  return TaskDirClaim{dir, std::move(*direct)};
}

Result<UniqueFd> TryLockTaskDir(const std::string& task_dir) { return LockDir(task_dir, false); }

bool StaleClaim(const std::string& name) {
  if (name.rfind(kClaimPrefix, 0) != 0) return false;
  unsigned long long pid = 0, start = 0;
  if (std::sscanf(name.c_str() + std::strlen(kClaimPrefix), "%llu-%llu-", &pid, &start) != 2) return true;
  return pid == 0 || ProcessStartTime(static_cast<pid_t>(pid)) != start;
}

Status RemoveTaskDir(const std::string& task_dir) { return RemoveTree(task_dir); }

}  // namespace isoexec::runtime
