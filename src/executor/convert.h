// Conversions between Nomad's executor protocol and isoexec's own types. Pure functions (no
// I/O), unit-tested; every refusal is kInvalidArgument with a message naming the
// LaunchRequest field (the service turns it into gRPC INVALID_ARGUMENT).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "drivers.pb.h"
#include "executor.pb.h"
#include "runtime/exit_state.h"
#include "spec/task_spec.h"
#include "stats/sample.h"

namespace isoexec::executor {

namespace pb = ::hashicorp::nomad::plugins::executor::proto;
namespace dpb = ::hashicorp::nomad::plugins::drivers::proto;

// The limits a drivers.Resources asks for, in isoexec terms (see docs/executor.md):
//   memory      allocated memory_mb (MiB), else linux memory_limit_bytes
//   memory_max  allocated memory_max_mb when above memory; -1 = no hard limit
//   cpu_shares  allocated cpu_shares, else linux cpu_shares; clamped to 2..262144
//   cpuset      linux cpuset_cpus
struct ResourceRequest {
  std::optional<uint64_t> memory;
  std::optional<uint64_t> memory_max;
  bool memory_max_unlimited = false;
  std::optional<uint64_t> cpu_shares;
  std::string cpuset;
  bool empty() const {
    return !memory && !memory_max && !memory_max_unlimited && !cpu_shares && cpuset.empty();
  }
};
Result<ResourceRequest> ResourcesFrom(const dpb::Resources& r, std::vector<std::string>* warnings);

// The supervisor's `update` op "resources" object for a request (only the fields it sets).
nlohmann::json UpdateJson(const ResourceRequest& r);

// The task spec for a LaunchRequest. `id` becomes the task id (and its cgroup name).
// `warnings` collects fields that are accepted but have no effect.
Result<spec::TaskSpec> SpecFromLaunch(const pb::LaunchRequest& req, const std::string& id,
                                      std::vector<std::string>* warnings);

// A task id for the executor's task: the task dir's last component (Nomad's task name),
// reduced to [A-Za-z0-9_.-] and 40 characters, plus "-" and `suffix`.
std::string TaskIdFor(const std::string& task_dir, const std::string& suffix);

// Nomad's Measured naming for the stats fields isoexec reports.
void SampleToTaskStats(const stats::Sample& sample, dpb::TaskStats* out);

void ExitToProcessState(const runtime::ExitState& exit, pb::ProcessState* out);

void ToTimestamp(std::chrono::system_clock::time_point t, google::protobuf::Timestamp* out);
std::chrono::system_clock::time_point FromTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace isoexec::executor
