// What this host supports, probed (not assumed): cgroup layout, clone3, pidfd, openat2,
// CLONE_INTO_CGROUP, the new mount API, seccomp. Used by `isoexec version` / `features`.
#pragma once

#include <string>

namespace isoexec::runtime {

struct Features {
  std::string cgroup;  // "v1", "v2", "hybrid (v1 controllers, cgroup2 at ...)"
  bool clone3 = false;
  bool pidfd = false;
  bool clone_into_cgroup = false;  // clone3 + cgroup v2 task cgroups
  bool openat2 = false;
  bool mount_api = false;          // open_tree/move_mount/mount_setattr
  bool seccomp = false;
  bool cgroup_kill = false;
};

Features ProbeFeatures();
std::string FeatureLine(const Features& f);   // "+cgroupv1 +seccomp +clone3 ..."
std::string FeaturesJson(const Features& f);  // `isoexec features`

}  // namespace isoexec::runtime
