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
    /* mknod PATH MAJOR MINOR (block device) */
    return report(mknod(argv[2], S_IFBLK | 0600, makedev(atoi(argv[3]), atoi(argv[4]))));
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
