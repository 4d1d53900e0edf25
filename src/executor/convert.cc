#include "executor/convert.h"

#include <csignal>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "spec/flag_parse.h"

namespace isoexec::executor {

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kMinShares = 2, kMaxShares = 262144;

Error Invalid(std::string_view field, std::string_view why) {
  return Error(Code::kInvalidArgument, fmt::format("LaunchRequest.{}: {}", field, why));
}

Result<spec::NsMode> NsModeFrom(std::string_view field, const std::string& mode) {
  if (mode.empty() || mode == "private") return spec::NsMode::kPrivate;
  if (mode == "host") return spec::NsMode::kHost;
  return Fail(Invalid(field, fmt::format("must be \"private\" or \"host\", got \"{}\"", mode)));
}

Result<spec::Propagation> PropagationFrom(const std::string& mode) {
  if (mode.empty() || mode == "private") return spec::Propagation::kPrivate;
  if (mode == "host-to-task") return spec::Propagation::kSlave;
  if (mode == "bidirectional") return spec::Propagation::kShared;
  return Fail(Invalid(
      "mounts.propagation_mode",
      fmt::format("must be \"private\", \"host-to-task\" or \"bidirectional\", got \"{}\"", mode)));
}

const char* MemoryFieldName(std::string_view measured) {
  // isoexec's names (stats/sample.h) -> Nomad's MemoryUsage.Fields.
  if (measured == "rss") return "RSS";
  if (measured == "cache") return "CACHE";
  if (measured == "swap") return "SWAP";
  if (measured == "usage") return "USAGE";
  if (measured == "max_usage") return "MAX_USAGE";
  if (measured == "kernel_usage") return "KERNEL_USAGE";
  if (measured == "kernel_max_usage") return "KERNEL_MAX_USAGE";
  return nullptr;  // mapped_file, limit, max_usage_observed: no Nomad field or not a true peak
}

const char* CpuFieldName(std::string_view measured) {
  if (measured == "system_percent") return "SYSTEM_MODE";
  if (measured == "user_percent") return "USER_MODE";
  if (measured == "total_ticks") return "TOTAL_TICKS";
  if (measured == "throttled_periods") return "THROTTLED_PERIODS";
  if (measured == "throttled_ns") return "THROTTLED_TIME";
  if (measured == "percent") return "PERCENT";
  return nullptr;
}

void AddMemoryField(dpb::MemoryUsage* m, const char* name) {
  dpb::MemoryUsage::Fields f;
  if (!dpb::MemoryUsage::Fields_Parse(name, &f)) return;
  for (int v : m->measured_fields())
    if (v == f) return;
  m->add_measured_fields(f);
}

void AddCpuField(dpb::CPUUsage* c, const char* name) {
  dpb::CPUUsage::Fields f;
  if (!dpb::CPUUsage::Fields_Parse(name, &f)) return;
  for (int v : c->measured_fields())
    if (v == f) return;
  c->add_measured_fields(f);
}

}  // namespace

Result<ResourceRequest> ResourcesFrom(const dpb::Resources& r, std::vector<std::string>* warnings) {
  ResourceRequest out;
  const auto& alloc = r.allocated_resources();
  const auto& linux_res = r.linux_resources();
  const int64_t mb = alloc.memory().memory_mb();
  const int64_t max_mb = alloc.memory().memory_max_mb();
  if (mb < 0)
    return Fail(Invalid("resources.allocated_resources.memory.memory_mb",
                        fmt::format("must not be negative, got {}", mb)));
  if (linux_res.memory_limit_bytes() < 0)
    return Fail(
        Invalid("resources.linux_resources.memory_limit_bytes",
                fmt::format("must not be negative, got {}", linux_res.memory_limit_bytes())));
  if (mb > 0)
    out.memory = static_cast<uint64_t>(mb) * kMiB;
  else if (linux_res.memory_limit_bytes() > 0)
    out.memory = static_cast<uint64_t>(linux_res.memory_limit_bytes());
  if (max_mb == -1) {
    if (!out.memory)
      return Fail(Invalid("resources.allocated_resources.memory.memory_max_mb",
                          "-1 (no hard limit) needs memory_mb"));
    out.memory_max_unlimited = true;
  } else if (max_mb < -1) {
    return Fail(Invalid("resources.allocated_resources.memory.memory_max_mb",
                        fmt::format("must be -1 or positive, got {}", max_mb)));
  } else if (max_mb > 0) {
    const uint64_t max_bytes = static_cast<uint64_t>(max_mb) * kMiB;
    // Nomad: memory_max only matters above memory; then memory is the soft reservation.
    if (!out.memory)
      return Fail(Invalid("resources.allocated_resources.memory.memory_max_mb", "needs memory_mb"));
    if (max_bytes > *out.memory) out.memory_max = max_bytes;
  }

  int64_t shares = alloc.cpu().cpu_shares() > 0 ? alloc.cpu().cpu_shares() : linux_res.cpu_shares();
  if (shares < 0)
    return Fail(Invalid("resources.allocated_resources.cpu.cpu_shares",
                        fmt::format("must not be negative, got {}", shares)));
  if (shares > 0) {
    uint64_t s = static_cast<uint64_t>(shares);
    if (s < kMinShares || s > kMaxShares) {
      uint64_t clamped = s < kMinShares ? kMinShares : kMaxShares;
      if (warnings) warnings->push_back(fmt::format("cpu_shares {} clamped to {}", s, clamped));
      s = clamped;
    }
    out.cpu_shares = s;
  }
  out.cpuset = linux_res.cpuset_cpus();
  if (warnings) {
    if (linux_res.cpu_period() != 0 || linux_res.cpu_quota() != 0)
      warnings->push_back(
          "linux_resources.cpu_period/cpu_quota ignored (the exec driver does not use a CFS "
          "quota)");
    if (!linux_res.cpuset_cgroup().empty())
      warnings->push_back(fmt::format(
          "linux_resources.cpuset_cgroup `{}` ignored: the task runs in its own isoexec cgroup",
          linux_res.cpuset_cgroup()));
  }
  return out;
}

nlohmann::json UpdateJson(const ResourceRequest& r) {
  nlohmann::json j = nlohmann::json::object();
  if (r.memory) j["memory"] = *r.memory;
  if (r.memory_max_unlimited)
    j["memory_max"] = "unlimited";
  else if (r.memory_max)
    j["memory_max"] = *r.memory_max;
  if (r.cpu_shares) j["cpu_shares"] = *r.cpu_shares;
  if (!r.cpuset.empty()) j["cpuset"] = r.cpuset;
  return j;
}

std::string TaskIdFor(const std::string& task_dir, const std::string& suffix) {
  std::string base = task_dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  auto slash = base.rfind('/');
  if (slash != std::string::npos) base = base.substr(slash + 1);
  std::string name;
  for (char c : base) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    name += ok ? c : '_';
    if (name.size() == 40) break;
  }
  while (!name.empty() && name[0] == '.') name.erase(0, 1);
  if (name.empty()) name = "task";
  return name + "-" + suffix;
}

Result<spec::TaskSpec> SpecFromLaunch(const pb::LaunchRequest& req, const std::string& id,
                                      std::vector<std::string>* warnings) {
  spec::TaskSpec s;
  s.id = id;

  // Refused: what isoexec cannot honour must not be dropped silently.
  if (req.basic_process_cgroup())
    return Fail(Invalid("basic_process_cgroup",
                        "the freezer-only cgroup of the universal executor (raw_exec) is not "
                        "supported; every isoexec task gets its own full cgroup"));
  if (!req.cgroup_v2_override().empty())
    return Fail(Invalid("cgroup_v2_override",
                        fmt::format("custom cgroups are not supported (got \"{}\"); isoexec "
                                    "places the task in its own cgroup",
                                    req.cgroup_v2_override())));
  if (!req.cgroup_v1_override().empty())
    return Fail(
        Invalid("cgroup_v1_override",
                "custom cgroups are not supported; isoexec places the task in its own cgroup"));

  // Command.
  if (req.cmd().empty()) return Fail(Invalid("cmd", "no command given"));
  s.process.argv.push_back(req.cmd());
  for (const auto& a : req.args()) s.process.argv.push_back(a);
  for (const auto& e : req.env()) {
    if (e.find('=') == std::string::npos || e.front() == '=')
      return Fail(Invalid("env", fmt::format("`{}` is not KEY=VALUE", e)));
    s.process.env.push_back(e);
  }
  s.process.user = req.user();
  s.process.workdir = req.work_dir().empty() ? "/" : req.work_dir();
  if (s.process.workdir[0] != '/')
    return Fail(Invalid(
        "work_dir", fmt::format("must be absolute but got relative path \"{}\"", req.work_dir())));
  if (req.oom_score_adj() < -1000 || req.oom_score_adj() > 1000)
    return Fail(Invalid("oom_score_adj",
                        fmt::format("must be from -1000 to 1000, got {}", req.oom_score_adj())));
  s.process.oom_score_adj = req.oom_score_adj();

  // Root: the task dir.
  if (req.task_dir().empty())
    return Fail(Invalid("task_dir", "is required (it becomes the task's root)"));
  if (req.task_dir()[0] != '/')
    return Fail(Invalid("task_dir", fmt::format("must be absolute, got \"{}\"", req.task_dir())));
  s.root.rootfs = req.task_dir();
  s.root.no_pivot_root = req.no_pivot_root();

  for (const auto& m : req.mounts()) {
    if (!m.selinux_label().empty())
      return Fail(
          Invalid("mounts.selinux_label",
                  fmt::format("SELinux labels are not supported (mount `{}`)", m.task_path())));
    if (m.host_path().empty() || m.host_path()[0] != '/' || m.task_path().empty() ||
        m.task_path()[0] != '/')
      return Fail(Invalid("mounts",
                          fmt::format("host_path and task_path must be absolute, got `{}` -> `{}`",
                                      m.host_path(), m.task_path())));
    ISOEXEC_ASSIGN_OR_RETURN(auto prop, PropagationFrom(m.propagation_mode()));
    s.mounts.push_back({m.host_path(), m.task_path(), m.readonly(), prop});
  }
  for (const auto& d : req.devices()) {
    if (d.host_path().empty() || d.host_path()[0] != '/')
      return Fail(
          Invalid("devices.host_path", fmt::format("must be absolute, got \"{}\"", d.host_path())));
    if (!d.task_path().empty() && d.task_path()[0] != '/')
      return Fail(
          Invalid("devices.task_path", fmt::format("must be absolute, got \"{}\"", d.task_path())));
    std::string perms = d.cgroup_permissions().empty() ? "rwm" : d.cgroup_permissions();
    if (perms.find_first_not_of("rwm") != std::string::npos)
      return Fail(Invalid("devices.cgroup_permissions",
                          fmt::format("must be a subset of \"rwm\", got \"{}\"", perms)));
    s.devices.push_back(
        {d.host_path(), d.task_path().empty() ? d.host_path() : d.task_path(), perms});
  }

  // Namespaces. "" means private (Nomad's exec driver default).
  ISOEXEC_ASSIGN_OR_RETURN(s.namespaces.pid,
                           NsModeFrom("default_pid_mode", req.default_pid_mode()));
  ISOEXEC_ASSIGN_OR_RETURN(s.namespaces.ipc,
                           NsModeFrom("default_ipc_mode", req.default_ipc_mode()));
  if (req.has_network_isolation()) {
    const auto& n = req.network_isolation();
    if (!n.path().empty()) {
      if (n.path()[0] != '/')
        return Fail(Invalid("network_isolation.path",
                            fmt::format("must be absolute, got \"{}\"", n.path())));
      s.namespaces.net = n.path();
    } else if (n.mode() == dpb::NetworkIsolationSpec::NONE) {
      s.namespaces.net = "none";
    } else if (n.mode() != dpb::NetworkIsolationSpec::HOST) {
      return Fail(
          Invalid("network_isolation.path",
                  fmt::format("mode {} needs the network namespace path",
                              dpb::NetworkIsolationSpec::NetworkIsolationMode_Name(n.mode()))));
    }
    if (warnings && (!n.hostsconfig().hostname().empty() || !n.hostsconfig().address().empty()))
      warnings->push_back(
          "network_isolation.hostsConfig ignored (the driver writes /etc/hosts into the task dir)");
  }

  // Capabilities: the driver's final list replaces isoexec's default set.
  if (req.capabilities_size() > 0) {
    s.security.cap_drop = {"all"};
    for (const auto& c : req.capabilities()) {
      if (c.empty()) return Fail(Invalid("capabilities", "empty capability name"));
      s.security.cap_add.push_back(c);
    }
  }
  if (warnings && req.allow_caps_size() > 0)
    warnings->push_back(
        "allow_caps ignored (the driver checks it; capabilities is the final list)");
  if (warnings && !req.cpuset_cgroup().empty())
    warnings->push_back(
        fmt::format("cpuset_cgroup `{}` ignored: the task runs in its own isoexec cgroup",
                    req.cpuset_cgroup()));

  // Resources.
  if (req.resource_limits()) {
    ISOEXEC_ASSIGN_OR_RETURN(auto r, ResourcesFrom(req.resources(), warnings));
    s.resources.memory = r.memory;
    s.resources.memory_max = r.memory_max;
    s.resources.memory_max_unlimited = r.memory_max_unlimited;
    s.resources.cpu_shares = r.cpu_shares;
    s.resources.cpuset = r.cpuset;
  } else if (warnings && req.has_resources() &&
             (req.resources().allocated_resources().memory().memory_mb() > 0 ||
              req.resources().allocated_resources().cpu().cpu_shares() > 0)) {
    warnings->push_back("resources ignored: resource_limits is false");
  }

  // Output: Nomad's logmon FIFOs (or files); "" discards like /dev/null.
  s.output.stdout_path = req.stdout_path().empty() ? "/dev/null" : req.stdout_path();
  s.output.stderr_path = req.stderr_path().empty() ? "/dev/null" : req.stderr_path();

  // Nomad's default stop signal; Shutdown always names its own.
  s.lifecycle.kill_signal = SIGINT;

  if (auto v = spec::Validate(s); !v) {
    const Error& e = v.error();
    return Fail(Error(Code::kInvalidArgument, fmt::format("LaunchRequest: {}", e.str())));
  }
  return s;
}

void ToTimestamp(std::chrono::system_clock::time_point t, google::protobuf::Timestamp* out) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  int64_t secs = ns / 1'000'000'000;
  int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    secs -= 1;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(nanos));
}

std::chrono::system_clock::time_point FromTimestamp(const google::protobuf::Timestamp& ts) {
  auto d = std::chrono::seconds(ts.seconds()) + std::chrono::nanoseconds(ts.nanos());
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(d));
}

void SampleToTaskStats(const stats::Sample& sample, dpb::TaskStats* out) {
  out->set_id(sample.id);
  ToTimestamp(std::chrono::system_clock::time_point(
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(
                      std::chrono::nanoseconds(sample.timestamp_ns))),
              out->mutable_timestamp());
  auto* agg = out->mutable_agg_resource_usage();
  auto* mem = agg->mutable_memory();
  const auto& m = sample.memory;
  mem->set_rss(m.rss_bytes);
  mem->set_cache(m.cache_bytes);
  mem->set_swap(m.swap_bytes);
  mem->set_usage(m.usage_bytes);
  mem->set_max_usage(m.max_usage_bytes);
  mem->set_kernel_usage(m.kernel_usage_bytes);
  mem->set_kernel_max_usage(m.kernel_max_usage_bytes);
  for (const auto& f : m.measured)
    if (const char* n = MemoryFieldName(f)) AddMemoryField(mem, n);
  auto* cpu = agg->mutable_cpu();
  const auto& c = sample.cpu;
  cpu->set_system_mode(c.system_percent);
  cpu->set_user_mode(c.user_percent);
  cpu->set_total_ticks(c.total_ticks);
  cpu->set_throttled_periods(c.throttled_periods);
  cpu->set_throttled_time(c.throttled_ns);
  cpu->set_percent(c.percent);
  for (const auto& f : c.measured)
    if (const char* n = CpuFieldName(f)) AddCpuField(cpu, n);
  auto* by_pid = out->mutable_resource_usage_by_pid();
  for (const auto& [pid, p] : sample.pids) {
    dpb::TaskResourceUsage u;
    u.mutable_memory()->set_rss(p.rss_bytes);
    u.mutable_memory()->set_swap(p.swap_bytes);
    AddMemoryField(u.mutable_memory(), "RSS");
    AddMemoryField(u.mutable_memory(), "SWAP");
    u.mutable_cpu()->set_percent(p.cpu_percent);
    u.mutable_cpu()->set_user_mode(p.user_percent);
    u.mutable_cpu()->set_system_mode(p.system_percent);
    AddCpuField(u.mutable_cpu(), "SYSTEM_MODE");
    AddCpuField(u.mutable_cpu(), "USER_MODE");
    AddCpuField(u.mutable_cpu(), "PERCENT");
    (*by_pid)[std::to_string(pid)] = std::move(u);
  }
}

void ExitToProcessState(const runtime::ExitState& exit, pb::ProcessState* out) {
  out->set_pid(exit.pid);
  out->set_exit_code(exit.exit_code);
  out->set_signal(exit.signal);
  out->set_oom_killed(exit.oom_killed);
  auto t = exit.finished_at.time_since_epoch().count() != 0 ? exit.finished_at
                                                            : std::chrono::system_clock::now();
  ToTimestamp(t, out->mutable_time());
}

}  // namespace isoexec::executor
