#include "cli/preflight.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "base/file.h"
#include "base/unique_fd.h"
#include "cgroup/paths.h"
#include "isolation/caps.h"
#include "isolation/lookup.h"
#include "isolation/mount_plan.h"
#include "isolation/seccomp.h"
#include "isolation/user.h"
#include "runtime/container.h"
#include "spec/flag_parse.h"

namespace isoexec::cli {

namespace {

// `e` as an Error::Invalid of `flag` ("--device: stat `/x`: ..." keeps its text once).
Error Named(std::string_view flag, const Error& e) {
  if (e.field() == flag) return e;
  std::string why = e.str();
  const std::string prefix = std::string(flag) + ": ";
  if (why.compare(0, prefix.size(), prefix) == 0) why = why.substr(prefix.size());
  return Error::Invalid(flag, why);
}

Error Errno(std::string_view flag, std::string_view what, const std::string& path) {
  return Error::Invalid(flag, fmt::format("{}`{}`: {}", what, path, std::strerror(errno)));
}

// --user, resolved as the launch does: in the task root's /etc/passwd and /etc/group, seen
// through the chroot env and bind mounts.
Status CheckUser(const spec::TaskSpec& spec, const std::string& rootfs) {
  if (spec.process.user.empty()) return Ok();
  isolation::RootView view;
  view.rootfs = rootfs;
  const auto& env = spec.root.chroot_env_given ? spec.root.chroot_env
                    : rootfs.empty()           ? spec::DefaultChrootEnv()
                                               : spec.root.chroot_env;
  for (const auto& e : env) view.mappings.push_back({e.host, e.task.empty() ? e.host : e.task, false});
  for (const auto& m : spec.mounts) view.mappings.push_back({m.host, m.task, !m.readonly});
  auto user = isolation::ResolveUser(spec.process.user, isolation::ReadTaskFile(view, "/etc/passwd"),
                                     isolation::ReadTaskFile(view, "/etc/group"));
  if (!user) return Fail(Named("--user", user.error()));
  return Ok();
}

Status CheckNet(const std::string& net) {
  if (net == "host" || net == "none") return Ok();
  UniqueFd fd(::open(net.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail(Errno("--net", "open ", net));
  // Only a namespace file (nsfs) answers NS_GET_NSTYPE.
  int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (type < 0 && (errno == ENOTTY || errno == EINVAL))
    return Fail(Error::Invalid("--net", fmt::format("`{}` is not a namespace file", net)));
  if (type >= 0 && type != CLONE_NEWNET)
    return Fail(Error::Invalid("--net", fmt::format("`{}` is not a network namespace", net)));
  return Ok();
}

Status CheckSeccomp(const std::string& profile) {
  if (profile == "default" || profile == "unconfined") return Ok();
  auto text = ReadFile(profile);
  if (!text)
    return Fail(Error::Invalid(
        "--seccomp", fmt::format("\"{}\" is not \"default\", \"unconfined\" or a readable profile file: {}",
                                 profile, text.error().message())));
  if (auto p = isolation::ParseSeccompProfile(*text); !p) return Fail(Named("--seccomp", p.error()));
  return Ok();
}

Status CheckCpuset(const std::string& cpuset) {
  if (cpuset.empty()) return Ok();
  ISOEXEC_ASSIGN_OR_RETURN(std::vector<bool> want, spec::ParseCpuList("--cpuset", cpuset));
  auto text = ReadFile("/sys/devices/system/cpu/online");
  if (!text) return Ok();  // no sysfs: the cgroup write tells
  while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
  auto online = spec::ParseCpuList("online", *text);
  if (!online) return Ok();
  for (size_t cpu = 0; cpu < want.size(); ++cpu) {
    if (want[cpu] && (cpu >= online->size() || !(*online)[cpu]))
      return Fail(Error::Invalid("--cpuset", fmt::format("CPU {} is not online (online: {})", cpu, *text)));
  }
  return Ok();
}

// The file itself is created (or appended to) later; its directory must exist now, and the
// path must not be a directory.
Status CheckOutputFile(std::string_view flag, const std::string& path) {
  if (path.empty()) return Ok();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return Fail(Error::Invalid(flag, fmt::format("`{}` is a directory", path)));
  auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0) return Fail(Errno(flag, "directory ", dir));
  if (!S_ISDIR(st.st_mode)) return Fail(Error::Invalid(flag, fmt::format("`{}` is not a directory", dir)));
  return Ok();
}

}  // namespace

Status Preflight(const spec::TaskSpec& spec) {
  ISOEXEC_ASSIGN_OR_RETURN(std::string rootfs, runtime::ResolveRootfs(spec.root.rootfs));
  for (const auto& m : spec.mounts) {
    struct stat st {};
    if (::stat(m.host.c_str(), &st) != 0) return Fail(Errno("--bind", "source ", m.host));
  }
  ISOEXEC_TRY(CheckUser(spec, rootfs));
  if (auto d = isolation::ResolveDevices(spec.devices); !d) return Fail(Named("--device", d.error()));
  if (auto c = isolation::ResolveCapabilities(spec.security.cap_add, spec.security.cap_drop); !c) {
    const std::string& f = c.error().field();
    return Fail(Named(f == "--cap-drop" ? "--cap-drop" : "--cap-add", c.error()));
  }
  ISOEXEC_TRY(CheckSeccomp(spec.security.seccomp));
  ISOEXEC_TRY(CheckNet(spec.namespaces.net));
  ISOEXEC_TRY(CheckCpuset(spec.resources.cpuset));
  ISOEXEC_TRY(CheckOutputFile("--stdout", spec.output.stdout_path));
  ISOEXEC_TRY(CheckOutputFile("--stderr", spec.output.stderr_path));
  ISOEXEC_TRY(CheckOutputFile("--status-file", spec.output.status_file));
  ISOEXEC_TRY(CheckOutputFile("--stats-file", spec.output.stats_file));
  return Ok();
}

Status PreflightGlobal(const GlobalOptions& global) {
  // Any valid id: only the parent is checked here.
  ISOEXEC_TRY(cgroup::ValidateOptions({global.cgroup_parent, "id"}));
  struct stat st {};
  if (::stat(global.state_dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
    return Fail(Error::Invalid("--state-dir", fmt::format("`{}` is not a directory", global.state_dir)));
  return Ok();
}

}  // namespace isoexec::cli
