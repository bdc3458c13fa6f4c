// synoverlay: compiles Synapse environment files into committed kustomize overlays.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <map>

#include "commands.h"

namespace {

using synoverlay::CommonOptions;
using synoverlay::OutputFormat;

void add_common(CLI::App& command, CommonOptions& common) {
  static const std::map<std::string, OutputFormat> kFormats = {{"human", OutputFormat::human},
                                                               {"json", OutputFormat::json},
                                                               {"github", OutputFormat::github},
                                                               {"sarif", OutputFormat::sarif}};
  command
      .add_option("--format", common.format,
                  "How to print diagnostics: human (default), "
                  "json, github (workflow annotations) or sarif")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case));
  command.add_flag("--werror", common.werror, "Treat warnings as errors");
  command.add_flag("-v,--verbose", common.verbose, "Say what is being done, on stderr");
}

bool want_color() {
  const char* no_color = std::getenv("NO_COLOR");
  return ::isatty(STDERR_FILENO) == 1 && (no_color == nullptr || *no_color == '\0');
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "synoverlay compiles Synapse environment files (TOML) into kustomize overlays\n"
      "and commits them to a GitOps repository for Argo CD or Flux.",
      "synoverlay"};
  app.set_version_flag("--version", "synoverlay " SYNOVERLAY_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 input or change rejected, 2 usage error, "
      "3 repository or system failure.\nRun 'synoverlay COMMAND --help' for a "
      "command's options.");

  synoverlay::BuildOptions build;
  CLI::App* build_cmd =
      app.add_subcommand("build",
                         "Validate environment files, write base/ and overlays/<name>/ into a git "
                         "repository and commit them");
  build_cmd->add_option("files", build.files, "Environment files (TOML)")->required();
  build_cmd->add_option("--repo", build.repo,
                        "The GitOps repository (default: the one holding the current folder)");
  build_cmd->add_flag("--init", build.init, "Create the repository when it does not exist");
  build_cmd->add_flag("--no-commit", build.no_commit, "Write the files but do not commit");
  build_cmd->add_flag("--dry-run", build.dry_run, "Write nothing; print what would change");
  build_cmd->add_flag("--force", build.force,
                      "Replace hand edits in files synoverlay owns (base/, overlays/<name>/, "
                      "clusters/<name>/)");
  build_cmd->add_option("--author", build.author, "Commit author, 'Name <email>'");
  build_cmd->add_option("-m,--message", build.message, "Summary line of the commit message");
  add_common(*build_cmd, build.common);

  synoverlay::ValidateOptions validate;
  CLI::App* validate_cmd = app.add_subcommand(
      "validate", "Check environment files without a repository; writes nothing");
  validate_cmd->add_option("files", validate.files, "Environment files (TOML)")->required();
  add_common(*validate_cmd, validate.common);

  CLI::App* schema_cmd =
      app.add_subcommand("schema", "Print the JSON Schema of the environment file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : synoverlay::kExitUsage;
  }

  synoverlay::Streams streams{std::cout, std::cerr};
  build.common.color = validate.common.color = want_color();
  if (*build_cmd) return synoverlay::run_build(build, streams);
  if (*validate_cmd) return synoverlay::run_validate(validate, streams);
  if (*schema_cmd) return synoverlay::run_schema(streams);
  return synoverlay::kExitUsage;
}
