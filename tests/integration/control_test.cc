// The control socket from a hostile or buggy client (docs/control-protocol.md): malformed
// requests get one error line each, and the supervisor keeps supervising.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "runtime/control.h"
#include "tests/integration/harness_util.h"

namespace isoexec::test {
namespace {

// One request line, one response line (or "" when the connection fails or closes).
std::string Ask(const std::string& sock, const std::string& line) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') out += c;
  }
  ::close(fd);
  return out;
}

TEST(Control, MalformedRequestsGetAnErrorAndTheSupervisorSurvives) {
  REQUIRE_ROOT();
  TestRoot root;
  auto r = RunIsoexec({"run", "-d", "--name", "ctl", "--rootfs", root.path(), "--", "/bin/sleep",
                       "600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string sock = StateDir() + "/ctl/" + runtime::control::kSocketName;
  // Numbers nlohmann would cast without a range check (undefined behaviour), wrong types,
  // unknown ops, no JSON at all.
  for (const std::string req :
       {R"({"v":1e300,"op":"state"})", R"({"v":1,"op":"signal","signal":1e300})",
        R"({"v":1,"op":"signal","signal":-1e300})", R"({"v":1,"op":"stop","grace_ns":1e300})",
        R"({"v":1,"op":"update","resources":{"memory":-5}})",
        R"({"v":1,"op":"update","resources":{"memory":1e300}})",
        R"({"v":1,"op":"stats","interval_ns":1e300})", R"({"v":1,"op":"signal","signal":"x"})",
        R"({"v":1,"op":"no-such-op"})", R"([1,2,3])", "not json"}) {
    std::string resp = Ask(sock, req + "\n");
    EXPECT_TRUE(Contains(resp, "\"ok\":false")) << req << " -> " << resp;
  }
  // Still supervising: the task runs and answers.
  auto ps = RunIsoexec({"inspect", "ctl"});
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_TRUE(Contains(ps.out, "running")) << ps.out;
  EXPECT_EQ(RunIsoexec({"delete", "--force", "ctl"}).exit_code, 0);
}

}  // namespace
}  // namespace isoexec::test
