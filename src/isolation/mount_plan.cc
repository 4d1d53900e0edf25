#include "isolation/mount_plan.h"

#include <fmt/format.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

namespace isoexec::isolation {

const std::vector<std::string>& DefaultMaskedPaths() {
  static const std::vector<std::string> kPaths = {
      "/proc/acpi",
      "/proc/asound",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware",
      "/sys/devices/virtual/powercap",
  };
  return kPaths;
}

const std::vector<std::string>& DefaultReadonlyPaths() {
  static const std::vector<std::string> kPaths = {
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
  };
  return kPaths;
}

Result<std::string> TaskRelative(std::string_view field, std::string_view path) {
  if (path.empty() || path[0] != '/')
    return Fail(Error::Invalid(field, fmt::format("must be an absolute path, got \"{}\"", path)));
  if (path.find('\0') != std::string_view::npos)
    return Fail(Error::Invalid(field, "path contains a NUL byte"));
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    if (comp == "..") {
      if (parts.empty())
        return Fail(Error::Invalid(field, fmt::format("\"{}\" leaves the task root", path)));
      parts.pop_back();
    } else if (!comp.empty() && comp != ".") {
      parts.push_back(comp);
    }
    i = j + 1;
  }
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

namespace {

void AddFs(MountPlan& plan, const char* target, const char* fstype, unsigned long flags,
           const char* data) {
  MountOp op{OpKind::kFs};
  op.target = target;
  op.source = fstype;
  op.fstype = fstype;
  op.flags = flags;
  op.data = data;
  plan.ops.push_back(op);
}

unsigned long PropagationFlag(spec::Propagation p) {
  switch (p) {
    case spec::Propagation::kSlave:
      return MS_SLAVE;
    case spec::Propagation::kShared:
      return MS_SHARED;
    case spec::Propagation::kPrivate:
      break;
  }
  return MS_PRIVATE;
}

Status AddBind(MountPlan& plan, std::string_view field, const std::string& host,
               const std::string& task, bool readonly, unsigned long propagation, bool optional,
               bool is_dir) {
  ISOEXEC_ASSIGN_OR_RETURN(std::string rel, TaskRelative(field, task));
  if (rel.empty()) return Fail(Error::Invalid(field, "cannot mount over the task root \"/\""));
  MountOp op{OpKind::kBind};
  op.source = plan.Keep(host);
  op.target = plan.Keep(rel);
  op.readonly = readonly;
  op.propagation = propagation;
  op.optional = optional;
  op.target_is_dir = is_dir;
  plan.ops.push_back(op);
  return Ok();
}

}  // namespace

Result<MountPlan> BuildMountPlan(const spec::TaskSpec& spec, const std::string& root,
                                 const std::vector<DeviceNode>& devices) {
  MountPlan plan;
  plan.root = root;
  plan.root_is_tmpfs = spec.root.rootfs.empty();

  // Chroot env: the default set only for the ephemeral root; with --rootfs only when given.
  const auto& env = spec.root.chroot_env_given ? spec.root.chroot_env
                    : plan.root_is_tmpfs       ? spec::DefaultChrootEnv()
                                               : spec.root.chroot_env;
  for (const auto& e : env) {
    struct stat st {};
    // Missing host paths are skipped (Nomad's embed rule); the kind of mount point follows
    // the host source so single files can be embedded too.
    if (::stat(e.host.c_str(), &st) != 0) continue;
    ISOEXEC_TRY(AddBind(plan, "--chroot-env", e.host, e.task, /*readonly=*/true, MS_PRIVATE,
                        /*optional=*/true, S_ISDIR(st.st_mode)));
  }
  if (plan.root_is_tmpfs) {
    // The ephemeral root itself turns read-only; /tmp is the task's private scratch space.
    AddFs(plan, "tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  }

  const unsigned long kNoDevExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  AddFs(plan, "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  static constexpr Node kNodes[] = {{"dev/null", 1, 3},   {"dev/zero", 1, 5},    {"dev/full", 1, 7},
                                    {"dev/random", 1, 8}, {"dev/urandom", 1, 9}, {"dev/tty", 5, 0}};
  for (const auto& n : kNodes) {
    MountOp op{OpKind::kMknod};
    op.target = n.name;
    op.mode = S_IFCHR | 0666;
    op.dev = makedev(n.major, n.minor);
    op.target_is_dir = false;
    plan.ops.push_back(op);
  }
  static constexpr const char* kLinks[][2] = {{"dev/fd", "/proc/self/fd"},
                                              {"dev/stdin", "/proc/self/fd/0"},
                                              {"dev/stdout", "/proc/self/fd/1"},
                                              {"dev/stderr", "/proc/self/fd/2"},
                                              {"dev/ptmx", "pts/ptmx"}};
  for (const auto& l : kLinks) {
    MountOp op{OpKind::kSymlink};
    op.target = l[0];
    op.source = l[1];
    plan.ops.push_back(op);
  }
  AddFs(plan, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620,gid=5");
  AddFs(plan, "dev/shm", "tmpfs", kNoDevExec, "mode=1777,size=65536k");
  AddFs(plan, "dev/mqueue", "mqueue", kNoDevExec, nullptr);
  AddFs(plan, "proc", "proc", kNoDevExec, nullptr);
  AddFs(plan, "sys", "sysfs", kNoDevExec | MS_RDONLY, nullptr);

  for (const auto& m : spec.mounts) {
    struct stat st {};
    if (::stat(m.host.c_str(), &st) != 0)
      return Fail(Error::Errno(errno, fmt::format("--bind: source `{}`", m.host)));
    ISOEXEC_TRY(AddBind(plan, "--bind", m.host, m.task, m.readonly, PropagationFlag(m.propagation),
                        /*optional=*/false, S_ISDIR(st.st_mode)));
  }

  for (const auto& d : devices) {
    ISOEXEC_ASSIGN_OR_RETURN(std::string rel, TaskRelative("--device", d.task_path));
    if (rel.empty()) return Fail(Error::Invalid("--device", "task path must not be \"/\""));
    MountOp op{OpKind::kMknod};
    op.target = plan.Keep(rel);
    op.mode = d.mode;
    op.dev = d.dev;
    op.target_is_dir = false;
    plan.ops.push_back(op);
  }

  for (const auto& p : DefaultMaskedPaths()) {
    MountOp op{OpKind::kMask};
    op.target = plan.Keep(p.substr(1));
    op.optional = true;
    plan.ops.push_back(op);
  }
  for (const auto& p : DefaultReadonlyPaths()) {
    MountOp op{OpKind::kReadonly};
    op.target = plan.Keep(p.substr(1));
    op.optional = true;
    plan.ops.push_back(op);
  }
  return plan;
}

Result<std::vector<DeviceNode>> ResolveDevices(const std::vector<spec::Device>& devices) {
  std::vector<DeviceNode> out;
  for (const auto& d : devices) {
    if (d.host.empty() || d.host[0] != '/')
      return Fail(Error::Invalid("--device",
                                 fmt::format("host path must be absolute, got \"{}\"", d.host)));
    struct stat st {};
    if (::stat(d.host.c_str(), &st) != 0)
      return Fail(Error::Errno(errno, fmt::format("--device: stat `{}`", d.host)));
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      return Fail(Error::Invalid("--device", fmt::format("`{}` is not a device node", d.host)));
    if (d.perms.empty() || d.perms.find_first_not_of("rwm") != std::string::npos)
      return Fail(Error::Invalid(
          "--device", fmt::format("permissions must be a subset of \"rwm\", got \"{}\"", d.perms)));
    DeviceNode n;
    n.task_path = d.task.empty() ? d.host : d.task;
    n.mode = (st.st_mode & S_IFMT) | 0666;
    // Without 'w' the node is created read-only for everyone, matching the cgroup rule.
    if (d.perms.find('w') == std::string::npos) n.mode = (st.st_mode & S_IFMT) | 0444;
    n.dev = st.st_rdev;
    n.perms = d.perms;
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace isoexec::isolation
