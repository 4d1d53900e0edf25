#pragma once

#include <CLI/CLI.hpp>

namespace isoexec::cli {

// Hidden verbs generated from the CLI11 definitions themselves, so they cannot drift:
//   isoexec __man [-o FILE]            the isoexec(1) man page (roff), built and installed by CMake
//   isoexec __complete-words [VERB]    for contrib/bash-completion/isoexec: without VERB the
//                                      verbs, then the global options; with VERB its options,
//                                      then the global options. One per line: "NAME", or
//                                      "NAME TYPE" when the option takes a value.
// Call LAST, after every verb is registered: the walk happens at run time, but the verbs'
// listing order follows registration.
void AddManCommands(CLI::App& app, int* exit_code);

}  // namespace isoexec::cli
