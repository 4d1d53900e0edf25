#include "stats/proc.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <utility>

#include "base/file.h"
#include "cgroup/parsers.h"

namespace isoexec::stats {

namespace {

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "VmSwap:\t    1234 kB" at line start -> bytes.
std::optional<uint64_t> StatusKb(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    if (line.substr(0, key.size()) == key) {
      std::string_view v = TrimSpace(line.substr(key.size()));
      if (v.size() >= 3 && v.substr(v.size() - 3) == " kB")
        v = TrimSpace(v.substr(0, v.size() - 3));
      auto kb = ParseU64(v);
      if (!kb || *kb > UINT64_MAX / 1024) return std::nullopt;
      return *kb * 1024;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  size_t rp = text.rfind(')');
  if (rp == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(rp + 1);
  // Fields after comm, numbered like proc(5): 3 = state ... 24 = rss.
  ProcStat st;
  int field = 2;
  size_t i = 0;
  while (field < 24) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i >= rest.size()) return std::nullopt;
    size_t j = rest.find(' ', i);
    if (j == std::string_view::npos) j = rest.size();
    std::string_view tok = TrimSpace(rest.substr(i, j - i));
    ++field;
    i = j;
    if (field == 14 || field == 15 || field == 22) {
      auto v = ParseU64(tok);
      if (!v) return std::nullopt;
      (field == 14 ? st.utime_ticks : field == 15 ? st.stime_ticks : st.start_ticks) = *v;
    } else if (field == 24) {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
      if (ec != std::errc() || end != tok.data() + tok.size()) return std::nullopt;
      st.rss_pages = v > 0 ? static_cast<uint64_t>(v) : 0;
    }
  }
  return st;
}

ProcStatusMemory ParseProcStatusMemory(std::string_view text) {
  return {StatusKb(text, "VmRSS:"), StatusKb(text, "VmSwap:")};
}

CpuinfoMhz ParseCpuinfoMhz(std::string_view text) {
  CpuinfoMhz r;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (TrimSpace(line.substr(0, colon)) != "cpu MHz") continue;
    std::string v(TrimSpace(line.substr(colon + 1)));
    char* end = nullptr;
    double mhz = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !(mhz > 0)) continue;
    r.total_mhz += mhz;
    ++r.cpus;
  }
  return r;
}

std::optional<std::vector<int>> ParseCpuList(std::string_view text) {
  text = TrimSpace(text);
  std::vector<int> cpus;
  if (text.empty()) return cpus;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string_view part = text.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
    size_t dash = part.find('-');
    auto lo = ParseU64(part.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : ParseU64(part.substr(dash + 1));
    if (!lo || !hi || *lo > *hi || *hi > 1u << 20) return std::nullopt;
    for (uint64_t c = *lo; c <= *hi; ++c) cpus.push_back(static_cast<int>(c));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return cpus;
}

HostCpu DetectHostCpu(const std::string& sys_cpu, std::string_view cpuinfo, int online_cpus) {
  HostCpu h;
  h.cores = online_cpus > 0 ? online_cpus : 0;
  // cpufreq's cpuinfo_max_freq (kHz) for every online CPU.
  if (auto online = ReadFile(sys_cpu + "/online"); online) {
    if (auto cpus = ParseCpuList(*online); cpus && !cpus->empty()) {
      double total = 0;
      bool all = true;
      for (int c : *cpus) {
        auto f = ReadFile(sys_cpu + "/cpu" + std::to_string(c) + "/cpufreq/cpuinfo_max_freq");
        auto khz = f ? ParseU64(TrimSpace(*f)) : std::nullopt;
        if (!khz || *khz == 0) {
          all = false;
          break;
        }
        total += static_cast<double>(*khz) / 1000.0;
      }
      if (all) {
        h.total_mhz = total;
        if (h.cores == 0) h.cores = static_cast<int>(cpus->size());
        return h;
      }
    }
  }
  CpuinfoMhz ci = ParseCpuinfoMhz(cpuinfo);
  if (ci.cpus > 0) {
    h.total_mhz = ci.total_mhz;
    if (h.cores == 0) h.cores = ci.cpus;
  }
  return h;
}

const HostCpu& HostCpuInfo() {
  static const HostCpu host = [] {
    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    auto cpuinfo = ReadFile("/proc/cpuinfo");
    return DetectHostCpu("/sys/devices/system/cpu", cpuinfo ? *cpuinfo : std::string(),
                         online > 0 ? static_cast<int>(online) : 0);
  }();
  return host;
}

uint64_t HostMemoryBytes() {
  auto meminfo = ReadFile("/proc/meminfo");
  if (!meminfo) return 0;
  return StatusKb(*meminfo, "MemTotal:").value_or(0);
}

namespace {
std::atomic<size_t> g_kept_fds{0};
}  // namespace

size_t ProcReader::ProcessFdBudget() {
  static const size_t budget = [] {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return size_t{4096};
    return std::clamp<size_t>(static_cast<size_t>(rl.rlim_cur / 4), 64, 4096);
  }();
  return budget;
}

size_t ProcReader::ProcessKeptFds() { return g_kept_fds.load(); }

ProcReader::ProcReader(std::string proc_root, size_t max_open_fds)
    : proc_root_(std::move(proc_root)), max_open_fds_(max_open_fds) {
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz > 0) hz_ = static_cast<uint64_t>(hz);
  long page = ::sysconf(_SC_PAGESIZE);
  page_size_ = page > 0 ? static_cast<uint64_t>(page) : 4096;
  buf_.resize(1024);
}

ProcReader::~ProcReader() { g_kept_fds -= open_fds_; }

ProcReader::ProcReader(ProcReader&& o) noexcept
    : proc_root_(std::move(o.proc_root_)),
      max_open_fds_(o.max_open_fds_),
      open_fds_(std::exchange(o.open_fds_, 0)),
      hz_(o.hz_),
      page_size_(o.page_size_),
      entries_(std::move(o.entries_)),
      buf_(std::move(o.buf_)),
      len_(o.len_) {
  o.entries_.clear();
}

ProcReader& ProcReader::operator=(ProcReader&& o) noexcept {
  if (this != &o) {
    g_kept_fds -= open_fds_;
    proc_root_ = std::move(o.proc_root_);
    max_open_fds_ = o.max_open_fds_;
    open_fds_ = std::exchange(o.open_fds_, 0);
    hz_ = o.hz_;
    page_size_ = o.page_size_;
    entries_ = std::move(o.entries_);
    o.entries_.clear();
    buf_ = std::move(o.buf_);
    len_ = o.len_;
  }
  return *this;
}

bool ProcReader::CanKeep(size_t n) const {
  return open_fds_ + n <= max_open_fds_ && g_kept_fds.load() + n <= ProcessFdBudget();
}

void ProcReader::Kept(size_t n) {
  open_fds_ += n;
  g_kept_fds += n;
}

void ProcReader::Released(size_t n) {
  open_fds_ -= n;
  g_kept_fds -= n;
}

ProcReader::Got ProcReader::ReadProcFile(pid_t pid, UniqueFd& fd, const char* file, bool keep) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !fd.valid();
    if (fresh) {
      std::string path = proc_root_ + "/" + std::to_string(pid) + "/" + file;
      fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) return Got::kGone;  // exited (ENOENT), or out of descriptors: skip it
      if (keep) Kept(1);
    }
    len_ = 0;
    bool failed = false;
    for (;;) {
      if (len_ == buf_.size()) buf_.resize(buf_.size() * 2);
      ssize_t n =
          ::pread(fd.get(), buf_.data() + len_, buf_.size() - len_, static_cast<off_t>(len_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        failed = true;
        break;
      }
      if (n == 0) break;
      len_ += static_cast<size_t>(n);
    }
    if (!failed) {
      if (!keep) fd.reset();
      return Got::kOk;
    }
    // ESRCH: the process this fd was bound to is gone. The pid came from cgroup.procs just now,
    // so a kept fd may belong to an earlier process with the same number: reopen once.
    if (keep) Released(1);
    fd.reset();
    if (fresh) return Got::kGone;
  }
  return Got::kGone;
}

std::map<pid_t, ProcRaw> ProcReader::Read(const std::vector<pid_t>& pids, bool want_swap) {
  std::vector<pid_t> sorted = pids;
  if (!std::is_sorted(sorted.begin(), sorted.end())) std::sort(sorted.begin(), sorted.end());
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (std::binary_search(sorted.begin(), sorted.end(), it->first)) {
      if (!want_swap && it->second.status) {  // swap went back to 0: drop the status fds
        it->second.status.reset();
        Released(1);
      }
      ++it;
      continue;
    }
    Released((it->second.stat ? 1u : 0u) + (it->second.status ? 1u : 0u));
    it = entries_.erase(it);
  }

  std::map<pid_t, ProcRaw> out;
  for (pid_t pid : sorted) {
    if (pid <= 0) continue;  // not visible in our pid namespace
    auto it = entries_.find(pid);
    Entry scratch;
    Entry* e = &scratch;
    const size_t need = want_swap ? 2 : 1;
    if (it != entries_.end()) {
      e = &it->second;
    } else if (CanKeep(need)) {
      e = &entries_[pid];
    }
    const bool keep = e != &scratch;
    auto forget = [&] {
      if (!keep) return;
      Released((e->stat ? 1u : 0u) + (e->status ? 1u : 0u));
      entries_.erase(pid);
    };
    if (ReadProcFile(pid, e->stat, "stat", keep) != Got::kOk) {
      forget();
      continue;
    }
    auto st = ParseProcStat(std::string_view(buf_.data(), len_));
    if (!st) {
      forget();
      continue;
    }
    ProcRaw raw;
    raw.user_ns = cgroup::TicksToNs(st->utime_ticks, hz_);
    raw.system_ns = cgroup::TicksToNs(st->stime_ticks, hz_);
    raw.start_ticks = st->start_ticks;
    raw.rss_bytes = st->rss_pages * page_size_;
    if (want_swap) {
      bool keep_status = keep && (e->status.valid() || CanKeep(1));
      if (ReadProcFile(pid, e->status, "status", keep_status) == Got::kOk) {
        ProcStatusMemory mem = ParseProcStatusMemory(std::string_view(buf_.data(), len_));
        raw.swap_bytes = mem.swap_bytes.value_or(0);
      }
    }
    out.emplace(pid, raw);
  }
  return out;
}

}  // namespace isoexec::stats
