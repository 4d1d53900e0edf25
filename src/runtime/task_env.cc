#include "runtime/task_env.h"

#include <algorithm>

namespace isoexec::runtime {

std::vector<std::string> TaskEnvironment(const spec::TaskSpec& spec, const isolation::UserIds* user) {
  std::vector<std::string> env;
  bool has_path = false;
  for (const auto& e : spec.process.env) {
    if (e.rfind("PATH=", 0) == 0) has_path = true;
    if (user && (e.rfind("USER=", 0) == 0 || e.rfind("LOGNAME=", 0) == 0 || e.rfind("HOME=", 0) == 0))
      continue;  // the resolved identity wins
    env.push_back(e);
  }
  if (!has_path) env.push_back(std::string("PATH=") + kDefaultPath);
  if (user) {
    env.push_back("USER=" + user->name);
    env.push_back("LOGNAME=" + user->name);
    env.push_back("HOME=" + user->home);
  }
  return env;
}

void OverrideEnv(std::vector<std::string>* env, const std::vector<std::string>& overrides) {
  for (const auto& kv : overrides) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    auto it = std::find_if(env->begin(), env->end(),
                           [&](const std::string& x) { return x.rfind(key, 0) == 0; });
    if (it != env->end()) *it = kv;
    else env->push_back(kv);
  }
}

}  // namespace isoexec::runtime
