#include "runtime/features.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "isolation/caps.h"
#include "isolation/mount_plan.h"
#include "isolation/seccomp.h"
#include "sys/syscalls.h"

namespace isoexec::runtime {

Features ProbeFeatures() {
  Features f;
  if (auto l = cgroup::DetectLayout(); l) {
    if (l->pure_v2()) f.cgroup = "v2";
    else if (!l->v2_mount.empty()) f.cgroup = "hybrid";
    else f.cgroup = "v1";
    f.clone_into_cgroup = l->version() == cgroup::Version::kV2;
    f.cgroup_kill = !l->v2_mount.empty() && ::access((l->v2_mount + "/cgroup.kill").c_str(), F_OK) == 0;
    if (!f.cgroup_kill && !l->v2_mount.empty()) {
      // cgroup.kill exists only in non-root cgroups: probe one level down.
      f.cgroup_kill = false;
    }
  } else {
    f.cgroup = "none";
  }
  // clone3 with a too-small size fails with EINVAL where it exists, ENOSYS where not.
  errno = 0;
  long r = ::syscall(SYS_clone3, nullptr, 0);
  f.clone3 = !(r < 0 && errno == ENOSYS);
  f.clone_into_cgroup = f.clone_into_cgroup && f.clone3;
  int pfd = sys::PidfdOpen(::getpid());
  f.pidfd = pfd >= 0;
  if (pfd >= 0) ::close(pfd);
  int o = sys::Openat2(AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS);
  f.openat2 = o >= 0;
  if (o >= 0) ::close(o);
  int t = sys::OpenTree(AT_FDCWD, "/", OPEN_TREE_CLOEXEC);
  f.mount_api = t >= 0 || errno != ENOSYS;
  if (t >= 0) ::close(t);
  f.seccomp = ::prctl(PR_GET_SECCOMP) >= 0;
  return f;
}

std::string FeatureLine(const Features& f) {
  auto flag = [](bool on, const char* name) { return fmt::format("{}{}", on ? '+' : '-', name); };
  return fmt::format("cgroup:{} {} {} {} {} {} {}", f.cgroup, flag(f.seccomp, "seccomp"),
                     flag(f.clone3, "clone3"), flag(f.pidfd, "pidfd"),
                     flag(f.clone_into_cgroup, "clone_into_cgroup"), flag(f.openat2, "openat2"),
                     flag(f.mount_api, "mount_api"));
}

std::string FeaturesJson(const Features& f) {
  nlohmann::json j;
  j["cgroup"] = f.cgroup;
  j["seccomp"] = f.seccomp;
  j["clone3"] = f.clone3;
  j["pidfd"] = f.pidfd;
  j["clone_into_cgroup"] = f.clone_into_cgroup;
  j["openat2"] = f.openat2;
  j["mount_api"] = f.mount_api;
  j["default_capabilities"] = isolation::CapNames(isolation::kDefaultCapabilities);
  j["masked_paths"] = isolation::DefaultMaskedPaths();
  j["readonly_paths"] = isolation::DefaultReadonlyPaths();
  j["seccomp_profile"] = isolation::SeccompProfileName("default");
  return j.dump(2) + "\n";
}

}  // namespace isoexec::runtime
