// The JSON task spec file (`isoexec run --spec FILE`, `isoexec spec`): parser, serializer and
// field reference, all driven by ONE table of field descriptors in spec_json.cc (JSON path,
// type, default, overriding flag, doc, decode/encode/copy), so the parser, the printed example,
// `isoexec spec --explain` and docs/spec.md cannot drift apart.
//
// Format (docs/spec.md): a JSON object, "version": 1 required, every other field optional
// (absent = its default), unknown fields and duplicate keys are errors. Errors name the JSON
// pointer of the offending value:
//   spec: /resources/memory: must be a size like "256M", got true
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "spec/task_spec.h"

namespace isoexec::spec {

// The spec format version this build reads and writes.
inline constexpr int kSpecVersion = 1;

struct SpecJsonOptions {
  // Run spec::Validate() on the result (errors remapped to the JSON path of the field when
  // there is one, and prefixed with "spec: "). Turn it off when the spec is only a base that
  // CLI flags complete (e.g. no /process/args in the file, `-- CMD` on the command line): merge,
  // then call spec::Validate() on the merged spec. Per-field checks (types, enums, ranges,
  // absolute paths) always run and always name the JSON path.
  bool validate = true;
};

// Strict parse. Every error is kInvalidArgument (exit 125) and str() reads
// "spec: <json pointer>: <problem>".
Result<TaskSpec> ParseSpecJson(std::string_view text, const SpecJsonOptions& options = {});

// Every field, canonical form (sizes "256M", durations "1m30s", signals "SIGTERM"), fixed
// order, 2-space indent, trailing newline. ParseSpecJson(SpecToJson(s)) == s for any spec
// that passed ParseSpecJson or Validate.
std::string SpecToJson(const TaskSpec& spec);

// What `isoexec spec` prints: every field at its default, plus a command
// (/bin/sh -c 'echo hello from isoexec') so that `isoexec run --spec FILE` runs as is.
std::string DefaultSpecExample();

// `isoexec spec --explain`: one entry per field (JSON path, type, default, flag, meaning).
std::string Explain();
// The same table as Markdown; docs/spec.md embeds it verbatim (a unit test checks that).
std::string ExplainMarkdown();

// "Flags override the file": copies into *spec every field whose overriding `run` flag was
// given, taking the value from `from_flags` (the spec built from the flags alone). `given` is
// asked with the flag's long name ("--memory", "--bind", ...; "COMMAND" for /process/args).
// A repeatable flag given at least once replaces the whole list from the file. Does not
// validate: call spec::Validate() on the result.
void OverlayFlags(const TaskSpec& from_flags, const std::function<bool(std::string_view flag)>& given,
                  TaskSpec* spec);

// Rewrites an error named by a flag, as spec::Validate() and the flag parsers produce
// ("--memory-max: needs --memory (the soft reservation)"), as a spec-file error named by the
// field's JSON path ("spec: /resources/memory_max: needs --memory (the soft reservation)").
// After OverlayFlags: use it when the flag in error.field() was not given on the command line,
// i.e. the bad value came from the file.
Error AsSpecFileError(const Error& error);

// The `run` flag that overrides a JSON path ("/resources/memory" -> "--memory"), "" if none.
std::string_view FlagForPath(std::string_view json_path);

}  // namespace isoexec::spec
