/* spawnwait: posix_spawn + wait a command N times with up to J in flight, and print what each
 * launch cost as one JSON object on stdout. Used by bench/harness.py as
 *   - the floor: `spawnwait -n 1000 -- ROOTFS/bin/true` (what a bare launch costs, in-process);
 *   - the throughput driver: `spawnwait -n 200 -j 8 -- isoexec run ... -- /bin/true`.
 *
 * In every argument "%i" becomes the launch index (0..N-1, for unique container ids) and "%s"
 * the slot (0..J-1: at most one launch per slot is in flight, for per-slot OCI bundles).
 * Children get /dev/null as stdin/stdout (stderr too with -q). A launch that does not exit 0
 * counts as a failure; the first few failures are reported with their wait status.
 *
 * Output: {"n":N,"jobs":J,"wall_ns":W,"failures":F,"fail_status":[...],"lat_ns":[...]}
 * Exit status: 0 when every launch exited 0, 1 otherwise, 2 on usage or spawn errors.
 *
 * Plain C on purpose: no runtime to load, so its own cost stays out of the numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Replaces %i and %s in `tmpl`; "%%" is a literal '%'. */
static char* expand(const char* tmpl, long idx, long slot) {
  size_t cap = strlen(tmpl) + 64;
  char* out = malloc(cap);
  size_t o = 0;
  if (!out) return NULL;
  for (const char* p = tmpl; *p; ++p) {
    if (o + 24 >= cap) {
      cap *= 2;
      char* n = realloc(out, cap);
      if (!n) {
        free(out);
        return NULL;
      }
      out = n;
    }
    if (p[0] == '%' && (p[1] == 'i' || p[1] == 's' || p[1] == '%')) {
      if (p[1] == '%')
        out[o++] = '%';
      else
        o += (size_t)snprintf(out + o, cap - o, "%ld", p[1] == 'i' ? idx : slot);
      ++p;
    } else {
      out[o++] = *p;
    }
  }
  out[o] = '\0';
  return out;
}

static void usage(void) {
  fprintf(stderr, "usage: spawnwait [-n N] [-j JOBS] [-q] -- CMD [ARG...]\n");
  exit(2);
}

int main(int argc, char** argv) {
  long n = 1, jobs = 1;
  int quiet = 0, opt;
  while ((opt = getopt(argc, argv, "+n:j:q")) != -1) {
    switch (opt) {
      case 'n': n = strtol(optarg, NULL, 10); break;
      case 'j': jobs = strtol(optarg, NULL, 10); break;
      case 'q': quiet = 1; break;
      default: usage();
    }
  }
  if (optind < argc && strcmp(argv[optind], "--") == 0) ++optind;
  if (optind >= argc || n < 1 || jobs < 1) usage();
  if (jobs > n) jobs = n;
  char** tmpl = argv + optind;
  int tmpl_n = argc - optind;

  uint64_t* lat = calloc((size_t)n, sizeof *lat);
  uint64_t* slot_start = calloc((size_t)jobs, sizeof *slot_start);
  pid_t* slot_pid = calloc((size_t)jobs, sizeof *slot_pid);
  long* slot_idx = calloc((size_t)jobs, sizeof *slot_idx);
  char** cargv = calloc((size_t)tmpl_n + 1, sizeof *cargv);
  if (!lat || !slot_start || !slot_pid || !slot_idx || !cargv) return 2;

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (quiet) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

  long next = 0, done = 0, failures = 0;
  int fail_status[8];
  int nfail_status = 0;
  uint64_t t0 = now_ns();
  while (done < n) {
    /* Fill every free slot. */
    for (long s = 0; s < jobs && next < n; ++s) {
      if (slot_pid[s] != 0) continue;
      for (int a = 0; a < tmpl_n; ++a) cargv[a] = expand(tmpl[a], next, s);
      cargv[tmpl_n] = NULL;
      pid_t pid;
      slot_start[s] = now_ns();
      int rc = posix_spawnp(&pid, cargv[0], &fa, NULL, cargv, environ);
      for (int a = 0; a < tmpl_n; ++a) free(cargv[a]);
      if (rc != 0) {
        fprintf(stderr, "spawnwait: posix_spawn %s: %s\n", tmpl[0], strerror(rc));
        return 2;
      }
      slot_pid[s] = pid;
      slot_idx[s] = next++;
    }
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    uint64_t t = now_ns();
    if (pid < 0) {
      if (errno == EINTR) continue;
      perror("spawnwait: waitpid");
      return 2;
    }
    for (long s = 0; s < jobs; ++s) {
      if (slot_pid[s] != pid) continue;
      lat[slot_idx[s]] = t - slot_start[s];
      slot_pid[s] = 0;
      ++done;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ++failures;
        if (nfail_status < 8) fail_status[nfail_status++] = status;
      }
      break;
    }
  }
  uint64_t wall = now_ns() - t0;

  printf("{\"n\":%ld,\"jobs\":%ld,\"wall_ns\":%llu,\"failures\":%ld,\"fail_status\":[", n, jobs,
         (unsigned long long)wall, failures);
  for (int i = 0; i < nfail_status; ++i) printf("%s%d", i ? "," : "", fail_status[i]);
  printf("],\"lat_ns\":[");
  for (long i = 0; i < n; ++i) printf("%s%llu", i ? "," : "", (unsigned long long)lat[i]);
  printf("]}\n");
  return failures ? 1 : 0;
}
