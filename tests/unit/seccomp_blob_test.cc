#include "seccomp_blob/default_filter.h"

#include <gtest/gtest.h>

#include "isolation/seccomp.h"

namespace isoexec {
namespace {

// The build-time program is what libseccomp compiles from the default profile right now.
TEST(SeccompBlob, EqualsAFreshCompileOfTheDefaultProfile) {
  auto fresh = isolation::CompileSeccomp("default");
  ASSERT_TRUE(fresh) << fresh.error().str();
  ASSERT_EQ(fresh->size(), seccomp_blob::kDefaultFilterLen);
  for (size_t i = 0; i < fresh->size(); ++i) {
    const auto& a = (*fresh)[i];
    const auto& b = seccomp_blob::kDefaultFilter[i];
    EXPECT_TRUE(a.code == b.code && a.jt == b.jt && a.jf == b.jf && a.k == b.k) << "instruction " << i;
  }
}

}  // namespace
}  // namespace isoexec
