// The task's filesystem as data: an ordered list of mount operations computed in the parent
// (pure, unit-tested without root) and applied by the child (mount_apply.h) relative to the
// task root. Order follows Nomad/runc: root, chroot env, /dev (+nodes, links, pts, shm,
// mqueue), /proc, /sys, bind mounts, devices, masked paths, read-only paths.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "base/result.h"
#include "spec/task_spec.h"

namespace isoexec::isolation {

enum class OpKind : uint8_t {
  kBind,      // bind `source` (host path) at `target`
  kFs,        // mount a new filesystem instance (tmpfs, proc, sysfs, devpts, mqueue)
  kMknod,     // device node at `target` (in the task's /dev tmpfs or rootfs)
  kSymlink,   // symlink `target` -> `source`
  kMask,      // hide `target`: /dev/null over a file, empty read-only tmpfs over a directory
  kReadonly,  // re-bind `target` on itself read-only (recursive)
};

struct MountOp {
  OpKind kind;
  const char* source = nullptr;  // host path / fs source / symlink text
  const char* target = nullptr;  // relative to the task root, no leading '/'
  const char* fstype = nullptr;
  const char* data = nullptr;     // fs options ("mode=755,size=65536k")
  unsigned long flags = 0;        // MS_* for kFs
  bool readonly = false;          // kBind: recursive read-only
  bool target_is_dir = true;      // kind of mount point to create when missing
  bool optional = false;          // kBind: skip when the source is missing; kMask/kReadonly:
                                  // skip when the target is missing
  unsigned long propagation = 0;  // kBind: MS_PRIVATE | MS_SLAVE | MS_SHARED
  mode_t mode = 0;                // kMknod: S_IFCHR/S_IFBLK | perms
  dev_t dev = 0;                  // kMknod
};

struct MountPlan {
  std::string root;            // host path of the task root (mount point)
  bool root_is_tmpfs = false;  // ephemeral root: a fresh tmpfs, read-only after setup
  std::vector<MountOp> ops;
  std::deque<std::string> strings;  // owns every string the ops point to (stable addresses)
  const char* Keep(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }
};

// A device node to create, resolved by the parent from a host node (stat).
struct DeviceNode {
  std::string task_path;  // absolute, in the task
  mode_t mode;            // S_IFCHR|0666 ...
  dev_t dev;
  std::string perms;  // "rwm" subset, for the device cgroup
};

// The OCI default masked and read-only paths (a superset of Nomad's).
const std::vector<std::string>& DefaultMaskedPaths();
const std::vector<std::string>& DefaultReadonlyPaths();

// Normalises an absolute in-task path: collapses "//" and ".", rejects ".." that would leave
// the root and relative paths. Returns it without the leading '/' ("" for the root itself).
Result<std::string> TaskRelative(std::string_view field, std::string_view path);

// Builds the whole plan. `root` is the host directory that becomes "/". `devices` were resolved
// by ResolveDevices. Pure: touches no file system.
Result<MountPlan> BuildMountPlan(const spec::TaskSpec& spec, const std::string& root,
                                 const std::vector<DeviceNode>& devices);

// Stats each --device host node (must be a char/block device) and parses PERMS.
Result<std::vector<DeviceNode>> ResolveDevices(const std::vector<spec::Device>& devices);

}  // namespace isoexec::isolation
