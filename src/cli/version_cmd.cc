#include "cli/version_cmd.h"

#include <fmt/format.h>

#include "runtime/features.h"

namespace isoexec::cli {

void AddVersionCommands(CLI::App& app, const GlobalOptions&, int* exit_code) {
  auto* version = app.add_subcommand("version", "Print the version and the host's feature line");
  version->callback([exit_code] {
    auto f = runtime::ProbeFeatures();
    fmt::print("isoexec {} (commit {})\n{}\n", ISOEXEC_VERSION, ISOEXEC_GIT_COMMIT,
               runtime::FeatureLine(f));
    *exit_code = 0;
  });
  auto* features = app.add_subcommand("features", "Print the host's features and defaults as JSON");
  features->callback([exit_code] {
    fmt::print("{}", runtime::FeaturesJson(runtime::ProbeFeatures()));
    *exit_code = 0;
  });
}

}  // namespace isoexec::cli
