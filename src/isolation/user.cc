#include "isolation/user.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace isoexec::isolation {

namespace {

constexpr std::string_view kField = "--user";

struct PasswdEntry {
  std::string_view name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string_view home;
};

struct GroupEntry {
  std::string_view name;
  uint32_t gid = 0;
  std::string_view members;  // comma separated
};

// Splits on `sep`; the last piece runs to the end.
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A valid id, or nullopt (not a number or out of range).
std::optional<uint32_t> ParseIdText(std::string_view s) {
  if (!AllDigits(s) || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  if (v > kMaxId) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// Lines of a colon-separated database, without blank, comment and NIS ("+"/"-") lines.
template <class Fn>
void ForEachRecord(std::string_view text, Fn&& fn) {
  for (std::string_view line : Split(text, '\n')) {
    line = Trim(line);
    if (line.empty() || line.front() == '#' || line.front() == '+' || line.front() == '-') continue;
    if (!fn(Split(line, ':'))) return;
  }
}

// First passwd entry matching `pred`; malformed lines are skipped rather than fatal, like
// glibc's nss_files.
template <class Pred>
std::optional<PasswdEntry> FindPasswd(std::string_view text, Pred&& pred) {
  std::optional<PasswdEntry> found;
  ForEachRecord(text, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 4) return true;
    auto uid = ParseIdText(f[2]);
    auto gid = ParseIdText(f[3]);
    if (f[0].empty() || !uid || !gid) return true;
    PasswdEntry e{f[0], *uid, *gid, f.size() > 5 ? f[5] : std::string_view()};
    if (!pred(e)) return true;
    found = e;
    return false;
  });
  return found;
}

template <class Fn>
void ForEachGroup(std::string_view text, Fn&& fn) {
  ForEachRecord(text, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 3) return true;
    auto gid = ParseIdText(f[2]);
    if (f[0].empty() || !gid) return true;
    return fn(GroupEntry{f[0], *gid, f.size() > 3 ? f[3] : std::string_view()});
  });
}

bool HasMember(std::string_view members, std::string_view name) {
  for (std::string_view m : Split(members, ','))
    if (Trim(m) == name) return true;
  return false;
}

struct IdSpec {
  std::string_view text;
  std::optional<uint32_t> id;  // set when `text` is numeric
};

// One half of NAME|UID[:GROUP|GID]. `what` is "user" or "group".
Result<IdSpec> ParseIdSpec(std::string_view spec, std::string_view part, std::string_view what) {
  if (part.empty()) {
    return Fail(Error::Invalid(kField, fmt::format("empty {} in \"{}\" (expected "
                                                   "NAME|UID[:GROUP|GID])",
                                                   what, spec)));
  }
  if (part.front() == '-' && AllDigits(part.substr(1))) {
    return Fail(Error::Invalid(kField, fmt::format("{} id {} is negative", what, part)));
  }
  if (AllDigits(part)) {
    auto id = ParseIdText(part);
    if (!id) {
      return Fail(Error::Invalid(
          kField, fmt::format("{} id {} is out of range (0..{})", what, part, kMaxId)));
    }
    return IdSpec{part, id};
  }
  // Names: what useradd/groupadd could have written into the files (no separators, no
  // whitespace or control characters, no leading '-').
  const bool bad = part.front() == '-' || std::any_of(part.begin(), part.end(), [](char c) {
                     const auto u = static_cast<unsigned char>(c);
                     return u <= 0x20 || u == 0x7f || c == ',' || c == '/';
                   });
  if (bad) {
    return Fail(Error::Invalid(kField, fmt::format("invalid {} name \"{}\"", what, part)));
  }
  return IdSpec{part, std::nullopt};
}

}  // namespace

Result<UserIds> ResolveUser(std::string_view spec, const std::optional<std::string>& passwd_text,
                            const std::optional<std::string>& group_text) {
  if (spec.empty()) {
    return Fail(Error::Invalid(kField, "empty user (expected NAME|UID[:GROUP|GID])"));
  }
  const std::vector<std::string_view> parts = Split(spec, ':');
  if (parts.size() > 2) {
    return Fail(Error::Invalid(
        kField, fmt::format("\"{}\" has more than one ':' (expected NAME|UID[:GROUP|GID])", spec)));
  }
  ISOEXEC_ASSIGN_OR_RETURN(IdSpec user, ParseIdSpec(spec, parts[0], "user"));
  std::optional<IdSpec> group;
  if (parts.size() == 2) {
    ISOEXEC_ASSIGN_OR_RETURN(group, ParseIdSpec(spec, parts[1], "group"));
  }

  UserIds ids;
  std::optional<PasswdEntry> entry;
  if (passwd_text) {
    if (user.id) {
      entry = FindPasswd(*passwd_text, [&](const PasswdEntry& e) { return e.uid == *user.id; });
    } else {
      entry = FindPasswd(*passwd_text, [&](const PasswdEntry& e) { return e.name == user.text; });
    }
  }
  if (entry) {
    ids.uid = entry->uid;
    ids.gid = entry->gid;
    ids.name = std::string(entry->name);
    ids.home = entry->home.empty() ? "/" : std::string(entry->home);
  } else if (user.id) {
    ids.uid = *user.id;
    ids.gid = 0;
    ids.name = std::string(user.text);
    ids.home = "/";
  } else {
    return Fail(Error::Invalid(
        kField, fmt::format("unable to find user {}: {}", user.text,
                            passwd_text ? "no matching entries in the task root's /etc/passwd"
                                        : "the task root has no /etc/passwd")));
  }

  if (group) {
    if (group->id) {
      ids.gid = *group->id;
    } else {
      std::optional<uint32_t> gid;
      if (group_text) {
        ForEachGroup(*group_text, [&](const GroupEntry& g) {
          if (g.name != group->text) return true;
          gid = g.gid;
          return false;
        });
      }
      if (!gid) {
        return Fail(Error::Invalid(
            kField, fmt::format("unable to find group {}: {}", group->text,
                                group_text ? "no matching entries in the task root's /etc/group"
                                           : "the task root has no /etc/group")));
      }
      ids.gid = *gid;
    }
    ids.groups = {ids.gid};
    return ids;
  }

  ids.groups = {ids.gid};
  // Supplementary groups need a name to look for; a bare uid without a passwd entry has none.
  if (entry && group_text) {
    ForEachGroup(*group_text, [&](const GroupEntry& g) {
      if (HasMember(g.members, entry->name) &&
          std::find(ids.groups.begin(), ids.groups.end(), g.gid) == ids.groups.end()) {
        ids.groups.push_back(g.gid);
      }
      return true;
    });
  }
  return ids;
}

}  // namespace isoexec::isolation
