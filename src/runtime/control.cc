#include "runtime/control.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/json_int.h"

namespace isoexec::runtime::control {

namespace {

// The socket's address. A path too long for sun_path (a deep --state-dir) is reached through
// /proc/self/fd/<fd of the task dir>/control.sock; `dir` keeps that fd open meanwhile.
Result<sockaddr_un> Address(const std::string& task_dir, UniqueFd* dir) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = task_dir + "/" + kSocketName;
  if (path.size() >= sizeof addr.sun_path) {
    dir->reset(::open(task_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!*dir) {
      int e = errno;
      if (e == ENOENT) return Fail(Error(Code::kUnavailable, "the task's supervisor is not running", e));
      return Fail(Error::Errno(e, fmt::format("open `{}`", task_dir)));
    }
    path = fmt::format("/proc/self/fd/{}/{}", dir->get(), kSocketName);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

Result<Client> Client::Connect(const std::string& task_dir) {
  UniqueFd dir;
  ISOEXEC_ASSIGN_OR_RETURN(sockaddr_un addr, Address(task_dir, &dir));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(Error::Errno(errno, "socket"));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    if (e == ECONNREFUSED || e == ENOENT)
      return Fail(Error(Code::kUnavailable, "the task's supervisor is not running", e));
    return Fail(Error::Errno(e, fmt::format("connect `{}/{}`", task_dir, kSocketName)));
  }
  return Client(std::move(fd));
}

Status Client::Send(const std::string& line) { return SendLine(fd_.get(), line); }

Result<Message> Client::Receive() {
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      Message m;
      m.line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      m.fds = std::move(pending_fds_);
      pending_fds_.clear();
      return m;
    }
    if (buffer_.size() > kMaxLine)
      return Fail(Error::Make(Code::kInternal, "control: response line too long"));
    char data[4096];
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 4)];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET || errno == EPIPE)
        return Fail(Error(Code::kUnavailable, "the task's supervisor closed the connection", errno));
      return Fail(Error::Errno(errno, "control: recvmsg"));
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          pending_fds_.emplace_back(fd);
        }
      }
    }
    if (n == 0) return Fail(Error(Code::kUnavailable, "the task's supervisor closed the connection", 0));
    buffer_.append(data, static_cast<size_t>(n));
  }
}

Result<Message> Client::Call(const std::string& line) {
  ISOEXEC_TRY(Send(line));
  ISOEXEC_ASSIGN_OR_RETURN(Message m, Receive());
  ISOEXEC_TRY(DecodeResponse(m.line));
  return m;
}

Status DecodeResponse(std::string_view line) {
  try {
    auto j = nlohmann::json::parse(line);
    if (!j.value("ok", false))
      return Fail(Error::Make(Code::kFailedPrecondition, j.value("error", std::string("request failed"))));
  } catch (const std::exception& e) {
    return Fail(Error::Make(Code::kInternal, fmt::format("control: bad response: {}", e.what())));
  }
  return Ok();
}

Result<Request> DecodeRequest(std::string_view line) {
  const auto bad = [](std::string message) {
    return Fail(Error::Make(Code::kInvalidArgument, std::move(message)));
  };
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("request is not valid JSON");
  int version = 0;
  try {
    if (j.is_object()) version = IntValue(j, "v", 0);
  } catch (const std::exception&) {
  }
  if (version != kProtocolVersion)
    return bad(fmt::format("unsupported protocol version (this supervisor speaks v{})",
                           kProtocolVersion));
  Request r;
  try {
    r.op = j.value("op", std::string());
    if (r.op == "signal" || r.op == "stop") {
      if (j.contains("signal")) {
        int sig = IntFrom<int>(j["signal"], "signal");
        if (sig < 1 || sig > SIGRTMAX) return bad(fmt::format("unknown signal {}", sig));
        r.signal = sig;
      }
      r.all = j.value("all", false);
      if (j.contains("grace_ns")) r.grace_ns = IntFrom<int64_t>(j["grace_ns"], "grace_ns");
    } else if (r.op == "stats") {
      r.stream = j.value("stream", true);
      r.interval_ns = IntValue(j, "interval_ns", int64_t{0});
    } else if (r.op == "update") {
      const nlohmann::json& in = j.at("resources");
      if (!in.is_object()) return bad("bad request: resources: expected an object");
      auto& res = r.resources;
      if (in.contains("memory")) res.memory = IntFrom<uint64_t>(in["memory"], "memory");
      if (in.contains("memory_max")) {
        if (in["memory_max"].is_string() && in["memory_max"] == "unlimited")
          res.memory_max_unlimited = true;
        else
          res.memory_max = IntFrom<uint64_t>(in["memory_max"], "memory_max");
      }
      if (in.contains("cpu_shares"))
        res.cpu_shares = IntFrom<uint64_t>(in["cpu_shares"], "cpu_shares");
      if (in.contains("cpuset")) res.cpuset = in["cpuset"].get<std::string>();
      if (in.contains("pids_max")) res.pids_max = IntFrom<int64_t>(in["pids_max"], "pids_max");
    } else if (r.op != "state" && r.op != "wait" && r.op != "ps" && r.op != "pidfd") {
      return bad(fmt::format("unknown operation \"{}\"", r.op));
    }
  } catch (const std::exception& e) {
    return bad(fmt::format("bad request: {}", e.what()));
  }
  return r;
}

Result<UniqueFd> Listen(const std::string& task_dir) {
  UniqueFd dir;
  ISOEXEC_ASSIGN_OR_RETURN(sockaddr_un addr, Address(task_dir, &dir));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Fail(Error::Errno(errno, "socket"));
  ::unlink(addr.sun_path);
  // Owner-only from the start: no window where another user could connect.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int e = errno;
  ::umask(old);
  if (rc != 0) return Fail(Error::Errno(e, fmt::format("bind `{}/{}`", task_dir, kSocketName)));
  if (::listen(fd.get(), 64) != 0) return Fail(Error::Errno(errno, "listen"));
  return fd;
}

Status SendLine(int sock, const std::string& line, int fd) {
  std::string data = line + "\n";
  size_t off = 0;
  bool fd_sent = fd < 0;
  while (off < data.size()) {
    iovec iov{data.data() + off, data.size() - off};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
    if (!fd_sent) {
      msg.msg_control = cbuf;
      msg.msg_controllen = sizeof cbuf;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET || errno == EPIPE)
        return Fail(Error(Code::kUnavailable, "the task's supervisor closed the connection", errno));
      return Fail(Error::Errno(errno, "control: send"));
    }
    fd_sent = true;
    off += static_cast<size_t>(n);
  }
  return Ok();
}

std::string ErrorLine(const std::string& message, int code) {
  return nlohmann::json{{"ok", false}, {"error", message}, {"code", code}}.dump();
}

}  // namespace isoexec::runtime::control
