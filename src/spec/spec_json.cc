// The JSON task spec. ONE table of field descriptors (SpecTable() below) drives the strict parser,
// the canonical serializer, the flag overlay and the field reference (--explain,
// docs/spec.md): a field exists in all of them or in none.
#include "spec/spec_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/parse.h"
#include "spec/flag_parse.h"

namespace isoexec::spec {

namespace {

// Ordered: the serializer writes fields in table order, so `isoexec spec` reads top-down.
using json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// Errors: "spec: <json pointer>: <why>".

Error SpecError(const std::string& path, std::string_view why) {
  if (path.empty()) return Error(Code::kInvalidArgument, std::string(why)).With("spec");
  return Error::Invalid(path, why).With("spec");
}

std::string EscapePointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string Child(const std::string& base, std::string_view key) {
  return base + "/" + EscapePointer(key);
}

// What a wrong value was, for messages: `got true`, `got "abc"`, `got an object`.
std::string Got(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::discarded: return "nothing";
    default: {
      std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
      if (s.size() > 64) s = s.substr(0, 61) + "...";
      return s;
    }
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// ---------------------------------------------------------------------------------------------
// Canonical text forms.

std::string FormatSize(uint64_t bytes) {
  static constexpr std::pair<unsigned, char> kUnits[] = {{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}};
  if (bytes != 0) {
    for (auto [shift, unit] : kUnits) {
      const uint64_t mask = (uint64_t{1} << shift) - 1;
      if ((bytes & mask) == 0) return fmt::format("{}{}", bytes >> shift, unit);
    }
  }
  return std::to_string(bytes);
}

// Go style, exact: "1h2m3s", "1s500ms", "250us", "0s".
std::string FormatDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {3600'000'000'000LL, "h"}, {60'000'000'000LL, "m"}, {1'000'000'000LL, "s"},
      {1'000'000LL, "ms"},       {1'000LL, "us"},         {1LL, "ns"}};
  for (auto [scale, unit] : kUnits) {
    if (ns >= scale) {
      out += fmt::format("{}{}", ns / scale, unit);
      ns %= scale;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Codecs: one per JSON value kind. Type() is the type column of the reference; Decode() checks
// the value and names `path` in errors; Encode() writes the canonical form.

using StrCheck = std::string (*)(const std::string&);  // "" = fine, else why not

struct StrC {
  StrCheck check = nullptr;
  std::string type = "string";
  std::string Type() const { return type; }
  Result<std::string> Decode(const json& v, const std::string& path) const {
    if (!v.is_string()) return Fail(SpecError(path, fmt::format("must be a string, got {}", Got(v))));
    auto s = v.get<std::string>();
    if (s.find('\0') != std::string::npos) return Fail(SpecError(path, "must not contain a NUL byte"));
    if (check) {
      if (std::string why = check(s); !why.empty()) return Fail(SpecError(path, why));
    }
    return s;
  }
  json Encode(const std::string& s) const { return s; }
};

std::string CheckAbsolute(const std::string& s) {
  if (s.empty() || s[0] != '/') return fmt::format("must be an absolute path, got \"{}\"", s);
  return {};
}
std::string CheckAbsoluteOrEmpty(const std::string& s) {
  if (!s.empty() && s[0] != '/') return fmt::format("must be an absolute path or \"\", got \"{}\"", s);
  return {};
}
std::string CheckNonEmpty(const std::string& s) { return s.empty() ? "must not be empty" : ""; }

struct BoolC {
  std::string Type() const { return "boolean"; }
  Result<bool> Decode(const json& v, const std::string& path) const {
    if (!v.is_boolean()) return Fail(SpecError(path, fmt::format("must be true or false, got {}", Got(v))));
    return v.get<bool>();
  }
  json Encode(bool b) const { return b; }
};

std::optional<int64_t> JsonInt(const json& v) {
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

template <class T>
struct IntC {
  int64_t min, max;
  std::string Type() const { return fmt::format("integer {}..{}", min, max); }
  Result<T> Decode(const json& v, const std::string& path) const {
    auto n = JsonInt(v);
    if (!n || *n < min || *n > max)
      return Fail(SpecError(path, fmt::format("must be an integer from {} to {}, got {}", min, max, Got(v))));
    return static_cast<T>(*n);
  }
  json Encode(T n) const { return n; }
};

template <class T>
struct OptIntC {
  int64_t min, max;
  std::string Type() const { return fmt::format("integer {}..{} or null", min, max); }
  Result<std::optional<T>> Decode(const json& v, const std::string& path) const {
    if (v.is_null()) return std::optional<T>();
    auto n = JsonInt(v);
    if (!n || *n < min || *n > max)
      return Fail(SpecError(
          path, fmt::format("must be an integer from {} to {} or null, got {}", min, max, Got(v))));
    return std::optional<T>(static_cast<T>(*n));
  }
  json Encode(const std::optional<T>& n) const { return n ? json(*n) : json(nullptr); }
};

Result<uint64_t> DecodeSizeValue(const json& v, const std::string& path, std::string_view also) {
  const auto bad = [&] {
    return Fail(SpecError(path, fmt::format("must be a size like \"256M\"{}, got {}", also, Got(v))));
  };
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() || v.get<int64_t>() >= 0) return v.get<uint64_t>();
    return bad();
  }
  if (!v.is_string()) return bad();
  auto r = ParseSize(path, v.get<std::string>());
  if (!r) return bad();
  return *r;
}

struct SizeC {  // optional<uint64_t>; "256M" or a byte count
  std::string Type() const { return "size or null"; }
  Result<std::optional<uint64_t>> Decode(const json& v, const std::string& path) const {
    if (v.is_null()) return std::optional<uint64_t>();
    ISOEXEC_ASSIGN_OR_RETURN(uint64_t b, DecodeSizeValue(v, path, ""));
    return std::optional<uint64_t>(b);
  }
  json Encode(const std::optional<uint64_t>& b) const { return b ? json(FormatSize(*b)) : json(nullptr); }
};

struct MemMax {
  std::optional<uint64_t> bytes;
  bool unlimited = false;
};
struct MemMaxC {
  std::string Type() const { return "size, \"unlimited\" or null"; }
  Result<MemMax> Decode(const json& v, const std::string& path) const {
    if (v.is_null()) return MemMax{};
    if (v.is_string() && v.get<std::string>() == "unlimited") return MemMax{std::nullopt, true};
    ISOEXEC_ASSIGN_OR_RETURN(uint64_t b, DecodeSizeValue(v, path, ", \"unlimited\" or null"));
    return MemMax{b, false};
  }
  json Encode(const MemMax& m) const {
    if (m.unlimited) return "unlimited";
    return m.bytes ? json(FormatSize(*m.bytes)) : json(nullptr);
  }
};

Result<std::chrono::nanoseconds> DecodeDurationValue(const json& v, const std::string& path,
                                                     std::string_view also) {
  const auto bad = [&] {
    return Fail(SpecError(
        path, fmt::format("must be a duration like \"500ms\", \"10s\" or \"1m30s\"{}, got {}", also, Got(v))));
  };
  if (!v.is_string()) return bad();
  auto r = ParseDuration(path, v.get<std::string>());
  if (!r) return bad();
  return *r;
}

struct DurC {
  std::string Type() const { return "duration"; }
  Result<std::chrono::nanoseconds> Decode(const json& v, const std::string& path) const {
    return DecodeDurationValue(v, path, "");
  }
  json Encode(std::chrono::nanoseconds d) const { return FormatDuration(d); }
};

struct OptDurC {  // optional, positive
  std::string Type() const { return "duration or null"; }
  Result<std::optional<std::chrono::nanoseconds>> Decode(const json& v, const std::string& path) const {
    if (v.is_null()) return std::optional<std::chrono::nanoseconds>();
    ISOEXEC_ASSIGN_OR_RETURN(auto d, DecodeDurationValue(v, path, " or null"));
    if (d.count() <= 0) return Fail(SpecError(path, "must be positive (null: no limit)"));
    return std::optional<std::chrono::nanoseconds>(d);
  }
  json Encode(const std::optional<std::chrono::nanoseconds>& d) const {
    return d ? json(FormatDuration(*d)) : json(nullptr);
  }
};

struct SignalC {
  std::string Type() const { return "signal (name or number)"; }
  Result<int> Decode(const json& v, const std::string& path) const {
    const auto bad = [&] {
      return Fail(SpecError(path, fmt::format("must be a signal like \"SIGTERM\" or a number, got {}", Got(v))));
    };
    if (auto n = JsonInt(v)) {
      if (*n < 1 || *n > SIGRTMAX) return bad();
      return static_cast<int>(*n);
    }
    if (!v.is_string()) return bad();
    auto r = ParseSignal(path, v.get<std::string>());
    if (!r) return bad();
    return *r;
  }
  json Encode(int sig) const {
    std::string name = SignalName(sig);
    if (!name.empty() && name[0] >= '0' && name[0] <= '9') return sig;
    return name;
  }
};

struct NsModeC {
  std::string Type() const { return "\"private\" or \"host\""; }
  Result<NsMode> Decode(const json& v, const std::string& path) const {
    if (v.is_string()) {
      if (v.get<std::string>() == "private") return NsMode::kPrivate;
      if (v.get<std::string>() == "host") return NsMode::kHost;
    }
    return Fail(SpecError(path, fmt::format("must be \"private\" or \"host\", got {}", Got(v))));
  }
  json Encode(NsMode m) const { return m == NsMode::kHost ? "host" : "private"; }
};

struct PropagationC {
  std::string Type() const { return "\"private\", \"rslave\" or \"rshared\""; }
  Result<Propagation> Decode(const json& v, const std::string& path) const {
    if (v.is_string()) {
      const auto s = v.get<std::string>();
      if (s == "private") return Propagation::kPrivate;
      if (s == "rslave") return Propagation::kSlave;
      if (s == "rshared") return Propagation::kShared;
    }
    return Fail(SpecError(path, fmt::format("must be \"private\", \"rslave\" or \"rshared\", got {}", Got(v))));
  }
  json Encode(Propagation p) const {
    switch (p) {
      case Propagation::kSlave: return "rslave";
      case Propagation::kShared: return "rshared";
      case Propagation::kPrivate: break;
    }
    return "private";
  }
};

struct StrListC {
  StrC elem;
  std::string Type() const { return "array of strings"; }
  Result<std::vector<std::string>> Decode(const json& v, const std::string& path) const {
    if (!v.is_array()) return Fail(SpecError(path, fmt::format("must be an array of strings, got {}", Got(v))));
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) {
      ISOEXEC_ASSIGN_OR_RETURN(auto s, elem.Decode(v[i], Child(path, std::to_string(i))));
      out.push_back(std::move(s));
    }
    return out;
  }
  json Encode(const std::vector<std::string>& l) const {
    json a = json::array();
    for (const auto& s : l) a.push_back(s);
    return a;
  }
};

// {"KEY": "VALUE"} <-> ["KEY=VALUE"]; order kept.
struct EnvC {
  std::string Type() const { return "object {\"KEY\": \"VALUE\"}"; }
  Result<std::vector<std::string>> Decode(const json& v, const std::string& path) const {
    if (!v.is_object())
      return Fail(SpecError(path, fmt::format("must be an object like {{\"KEY\": \"VALUE\"}}, got {}", Got(v))));
    std::vector<std::string> out;
    for (const auto& [key, value] : v.items()) {
      const std::string p = Child(path, key);
      if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos)
        return Fail(SpecError(p, "variable names must be non-empty, without '=' or NUL"));
      if (!value.is_string())
        return Fail(SpecError(p, fmt::format("must be a string (numbers too: \"8080\"), got {}", Got(value))));
      auto s = value.get<std::string>();
      if (s.find('\0') != std::string::npos) return Fail(SpecError(p, "must not contain a NUL byte"));
      out.push_back(key + "=" + s);
    }
    return out;
  }
  json Encode(const std::vector<std::string>& env) const {
    json o = json::object();
    for (const auto& kv : env) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) o[kv] = "";
      else o[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return o;
  }
};

// ---------------------------------------------------------------------------------------------
// Descriptors.

struct DocRow {
  std::string path, type, def, flag, doc;
  bool required = false;
};

template <class Obj>
struct Field {
  std::string path;  // JSON pointer relative to Obj: "/resources/memory", "/host"
  std::string type, flag, doc;
  bool required = false;
  std::function<Status(const json&, const std::string& full_path, Obj&)> decode;
  std::function<json(const Obj&)> encode;
  std::function<void(const Obj& from, Obj& to)> copy;
  std::function<std::vector<DocRow>(const std::string& base)> element_docs;  // arrays of objects
};

template <class Obj>
using Table = std::vector<Field<Obj>>;

template <class Obj, class Codec, class Get, class Set>
Field<Obj> MakeField(std::string path, std::string flag, Codec codec, Get get, Set set, std::string doc,
                     bool required = false) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = codec.Type();
  f.flag = std::move(flag);
  f.doc = std::move(doc);
  f.required = required;
  f.decode = [codec, set](const json& v, const std::string& p, Obj& o) -> Status {
    ISOEXEC_ASSIGN_OR_RETURN(auto x, codec.Decode(v, p));
    set(o, std::move(x));
    return Ok();
  };
  f.encode = [codec, get](const Obj& o) -> json { return codec.Encode(get(o)); };
  f.copy = [get, set](const Obj& from, Obj& to) { set(to, get(from)); };
  if constexpr (requires { codec.ElementDocs(std::string()); })
    f.element_docs = [codec](const std::string& base) { return codec.ElementDocs(base); };
  return f;
}

// get/set lambdas for a plain member path like `resources.memory`.
#define ISOEXEC_MEMBER(m)                                   \
  [](const auto& o_) { return o_.m; },                      \
      [](auto& o_, auto v_) { o_.m = std::move(v_); }

template <class Obj>
std::vector<DocRow> DocRows(const Table<Obj>& table, const std::string& base) {
  const Obj defaults{};
  std::vector<DocRow> rows;
  for (const auto& f : table) {
    DocRow r{base + f.path, f.type, f.encode(defaults).dump(), f.flag, f.doc, f.required};
    if (f.required) r.def = "(required)";
    rows.push_back(std::move(r));
    if (f.element_docs) {
      auto sub = f.element_docs(base + f.path + "/*");
      rows.insert(rows.end(), sub.begin(), sub.end());
    }
  }
  return rows;
}

// Decodes object `v` found at `base` against the fields of `table` below `prefix` ("" for the
// table's top level, "/process" for a group). Unknown keys are errors.
template <class Obj>
Status DecodeObject(const Table<Obj>& table, const json& v, const std::string& base,
                    const std::string& prefix, Obj& out) {
  const std::string here = base + prefix;
  if (!v.is_object()) {
    if (here.empty()) return Fail(SpecError(here, fmt::format("must be a JSON object, got {}", Got(v))));
    return Fail(SpecError(here, fmt::format("must be an object, got {}", Got(v))));
  }
  // Children at this level, in table order: a leaf field or a group of fields.
  struct ChildInfo {
    std::string name;
    const Field<Obj>* leaf = nullptr;
  };
  std::vector<ChildInfo> children;
  for (const auto& f : table) {
    if (f.path.size() <= prefix.size() + 1 || f.path.compare(0, prefix.size() + 1, prefix + "/") != 0)
      continue;
    std::string rest = f.path.substr(prefix.size() + 1);
    auto slash = rest.find('/');
    std::string name = rest.substr(0, slash);
    auto it = std::find_if(children.begin(), children.end(), [&](const ChildInfo& c) { return c.name == name; });
    if (it == children.end()) children.push_back({name, slash == std::string::npos ? &f : nullptr});
  }
  for (const auto& [key, value] : v.items()) {
    // A lambda may not capture a structured binding before clang 16 (the fuzz preset's clang 14).
    const std::string& k = key;
    auto it = std::find_if(children.begin(), children.end(), [&](const ChildInfo& c) { return c.name == k; });
    if (it == children.end()) {
      std::string known, guess;
      size_t best = 3;
      for (const auto& c : children) {
        known += (known.empty() ? "" : ", ") + c.name;
        if (size_t d = EditDistance(key, c.name); d < best) {
          best = d;
          guess = c.name;
        }
      }
      if (!guess.empty())
        return Fail(SpecError(Child(here, key), fmt::format("unknown field; did you mean \"{}\"?", guess)));
      return Fail(SpecError(Child(here, key), fmt::format("unknown field (known here: {})", known)));
    }
    if (it->leaf) {
      ISOEXEC_TRY(it->leaf->decode(value, base + it->leaf->path, out));
    } else {
      ISOEXEC_TRY(DecodeObject(table, value, base, prefix + "/" + key, out));
    }
  }
  for (const auto& c : children) {
    if (c.leaf && c.leaf->required && !v.contains(c.name))
      return Fail(SpecError(Child(here, c.name), "required field is missing"));
  }
  return Ok();
}

template <class Obj>
json EncodeObject(const Table<Obj>& table, const Obj& o) {
  json out = json::object();
  for (const auto& f : table) out[json::json_pointer(f.path)] = f.encode(o);
  return out;
}

// An array of objects, each checked against its own table. `fixup` fills defaults that
// depend on other fields (a device's task path defaults to its host path).
template <class Elem>
struct ObjListC {
  const Table<Elem>* table;
  void (*fixup)(Elem&) = nullptr;
  bool nullable = false;  // null allowed (= "not given")
  std::string Type() const { return nullable ? "array of objects or null" : "array of objects"; }
  Result<std::vector<Elem>> Decode(const json& v, const std::string& path) const {
    if (!v.is_array())
      return Fail(SpecError(path, fmt::format("must be an array of objects{}, got {}", nullable ? " or null" : "", Got(v))));
    std::vector<Elem> out;
    for (size_t i = 0; i < v.size(); ++i) {
      Elem e{};
      ISOEXEC_TRY(DecodeObject(*table, v[i], Child(path, std::to_string(i)), "", e));
      if (fixup) fixup(e);
      out.push_back(std::move(e));
    }
    return out;
  }
  json Encode(const std::vector<Elem>& l) const {
    json a = json::array();
    for (const auto& e : l) a.push_back(EncodeObject(*table, e));
    return a;
  }
  std::vector<DocRow> ElementDocs(const std::string& base) const { return DocRows(*table, base); }
};

// /root/chroot_env: null = the default set (not given), a list (even []) replaces it.
struct ChrootEnvValue {
  std::vector<ChrootEnvEntry> entries;
  bool given = false;
};
struct ChrootEnvC {
  ObjListC<ChrootEnvEntry> list;
  std::string Type() const { return list.Type(); }
  Result<ChrootEnvValue> Decode(const json& v, const std::string& path) const {
    if (v.is_null()) return ChrootEnvValue{};
    ISOEXEC_ASSIGN_OR_RETURN(auto l, list.Decode(v, path));
    return ChrootEnvValue{std::move(l), true};
  }
  json Encode(const ChrootEnvValue& c) const { return c.given ? list.Encode(c.entries) : json(nullptr); }
  std::vector<DocRow> ElementDocs(const std::string& base) const { return list.ElementDocs(base); }
};

struct VersionC {
  std::string Type() const { return "integer"; }
  Result<int> Decode(const json& v, const std::string& path) const {
    auto n = JsonInt(v);
    if (!n) return Fail(SpecError(path, fmt::format("must be the integer {}, got {}", kSpecVersion, Got(v))));
    if (*n != kSpecVersion)
      return Fail(SpecError(path, fmt::format("unsupported spec version {} (this isoexec reads version {})",
                                              *n, kSpecVersion)));
    return static_cast<int>(*n);
  }
  json Encode(int n) const { return n; }
};

std::string CheckId(const std::string& s) {
  if (s.empty()) return {};
  auto r = ValidateId(s);
  if (r) return {};
  // "--name: task id must ..." -> "task id must ..."
  std::string m = r.error().message();
  const std::string prefix = r.error().field() + ": ";
  return m.compare(0, prefix.size(), prefix) == 0 ? m.substr(prefix.size()) : m;
}
std::string CheckNet(const std::string& s) {
  if (s == "host" || s == "none" || (!s.empty() && s[0] == '/')) return {};
  return fmt::format("must be \"host\", \"none\" or an absolute netns path, got \"{}\"", s);
}
// The message of a failed check without its "field: " prefix ("" when it passed).
std::string WhyNot(const Status& r) {
  if (r) return {};
  const std::string& m = r.error().message();
  const std::string prefix = r.error().field() + ": ";
  return m.compare(0, prefix.size(), prefix) == 0 ? m.substr(prefix.size()) : m;
}
std::string CheckHostname(const std::string& s) {
  return s.empty() ? std::string() : WhyNot(ValidateHostname("hostname", s));
}
std::string CheckCpuset(const std::string& s) {
  if (s.empty()) return {};
  auto r = ParseCpuList("cpuset", s);
  return r ? std::string() : WhyNot(Fail(std::move(r.error())));
}
std::string CheckPerms(const std::string& s) {
  if (s.empty() || s.find_first_not_of("rwm") != std::string::npos)
    return fmt::format("must be a non-empty subset of \"rwm\", got \"{}\"", s);
  return {};
}

const Table<ChrootEnvEntry>& ChrootEnvTable() {
  static const Table<ChrootEnvEntry> t = {
      MakeField<ChrootEnvEntry>("/host", "", StrC{CheckAbsolute, "string (absolute path)"},
                                ISOEXEC_MEMBER(host), "Host path to show, read-only.", true),
      MakeField<ChrootEnvEntry>("/task", "", StrC{CheckAbsoluteOrEmpty, "string (absolute path)"},
                                ISOEXEC_MEMBER(task),
                                "Where it appears inside the task; absent or \"\": same as host. No two "
                                "entries on the same path."),
  };
  return t;
}

const Table<BindMount>& MountTable() {
  static const Table<BindMount> t = {
      MakeField<BindMount>("/host", "", StrC{CheckAbsolute, "string (absolute path)"}, ISOEXEC_MEMBER(host),
                           "Host path to bind.", true),
      MakeField<BindMount>("/task", "", StrC{CheckAbsolute, "string (absolute path)"}, ISOEXEC_MEMBER(task),
                           "Mount point inside the task root (created when missing). Not /, /proc, /sys "
                           "or /dev (isoexec mounts its own there); no two mounts on the same path.",
                           true),
      MakeField<BindMount>("/readonly", "", BoolC{}, ISOEXEC_MEMBER(readonly), "Mount read-only."),
      MakeField<BindMount>("/propagation", "", PropagationC{}, ISOEXEC_MEMBER(propagation),
                           "Mount propagation between host and task."),
  };
  return t;
}

const Table<Device>& DeviceTable() {
  static const Table<Device> t = {
      MakeField<Device>("/host", "", StrC{CheckAbsolute, "string (absolute path)"}, ISOEXEC_MEMBER(host),
                        "Host device node.", true),
      MakeField<Device>("/task", "", StrC{CheckAbsoluteOrEmpty, "string (absolute path)"}, ISOEXEC_MEMBER(task),
                        "Path inside the task; absent or \"\": same as host. No two devices on the "
                        "same path."),
      MakeField<Device>("/permissions", "", StrC{CheckPerms, "string (subset of \"rwm\")"}, ISOEXEC_MEMBER(perms),
                        "r read, w write, m mknod; also what the device cgroup allows."),
  };
  return t;
}

template <class E>
void TaskDefaultsToHost(E& e) {
  if (e.task.empty()) e.task = e.host;
}

const Table<TaskSpec>& SpecTable() {
  static const Table<TaskSpec> t = {
      MakeField<TaskSpec>(
          "/version", "", VersionC{}, [](const TaskSpec&) { return kSpecVersion; }, [](TaskSpec&, int) {},
          "Spec format version. This isoexec reads and writes 1.", true),
      MakeField<TaskSpec>("/id", "--name", StrC{CheckId, "string"}, ISOEXEC_MEMBER(id),
                          "Task id: 1-64 characters of [A-Za-z0-9_.-], not starting with '.'; other verbs "
                          "reach the task by it. \"\": generated."),
      // process
      MakeField<TaskSpec>("/process/args", "COMMAND", StrListC{StrC{}}, ISOEXEC_MEMBER(process.argv),
                          "The command and its arguments. args[0] is looked up in the task's PATH "
                          "unless it contains a '/'. A command after `--` on the command line replaces it."),
      MakeField<TaskSpec>("/process/env", "--env", EnvC{}, ISOEXEC_MEMBER(process.env),
                          "The task's whole environment (values are strings), plus a default PATH when "
                          "none is given and USER, LOGNAME, HOME when /process/user is set."),
      MakeField<TaskSpec>("/process/workdir", "--workdir", StrC{CheckAbsolute, "string (absolute path)"},
                          ISOEXEC_MEMBER(process.workdir), "Working directory inside the task."),
      MakeField<TaskSpec>("/process/user", "--user", StrC{nullptr, "string NAME|UID[:GROUP|GID]"},
                          ISOEXEC_MEMBER(process.user),
                          "User (and group) to run as, resolved in the task root's /etc/passwd and "
                          "/etc/group; numeric ids need no entry. \"\": root."),
      MakeField<TaskSpec>("/process/oom_score_adj", "--oom-score-adj", IntC<int>{-1000, 1000},
                          ISOEXEC_MEMBER(process.oom_score_adj),
                          "OOM score adjustment of the task (never inherited from isoexec). Negative "
                          "values need CAP_SYS_RESOURCE."),
      // root
      MakeField<TaskSpec>("/root/rootfs", "--rootfs", StrC{nullptr, "string (path)"}, ISOEXEC_MEMBER(root.rootfs),
                          "Task root directory, read-write (Nomad's task dir); missing mount points are "
                          "created in it. Relative paths are relative to isoexec's working directory. "
                          "\"\": an ephemeral root of read-only chroot_env mounts with a private writable "
                          "/tmp, removed with the task."),
      MakeField<TaskSpec>(
          "/root/chroot_env", "--chroot-env",
          ChrootEnvC{ObjListC<ChrootEnvEntry>{&ChrootEnvTable(), &TaskDefaultsToHost<ChrootEnvEntry>, true}},
          [](const TaskSpec& s) { return ChrootEnvValue{s.root.chroot_env, s.root.chroot_env_given}; },
          [](TaskSpec& s, ChrootEnvValue v) {
            s.root.chroot_env = std::move(v.entries);
            s.root.chroot_env_given = v.given;
          },
          "Host paths made visible read-only inside the task. null: the default set /bin /etc /lib "
          "/lib32 /lib64 /sbin /usr /run/resolvconf /run/systemd/resolve (missing ones skipped) "
          "for an ephemeral root, nothing with /root/rootfs. A list, even [], replaces it."),
      MakeField<TaskSpec>("/root/no_pivot_root", "--no-pivot-root", BoolC{}, ISOEXEC_MEMBER(root.no_pivot_root),
                          "Use MS_MOVE + chroot instead of pivot_root (for roots that cannot be pivoted)."),
      // mounts, devices
      MakeField<TaskSpec>("/mounts", "--bind",
                          ObjListC<BindMount>{&MountTable(), nullptr, false}, ISOEXEC_MEMBER(mounts),
                          "Bind mounts from the host, applied in order."),
      MakeField<TaskSpec>("/devices", "--device",
                          ObjListC<Device>{&DeviceTable(), &TaskDefaultsToHost<Device>, false},
                          ISOEXEC_MEMBER(devices),
                          "Device nodes made available in the task and allowed in its device cgroup."),
      // namespaces
      MakeField<TaskSpec>("/namespaces/pid", "--pid", NsModeC{}, ISOEXEC_MEMBER(namespaces.pid),
                          "PID namespace: a private one, or the host's."),
      MakeField<TaskSpec>("/namespaces/ipc", "--ipc", NsModeC{}, ISOEXEC_MEMBER(namespaces.ipc),
                          "IPC namespace: a private one, or the host's."),
      MakeField<TaskSpec>("/namespaces/net", "--net", StrC{CheckNet, "string host|none|PATH"},
                          ISOEXEC_MEMBER(namespaces.net),
                          "Network: the host's, none (a new netns with only loopback, up), or the "
                          "absolute PATH of a netns file to join."),
      MakeField<TaskSpec>("/namespaces/hostname", "--hostname", StrC{CheckHostname, "string"},
                          ISOEXEC_MEMBER(namespaces.hostname),
                          "Non-empty: a new UTS namespace with this hostname (RFC 1123: dot-separated "
                          "labels of letters, digits, '-' and '_', at most 64 characters). \"\": the "
                          "host's."),
      MakeField<TaskSpec>("/namespaces/init", "--no-init", BoolC{}, ISOEXEC_MEMBER(namespaces.init),
                          "In a private PID namespace, run isoexec's minimal init as PID 1 (forwards "
                          "signals, reaps orphans). false (--no-init): the command itself is PID 1."),
      // resources
      MakeField<TaskSpec>("/resources/memory", "--memory", SizeC{}, ISOEXEC_MEMBER(resources.memory),
                          "Memory limit: hard, or the soft reservation when memory_max is set. null: no "
                          "limit. At least 4M."),
      MakeField<TaskSpec>(
          "/resources/memory_max", "--memory-max", MemMaxC{},
          [](const TaskSpec& s) { return MemMax{s.resources.memory_max, s.resources.memory_max_unlimited}; },
          [](TaskSpec& s, MemMax m) {
            s.resources.memory_max = m.bytes;
            s.resources.memory_max_unlimited = m.unlimited;
          },
          "Hard memory limit (Nomad's memory_max oversubscription); needs /resources/memory, "
          "which becomes the soft reservation. \"unlimited\": no hard limit. null: unset."),
      MakeField<TaskSpec>("/resources/cpu_shares", "--cpu-shares", OptIntC<uint64_t>{2, 262144},
                          ISOEXEC_MEMBER(resources.cpu_shares),
                          "Relative CPU weight (cgroup v2: converted to cpu.weight). null: the default."),
      MakeField<TaskSpec>("/resources/cpuset", "--cpuset", StrC{CheckCpuset, "string (CPU list)"},
                          ISOEXEC_MEMBER(resources.cpuset),
                          "CPUs the task may run on, e.g. \"0-1,3\"; they must be online. \"\": "
                          "inherited."),
      MakeField<TaskSpec>("/resources/pids_max", "--pids-max", OptIntC<int64_t>{1, 4194304},
                          ISOEXEC_MEMBER(resources.pids_max), "Maximum number of processes. null: no limit."),
      // security
      MakeField<TaskSpec>("/security/cap_add", "--cap-add", StrListC{StrC{CheckNonEmpty}},
                          ISOEXEC_MEMBER(security.cap_add),
                          "Capabilities added to the default set (case-insensitive, with or without CAP_)."),
      MakeField<TaskSpec>("/security/cap_drop", "--cap-drop", StrListC{StrC{CheckNonEmpty}},
                          ISOEXEC_MEMBER(security.cap_drop),
                          "Capabilities dropped from the default set; \"all\" drops every one. Default "
                          "set: AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE "
                          "SETFCAP SETGID SETPCAP SETUID SYS_CHROOT."),
      MakeField<TaskSpec>("/security/seccomp", "--seccomp", StrC{CheckNonEmpty, "string default|unconfined|FILE"},
                          ISOEXEC_MEMBER(security.seccomp),
                          "Seccomp profile: default, unconfined, or a JSON profile FILE (docs/seccomp.md)."),
      MakeField<TaskSpec>("/security/allow_new_privileges", "--allow-new-privileges", BoolC{},
                          ISOEXEC_MEMBER(security.allow_new_privileges),
                          "Do not set no_new_privs (DANGEROUS: lets setuid binaries gain privileges)."),
      // lifecycle
      MakeField<TaskSpec>("/lifecycle/kill_signal", "--kill-signal", SignalC{},
                          ISOEXEC_MEMBER(lifecycle.kill_signal),
                          "Signal for a graceful stop: a name (\"SIGTERM\", \"TERM\") or a number."),
      MakeField<TaskSpec>("/lifecycle/kill_timeout", "--kill-timeout", DurC{},
                          ISOEXEC_MEMBER(lifecycle.kill_timeout),
                          "Grace period after the stop signal before every process of the task is killed."),
      MakeField<TaskSpec>("/lifecycle/timeout", "--timeout", OptDurC{}, ISOEXEC_MEMBER(lifecycle.timeout),
                          "Wall-clock limit, then a graceful stop. null: none."),
      // output
      MakeField<TaskSpec>("/output/stdout", "--stdout", StrC{nullptr, "string (path)"},
                          ISOEXEC_MEMBER(output.stdout_path),
                          "File the task's stdout is appended to. \"\": inherited in the foreground, a "
                          "rotated log under the task's state dir when detached."),
      MakeField<TaskSpec>("/output/stderr", "--stderr", StrC{nullptr, "string (path)"},
                          ISOEXEC_MEMBER(output.stderr_path), "Same as stdout, for stderr."),
      MakeField<TaskSpec>("/output/status_file", "--status-file", StrC{nullptr, "string (path)"},
                          ISOEXEC_MEMBER(output.status_file),
                          "File the exit status is written to as JSON on every outcome. \"\": none."),
      MakeField<TaskSpec>("/output/stats_file", "--stats-file", StrC{nullptr, "string (path)"},
                          ISOEXEC_MEMBER(output.stats_file),
                          "File resource samples are appended to as JSON Lines while the task runs "
                          "(the `isoexec stats --json` schema). \"\": none."),
      MakeField<TaskSpec>("/output/stats_interval", "--stats-interval", DurC{},
                          ISOEXEC_MEMBER(output.stats_interval), "Interval between stats_file samples."),
  };
  return t;
}

#undef ISOEXEC_MEMBER

// The JSON path of the field an Error from Validate()/flag parsers names ("--memory" ...).
std::string PathForFlag(std::string_view flag) {
  if (flag == "command") return "/process/args";
  for (const auto& f : SpecTable())
    if (!f.flag.empty() && f.flag == flag) return f.path;
  return {};
}

Error RemapValidateError(const Error& e) {  // AsSpecFileError
  std::string path = PathForFlag(e.field());
  if (path.empty()) return Error(e.code(), e.message(), e.sys_errno()).With("spec");
  std::string why = e.message();
  const std::string prefix = e.field() + ": ";
  if (why.compare(0, prefix.size(), prefix) == 0) why = why.substr(prefix.size());
  return SpecError(path, why);
}

// Duplicate keys are accepted by JSON parsers (last wins) but almost always a mistake in a
// hand-edited spec: find the first one, with its path.
struct DupFinder {
  struct Frame {
    bool array = false;
    size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<Frame> stack;
  std::string dup_path;

  std::string PathOfTop() const {  // path of the container on top of the stack
    std::string p;
    for (size_t i = 0; i + 1 < stack.size(); ++i)
      p += "/" + (stack[i].array ? std::to_string(stack[i].index) : EscapePointer(stack[i].key));
    return p;
  }
  void ElementDone() {
    if (!stack.empty() && stack.back().array) ++stack.back().index;
  }
  bool operator()(int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: stack.push_back(Frame{}); break;
      case json::parse_event_t::array_start: stack.push_back(Frame{true}); break;
      case json::parse_event_t::key: {
        if (stack.empty()) break;
        auto k = parsed.get<std::string>();
        if (!stack.back().keys.insert(k).second && dup_path.empty()) dup_path = PathOfTop() + "/" + EscapePointer(k);
        stack.back().key = std::move(k);
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack.empty()) stack.pop_back();
        ElementDone();
        break;
      case json::parse_event_t::value: ElementDone(); break;
    }
    return true;
  }
};

// "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..." ->
// "invalid JSON: parse error at line 3, column 5: syntax error ..."
std::string JsonErrorText(const std::exception& e) {
  std::string m = e.what();
  if (m.rfind("[json.exception.", 0) == 0) {
    auto close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  return "invalid JSON: " + m;
}

std::string Wrap(const std::string& text, size_t indent, size_t width) {
  std::string out, line;
  const std::string pad(indent, ' ');
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    std::string word = text.substr(i, j - i);
    if (!line.empty() && pad.size() + line.size() + 1 + word.size() > width) {
      out += pad + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    i = j + 1;
  }
  if (!line.empty()) out += pad + line + "\n";
  return out;
}

std::string MarkdownCell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

}  // namespace

Result<TaskSpec> ParseSpecJson(std::string_view text, const SpecJsonOptions& options) {
  json doc;
  DupFinder dups;
  try {
    doc = json::parse(text.begin(), text.end(),
                      [&dups](int depth, json::parse_event_t event, json& parsed) {
                        return dups(depth, event, parsed);
                      });
  } catch (const json::exception& e) {
    return Fail(SpecError("", JsonErrorText(e)));
  }
  if (!dups.dup_path.empty()) return Fail(SpecError(dups.dup_path, "duplicate key"));
  TaskSpec spec;
  ISOEXEC_TRY(DecodeObject(SpecTable(), doc, "", "", spec));
  if (options.validate) {
    if (auto r = Validate(spec); !r) return Fail(AsSpecFileError(r.error()));
  }
  return spec;
}

std::string SpecToJson(const TaskSpec& spec) { return EncodeObject(SpecTable(), spec).dump(2) + "\n"; }

std::string DefaultSpecExample() {
  TaskSpec s;
  s.process.argv = {"/bin/sh", "-c", "echo hello from isoexec"};
  return SpecToJson(s);
}

std::string Explain() {
  std::string out = fmt::format(
      "isoexec task spec, version {0}: `isoexec run --spec FILE`.\n"
      "\n"
      "A JSON object. \"version\": {0} is required; every other field is optional and takes the\n"
      "default shown when absent. Unknown fields, duplicate keys and wrong types are errors that\n"
      "name the field's JSON pointer (exit 125). Flags given on the command line override the\n"
      "file; a repeatable flag replaces the whole list. `isoexec spec` prints every field at its\n"
      "default. In paths, * stands for an array index.\n"
      "\n"
      "Value forms:\n"
      "  size      \"256M\", \"1G\", \"512K\" (base 1024, K/M/G/T) or an integer byte count\n"
      "  duration  \"500ms\", \"10s\", \"1m30s\", \"2h\" (units ns us ms s m h d)\n"
      "  signal    \"SIGTERM\", \"TERM\", \"term\" or a number like 15\n"
      "\n"
      "Fields:\n",
      kSpecVersion);
  for (const auto& r : DocRows(SpecTable(), "")) {
    out += "\n" + r.path + "\n";
    std::string meta = fmt::format("type: {}   default: {}", r.type, r.def);
    if (!r.flag.empty()) meta += fmt::format("   flag: {}", r.flag);
    out += Wrap(meta, 4, 96);
    out += Wrap(r.doc, 4, 96);
  }
  return out;
}

std::string ExplainMarkdown() {
  std::string out = "| Field | Type | Default | Flag | Meaning |\n|---|---|---|---|---|\n";
  for (const auto& r : DocRows(SpecTable(), "")) {
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", r.path, MarkdownCell(r.type),
                       r.required ? "required" : "`" + MarkdownCell(r.def) + "`",
                       r.flag.empty() ? "" : "`" + r.flag + "`", MarkdownCell(r.doc));
  }
  return out;
}

void OverlayFlags(const TaskSpec& from_flags, const std::function<bool(std::string_view flag)>& given,
                  TaskSpec* spec) {
  for (const auto& f : SpecTable())
    if (!f.flag.empty() && given(f.flag)) f.copy(from_flags, *spec);
}

Error AsSpecFileError(const Error& error) { return RemapValidateError(error); }

std::string_view FlagForPath(std::string_view json_path) {
  for (const auto& f : SpecTable())
    if (f.path == json_path) return f.flag;
  return {};
}

}  // namespace isoexec::spec
