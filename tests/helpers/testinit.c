/* testinit: a static helper run inside test tasks. Each subcommand reports what the task
 * really sees or can do, one fact per line, so integration tests assert from the inside.
 * Results of attempts print "ok" or "err <ERRNO_NAME>". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ESRCH: return "ESRCH";
    case EEXIST: return "EEXIST";
    case ENOSPC: return "ENOSPC";
    case EAGAIN: return "EAGAIN";
    case ENOTDIR: return "ENOTDIR";
    case EXDEV: return "EXDEV";
    case EBUSY: return "EBUSY";
    case ENOMEM: return "ENOMEM";
    case ETXTBSY: return "ETXTBSY";
    case ELOOP: return "ELOOP";
    case EISDIR: return "EISDIR";
    case EFBIG: return "EFBIG";
    case EDQUOT: return "EDQUOT";
    default: return strerror(e);
  }
}

static int report(int rc) {
  if (rc == 0) {
    printf("ok\n");
    return 0;
  }
  printf("err %s\n", errname(errno));
  return 1;
}

static void cat(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    printf("err %s\n", errname(errno));
    return;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
  close(fd);
}

/* Escape primitives (tests/security). Each reports outcomes only; none ever modifies a file it
 * did not create (write opens never truncate and write nothing). */

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Is the directory we are in (after chdir("..") enough times) the root we see as "/"? */
static const char *cwd_is_root(void) {
  struct stat dot, root;
  for (int i = 0; i < 64; i++)
    if (chdir("..") != 0) return errname(errno);
  if (stat(".", &dot) != 0 || stat("/", &root) != 0) return errname(errno);
  return dot.st_dev == root.st_dev && dot.st_ino == root.st_ino ? "root" : "OUTSIDE";
}

/* exe-grab SECS STOPFILE: a CVE-2019-5736 attacker. For SECS seconds (or until STOPFILE exists)
 * it watches /proc for processes that appear after it started and opens each one's /proc/N/exe,
 * retrying on every scan while the open is refused, until it gets a handle or the process is
 * gone. With each handle it also tries a write-only open of /proc/N/exe (to overwrite the
 * binary); at the end, after those processes are gone, it reopens every handle for writing via
 * /proc/self/fd. Lines: "grab pid=N dev=MAJ:MIN ino=I w=RESULT comm=NAME", "late dev=MAJ:MIN ino=I
 * w=RESULT", then "denied=COUNT scans=COUNT". */
static int exe_grab(int secs, const char *stopfile) {
  enum { kMaxHeld = 64, kMaxPid = 1 << 22 /* PID_MAX_LIMIT on 64-bit */ };
  /* per pid: 0 unseen, 1 pre-existing or done, 2 new and still refused (bss: untouched pages
   * cost nothing) */
  static unsigned char state[kMaxPid];
  int held[kMaxHeld], nheld = 0, self = getpid(), scans = 0, first = 1;
  long denied = 0;
  double end = now_s() + secs;
  while (now_s() < end && !(stopfile && exists(stopfile))) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    scans++;
    while (d && (e = readdir(d))) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid >= kMaxPid || pid == self) continue;
      if (state[pid] == 0) state[pid] = first ? 1 : 2;
      if (state[pid] != 2) continue;
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/exe", pid);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (errno == EACCES || errno == EPERM)
          denied++;
        else
          state[pid] = 1; /* gone, or a kernel thread */
        continue;
      }
      state[pid] = 1;
      int w = open(path, O_WRONLY | O_CLOEXEC);
      int werr = errno;
      if (w >= 0) close(w);
      struct stat st;
      fstat(fd, &st);
      char comm[32] = "?";
      snprintf(path, sizeof path, "/proc/%d/comm", pid);
      int cfd = open(path, O_RDONLY | O_CLOEXEC);
      if (cfd >= 0) {
        ssize_t n = read(cfd, comm, sizeof comm - 1);
        comm[n > 0 ? n - 1 : 0] = 0;
        close(cfd);
      }
      printf("grab pid=%d dev=%u:%u ino=%lu w=%s comm=%s\n", pid, major(st.st_dev),
             minor(st.st_dev), (unsigned long)st.st_ino, w >= 0 ? "ok" : errname(werr), comm);
      if (nheld < kMaxHeld)
        held[nheld++] = fd;
      else
        close(fd);
    }
    if (d) closedir(d);
    if (first) {
      first = 0;
      printf("ready\n");
      fflush(stdout);
    }
  }
  for (int i = 0; i < nheld; i++) {
    char path[64];
    struct stat st;
    fstat(held[i], &st);
    snprintf(path, sizeof path, "/proc/self/fd/%d", held[i]);
    int w = open(path, O_WRONLY | O_CLOEXEC);
    int werr = errno;
    if (w >= 0) close(w);
    printf("late dev=%u:%u ino=%lu w=%s\n", major(st.st_dev), minor(st.st_dev),
           (unsigned long)st.st_ino, w >= 0 ? "ok" : errname(werr));
    close(held[i]);
  }
  printf("denied=%ld scans=%d\n", denied, scans);
  return 0;
}

/* swaprace DIR LINKTEXT SECS: the bind-target race. DIR/t is swapped (RENAME_EXCHANGE, atomic)
 * between a directory and a symlink to LINKTEXT until DIR/stop exists or SECS pass. */
static int swaprace(const char *dir, const char *link, int secs) {
  char t[512], alt[512], stop[512];
  snprintf(t, sizeof t, "%s/t", dir);
  snprintf(alt, sizeof alt, "%s/t.alt", dir);
  snprintf(stop, sizeof stop, "%s/stop", dir);
  if (mkdir(t, 0755) != 0 && errno != EEXIST) return report(-1);
  if (symlink(link, alt) != 0 && errno != EEXIST) return report(-1);
  printf("ready\n");
  fflush(stdout);
  long swaps = 0, fails = 0;
  double end = now_s() + secs;
  while (!exists(stop) && now_s() < end) {
    for (int i = 0; i < 64; i++) {
      if (syscall(SYS_renameat2, AT_FDCWD, t, AT_FDCWD, alt, 2 /* RENAME_EXCHANGE */) == 0)
        swaps++;
      else
        fails++;
    }
  }
  printf("swaps=%ld fails=%ld\n", swaps, fails);
  return 0;
}

/* fill PATH MIB: writes MIB MiB of non-zero bytes to PATH; "wrote=KiB ok" or "wrote=KiB err E". */
static int fill(const char *path, long mib) {
  static char buf[64 << 10];
  memset(buf, 0x5a, sizeof buf);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return report(-1);
  long kib = 0;
  int err = 0;
  while (kib < mib * 1024) {
    ssize_t n = write(fd, buf, sizeof buf);
    if (n < 0) {
      err = errno;
      break;
    }
    kib += n / 1024;
  }
  close(fd);
  if (err) {
    printf("wrote=%ld err %s\n", kib, errname(err));
    return 1;
  }
  printf("wrote=%ld ok\n", kib);
  return 0;
}

static void on_term(int sig) {
  (void)sig;
  printf("got SIGTERM\n");
  fflush(stdout);
  _exit(0);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: testinit CMD [ARGS]\n");
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "id")) {
    gid_t groups[64];
    int n = getgroups(64, groups);
    printf("uid=%d gid=%d euid=%d groups=", getuid(), getgid(), geteuid());
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", groups[i]);
    printf("\n");
  } else if (!strcmp(cmd, "pid")) {
    printf("pid=%d ppid=%d\n", getpid(), getppid());
  } else if (!strcmp(cmd, "cwd")) {
    char buf[4096];
    printf("%s\n", getcwd(buf, sizeof buf) ? buf : "?");
  } else if (!strcmp(cmd, "env")) {
    extern char **environ;
    for (char **e = environ; *e; e++) printf("%s\n", *e);
  } else if (!strcmp(cmd, "cat") && argc > 2) {
    cat(argv[2]);
  } else if (!strcmp(cmd, "caps")) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
      if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp:", 8))
        fputs(line, stdout);
    if (f) fclose(f);
  } else if (!strcmp(cmd, "ls") && argc > 2) {
    DIR *d = opendir(argv[2]);
    if (!d) return report(-1);
    struct dirent *e;
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf("%s\n", e->d_name);
    closedir(d);
  } else if (!strcmp(cmd, "fds")) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int self = d ? dirfd(d) : -1;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
      char link[512] = "", p[300];
      snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
      ssize_t n = readlink(p, link, sizeof link - 1);
      if (n > 0) link[n] = 0;
      printf("%s %s\n", e->d_name, link);
    }
    if (d) closedir(d);
  } else if (!strcmp(cmd, "write") && argc > 3) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return report(-1);
    ssize_t n = write(fd, argv[3], strlen(argv[3]));
    close(fd);
    return report(n < 0 ? -1 : 0);
  } else if (!strcmp(cmd, "open") && argc > 2) {
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    return report(fd < 0 ? -1 : 0);
  } else if (!strcmp(cmd, "openw") && argc > 2) {
    int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    return report(fd < 0 ? -1 : 0);
  } else if (!strcmp(cmd, "stat") && argc > 2) {
    struct stat st;
    if (stat(argv[2], &st) != 0) return report(-1);
    printf("mode=%o type=%c rdev=%u:%u uid=%d gid=%d\n", st.st_mode & 07777,
           S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISDIR(st.st_mode) ? 'd' : 'f',
           major(st.st_rdev), minor(st.st_rdev), st.st_uid, st.st_gid);
  } else if (!strcmp(cmd, "mknod") && argc > 4) {
    /* mknod PATH MAJOR MINOR [c]: a block device, or a character device with "c" */
    mode_t type = argc > 5 && !strcmp(argv[5], "c") ? S_IFCHR : S_IFBLK;
    return report(mknod(argv[2], type | 0600, makedev(atoi(argv[3]), atoi(argv[4]))));
  } else if (!strcmp(cmd, "mount")) {
    return report(mount("tmpfs", argc > 2 ? argv[2] : "/tmp", "tmpfs", 0, NULL));
  } else if (!strcmp(cmd, "umount") && argc > 2) {
    return report(umount2(argv[2], MNT_DETACH));
  } else if (!strcmp(cmd, "pivot")) {
    return report((int)syscall(SYS_pivot_root, "/tmp", "/tmp"));
  } else if (!strcmp(cmd, "unshare")) {
    return report(unshare(CLONE_NEWNS));
  } else if (!strcmp(cmd, "unshare-user")) {
    return report(unshare(CLONE_NEWUSER));
  } else if (!strcmp(cmd, "setns") && argc > 2) {
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) return report(-1);
    return report(setns(fd, 0));
  } else if (!strcmp(cmd, "keyctl")) {
    return report((int)syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL));
  } else if (!strcmp(cmd, "bpf")) {
    return report((int)syscall(SYS_bpf, 0, NULL, 0));
  } else if (!strcmp(cmd, "perf")) {
    return report((int)syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  } else if (!strcmp(cmd, "open_by_handle")) {
    char buf[128] = {0};
    return report((int)syscall(SYS_open_by_handle_at, AT_FDCWD, buf, O_RDONLY));
  } else if (!strcmp(cmd, "ptrace") && argc > 2) {
    return report((int)ptrace(PTRACE_ATTACH, atoi(argv[2]), NULL, NULL));
  } else if (!strcmp(cmd, "kill") && argc > 3) {
    return report(kill(atoi(argv[2]), atoi(argv[3])));
  } else if (!strcmp(cmd, "hostname")) {
    char buf[256];
    gethostname(buf, sizeof buf);
    printf("%s\n", buf);
  } else if (!strcmp(cmd, "readlink") && argc > 2) {
    /* readlink PATH: the link text (e.g. /proc/self/ns/ipc -> "ipc:[4026531839]") */
    char buf[4096];
    ssize_t n = readlink(argv[2], buf, sizeof buf - 1);
    if (n < 0) return report(-1);
    buf[n] = 0;
    printf("%s\n", buf);
  } else if (!strcmp(cmd, "openrw") && argc > 2) {
    /* O_RDWR without O_TRUNC: succeeds or fails, never changes the file. */
    int fd = open(argv[2], O_RDWR | O_CLOEXEC);
    if (fd >= 0) close(fd);
    return report(fd < 0 ? -1 : 0);
  } else if (!strcmp(cmd, "reopenw") && argc > 2) {
    /* reopenw PATH: a read-only handle first, then a write open of it via /proc/self/fd. */
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      printf("r=%s\n", errname(errno));
      return 1;
    }
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int w = open(p, O_WRONLY | O_CLOEXEC);
    printf("r=ok w=%s\n", w >= 0 ? "ok" : errname(errno));
    if (w >= 0) close(w);
    close(fd);
  } else if (!strcmp(cmd, "exe-grab") && argc > 2) {
    return exe_grab(atoi(argv[2]), argc > 3 ? argv[3] : NULL);
  } else if (!strcmp(cmd, "cwd-escape")) {
    /* From the current directory: ".." 64 times; where does it end? */
    printf("%s\n", cwd_is_root());
  } else if (!strcmp(cmd, "fd-escape")) {
    /* Every fd above stderr: what is it, and does fchdir + ".." through it leave the root? */
    int any = 0;
    for (int fd = 3; fd < 256; fd++) {
      struct stat st;
      if (fstat(fd, &st) != 0) continue;
      any = 1;
      if (!S_ISDIR(st.st_mode)) {
        printf("fd %d type=%o\n", fd, st.st_mode & S_IFMT);
        continue;
      }
      if (fchdir(fd) != 0) {
        printf("fd %d dir fchdir=%s\n", fd, errname(errno));
        continue;
      }
      printf("fd %d dir walk=%s\n", fd, cwd_is_root());
    }
    if (!any) printf("none\n");
  } else if (!strcmp(cmd, "shocker") && argc > 2) {
    /* shocker PATH: a real file handle for PATH (name_to_handle_at), then open_by_handle_at of
     * that handle and of inode 2 (the root of most filesystems) through PATH's mount. */
    struct {
      struct file_handle h;
      unsigned char bytes[128];
    } fh;
    memset(&fh, 0, sizeof fh);
    fh.h.handle_bytes = sizeof fh.bytes;
    int mount_id = 0;
    int rc = (int)syscall(SYS_name_to_handle_at, AT_FDCWD, argv[2], &fh.h, &mount_id, 0);
    const char *name_res = rc == 0 ? "ok" : errname(errno);
    if (rc != 0) {
      /* No handle from the kernel: forge the classic ext4 root handle (ino 2, generation 0). */
      fh.h.handle_bytes = 8;
      fh.h.handle_type = 1; /* FILEID_INO32_GEN */
      unsigned int ino = 2;
      memcpy(fh.h.f_handle, &ino, sizeof ino);
    }
    int mfd = open(argv[2], O_RDONLY | O_CLOEXEC);
    int fd = (int)syscall(SYS_open_by_handle_at, mfd >= 0 ? mfd : AT_FDCWD, &fh.h, O_RDONLY);
    printf("name_to_handle=%s open_by_handle=%s\n", name_res, fd >= 0 ? "ok" : errname(errno));
    if (fd >= 0) close(fd);
    if (mfd >= 0) close(mfd);
  } else if ((!strcmp(cmd, "clone-ns") || !strcmp(cmd, "unshare-ns")) && argc > 2) {
    /* clone-ns NAME: clone(2) and clone3(2) with that namespace flag (the child exits at once);
     * unshare-ns NAME: unshare(2) with it. */
    static const struct {
      const char *name;
      unsigned long flag;
    } ns[] = {{"mnt", CLONE_NEWNS},   {"user", CLONE_NEWUSER}, {"pid", CLONE_NEWPID},
              {"net", CLONE_NEWNET},  {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC},
              {"cgroup", CLONE_NEWCGROUP}};
    unsigned long flag = 0;
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
      if (!strcmp(ns[i].name, argv[2])) flag = ns[i].flag;
    if (!flag) {
      fprintf(stderr, "testinit: unknown namespace %s\n", argv[2]);
      return 2;
    }
    if (!strcmp(cmd, "unshare-ns")) return report(unshare((int)flag));
    long pid = syscall(SYS_clone, flag | SIGCHLD, 0, NULL, NULL, 0);
    if (pid == 0) _exit(0);
    int e1 = errno;
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    unsigned long long args[11]; /* struct clone_args, CLONE_ARGS_SIZE_VER2 */
    memset(args, 0, sizeof args);
    args[0] = flag;    /* flags */
    args[4] = SIGCHLD; /* exit_signal */
    long pid3 = syscall(435 /* clone3 */, args, sizeof args);
    if (pid3 == 0) _exit(0);
    int e3 = errno;
    if (pid3 > 0) waitpid((pid_t)pid3, NULL, 0);
    printf("clone=%s clone3=%s\n", pid >= 0 ? "ok" : errname(e1), pid3 >= 0 ? "ok" : errname(e3));
  } else if (!strcmp(cmd, "swaprace") && argc > 4) {
    return swaprace(argv[2], argv[3], atoi(argv[4]));
  } else if (!strcmp(cmd, "fill") && argc > 3) {
    return fill(argv[2], atol(argv[3]));
  } else if (!strcmp(cmd, "exit") && argc > 2) {
    return atoi(argv[2]);
  } else if (!strcmp(cmd, "signal") && argc > 2) {
    signal(atoi(argv[2]), SIG_DFL);
    kill(getpid(), atoi(argv[2]));
    pause();
  } else if (!strcmp(cmd, "sleep") && argc > 2) {
    struct timespec ts = {atoi(argv[2]), 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  } else if (!strcmp(cmd, "trap-term")) {
    signal(SIGTERM, on_term);
    printf("ready\n");
    for (;;) pause();
  } else if (!strcmp(cmd, "ignore-term")) {
    signal(SIGTERM, SIG_IGN);
    printf("ready\n");
    for (;;) pause();
  } else if (!strcmp(cmd, "memhog") && argc > 2) {
    size_t mb = (size_t)atol(argv[2]);
    char *p = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return report(-1);
    for (size_t i = 0; i < (mb << 20); i += 4096) p[i] = 1;
    printf("allocated %zu MiB\n", mb);
    if (argc > 3) {
      struct timespec ts = {atoi(argv[3]), 0};
      nanosleep(&ts, NULL);
    }
  } else if (!strcmp(cmd, "forkbomb")) {
    /* Forks until refused; reports how many it got, then holds them for argv[2] seconds. */
    int n = 0, secs = argc > 2 ? atoi(argv[2]) : 2;
    for (;;) {
      pid_t p = fork();
      if (p < 0) break;
      if (p == 0) {
        sleep((unsigned)secs + 5);
        _exit(0);
      }
      if (++n > 100000) break;
    }
    printf("forks=%d err=%s\n", n, errname(errno));
    fflush(stdout);
    sleep((unsigned)secs);
    return 0;
  } else if (!strcmp(cmd, "forktree")) {
    /* A fork bomb that never gives up: every process (children included) forks forever,
     * retrying every 10 ms while the kernel refuses. Only a kill ends it. */
    printf("ready\n");
    fflush(stdout);
    for (;;) {
      if (fork() < 0) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
    }
  } else if (!strcmp(cmd, "burn") && argc > 2) {
    time_t end = time(NULL) + atoi(argv[2]);
    volatile unsigned long x = 0;
    while (time(NULL) < end) x++;
  } else if (!strcmp(cmd, "spawn-orphan") && argc > 2) {
    /* Leaves a background sleeper behind and prints its pid (Nomad's DestroyKillsAll). */
    pid_t p = fork();
    if (p == 0) {
      setsid();
      struct timespec ts = {atoi(argv[2]), 0};
      nanosleep(&ts, NULL);
      _exit(0);
    }
    printf("orphan=%d\n", p);
  } else {
    fprintf(stderr, "testinit: unknown command %s\n", cmd);
    return 2;
  }
  return 0;
}
