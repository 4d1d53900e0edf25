#include "cli/run_flags.h"

#include <algorithm>

#include "base/parse.h"
#include "spec/flag_parse.h"

namespace isoexec::cli {

Result<spec::TaskSpec> ToSpec(const RunFlags& f, bool validate) {
  spec::TaskSpec s;
  s.id = f.name;
  s.process.argv = f.command;
  s.root.rootfs = f.rootfs;
  for (const auto& c : f.chroot_env) {
    ISOEXEC_ASSIGN_OR_RETURN(auto e, spec::ParseChrootEnv(c));
    s.root.chroot_env.push_back(std::move(e));
    s.root.chroot_env_given = true;
  }
  for (const auto& b : f.binds) {
    ISOEXEC_ASSIGN_OR_RETURN(auto m, spec::ParseBind(b));
    s.mounts.push_back(std::move(m));
  }
  for (const auto& d : f.devices) {
    ISOEXEC_ASSIGN_OR_RETURN(auto dev, spec::ParseDevice(d));
    s.devices.push_back(std::move(dev));
  }
  s.root.no_pivot_root = f.no_pivot_root;
  s.process.workdir = f.workdir;
  for (const auto& e : f.env) {
    ISOEXEC_ASSIGN_OR_RETURN(auto kv, spec::ParseEnv(e));
    // A repeated key: the later value wins (as in the JSON spec and docker).
    const std::string key = kv.substr(0, kv.find('='));
    auto same = std::find_if(s.process.env.begin(), s.process.env.end(), [&](const std::string& x) {
      return x.compare(0, key.size() + 1, key + "=") == 0;
    });
    if (same != s.process.env.end()) *same = std::move(kv);
    else s.process.env.push_back(std::move(kv));
  }
  s.process.user = f.user;
  ISOEXEC_ASSIGN_OR_RETURN(int64_t adj, ParseInt("--oom-score-adj", f.oom_score_adj, -1000, 1000));
  s.process.oom_score_adj = static_cast<int>(adj);

  ISOEXEC_ASSIGN_OR_RETURN(s.namespaces.pid, spec::ParseNsMode("--pid", f.pid));
  ISOEXEC_ASSIGN_OR_RETURN(s.namespaces.ipc, spec::ParseNsMode("--ipc", f.ipc));
  s.namespaces.net = f.net;
  s.namespaces.hostname = f.hostname;
  s.namespaces.init = !f.no_init;

  if (!f.memory.empty()) {
    ISOEXEC_ASSIGN_OR_RETURN(uint64_t m, ParseSize("--memory", f.memory));
    s.resources.memory = m;
  }
  if (f.memory_max == "unlimited") {
    s.resources.memory_max_unlimited = true;
  } else if (!f.memory_max.empty()) {
    ISOEXEC_ASSIGN_OR_RETURN(uint64_t m, ParseSize("--memory-max", f.memory_max));
    s.resources.memory_max = m;
  }
  if (!f.cpu_shares.empty()) {
    ISOEXEC_ASSIGN_OR_RETURN(int64_t v, ParseInt("--cpu-shares", f.cpu_shares, 2, 262144));
    s.resources.cpu_shares = static_cast<uint64_t>(v);
  }
  s.resources.cpuset = f.cpuset;
  if (!f.pids_max.empty()) {
    ISOEXEC_ASSIGN_OR_RETURN(int64_t v, ParseInt("--pids-max", f.pids_max, 1, 4194304));
    s.resources.pids_max = v;
  }

  s.security.cap_add = f.cap_add;
  s.security.cap_drop = f.cap_drop;
  s.security.seccomp = f.seccomp;
  s.security.allow_new_privileges = f.allow_new_privileges;

  ISOEXEC_ASSIGN_OR_RETURN(s.lifecycle.kill_signal, ParseSignal("--kill-signal", f.kill_signal));
  ISOEXEC_ASSIGN_OR_RETURN(s.lifecycle.kill_timeout, ParseDuration("--kill-timeout", f.kill_timeout));
  if (!f.timeout.empty()) {
    ISOEXEC_ASSIGN_OR_RETURN(auto t, ParseDuration("--timeout", f.timeout));
    s.lifecycle.timeout = t;
  }
  s.output.stdout_path = f.stdout_path;
  s.output.stderr_path = f.stderr_path;
  s.output.status_file = f.status_file;
  s.output.stats_file = f.stats_file;
  ISOEXEC_ASSIGN_OR_RETURN(s.output.stats_interval, ParseDuration("--stats-interval", f.stats_interval));
  if (validate) ISOEXEC_TRY(spec::Validate(s));
  return s;
}

}  // namespace isoexec::cli
