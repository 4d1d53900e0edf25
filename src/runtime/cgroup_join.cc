#include "runtime/cgroup_join.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace isoexec::runtime {

std::vector<UniqueFd> OpenSelfJoin(const cgroup::Cgroup& cg, SelfJoinFds* out) {
  *out = SelfJoinFds{};
  std::vector<UniqueFd> fds;
  if (cg.CloneIntoFd() >= 0) return fds;
  for (const auto& dir : cg.dirs()) {
    UniqueFd fd(::open((dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || fds.size() == SelfJoinFds::kMax) {
      *out = SelfJoinFds{};
      return {};
    }
    out->fd[fds.size()] = fd.get();
    fds.push_back(std::move(fd));
  }
  out->n = fds.size();
  return fds;
}

int SelfJoin(const SelfJoinFds& j) noexcept {
  for (size_t i = 0; i < j.n; ++i)
    if (::write(j.fd[i], "0", 1) != 1) return errno ? errno : EIO;
  return 0;
}

}  // namespace isoexec::runtime
