#include "base/parse.h"

#include <csignal>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace isoexec {

namespace {

std::string Quote(std::string_view s) { return fmt::format("\"{}\"", s); }

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

struct SigName {
  const char* name;
  int num;
};
constexpr SigName kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

}  // namespace

Result<uint64_t> ParseSize(std::string_view field, std::string_view text) {
  const auto bad = [&] {
    return Fail(Error::Invalid(
        field, fmt::format("must be a size like \"256M\" or a byte count, got {}", Quote(text))));
  };
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  uint64_t num = 0;
  if (!ParseU64(text.substr(0, i), &num)) return bad();
  std::string_view suffix = text.substr(i);
  // Accept "M", "MB", "MiB", "m".
  if (suffix.size() == 3 && Lower(suffix[1]) == 'i' && Lower(suffix[2]) == 'b')
    suffix = suffix.substr(0, 1);
  else if (suffix.size() == 2 && Lower(suffix[1]) == 'b')
    suffix = suffix.substr(0, 1);
  unsigned shift = 0;
  if (suffix.empty() || IEquals(suffix, "b")) {
    shift = 0;
  } else if (suffix.size() == 1) {
    switch (Lower(suffix[0])) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      default: return bad();
    }
  } else {
    return bad();
  }
  if (shift && num > (std::numeric_limits<uint64_t>::max() >> shift))
    return Fail(Error::Invalid(field, fmt::format("size {} is too large", Quote(text))));
  return num << shift;
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view field, std::string_view text) {
  const auto bad = [&] {
    return Fail(Error::Invalid(
        field, fmt::format("must be a duration like \"500ms\", \"10s\" or \"1m30s\", got {}",
                           Quote(text))));
  };
  if (text.empty()) return bad();
  // A bare number means seconds (systemd convention).
  uint64_t secs = 0;
  if (ParseU64(text, &secs)) {
    if (secs > 10ULL * 365 * 24 * 3600) return bad();
    return std::chrono::nanoseconds(static_cast<int64_t>(secs) * 1'000'000'000LL);
  }
  long double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    bool dot = false;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || (text[i] == '.' && !dot))) {
      if (text[i] == '.') dot = true;
      ++i;
    }
    if (start == i) return bad();
    std::string number(text.substr(start, i - start));
    if (number == ".") return bad();
    long double value = std::strtold(number.c_str(), nullptr);
    size_t ustart = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || text[i] == 'u')) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    long double scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1e3L;
    else if (unit == "ms") scale = 1e6L;
    else if (unit == "s") scale = 1e9L;
    else if (unit == "m" || unit == "min") scale = 60e9L;
    else if (unit == "h") scale = 3600e9L;
    else if (unit == "d") scale = 86400e9L;
    else return bad();
    total += value * scale;
  }
  if (total > 10.0L * 365 * 86400e9L) return bad();
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total)));
}

Result<int64_t> ParseInt(std::string_view field, std::string_view text, int64_t min,
                         int64_t max) {
  bool neg = !text.empty() && text[0] == '-';
  std::string_view digits = neg ? text.substr(1) : text;
  uint64_t mag = 0;
  const auto range = [&] {
    return Fail(Error::Invalid(
        field, fmt::format("must be an integer from {} to {}, got {}", min, max, Quote(text))));
  };
  if (!ParseU64(digits, &mag)) return range();
  if (mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return range();
  int64_t v = neg ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag);
  if (v < min || v > max) return range();
  return v;
}

Result<int> ParseSignal(std::string_view field, std::string_view text) {
  uint64_t n = 0;
  if (ParseU64(text, &n)) {
    if (n < 1 || n > static_cast<uint64_t>(SIGRTMAX))
      return Fail(Error::Invalid(field, fmt::format("unknown signal {}", Quote(text))));
    return static_cast<int>(n);
  }
  std::string_view name = text;
  if (name.size() > 3 && IEquals(name.substr(0, 3), "sig")) name = name.substr(3);
  for (const auto& s : kSignals)
    if (IEquals(name, s.name)) return s.num;
  // RTMIN+n / RTMAX-n
  if (name.size() >= 5 && IEquals(name.substr(0, 5), "rtmin")) {
    std::string_view rest = name.substr(5);
    uint64_t off = 0;
    if (rest.empty()) return SIGRTMIN;
    if (rest[0] == '+' && ParseU64(rest.substr(1), &off) &&
        off <= static_cast<uint64_t>(SIGRTMAX - SIGRTMIN))
      return SIGRTMIN + static_cast<int>(off);
  }
  if (name.size() >= 5 && IEquals(name.substr(0, 5), "rtmax")) {
    std::string_view rest = name.substr(5);
    uint64_t off = 0;
    if (rest.empty()) return SIGRTMAX;
    if (rest[0] == '-' && ParseU64(rest.substr(1), &off) &&
        off <= static_cast<uint64_t>(SIGRTMAX - SIGRTMIN))
      return SIGRTMAX - static_cast<int>(off);
  }
  return Fail(Error::Invalid(field, fmt::format("unknown signal {}", Quote(text))));
}

std::string SignalName(int sig) {
  for (const auto& s : kSignals)
    if (s.num == sig && std::strcmp(s.name, "IOT") != 0 && std::strcmp(s.name, "POLL") != 0)
      return std::string("SIG") + s.name;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return fmt::format("SIGRTMIN+{}", sig - SIGRTMIN);
  return std::to_string(sig);
}

std::string FormatBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = static_cast<double>(bytes);
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace isoexec
