// Resource model conversions: Nomad's memory rules, shares -> v2 weight, device rules.
#include <cmath>

#include <fmt/format.h>

#include "base/parse.h"
#include "cgroup/cgroup.h"

namespace isoexec::cgroup {

Limits FromResources(const spec::Resources& r) {
  Limits l;
  if (r.memory_max_unlimited) {
    l.memory_soft = r.memory;
  } else if (r.memory_max) {
    l.memory_hard = r.memory_max;
    l.memory_soft = r.memory;
  } else {
    l.memory_hard = r.memory;
  }
  l.cpu_shares = r.cpu_shares;
  if (!r.cpuset.empty()) l.cpuset_cpus = r.cpuset;
  l.pids_max = r.pids_max;
  return l;
}

Status ValidateLimits(const Limits& l) {
  if (l.cpu_shares && (*l.cpu_shares < 2 || *l.cpu_shares > 262144))
    return Fail(
        Error::Invalid("cpu_shares", fmt::format("{} is not within 2..262144", *l.cpu_shares)));
  if (l.pids_max && *l.pids_max < 1)
    return Fail(Error::Invalid("pids_max", fmt::format("{} is less than 1", *l.pids_max)));
  if (l.memory_hard && *l.memory_hard == 0)
    return Fail(Error::Invalid("memory", "a hard limit of 0 bytes"));
  if (l.memory_hard && l.memory_soft && *l.memory_soft > *l.memory_hard)
    return Fail(Error::Invalid(
        "memory", fmt::format("the reservation {} exceeds the hard limit {}",
                              FormatBytes(*l.memory_soft), FormatBytes(*l.memory_hard))));
  if (l.cpuset_cpus && (l.cpuset_cpus->empty() ||
                        l.cpuset_cpus->find_first_not_of("0123456789,-") != std::string::npos))
    return Fail(Error::Invalid("cpuset",
                               fmt::format("`{}` is not a CPU list like `0-2,4`", *l.cpuset_cpus)));
  if (l.devices) ISOEXEC_TRY(ValidateDeviceRules(*l.devices, "devices"));
  return Ok();
}

uint64_t SharesToWeight(uint64_t shares) {
  // opencontainers/cgroups >= v0.0.3 (and crun): a quadratic in log2(shares) through
  // (2, 1), (1024, 100) and (262144, 10000), so the v1 default maps to the v2 default.
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  double l = std::log2(static_cast<double>(shares));
  double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return static_cast<uint64_t>(std::ceil(std::pow(10.0, exponent)));
}

std::vector<DeviceRule> DefaultDeviceRules() {
  return {
      {'c', 1, 3, "rwm"},     // null
      {'c', 1, 5, "rwm"},     // zero
      {'c', 1, 7, "rwm"},     // full
      {'c', 1, 8, "rwm"},     // random
      {'c', 1, 9, "rwm"},     // urandom
      {'c', 5, 0, "rwm"},     // tty
      {'c', 5, 2, "rwm"},     // ptmx
      {'c', 136, -1, "rwm"},  // pts/*
  };
}

std::string FormatDeviceRule(const DeviceRule& rule) {
  if (rule.type == 'a') return "a";
  auto num = [](int64_t v) { return v < 0 ? std::string("*") : std::to_string(v); };
  return fmt::format("{} {}:{} {}", rule.type, num(rule.major), num(rule.minor), rule.access);
}

Status ValidateDeviceRules(const std::vector<DeviceRule>& rules, std::string_view field) {
  constexpr int64_t kMaxNumber = 0x7fffffff;
  for (size_t i = 0; i < rules.size(); ++i) {
    const DeviceRule& r = rules[i];
    std::string f = fmt::format("{}[{}]", field, i);
    if (r.type != 'a' && r.type != 'b' && r.type != 'c')
      return Fail(Error::Invalid(
          f, fmt::format("device type `{}` is not one of a, b, c", std::string(1, r.type))));
    if (r.major < -1 || r.major > kMaxNumber || r.minor < -1 || r.minor > kMaxNumber)
      return Fail(
          Error::Invalid(f, fmt::format("device number {}:{} is out of range", r.major, r.minor)));
    if (r.access.empty() || r.access.size() > 3 ||
        r.access.find_first_not_of("rwm") != std::string::npos)
      return Fail(Error::Invalid(f, fmt::format("access `{}` is not a subset of `rwm`", r.access)));
    for (size_t j = 0; j < r.access.size(); ++j)
      if (r.access.find(r.access[j], j + 1) != std::string::npos)
        return Fail(Error::Invalid(
            f, fmt::format("access `{}` repeats `{}`", r.access, std::string(1, r.access[j]))));
  }
  return Ok();
}

}  // namespace isoexec::cgroup
