// The task spec: everything a task needs, as plain data. Filled by CLI flags, a JSON spec file
// or the executor protocol; validated once (spec/validate.h); consumed by runtime/.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace isoexec::spec {

enum class NsMode { kPrivate, kHost };
enum class Propagation { kPrivate, kSlave, kShared };

struct BindMount {
  std::string host;  // absolute host path
  std::string task;  // absolute path inside the task root
  bool readonly = false;
  Propagation propagation = Propagation::kPrivate;
};

struct ChrootEnvEntry {
  std::string host;
  std::string task;
};

struct Device {
  std::string host;   // host device node
  std::string task;   // path inside the task (default: same as host)
  std::string perms = "rwm";
};

struct Resources {
  std::optional<uint64_t> memory;      // bytes; hard limit unless memory_max is set
  std::optional<uint64_t> memory_max;  // bytes; hard limit (then `memory` is the soft one)
  bool memory_max_unlimited = false;   // --memory-max unlimited: no hard limit, soft = memory
  std::optional<uint64_t> cpu_shares;  // 2..262144
  std::string cpuset;                  // "0-1"; empty = inherit
  std::optional<int64_t> pids_max;
};

struct Process {
  std::vector<std::string> argv;  // argv[0] is the command as given (resolved at launch)
  std::vector<std::string> env;   // KEY=VALUE, exactly what the task sees (plus PATH/USER...)
  std::string workdir = "/";
  std::string user;               // NAME|UID[:GROUP|GID]; empty = root
  int oom_score_adj = 0;
};

struct Root {
  std::string rootfs;                       // empty = ephemeral root from chroot_env
  std::vector<ChrootEnvEntry> chroot_env;   // explicit entries (replace the default set)
  bool chroot_env_given = false;
  bool no_pivot_root = false;
};

struct Namespaces {
  NsMode pid = NsMode::kPrivate;
  NsMode ipc = NsMode::kPrivate;
  std::string net = "host";  // host | none | /path/to/netns
  std::string hostname;      // non-empty: new UTS namespace
  bool init = true;          // run isoexec's init as PID 1 in a private PID namespace
};

struct Security {
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::string seccomp = "default";  // default | unconfined | FILE
  bool allow_new_privileges = false;
};

struct Lifecycle {
  int kill_signal = SIGTERM;
  std::chrono::nanoseconds kill_timeout = std::chrono::seconds(5);
  std::optional<std::chrono::nanoseconds> timeout;
};

struct Output {
  std::string stdout_path;
  std::string stderr_path;
  std::string status_file;
  std::string stats_file;
  std::chrono::nanoseconds stats_interval = std::chrono::seconds(1);
};

struct TaskSpec {
  std::string id;  // empty: generated
  Process process;
  Root root;
  std::vector<BindMount> mounts;
  std::vector<Device> devices;
  Namespaces namespaces;
  Resources resources;
  Security security;
  Lifecycle lifecycle;
  Output output;
};

// The default chroot env (Nomad's chroot_env): host paths made visible read-only at the same
// path; missing host paths are skipped.
const std::vector<ChrootEnvEntry>& DefaultChrootEnv();

}  // namespace isoexec::spec
