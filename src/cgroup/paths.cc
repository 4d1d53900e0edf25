#include "cgroup/paths.h"

#include <fmt/format.h>

namespace isoexec::cgroup {

namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Status ValidateComponent(std::string_view field, std::string_view value, std::string_view c) {
  if (c.empty() || c == "." || c == "..")
    return Fail(
        Error::Invalid(field, fmt::format("`{}` has an empty, `.` or `..` component", value)));
  if (c.size() > 200)
    return Fail(
        Error::Invalid(field, fmt::format("`{}` has a component longer than 200 bytes", value)));
  for (char ch : c)
    if (ch == '\n' || ch == '\0' || ch == ' ')
      return Fail(
          Error::Invalid(field, fmt::format("`{}` contains a space or control character", value)));
  return Ok();
}

}  // namespace

std::vector<std::string> ParentComponents(const std::string& parent) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= parent.size()) {
    size_t pos = parent.find('/', start);
    if (pos == std::string::npos) pos = parent.size();
    if (pos > start) out.push_back(parent.substr(start, pos - start));
    start = pos + 1;
  }
  return out;
}

Status ValidateOptions(const Options& options) {
  std::string_view parent = options.parent;
  while (!parent.empty() && parent.front() == '/') parent.remove_prefix(1);
  while (!parent.empty() && parent.back() == '/') parent.remove_suffix(1);
  if (!parent.empty()) {
    size_t start = 0;
    for (;;) {
      size_t pos = parent.find('/', start);
      ISOEXEC_TRY(ValidateComponent(
          "--cgroup-parent", options.parent,
          parent.substr(start,
                        pos == std::string_view::npos ? std::string_view::npos : pos - start)));
      if (pos == std::string_view::npos) break;
      start = pos + 1;
    }
  }
  if (options.id.find('/') != std::string::npos)
    return Fail(Error::Invalid("id", fmt::format("`{}` contains `/`", options.id)));
  return ValidateComponent("id", options.id, options.id);
}

std::vector<std::string> V2ParentComponents(const std::string& parent) {
  std::vector<std::string> out = ParentComponents(parent);
  if (!out.empty() && !EndsWith(out.back(), ".slice")) out.back() += ".slice";
  return out;
}

std::string V2ScopeName(const std::string& id) { return id + ".scope"; }

}  // namespace isoexec::cgroup
