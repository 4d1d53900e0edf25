#include "isolation/mount_apply.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "sys/syscalls.h"

namespace isoexec::isolation {

namespace {

constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

int OpenInRoot(int rootfd, const char* rel) noexcept {
  if (rel[0] == '\0') return ::fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  return sys::Openat2(rootfd, rel, O_PATH | O_CLOEXEC, 0, kResolve);
}

// Closes an fd on scope exit; allocation-free.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// Recursive bind of `source` onto the O_PATH fd `target` with the new mount API (5.2+, setattr
// 5.12+): recursive read-only in one call and no path lookup between open and mount. Returns
// 0 or errno; ENOSYS means "use the classic API".
int BindNewApi(int source_dirfd, const char* source, int target, bool readonly,
               unsigned long propagation) noexcept {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
  if (source[0] == '\0') flags |= AT_EMPTY_PATH;
  int tree = sys::OpenTree(source_dirfd, source, flags);
  if (tree < 0) return errno;
  FdCloser c{tree};
  uint64_t set = readonly ? MOUNT_ATTR_RDONLY : 0;
  if (set || propagation) {
    if (sys::MountSetattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, set, 0, propagation) != 0)
      return errno;
  }
  if (sys::MoveMount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    return errno;
  return 0;
}

// Classic API fallback (pre-5.12): only the top mount becomes read-only.
int BindClassic(const char* source, int target, bool readonly, unsigned long propagation) noexcept {
  char tpath[64];
  sys::FdPath(tpath, sizeof tpath, target);
  if (::mount(source, tpath, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno;
  if (readonly && ::mount(nullptr, tpath, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
    return errno;
  if (propagation && ::mount(nullptr, tpath, nullptr, MS_REC | propagation, nullptr) != 0)
    return errno;
  return 0;
}

bool Bind(int rootfd, const MountOp& op, StepError* e) noexcept {
  struct stat st;
  if (::stat(op.source, &st) != 0) {
    if (op.optional && errno == ENOENT) return true;
    return Failed(e, "stat bind source", op.source, errno);
  }
  int target = OpenOrCreateInRoot(rootfd, op.target, S_ISDIR(st.st_mode));
  if (target < 0) return Failed(e, "create mount point", op.target, errno);
  FdCloser c{target};
  int err = BindNewApi(AT_FDCWD, op.source, target, op.readonly, op.propagation);
  if (err == ENOSYS) err = BindClassic(op.source, target, op.readonly, op.propagation);
  if (err) return Failed(e, "bind mount", op.target, err);
  return true;
}

bool MountFs(int rootfd, const MountOp& op, StepError* e) noexcept {
  int target = OpenOrCreateInRoot(rootfd, op.target, true);
  if (target < 0) return Failed(e, "create mount point", op.target, errno);
  FdCloser c{target};
  char tpath[64];
  sys::FdPath(tpath, sizeof tpath, target);
  if (::mount(op.source, tpath, op.fstype, op.flags, op.data) != 0)
    return Failed(e, "mount", op.target, errno);
  return true;
}

// Dangling in-root symlinks followed while creating one path (each may point at another).
constexpr int kMaxLinkDepth = 16;

int OpenOrCreate(int rootfd, const char* rel, bool last_is_dir, int depth) noexcept;

// Splits "a/b/c" into a parent fd (created as needed) and the last component.
int OpenParentAt(int rootfd, const char* rel, char* buf, size_t size, const char** name,
                 int depth) noexcept {
  size_t len = std::strlen(rel);
  if (len + 1 > size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(buf, rel, len + 1);
  char* slash = std::strrchr(buf, '/');
  if (!slash) {
    *name = rel;
    return ::fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  }
  *slash = '\0';
  *name = rel + (slash - buf) + 1;
  return OpenOrCreate(rootfd, buf, true, depth);
}

int OpenParent(int rootfd, const char* rel, char* buf, size_t size, const char** name) noexcept {
  return OpenParentAt(rootfd, rel, buf, size, name, 0);
}

// The path of `dirfd` inside the root `rootfd` (no leading '/', "" for the root itself), from
// the /proc/self/fd links: exact even when symlinks were followed to reach the directory.
bool InRootPath(int rootfd, int dirfd, char* out, size_t size) noexcept {
  char link[64], root[PATH_MAX], dir[PATH_MAX];
  ssize_t rn = ::readlink(sys::FdPath(link, sizeof link, rootfd), root, sizeof root - 1);
  ssize_t dn = ::readlink(sys::FdPath(link, sizeof link, dirfd), dir, sizeof dir - 1);
  if (rn <= 0 || dn <= 0) return false;
  root[rn] = '\0';
  dir[dn] = '\0';
  size_t r = (rn == 1 && root[0] == '/') ? 0 : static_cast<size_t>(rn);
  if (std::strncmp(dir, root, r) != 0 || (dir[r] != '\0' && dir[r] != '/')) return false;
  const char* rest = dir + r;
  while (*rest == '/') ++rest;
  size_t len = std::strlen(rest);
  if (len + 1 > size) return false;
  std::memcpy(out, rest, len + 1);
  return true;
}

// Where the symlink text `link`, found in the in-root directory `base`, points inside the root:
// absolute links start at the root, "." is dropped and ".." stops at the root, as with
// RESOLVE_IN_ROOT. Textual: a symlinked directory before a ".." is not followed first, so the
// result can differ from the kernel's walk; the caller re-resolves in the root either way.
bool LinkTargetInRoot(const char* base, const char* link, char* out, size_t size) noexcept {
  size_t n = 0;
  if (link[0] != '/') {
    n = std::strlen(base);
    if (n + 1 > size) return false;
    std::memcpy(out, base, n);
  }
  out[n] = '\0';
  const char* p = link;
  while (*p) {
    while (*p == '/') ++p;
    if (!*p) break;
    const char* end = p;
    while (*end && *end != '/') ++end;
    size_t len = static_cast<size_t>(end - p);
    if (len == 2 && p[0] == '.' && p[1] == '.') {
      char* s = std::strrchr(out, '/');
      n = s ? static_cast<size_t>(s - out) : 0;
      out[n] = '\0';
    } else if (!(len == 1 && p[0] == '.')) {
      if (n + 1 + len + 1 > size) return false;
      if (n) out[n++] = '/';
      std::memcpy(out + n, p, len);
      n += len;
      out[n] = '\0';
    }
    p = end;
  }
  return true;
}

bool Mknod(int rootfd, const MountOp& op, StepError* e) noexcept {
  char buf[PATH_MAX];
  const char* name = nullptr;
  int parent = OpenParent(rootfd, op.target, buf, sizeof buf, &name);
  if (parent < 0) return Failed(e, "create device directory", op.target, errno);
  FdCloser c{parent};
  if (::mknodat(parent, name, op.mode, op.dev) != 0) {
    if (errno != EEXIST) return Failed(e, "mknod", op.target, errno);
    // An existing node is fine only if it is the same device.
    struct stat st;
    if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_rdev != op.dev ||
        (st.st_mode & S_IFMT) != (op.mode & S_IFMT))
      return Failed(e, "mknod", op.target, EEXIST);
  }
  return true;
}

bool Symlink(int rootfd, const MountOp& op, StepError* e) noexcept {
  char buf[PATH_MAX];
  const char* name = nullptr;
  int parent = OpenParent(rootfd, op.target, buf, sizeof buf, &name);
  if (parent < 0) return Failed(e, "create symlink directory", op.target, errno);
  FdCloser c{parent};
  if (::symlinkat(op.source, parent, name) != 0 && errno != EEXIST)
    return Failed(e, "symlink", op.target, errno);
  return true;
}

bool Mask(int rootfd, const MountOp& op, StepError* e) noexcept {
  int target = OpenInRoot(rootfd, op.target);
  if (target < 0) {
    if (op.optional && errno == ENOENT) return true;
    return Failed(e, "open masked path", op.target, errno);
  }
  FdCloser c{target};
  struct stat st;
  if (::fstat(target, &st) != 0) return Failed(e, "stat masked path", op.target, errno);
  char tpath[64];
  sys::FdPath(tpath, sizeof tpath, target);
  int rc = S_ISDIR(st.st_mode)
               ? ::mount("tmpfs", tpath, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                         "size=0,mode=000")
               : ::mount("/dev/null", tpath, nullptr, MS_BIND, nullptr);
  if (rc != 0) return Failed(e, "mask", op.target, errno);
  return true;
}

bool Readonly(int rootfd, const MountOp& op, StepError* e) noexcept {
  int target = OpenInRoot(rootfd, op.target);
  if (target < 0) {
    if (op.optional && errno == ENOENT) return true;
    return Failed(e, "open read-only path", op.target, errno);
  }
  FdCloser c{target};
  int err = BindNewApi(target, "", target, true, 0);
  if (err == ENOSYS) {
    char tpath[64];
    sys::FdPath(tpath, sizeof tpath, target);
    err = BindClassic(tpath, target, true, 0);
  }
  if (err) return Failed(e, "read-only remount", op.target, err);
  return true;
}

}  // namespace

namespace {

int OpenOrCreate(int rootfd, const char* rel, bool last_is_dir, int depth) noexcept {
  int fd = OpenInRoot(rootfd, rel);
  if (fd >= 0 || errno != ENOENT) return fd;
  char buf[PATH_MAX];
  const char* name = nullptr;
  int parent = OpenParentAt(rootfd, rel, buf, sizeof buf, &name, depth);
  if (parent < 0) return -1;
  FdCloser c{parent};
  int rc;
  if (last_is_dir) {
    rc = ::mkdirat(parent, name, 0755);
  } else {
    rc = ::openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (rc >= 0) rc = ::close(rc);
  }
  if (rc != 0 && errno != EEXIST) return -1;
  if (rc != 0) {
    // EEXIST: a race, or a dangling symlink. For a symlink, create what it points to inside the
    // root (runc's MkdirAllInRoot does the same), so the in-root open below follows it there:
    // `escape -> /outside` then means <root>/outside, never the host's /outside.
    char link[PATH_MAX];
    ssize_t len = ::readlinkat(parent, name, link, sizeof link - 1);
    if (len > 0) {
      link[len] = '\0';
      if (depth >= kMaxLinkDepth) {
        errno = ELOOP;
        return -1;
      }
      char base[PATH_MAX], target[PATH_MAX];
      if (!InRootPath(rootfd, parent, base, sizeof base) ||
          !LinkTargetInRoot(base, link, target, sizeof target)) {
        errno = ENAMETOOLONG;
        return -1;
      }
      int t = OpenOrCreate(rootfd, target, last_is_dir, depth + 1);
      if (t < 0) return -1;
      ::close(t);
    }
  }
  return OpenInRoot(rootfd, rel);
}

}  // namespace

int OpenOrCreateInRoot(int rootfd, const char* rel, bool last_is_dir) noexcept {
  return OpenOrCreate(rootfd, rel, last_is_dir, 0);
}

int PrepareRoot(const MountPlan& plan, StepError* e) noexcept {
  // Slave, not private: host mount events still reach rslave binds, while nothing mounted here
  // ever propagates to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    Failed(e, "make / rslave", "/", errno);
    return -1;
  }
  const char* root = plan.root.c_str();
  int rc = plan.root_is_tmpfs
               ? ::mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=65536k")
               : ::mount(root, root, nullptr, MS_BIND | MS_REC, nullptr);
  if (rc != 0) {
    Failed(e, plan.root_is_tmpfs ? "mount root tmpfs" : "bind root", root, errno);
    return -1;
  }
  int fd = ::open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) Failed(e, "open root", root, errno);
  return fd;
}

bool ApplyOp(int rootfd, const MountOp& op, StepError* e) noexcept {
  switch (op.kind) {
    case OpKind::kBind:
      return Bind(rootfd, op, e);
    case OpKind::kFs:
      return MountFs(rootfd, op, e);
    case OpKind::kMknod:
      return Mknod(rootfd, op, e);
    case OpKind::kSymlink:
      return Symlink(rootfd, op, e);
    case OpKind::kMask:
      return Mask(rootfd, op, e);
    case OpKind::kReadonly:
      return Readonly(rootfd, op, e);
  }
  return Failed(e, "unknown mount op", op.target, EINVAL);
}

bool FinishRoot(const MountPlan& plan, StepError* e) noexcept {
  if (!plan.root_is_tmpfs) return true;
  if (::mount(nullptr, plan.root.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return Failed(e, "remount root read-only", plan.root.c_str(), errno);
  return true;
}

bool EnterRoot(const char* root, bool no_pivot, StepError* e) noexcept {
  if (::chdir(root) != 0) return Failed(e, "chdir", root, errno);
  if (no_pivot) {
    if (::mount(root, "/", nullptr, MS_MOVE, nullptr) != 0)
      return Failed(e, "move root", root, errno);
    if (::chroot(".") != 0) return Failed(e, "chroot", root, errno);
  } else {
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then
    // drops the old root without needing a directory for it inside the task.
    if (sys::PivotRoot(".", ".") != 0) return Failed(e, "pivot_root", root, errno);
    if (::umount2(".", MNT_DETACH) != 0) return Failed(e, "detach old root", root, errno);
  }
  if (::chdir("/") != 0) return Failed(e, "chdir", "/", errno);
  return true;
}

}  // namespace isoexec::isolation
