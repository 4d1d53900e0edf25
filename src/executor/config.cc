#include "executor/config.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace isoexec::executor {

namespace {

Error ConfigError(std::string_view why) {
  return Error(Code::kInvalidArgument, fmt::format("executor configuration: {}", why));
}

Status ReadString(const nlohmann::json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Ok();
  if (!it->is_string()) return Fail(ConfigError(fmt::format("\"{}\" must be a string", key)));
  *out = it->get<std::string>();
  return Ok();
}

}  // namespace

Result<Config> ParseConfig(std::string_view json_text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    return Fail(ConfigError(fmt::format("not valid JSON: {}", e.what())));
  }
  if (!j.is_object()) return Fail(ConfigError("must be a JSON object"));
  Config c;
  ISOEXEC_TRY(ReadString(j, "LogFile", &c.log_file));
  ISOEXEC_TRY(ReadString(j, "LogLevel", &c.log_level));
  if (auto it = j.find("FSIsolation"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Fail(ConfigError("\"FSIsolation\" must be a boolean"));
    c.fs_isolation = it->get<bool>();
  }
  ISOEXEC_TRY(ReadString(j, "StateRoot", &c.state_root));
  ISOEXEC_TRY(ReadString(j, "CgroupParent", &c.cgroup_parent));
  if (c.state_root.empty() || c.state_root[0] != '/')
    return Fail(ConfigError(
        fmt::format("\"StateRoot\" must be an absolute path, got \"{}\"", c.state_root)));
  if (c.cgroup_parent.empty() || c.cgroup_parent[0] == '/' ||
      c.cgroup_parent.find("..") != std::string::npos)
    return Fail(ConfigError(fmt::format(
        "\"CgroupParent\" must be a relative cgroup name, got \"{}\"", c.cgroup_parent)));
  return c;
}

Result<std::string> ConfigArgument(const std::vector<std::string>& argv) {
  std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  if (!args.empty() && args[0] == "executor") args.erase(args.begin());
  // Nomad's own wording when the argument is missing.
  if (args.size() != 1)
    return Fail(Error(Code::kInvalidArgument, "json configuration not provided"));
  return args[0];
}

bool CookieValid(const char* value) {
  return value != nullptr && std::strcmp(value, kMagicCookieValue) == 0;
}

std::string HandshakeLine(const std::string& socket_path) {
  return fmt::format("{}|{}|unix|{}|grpc|\n", kCoreProtocolVersion, kAppProtocolVersion,
                     socket_path);
}

int LogLevelIndex(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "error") return 0;
  if (n == "warn" || n == "warning") return 1;
  if (n == "debug" || n == "trace") return 3;
  return 2;  // info, and anything unknown (hclog treats it the same way)
}

}  // namespace isoexec::executor
