// Resolving --user (NAME|UID[:GROUP|GID]) against the task root's /etc/passwd and /etc/group.
// Parent side only; the child receives the plain ids (see ApplyCapabilities in caps.h).
// Semantics follow runc/Docker (and so Nomad's exec driver), see docs in ResolveUser.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace isoexec::isolation {

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
  // The full setgroups(2) list: the primary gid first, then supplementary groups.
  std::vector<gid_t> groups;
  std::string name;  // for USER/LOGNAME: the passwd name, else the uid as text
  std::string home;  // for HOME: the passwd home, else "/"
};

// Largest valid id: (uid_t)-1 means "unchanged" to set*id(2).
inline constexpr uint32_t kMaxId = 4294967294U;

// Resolves `spec` = NAME|UID[:GROUP|GID]. `passwd_text` / `group_text` are the contents of the
// task root's /etc/passwd and /etc/group (nullopt: the file does not exist).
//  - A number is always an id (never looked up as a name); it needs no passwd entry. When it
//    has one, name/home/primary gid come from the first entry with that uid.
//  - A name must exist in passwd (error: "unable to find user alice: ...").
//  - Without a group part the gid is the passwd primary gid, or 0 for a uid without an entry
//    (runc, Docker, Podman and Nomad do the same; give UID:GID to avoid group root), and the
//    supplementary groups are every /etc/group entry listing the user's name as a member.
//  - With a group part (name looked up in /etc/group, or a number) that group is the only one:
//    no supplementary groups, as in runc/Docker.
// The empty spec is an error; callers wanting root's defaults pass "0".
// Errors name the field "--user".
Result<UserIds> ResolveUser(std::string_view spec, const std::optional<std::string>& passwd_text,
                            const std::optional<std::string>& group_text);

}  // namespace isoexec::isolation
