#include "stats/sampler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "cgroup/parsers.h"

namespace isoexec::stats {

namespace {

int64_t Now(clockid_t clock) {
  struct timespec ts {};
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Sampler::Sampler(cgroup::Cgroup* cg, std::string id)
    : cg_(cg), id_(std::move(id)), host_(HostCpuInfo()) {}

Result<std::vector<pid_t>> Sampler::TaskPids() {
  // Fast path: the task cgroup has no child cgroups (kernfs keeps a directory's nlink at
  // 2 + subdirectories), so its own cgroup.procs is the whole set. cgroup.procs must be opened
  // afresh each time: a kept fd re-read at offset 0 returns a stale list.
  if (!cgroup_dir_)
    cgroup_dir_.reset(::open(cg_->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st {};
  if (cgroup_dir_ && ::fstat(cgroup_dir_.get(), &st) == 0 && st.st_nlink <= 2) {
    UniqueFd fd(::openat(cgroup_dir_.get(), "cgroup.procs", O_RDONLY | O_CLOEXEC));
    if (fd) {
      if (procs_buf_.empty()) procs_buf_.resize(4096);
      size_t len = 0;
      bool ok = true;
      for (;;) {
        if (len == procs_buf_.size()) procs_buf_.resize(procs_buf_.size() * 2);
        ssize_t n = ::read(fd.get(), procs_buf_.data() + len, procs_buf_.size() - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) ok = false;
        if (n <= 0) break;
        len += static_cast<size_t>(n);
      }
      if (ok) {
        auto pids = cgroup::ParseProcs(std::string_view(procs_buf_.data(), len), "cgroup.procs");
        if (pids) {
          std::sort(pids->begin(), pids->end());
          return pids;
        }
      }
    }
    // The directory was removed (and maybe created again): look it up again next time.
    cgroup_dir_.reset();
  }
  return cg_->Pids();
}

Result<Sample> Sampler::Next() {
  Reading cur;
  cur.version = cg_->version();
  ISOEXEC_ASSIGN_OR_RETURN(cur.cgroup, cg_->ReadStats());
  // Stamped right after the CPU counters (the last thing ReadStats reads).
  cur.mono_ns = Now(CLOCK_MONOTONIC);
  cur.wall_ns = Now(CLOCK_REALTIME);
  ISOEXEC_ASSIGN_OR_RETURN(std::vector<pid_t> pids, TaskPids());
  // No swap charged to the cgroup means no process of it has any: skip every status read.
  const bool want_swap = !Measured(cur.cgroup.memory_measured, "swap") || cur.cgroup.swap > 0;
  cur.procs = procs_.Read(pids, want_swap);
  Sample s = Compute(id_, prev_ ? &*prev_ : nullptr, cur, host_, max_usage_seen_);
  max_usage_seen_ = std::max(max_usage_seen_, s.memory.usage_bytes);
  prev_ = std::move(cur);
  return s;
}

Status Stream(Sampler& sampler, std::chrono::nanoseconds interval,
              const std::function<bool(const Sample&)>& consumer,
              const std::function<bool()>& task_alive) {
  using Clock = std::chrono::steady_clock;
  if (interval <= std::chrono::nanoseconds::zero()) interval = std::chrono::seconds(1);
  constexpr auto kPoll = std::chrono::milliseconds(100);
  auto next = Clock::now();
  for (;;) {
    Result<Sample> s = sampler.Next();
    if (!s) {
      if (!task_alive()) return Ok();
      return Fail(std::move(s.error()));
    }
    if (!consumer(*s)) return Ok();
    next += std::chrono::duration_cast<Clock::duration>(interval);
    auto now = Clock::now();
    if (now > next) {  // the consumer (or sampling) took longer than an interval
      next = now;
    }
    for (;;) {
      if (!task_alive()) return Ok();
      now = Clock::now();
      if (now >= next) break;
      std::this_thread::sleep_for(std::min<Clock::duration>(next - now, kPoll));
    }
  }
}

}  // namespace isoexec::stats
