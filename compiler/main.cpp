// synoverlay: compiles Synapse environment files into committed kustomize overlays.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>

#include "commands.h"
#include "git_repo.h"

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

void add_guard_flags(CLI::App& build_cmd, synoverlay::GuardOptions& guards) {
  build_cmd.add_flag("--accept-storage-growth", guards.accept_storage_growth,
                     "Commit a larger volume of a running service; the commit message records "
                     "the steps that grow it in the cluster");
  build_cmd.add_flag("--allow-rebuild", guards.allow_rebuild,
                     "Commit changes a running deployment rejects (storage shrink or class, AHA "
                     "network, namespace, cluster domain, base/ claim templates), for a "
                     "deliberate rebuild");
  build_cmd.add_flag("--allow-downgrade", guards.allow_downgrade,
                     "Commit a lower Synapse or Optic release than the committed one");
}

void add_push_options(CLI::App& build_cmd, synoverlay::BuildOptions& build) {
  CLI::Option* push = build_cmd.add_flag(
      "--push", build.push,
      "Push the branch after the commit; when another push came first, build again on top of "
      "it and push again. Credentials: the SSH agent or SYNOVERLAY_SSH_KEY, or "
      "SYNOVERLAY_GIT_TOKEN for HTTPS");
  push->excludes(build_cmd.get_option("--no-commit"))
      ->excludes(build_cmd.get_option("--dry-run"))
      ->excludes(build_cmd.get_option("--init"));
  build_cmd.add_option("--remote", build.remote, "The remote --push pushes to")
      ->capture_default_str()
      ->needs(push);
  build_cmd.add_option("--push-retries", build.push_retries, "Pushes in all before giving up")
      ->capture_default_str()
      ->check(CLI::Range(1, 100))
      ->needs(push);
  build_cmd
      .add_option("--lock-timeout", build.lock_timeout,
                  "Seconds to wait while another build runs in the same clone")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
}

CLI::App* add_check(CLI::App& app, synoverlay::CheckOptions& check) {
  CLI::App* command = app.add_subcommand(
      "check",
      "Compare what the repository holds at HEAD with what the environment files give; "
      "writes nothing. Exit 0 up to date, 1 drift or invalid input. Overlays at HEAD that no "
      "given file produces are reported, which is only meaningful when every environment "
      "file of the repository is given");
  command->add_option("files", check.files, "Environment files (TOML)")->required();
  command->add_option("--repo", check.repo,
                      "The GitOps repository (default: the one holding the current folder)");
  add_common(*command, check.common);
  return command;
}

CLI::App* add_remove(CLI::App& app, synoverlay::RemoveOptions& remove) {
  CLI::App* command = app.add_subcommand(
      "remove", "Delete overlays/<name>/ and clusters/<name>/ of environments in one commit");
  command->add_option("names", remove.names, "Environment names")->required();
  command->add_option("--repo", remove.repo,
                      "The GitOps repository (default: the one holding the current folder)");
  command->add_option("--author", remove.author, "Commit author, 'Name <email>'");
  command->add_option("-m,--message", remove.message, "Summary line of the commit message");
  command->add_flag("-v,--verbose", remove.verbose, "Say what is being done, on stderr");
  return command;
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
  add_guard_flags(*build_cmd, build.guards);
  add_push_options(*build_cmd, build);

  synoverlay::ValidateOptions validate;
  CLI::App* validate_cmd = app.add_subcommand(
      "validate", "Check environment files without a repository; writes nothing");
  validate_cmd->add_option("files", validate.files, "Environment files (TOML)")->required();
  add_common(*validate_cmd, validate.common);

  CLI::App* schema_cmd =
      app.add_subcommand("schema", "Print the JSON Schema of the environment file");
  synoverlay::CheckOptions check;
  CLI::App* check_cmd = add_check(app, check);
  synoverlay::RemoveOptions remove;
  CLI::App* remove_cmd = add_remove(app, remove);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : synoverlay::kExitUsage;
  }

  // These open a repository: libgit2 gets ready while the environment files load.
  std::optional<synoverlay::Libgit2Warmup> warmup;
  if (*build_cmd || *check_cmd || *remove_cmd) warmup.emplace();
  synoverlay::Streams streams{std::cout, std::cerr};
  build.common.color = validate.common.color = want_color();
  if (*build_cmd) return synoverlay::run_build(build, streams);
  if (*validate_cmd) return synoverlay::run_validate(validate, streams);
  if (*schema_cmd) return synoverlay::run_schema(streams);
  check.common.color = want_color();
  if (*check_cmd) return synoverlay::run_check(check, streams);
  if (*remove_cmd) return synoverlay::run_remove(remove, streams);
  return synoverlay::kExitUsage;
}
