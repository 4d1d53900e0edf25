#include "spec/flag_parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <vector>

namespace isoexec::spec {

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  for (;;) {
    size_t j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

Status CheckPath(std::string_view field, std::string_view what, std::string_view p) {
  if (p.empty() || p[0] != '/')
    return Fail(Error::Invalid(field, fmt::format("{} must be an absolute path, got \"{}\"", what, p)));
  if (p.find('\0') != std::string_view::npos)
    return Fail(Error::Invalid(field, fmt::format("{} contains a NUL byte", what)));
  return Ok();
}

}  // namespace

Result<BindMount> ParseBind(std::string_view text) {
  auto parts = Split(text, ':');
  if (parts.size() < 2 || parts.size() > 3)
    return Fail(Error::Invalid("--bind", fmt::format("expected HOST:TASK[:OPTS], got \"{}\"", text)));
  BindMount b;
  b.host = parts[0];
  b.task = parts[1];
  ISOEXEC_TRY(CheckPath("--bind", "HOST", b.host));
  ISOEXEC_TRY(CheckPath("--bind", "TASK", b.task));
  if (parts.size() == 3) {
    // At most one of ro|rw and one propagation: "ro,rw" is a contradiction, not "last wins".
    std::string_view mode, propagation;
    for (auto opt : Split(parts[2], ',')) {
      std::string_view* seen = nullptr;
      if (opt == "ro" || opt == "rw") {
        b.readonly = opt == "ro";
        seen = &mode;
      } else if (opt == "private" || opt == "rprivate") {
        b.propagation = Propagation::kPrivate;
        seen = &propagation;
      } else if (opt == "rslave" || opt == "slave") {
        b.propagation = Propagation::kSlave;
        seen = &propagation;
      } else if (opt == "rshared" || opt == "shared") {
        b.propagation = Propagation::kShared;
        seen = &propagation;
      } else {
        return Fail(Error::Invalid(
            "--bind", fmt::format("unknown option \"{}\" (use ro|rw and private|rslave|rshared)", opt)));
      }
      if (!seen->empty())
        return Fail(Error::Invalid("--bind", fmt::format("options \"{}\" and \"{}\" conflict", *seen, opt)));
      *seen = opt;
    }
  }
  return b;
}

Result<Device> ParseDevice(std::string_view text) {
  auto parts = Split(text, ':');
  if (parts.empty() || parts.size() > 3)
    return Fail(Error::Invalid("--device", fmt::format("expected HOST[:TASK[:PERMS]], got \"{}\"", text)));
  Device d;
  d.host = parts[0];
  ISOEXEC_TRY(CheckPath("--device", "HOST", d.host));
  d.task = parts.size() >= 2 && !parts[1].empty() ? std::string(parts[1]) : d.host;
  ISOEXEC_TRY(CheckPath("--device", "TASK", d.task));
  if (parts.size() == 3) d.perms = parts[2];
  if (d.perms.empty() || d.perms.find_first_not_of("rwm") != std::string::npos)
    return Fail(Error::Invalid("--device", fmt::format("PERMS must be a subset of \"rwm\", got \"{}\"", d.perms)));
  return d;
}

Result<ChrootEnvEntry> ParseChrootEnv(std::string_view text) {
  auto parts = Split(text, ':');
  if (parts.size() > 2)
    return Fail(Error::Invalid("--chroot-env", fmt::format("expected HOST[:TASK], got \"{}\"", text)));
  ChrootEnvEntry e{std::string(parts[0]), std::string(parts.size() == 2 ? parts[1] : parts[0])};
  ISOEXEC_TRY(CheckPath("--chroot-env", "HOST", e.host));
  ISOEXEC_TRY(CheckPath("--chroot-env", "TASK", e.task));
  return e;
}

Result<std::string> ParseEnv(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return Fail(Error::Invalid("--env", fmt::format("expected KEY=VALUE, got \"{}\"", text)));
  if (text.find('\0') != std::string_view::npos)
    return Fail(Error::Invalid("--env", "contains a NUL byte"));
  return std::string(text);
}

Result<NsMode> ParseNsMode(std::string_view field, std::string_view text) {
  if (text == "private") return NsMode::kPrivate;
  if (text == "host") return NsMode::kHost;
  return Fail(Error::Invalid(field, fmt::format("must be \"private\" or \"host\", got \"{}\"", text)));
}

Status ValidateId(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return Fail(Error::Invalid("--name", fmt::format("task id must be 1-64 characters, got {}", id.size())));
  if (id[0] == '.')
    return Fail(Error::Invalid("--name", fmt::format("task id must not start with '.', got \"{}\"", id)));
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok)
      return Fail(Error::Invalid("--name", fmt::format("task id may contain only [A-Za-z0-9_.-], got \"{}\"", id)));
  }
  return Ok();
}

Result<std::vector<bool>> ParseCpuList(std::string_view field, std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Fail(Error::Invalid(field, fmt::format("must be a CPU list like \"0-1,3\" ({}), got \"{}\"", why, text)));
  };
  const auto number = [](std::string_view s, size_t* out) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
    *out = 0;
    for (char c : s) *out = *out * 10 + static_cast<size_t>(c - '0');
    return true;
  };
  if (text.empty()) return bad("empty");
  std::vector<bool> cpus;
  for (auto elem : Split(text, ',')) {
    auto dash = elem.find('-');
    size_t first = 0, last = 0;
    if (!number(elem.substr(0, dash), &first) ||
        (dash != std::string_view::npos && !number(elem.substr(dash + 1), &last)))
      return bad(elem.empty() ? "an empty element" : "elements are N or N-M");
    if (dash == std::string_view::npos) last = first;
    if (first > last) return bad(fmt::format("{} is a backwards range", elem));
    if (last >= kMaxCpus) return bad(fmt::format("CPU numbers must be below {}", kMaxCpus));
    if (cpus.size() <= last) cpus.resize(last + 1);
    for (size_t c = first; c <= last; ++c) cpus[c] = true;
  }
  return cpus;
}

Status ValidateHostname(std::string_view field, std::string_view name) {
  const auto bad = [&](std::string_view why) {
    return Fail(Error::Invalid(field, fmt::format("must be a host name ({}), got \"{}\"", why, name)));
  };
  if (name.empty() || name.size() > 64) return bad("1 to 64 characters");
  for (auto label : Split(name, '.')) {
    if (label.empty() || label.size() > 63) return bad("dot-separated labels of 1 to 63 characters");
    if (label.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
        std::string_view::npos)
      return bad("letters, digits, '-' and '_'");
    if (label.front() == '-' || label.back() == '-') return bad("labels do not start or end with '-'");
  }
  return Ok();
}

Result<std::string> NormalizeTaskPath(std::string_view field, std::string_view path) {
  if (path.empty() || path[0] != '/')
    return Fail(Error::Invalid(field, fmt::format("must be an absolute path, got \"{}\"", path)));
  if (path.find('\0') != std::string_view::npos)
    return Fail(Error::Invalid(field, "path contains a NUL byte"));
  std::vector<std::string_view> parts;
  for (auto comp : Split(path, '/')) {
    if (comp == "..") {
      if (parts.empty()) return Fail(Error::Invalid(field, fmt::format("\"{}\" leaves the task root", path)));
      parts.pop_back();
    } else if (!comp.empty() && comp != ".") {
      parts.push_back(comp);
    }
  }
  std::string out;
  for (auto p : parts) out += "/" + std::string(p);
  return out.empty() ? "/" : out;
}

namespace {

// Task paths of one list (binds, devices, chroot env): normalized, never "/", none twice.
// isoexec mounts its own /proc, /sys and /dev before the binds: a bind over one of them would
// hide it (and break the setup steps that need it).
Status CheckTargets(std::string_view field, const std::vector<std::string>& targets, bool kernel_fs_too) {
  std::vector<std::string> seen;
  for (const auto& t : targets) {
    ISOEXEC_ASSIGN_OR_RETURN(std::string norm, NormalizeTaskPath(field, t));
    if (norm == "/") return Fail(Error::Invalid(field, "cannot mount over the task root \"/\""));
    if (kernel_fs_too && (norm == "/proc" || norm == "/sys" || norm == "/dev"))
      return Fail(Error::Invalid(field, fmt::format("cannot mount over \"{}\": isoexec mounts its own there", norm)));
    if (std::find(seen.begin(), seen.end(), norm) != seen.end())
      return Fail(Error::Invalid(field, fmt::format("\"{}\" is given twice as a task path", t)));
    seen.push_back(std::move(norm));
  }
  return Ok();
}

}  // namespace

Status Validate(const TaskSpec& spec) {
  if (!spec.id.empty()) ISOEXEC_TRY(ValidateId(spec.id));
  if (spec.process.argv.empty() || spec.process.argv[0].empty())
    return Fail(Error::Invalid("command", "no command given"));
  for (const auto& a : spec.process.argv)
    if (a.find('\0') != std::string::npos) return Fail(Error::Invalid("command", "argument contains a NUL byte"));
  if (spec.process.workdir.empty() || spec.process.workdir[0] != '/')
    return Fail(Error::Invalid("--workdir", fmt::format("must be absolute but got relative path \"{}\"", spec.process.workdir)));
  ISOEXEC_TRY(NormalizeTaskPath("--workdir", spec.process.workdir));
  if (spec.process.oom_score_adj < -1000 || spec.process.oom_score_adj > 1000)
    return Fail(Error::Invalid("--oom-score-adj", fmt::format("must be from -1000 to 1000, got {}", spec.process.oom_score_adj)));
  const auto& r = spec.resources;
  if (r.cpu_shares && (*r.cpu_shares < 2 || *r.cpu_shares > 262144))
    return Fail(Error::Invalid("--cpu-shares", fmt::format("must be from 2 to 262144, got {}", *r.cpu_shares)));
  if (r.memory && *r.memory < (4u << 20))
    return Fail(Error::Invalid("--memory", fmt::format("must be at least 4M, got {} bytes", *r.memory)));
  if (r.memory_max && *r.memory_max < (4u << 20))
    return Fail(Error::Invalid("--memory-max", fmt::format("must be at least 4M, got {} bytes", *r.memory_max)));
  if (r.memory_max && r.memory && *r.memory_max < *r.memory)
    return Fail(Error::Invalid("--memory-max", "must not be below --memory"));
  if ((r.memory_max || r.memory_max_unlimited) && !r.memory)
    return Fail(Error::Invalid("--memory-max", "needs --memory (the soft reservation)"));
  if (r.pids_max && *r.pids_max < 1)
    return Fail(Error::Invalid("--pids-max", fmt::format("must be at least 1, got {}", *r.pids_max)));
  if (!r.cpuset.empty()) ISOEXEC_TRY(ParseCpuList("--cpuset", r.cpuset));
  const auto& ns = spec.namespaces;
  if (ns.net != "host" && ns.net != "none" && (ns.net.empty() || ns.net[0] != '/'))
    return Fail(Error::Invalid("--net", fmt::format("must be host, none or an absolute netns path, got \"{}\"", ns.net)));
  if (!ns.hostname.empty()) ISOEXEC_TRY(ValidateHostname("--hostname", ns.hostname));
  if (spec.lifecycle.kill_timeout.count() < 0)
    return Fail(Error::Invalid("--kill-timeout", "must not be negative"));
  if (spec.lifecycle.timeout && spec.lifecycle.timeout->count() <= 0)
    return Fail(Error::Invalid("--timeout", "must be positive"));
  if (spec.output.stats_interval.count() < 0)
    return Fail(Error::Invalid("--stats-interval", "must not be negative"));
  if (spec.lifecycle.kill_signal < 1 || spec.lifecycle.kill_signal > SIGRTMAX)
    return Fail(Error::Invalid("--kill-signal", fmt::format("unknown signal {}", spec.lifecycle.kill_signal)));
  std::vector<std::string> targets;
  for (const auto& m : spec.mounts) {
    if (m.host.empty() || m.host[0] != '/' || m.task.empty() || m.task[0] != '/')
      return Fail(Error::Invalid("--bind", "paths must be absolute"));
    targets.push_back(m.task);
  }
  ISOEXEC_TRY(CheckTargets("--bind", targets, true));
  targets.clear();
  for (const auto& d : spec.devices) {
    ISOEXEC_TRY(CheckPath("--device", "HOST", d.host));
    targets.push_back(d.task.empty() ? d.host : d.task);
  }
  ISOEXEC_TRY(CheckTargets("--device", targets, true));
  targets.clear();
  for (const auto& e : spec.root.chroot_env) {
    ISOEXEC_TRY(CheckPath("--chroot-env", "HOST", e.host));
    targets.push_back(e.task.empty() ? e.host : e.task);
  }
  ISOEXEC_TRY(CheckTargets("--chroot-env", targets, false));
  return Ok();
}

}  // namespace isoexec::spec
