#include "isolation/user.h"

#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace isoexec::isolation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "# a comment\n"
    "\n"
    "broken line without fields\n"
    "bad:x:notanumber:1::/bad:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
    "bob:x:1001:1001::/home/bob:/bin/sh\r\n"
    "nohome:x:1002:1002:::/bin/sh\n"
    "shadowed:x:1000:5::/elsewhere:/bin/sh\n"
    "+nis\n";

const std::string kGroup =
    "root:x:0:\n"
    "wheel:x:10:alice, bob\n"
    "audio:x:29:alice\n"
    "alice:x:1000:\n"
    "bob:x:1001:\r\n"
    "staff:x:50:carol\n"
    "again:x:10:alice\n"
    "nogroup:x:65534:\n";

Result<UserIds> Resolve(std::string_view spec) { return ResolveUser(spec, kPasswd, kGroup); }

TEST(User, NameFromPasswdWithSupplementaryGroups) {
  auto r = Resolve("alice");
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(r->uid, 1000u);
  EXPECT_EQ(r->gid, 1000u);
  EXPECT_EQ(r->name, "alice");
  EXPECT_EQ(r->home, "/home/alice");
  // Primary first; gid 10 listed twice in /etc/group appears once.
  EXPECT_THAT(r->groups, ElementsAre(1000u, 10u, 29u));
}

TEST(User, NumericUidUsesFirstPasswdEntry) {
  auto r = Resolve("1000");
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(r->uid, 1000u);
  EXPECT_EQ(r->gid, 1000u);
  EXPECT_EQ(r->name, "alice");
  EXPECT_THAT(r->groups, ElementsAre(1000u, 10u, 29u));
}

TEST(User, MemberListWithSpacesAndCrLf) {
  auto r = Resolve("bob");
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(r->uid, 1001u);
  EXPECT_EQ(r->home, "/home/bob");
  EXPECT_THAT(r->groups, ElementsAre(1001u, 10u));
}

TEST(User, RootAndNobody) {
  auto root = Resolve("root");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  EXPECT_EQ(root->home, "/root");
  EXPECT_THAT(root->groups, ElementsAre(0u));
  auto zero = Resolve("0");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->name, "root");
  auto nobody = Resolve("nobody");
  ASSERT_TRUE(nobody);
  EXPECT_EQ(nobody->uid, 65534u);
  EXPECT_EQ(nobody->gid, 65534u);
}

TEST(User, UnknownUidNeedsNoEntryAndGetsGidZero) {
  auto r = Resolve("4242");
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(r->uid, 4242u);
  EXPECT_EQ(r->gid, 0u);
  EXPECT_EQ(r->name, "4242");
  EXPECT_EQ(r->home, "/");
  EXPECT_THAT(r->groups, ElementsAre(0u));

  auto with_gid = Resolve("4242:4343");
  ASSERT_TRUE(with_gid);
  EXPECT_EQ(with_gid->gid, 4343u);
  EXPECT_THAT(with_gid->groups, ElementsAre(4343u));
}

TEST(User, EmptyHomeIsRoot) {
  auto r = Resolve("nohome");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->home, "/");
}

TEST(User, ExplicitGroupReplacesSupplementaryGroups) {
  auto named = Resolve("alice:staff");
  ASSERT_TRUE(named) << named.error().str();
  EXPECT_EQ(named->uid, 1000u);
  EXPECT_EQ(named->gid, 50u);
  EXPECT_THAT(named->groups, ElementsAre(50u));

  auto numeric = Resolve("alice:77");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->gid, 77u);
  EXPECT_THAT(numeric->groups, ElementsAre(77u));
}

TEST(User, MaxIdAccepted) {
  auto r = Resolve("4294967294:4294967294");
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(r->uid, 4294967294u);
  EXPECT_EQ(r->gid, 4294967294u);
}

TEST(User, UnknownUserNamesTheUser) {
  auto r = ResolveUser("alice", "root:x:0:0:root:/root:/bin/sh\n", kGroup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field(), "--user");
  EXPECT_THAT(r.error().str(), HasSubstr("user alice"));
  EXPECT_THAT(r.error().str(), HasSubstr("/etc/passwd"));
}

TEST(User, MissingPasswdFile) {
  auto named = ResolveUser("alice", std::nullopt, std::nullopt);
  ASSERT_FALSE(named);
  EXPECT_THAT(named.error().str(), HasSubstr("unable to find user alice"));
  EXPECT_THAT(named.error().str(), HasSubstr("no /etc/passwd"));

  auto numeric = ResolveUser("1000:1000", std::nullopt, std::nullopt);
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->uid, 1000u);
  EXPECT_EQ(numeric->name, "1000");
  EXPECT_EQ(numeric->home, "/");
}

TEST(User, UnknownGroup) {
  auto r = Resolve("alice:nosuch");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field(), "--user");
  EXPECT_THAT(r.error().str(), HasSubstr("group nosuch"));

  auto no_file = ResolveUser("alice:staff", kPasswd, std::nullopt);
  ASSERT_FALSE(no_file);
  EXPECT_THAT(no_file.error().str(), HasSubstr("no /etc/group"));
}

TEST(User, RejectsMalformedSpecs) {
  for (const char* bad :
       {"", ":", "alice:", ":staff", "a:b:c", "-1", "1000:-1", "4294967295", "4294967296",
        "99999999999999999999", "al ice", "-alice", "a/b", "1000:4294967295"}) {
    auto r = Resolve(bad);
    ASSERT_FALSE(r) << "accepted \"" << bad << "\"";
    EXPECT_EQ(r.error().field(), "--user") << bad;
  }
  EXPECT_THAT(Resolve("-1").error().str(), HasSubstr("negative"));
  EXPECT_THAT(Resolve("4294967295").error().str(), HasSubstr("out of range"));
  EXPECT_THAT(Resolve("a:b:c").error().str(), HasSubstr("a:b:c"));
}

}  // namespace
}  // namespace isoexec::isolation
