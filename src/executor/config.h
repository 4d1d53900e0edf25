// The executor's start-up contract with Nomad: `<binary> executor '<json>'`, the go-plugin
// magic cookie, the handshake line, and the JSON configuration. Pure logic (unit-tested).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace isoexec::executor {

// go-plugin handshake values Nomad uses for every plugin.
inline constexpr char kMagicCookieKey[] = "NOMAD_PLUGIN_MAGIC_COOKIE";
inline constexpr char kMagicCookieValue[] =
    "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255";
inline constexpr int kCoreProtocolVersion = 1;       // go-plugin's own protocol
inline constexpr int kAppProtocolVersion = 2;        // Nomad's executor plugin API
inline constexpr char kExecutorVersion[] = "2.0.0";  // Version() (Nomad's ExecutorVersionLatest)

// What go-plugin prints to stderr (then exit 1) when the cookie is missing or wrong.
inline constexpr char kNotAPluginMessage[] =
    "This binary is a plugin. These are not meant to be executed directly.\n"
    "Please execute the program that consumes these plugins, which will\n"
    "load any plugins automatically\n";

struct Config {
  // Nomad's fields.
  std::string log_file;            // "LogFile": the executor's own log (appended); "" = stderr
  std::string log_level = "info";  // "LogLevel": trace|debug|info|warn|error (hclog names)
  bool fs_isolation = true;        // "FSIsolation": false is raw_exec's universal executor
  // isoexec extensions (absent from Nomad's JSON; defaults below).
  std::string state_root = "/run/isoexec";  // "StateRoot": state dir = <root>/executor-<pid>
  std::string cgroup_parent = "isoexec";    // "CgroupParent": --cgroup-parent of the task
};

// Parses the JSON argument. Unknown keys are ignored (Nomad adds some over time, e.g.
// "Compute"); a known key with the wrong type is an error naming it.
Result<Config> ParseConfig(std::string_view json_text);

// The JSON argument from argv, accepting both `<bin> executor '<json>'` (Nomad's form, also
// what `isoexec executor` passes through) and `<bin> '<json>'`. Error text as Nomad's.
Result<std::string> ConfigArgument(const std::vector<std::string>& argv);

// Whether the environment carries Nomad's magic cookie (`value` is getenv's result or null).
bool CookieValid(const char* value);

// The single handshake line go-plugin clients parse, with its trailing newline:
// CORE|APP|NETWORK|ADDR|PROTOCOL|SERVERCERT (the certificate field is empty: no AutoMTLS).
std::string HandshakeLine(const std::string& socket_path);

// log level name (hclog's, case-insensitive) -> base/log level index (0 error .. 3 debug).
int LogLevelIndex(std::string_view name);

}  // namespace isoexec::executor
