#include "runtime/task_dir.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/file.h"

namespace isoexec::runtime {

std::string GenerateTaskId() {
  unsigned char b[6] = {};
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
    auto t = static_cast<uint64_t>(::getpid()) ^ static_cast<uint64_t>(time(nullptr));
    for (unsigned char& c : b) {
      c = static_cast<unsigned char>(t & 0xff);
      t >>= 8;
    }
  }
  return fmt::format("t-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]);
}

Result<std::string> CreateTaskDir(const std::string& state_dir, const std::string& id) {
  ISOEXEC_TRY(MakeDirs(state_dir, 0711));
  std::string dir = state_dir + "/" + id;
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST)
      return Fail(Error::Make(Code::kAlreadyExists,
                              fmt::format("--name: a task with id \"{}\" already exists", id)));
    return Fail(Error::Errno(errno, fmt::format("mkdir `{}`", dir)));
  }
  return dir;
}

Status RemoveTaskDir(const std::string& task_dir) { return RemoveTree(task_dir); }

}  // namespace isoexec::runtime
