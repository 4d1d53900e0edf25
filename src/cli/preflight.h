// Host-side checks of a task spec that need the file system but no container work (`run`):
// they run before the task's state dir, cgroup, mounts or processes exist, so bad input is
// refused with nothing to undo. Launch checks the same things again (the host may change in
// between); these only make the common mistakes fail early and name their field.
#pragma once

#include "base/result.h"
#include "cli/common.h"
#include "spec/task_spec.h"

namespace isoexec::cli {

// Every error is Error::Invalid naming the `run` flag of the offending field (field() set), so
// a caller can blame the spec file instead (spec::AsSpecFileError) when the flag was not given:
//   --rootfs: `/srv/x`: No such file or directory
//   --cpuset: CPU 7 is not online (online: 0-1)
// Checked: --rootfs, --bind sources, --user (in the task root's /etc/passwd and /etc/group),
// --device nodes, --cap-add/--cap-drop names, the --seccomp profile file, --net namespace
// files, --cpuset CPUs, and the directories of --stdout, --stderr, --status-file and
// --stats-file.
Status Preflight(const spec::TaskSpec& spec);

// --state-dir and --cgroup-parent (global options, not spec fields).
Status PreflightGlobal(const GlobalOptions& global);

}  // namespace isoexec::cli
