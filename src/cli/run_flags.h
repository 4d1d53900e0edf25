// `run` flags as typed text, and their conversion into a TaskSpec. Every conversion error
// names its flag.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "spec/task_spec.h"

namespace isoexec::cli {

struct RunFlags {
  // Filesystem
  std::string rootfs;
  std::vector<std::string> chroot_env, binds, devices;
  bool no_pivot_root = false;
  std::string workdir = "/";
  // Process
  std::vector<std::string> env;
  std::string user;
  std::string oom_score_adj = "0";
  // Namespaces
  std::string pid = "private", ipc = "private", net = "host", hostname;
  bool no_init = false;
  // Resources
  std::string memory, memory_max, cpu_shares, cpuset, pids_max;
  // Security
  std::vector<std::string> cap_add, cap_drop;
  std::string seccomp = "default";
  bool allow_new_privileges = false;
  // Lifecycle
  std::string kill_signal = "SIGTERM", kill_timeout = "5s", timeout;
  // Output
  std::string stdout_path, stderr_path, status_file;
  std::string stats_file, stats_interval = "1s";
  std::string name;
  std::string spec_file;
  bool detach = false;
  bool rm = false;
  std::string log_max_size = "10M", log_max_files = "10";
  std::vector<std::string> command;
};

// The spec the flags describe; `validate` = false when a --spec file completes it.
Result<spec::TaskSpec> ToSpec(const RunFlags& f, bool validate = true);

}  // namespace isoexec::cli
