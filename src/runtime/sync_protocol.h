// Parent <-> child protocol over a socketpair(SOCK_SEQPACKET|SOCK_CLOEXEC): fixed-size
// messages, so the child never allocates to speak it.
//
//   parent                         child (init, PID 1 of a private PID ns, or the task)
//   clone3 ------------------------> waits for kGo
//   (v1: joins the cgroup by pid)
//   kGo ---------------------------> namespaces, mounts, pivot_root
//                                    [init] forks the task, keeps the socket
//                                    task: identity, caps, no_new_privs, seccomp, execve
//   <----------------------------- kSetupError {step, errno, path}  (then exit 125/126/127)
//   <----------------------------- [init] kExecOk {task pid}  | [no init] EOF on execve
//   ...
//   <----------------------------- [init] kExit {wait status of the task}
#pragma once

#include <cstdint>
#include <cstring>

namespace isoexec::runtime {

enum class MsgType : uint32_t { kGo = 1, kSetupError = 2, kExecOk = 3, kExit = 4 };

struct SyncMsg {
  MsgType type;
  int32_t err;    // kSetupError: errno
  int32_t value;  // kExecOk: pid of the task in its PID ns; kExit: wait status
  int32_t exec_failed;  // kSetupError: 1 when execve itself failed (126/127 semantics)
  char step[48];
  char path[256];
};

inline void CopyTrunc(char* dst, size_t size, const char* src) {
  if (!src) src = "";
  size_t n = std::strlen(src);
  if (n >= size) n = size - 1;
  std::memcpy(dst, src, n);
  dst[n] = '\0';
}

}  // namespace isoexec::runtime
