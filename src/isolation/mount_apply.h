// Child side of the mount plan: runs between clone and execve, so everything here is
// allocation-free and reports failures through StepError. Every target is resolved inside the
// task root with openat2(RESOLVE_IN_ROOT), so a symlink in the root that points outside can
// never make a mount land on the host.
#pragma once

#include "isolation/mount_plan.h"
#include "isolation/step_error.h"

namespace isoexec::isolation {

// Makes the host mounts slave (nothing we mount propagates back), then mounts the root: a fresh
// tmpfs for the ephemeral root or a recursive bind of the rootfs on itself. Returns an O_PATH
// fd of the root (or -1 with `e` set).
int PrepareRoot(const MountPlan& plan, StepError* e) noexcept;
bool ApplyOp(int rootfd, const MountOp& op, StepError* e) noexcept;
// After all ops: the ephemeral root turns read-only (its submounts keep their own flags).
bool FinishRoot(const MountPlan& plan, StepError* e) noexcept;
// pivot_root into the root and detach the old one, or (no_pivot) MS_MOVE + chroot.
bool EnterRoot(const char* root, bool no_pivot, StepError* e) noexcept;

// Opens `rel` (relative to the root fd, resolved inside it) as O_PATH, creating missing
// components as directories (and the last one as a directory or an empty file).
int OpenOrCreateInRoot(int rootfd, const char* rel, bool last_is_dir) noexcept;

}  // namespace isoexec::isolation
