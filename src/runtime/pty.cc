#include "runtime/pty.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include <fmt/format.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace isoexec::runtime {

namespace {

// /dev/ptmx and every devpts instance's pts/ptmx are character device 5:2.
constexpr unsigned kTtyAuxMajor = 5;
constexpr unsigned kPtmxMinor = 2;

int Failed(const char** failed_step, const char* step, int fd, int err) noexcept {
  if (fd >= 0) ::close(fd);
  if (failed_step) *failed_step = step;
  errno = err;
  return -1;
}

}  // namespace

int OpenPtyPair(const struct winsize& size, int* slave, const char** failed_step) noexcept {
  // O_NONBLOCK only for the open itself: the path is under the task's control, and a FIFO
  // planted there must not block us. The check below rejects anything but the multiplexer.
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (master < 0) return Failed(failed_step, "open", -1, errno);
  struct stat st {};
  if (::fstat(master, &st) != 0) return Failed(failed_step, "fstat", master, errno);
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != kTtyAuxMajor ||
      minor(st.st_rdev) != kPtmxMinor)
    return Failed(failed_step, "not a pty master", master, ENOTTY);
  int flags = ::fcntl(master, F_GETFL);
  if (flags < 0 || ::fcntl(master, F_SETFL, flags & ~O_NONBLOCK) != 0)
    return Failed(failed_step, "fcntl", master, errno);
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) return Failed(failed_step, "unlockpt", master, errno);
  if (size.ws_row != 0 && size.ws_col != 0 && ::ioctl(master, TIOCSWINSZ, &size) != 0)
    return Failed(failed_step, "TIOCSWINSZ", master, errno);
  int s = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) return Failed(failed_step, "TIOCGPTPEER", master, errno);
  *slave = s;
  return master;
}

Status ResizePty(int master, unsigned rows, unsigned cols) {
  constexpr unsigned kMax = std::numeric_limits<unsigned short>::max();
  if (rows == 0 || cols == 0 || rows > kMax || cols > kMax)
    return Fail(Error::Invalid("terminal size",
                               fmt::format("{}x{} is out of range 1..{}", rows, cols, kMax)));
  struct winsize ws {};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (::ioctl(master, TIOCSWINSZ, &ws) != 0)
    return Fail(Error::Errno(errno, fmt::format("ioctl TIOCSWINSZ {}x{} on the pty", rows, cols)));
  return Ok();
}

}  // namespace isoexec::runtime
