#include "commands.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "embedded.h"
#include "git_repo.h"
#include "load_toml.h"
#include "output_files.h"
#include "overlay.h"
#include "validate.h"

namespace synoverlay {
namespace {

namespace fs = std::filesystem;

struct Loaded {
  std::vector<ResolvedEnvironment> environments;
  SourceTexts sources;
  DiagnosticSink sink;
};

std::optional<std::string> read_text(const std::string& path, std::string& problem) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    problem = "is a folder, not an environment file";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problem = "cannot be read: " + std::string(std::strerror(errno));
    return std::nullopt;
  }
  // Read one byte past the limit, so an oversized file is recognised without reading it all.
  std::string text(kMaxEnvironmentBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

// Loads and validates every file; `source_of` gives the name generated files quote.
template <class SourceName>
void load_all(const std::vector<std::string>& files, SourceName source_of, Loaded& loaded) {
  std::map<std::string, const Located<std::string>*> names;
  std::vector<Environment> parsed;
  parsed.reserve(files.size());
  for (const std::string& path : files) {
    std::string problem;
    std::optional<std::string> text = read_text(path, problem);
    if (!text) {
      loaded.sink.error(path, {}, "file-read", "the file " + problem);
      continue;
    }
    std::optional<Environment> env = load_environment(path, *text, loaded.sink);
    loaded.sources[path] = std::move(*text);
    if (!env) continue;
    parsed.push_back(std::move(*env));
  }
  for (const Environment& env : parsed) {
    if (env.name.given) {
      auto [it, fresh] = names.emplace(env.name.value, &env.name);
      if (!fresh) {
        loaded.sink.error(
            env.path, env.name.span, "duplicate-name",
            "environment name '" + env.name.value + "' is also used by another file in this run",
            "each environment needs its own name: it is the overlay's folder");
      }
    }
    auto resolved = validate_environment(env, source_of(env.path), loaded.sink);
    if (resolved) loaded.environments.push_back(std::move(*resolved));
  }
}

// Prints the diagnostics; true when the run may go on (no error, or only warnings
// without --werror).
bool report(const Loaded& loaded, const CommonOptions& common, Streams streams) {
  std::vector<Diagnostic> diagnostics = loaded.sink.sorted();
  RenderOptions options{common.format, common.color};
  std::ostream& target = common.format == OutputFormat::human ? streams.err : streams.out;
  if (!diagnostics.empty() || common.format != OutputFormat::human) {
    render_diagnostics(target, diagnostics, loaded.sources, options);
  }
  std::size_t errors = loaded.sink.error_count();
  std::size_t warnings = loaded.sink.warning_count();
  if (common.format == OutputFormat::human && (errors || warnings)) {
    auto plural = [](std::size_t n, const char* word) {
      return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
    };
    streams.err << plural(errors, "error") << " and " << plural(warnings, "warning")
                << (common.werror && warnings ? " (warnings are errors under --werror)" : "")
                << "\n";
  }
  return errors == 0 && !(common.werror && warnings != 0);
}

void say(const CommonOptions& common, Streams streams, const std::string& text) {
  if (common.verbose) streams.err << "synoverlay: " << text << "\n";
}

int system_error(Streams streams, const std::string& text) {
  streams.err << "synoverlay: error: " << text << "\n";
  return kExitSystem;
}

// "Name <email>" -> Signature.
std::optional<Signature> parse_identity(const std::string& text) {
  std::size_t open = text.find('<');
  std::size_t close = text.rfind('>');
  if (open == std::string::npos || close == std::string::npos || close < open ||
      close + 1 != text.size()) {
    return std::nullopt;
  }
  std::string name = text.substr(0, open);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  std::string email = text.substr(open + 1, close - open - 1);
  if (name.empty() || email.empty()) return std::nullopt;
  return Signature{name, email, std::nullopt, 0};
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

// Git's internal date format "<seconds> <+hhmm>", with an optional leading '@'.
bool apply_date(const char* variable, Signature& signature, std::string& problem) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') return true;
  std::string text(value);
  if (text[0] == '@') text.erase(0, 1);
  std::istringstream in(text);
  long long seconds = 0;
  std::string zone = "+0000";
  in >> seconds;
  if (!in) {
    problem = std::string(variable) + " '" + value + "' is not '<seconds> <+hhmm>'";
    return false;
  }
  in >> zone;
  bool zone_ok =
      zone.size() == 5 && (zone[0] == '+' || zone[0] == '-') &&
      std::all_of(zone.begin() + 1, zone.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!zone_ok) {
    problem = std::string(variable) + " '" + value + "' has no valid time zone such as +0000";
    return false;
  }
  int minutes = std::stoi(zone.substr(1, 2)) * 60 + std::stoi(zone.substr(3, 2));
  signature.when = seconds;
  signature.offset_minutes = zone[0] == '-' ? -minutes : minutes;
  return true;
}

// Author and committer as git chooses them: the flag, then GIT_* variables, then the
// repository's user.name / user.email, then synoverlay's own identity.
bool choose_signatures(const BuildOptions& options, const GitRepo& repo, Signature& author,
                       Signature& committer, std::string& problem) {
  Signature fallback{"synoverlay", "synoverlay@localhost", std::nullopt, 0};
  if (auto configured = repo.configured_signature()) fallback = *configured;
  committer = {env_or("GIT_COMMITTER_NAME", fallback.name),
               env_or("GIT_COMMITTER_EMAIL", fallback.email), std::nullopt, 0};
  author = {env_or("GIT_AUTHOR_NAME", fallback.name), env_or("GIT_AUTHOR_EMAIL", fallback.email),
            std::nullopt, 0};
  if (!options.author.empty()) {
    auto parsed = parse_identity(options.author);
    if (!parsed) {
      problem = "--author '" + options.author + "' is not of the form 'Name <email>'";
      return false;
    }
    author = *parsed;
  }
  return apply_date("GIT_AUTHOR_DATE", author, problem) &&
         apply_date("GIT_COMMITTER_DATE", committer, problem);
}

// The environment file's name as generated files quote it: relative to the repository
// root when the file lies inside it, else its file name alone.
std::string source_name(const std::string& path, const std::string& workdir) {
  std::error_code ec;
  fs::path absolute = fs::weakly_canonical(fs::absolute(path, ec), ec);
  fs::path root = fs::weakly_canonical(workdir, ec);
  fs::path relative = absolute.lexically_relative(root);
  if (!relative.empty() && *relative.begin() != "..") return relative.generic_string();
  return fs::path(path).filename().generic_string();
}

// The environment recorded at HEAD for `name`, resolved, or nothing.
std::optional<ResolvedEnvironment> committed_environment(const GitRepo& repo,
                                                         const std::string& name) {
  std::string path = "overlays/" + name + "/" + std::string(kRecordFile);
  std::optional<std::string> text = repo.read_head_file(path);
  if (!text) return std::nullopt;
  DiagnosticSink ignored;
  std::optional<Environment> env = load_environment(path, *text, ignored);
  if (!env) return std::nullopt;
  std::string source;
  if (std::size_t from = text->find(" from "); from != std::string::npos) {
    std::size_t end = text->find(": the normalised", from);
    if (end != std::string::npos) source = text->substr(from + 6, end - from - 6);
  }
  return validate_environment(*env, source, ignored);
}

// Files of HEAD's base/ that differ from what HEAD's base record says synoverlay wrote.
std::vector<std::string> hand_edited_base(const GitRepo& repo) {
  FileMap base = repo.read_head_tree("base/");
  std::vector<std::string> edited;
  if (base.empty()) return edited;
  auto record_text = base.find(kBaseRecordFile);
  std::map<std::string, std::string> recorded;
  if (record_text != base.end()) {
    std::istringstream in(record_text->second);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] != '"') continue;
      std::size_t close = line.find('"', 1);
      std::size_t value = line.find('"', close + 1);
      if (close == std::string::npos || value == std::string::npos) continue;
      recorded["base/" + line.substr(1, close - 1)] = line.substr(value + 1, 40);
    }
  }
  for (const auto& [path, content] : base) {
    if (path == kBaseRecordFile) continue;
    auto it = recorded.find(path);
    if (it == recorded.end() || it->second != GitRepo::blob_id(content)) edited.push_back(path);
  }
  return edited;
}

struct BuildPlan {
  FileMap files;                   // everything the build owns, as it should be
  std::vector<std::string> owned;  // prefixes
  std::vector<std::string> body;   // commit message body lines
};

BuildPlan plan_build(const std::vector<ResolvedEnvironment>& environments, const GitRepo& repo) {
  BuildPlan plan;
  plan.files = render_base();
  std::set<std::string> owned;
  for (const ResolvedEnvironment& env : environments) {
    for (std::string& prefix : owned_prefixes(env.name)) owned.insert(std::move(prefix));
    FileMap files = render_environment(env);
    plan.files.insert(files.begin(), files.end());
    std::optional<ResolvedEnvironment> before = committed_environment(repo, env.name);
    std::vector<std::string> changes = describe_changes(before ? &*before : nullptr, env);
    plan.body.push_back(env.name + ":");
    if (changes.empty()) changes.push_back("overlay regenerated; no setting changed");
    for (const std::string& change : changes) plan.body.push_back("- " + change);
  }
  plan.owned.assign(owned.begin(), owned.end());
  return plan;
}

std::string commit_message(const BuildOptions& options,
                           const std::vector<ResolvedEnvironment>& environments,
                           const BuildPlan& plan, bool base_changed) {
  std::string summary = options.message;
  if (summary.empty() && environments.size() == 1) {
    summary =
        "synoverlay: build " + environments[0].name + " (Synapse " + environments[0].version + ")";
  } else if (summary.empty()) {
    summary = "synoverlay: build " + std::to_string(environments.size()) + " environments (";
    for (std::size_t i = 0; i < environments.size(); ++i) {
      summary += (i ? ", " : "") + environments[i].name;
    }
    summary += ")";
  }
  std::string message = summary + "\n\n";
  for (const std::string& line : plan.body) message += line + "\n";
  if (base_changed) message += "base: written by synoverlay " SYNOVERLAY_VERSION "\n";
  message += "\n";
  for (const ResolvedEnvironment& env : environments) {
    message += "Synoverlay-Environment: " + env.source + "\n";
  }
  message += "Synoverlay-Version: " SYNOVERLAY_VERSION "\n";
  return message;
}

// Owned files whose work tree bytes differ from both HEAD and the new output: edits
// nobody committed, which a build would otherwise overwrite.
std::vector<std::string> uncommitted_edits(const FileMap& disk, const FileMap& head,
                                           const FileMap& next) {
  std::vector<std::string> edited;
  for (const auto& [path, content] : disk) {
    auto in_head = head.find(path);
    auto in_next = next.find(path);
    bool matches_head = in_head != head.end() && in_head->second == content;
    bool matches_next = in_next != next.end() && in_next->second == content;
    if (!matches_head && !matches_next) edited.push_back(path);
  }
  return edited;
}

// Committed overlay files that differ from what synoverlay makes of the committed record.
std::vector<std::string> committed_overlay_edits(const GitRepo& repo,
                                                 const ResolvedEnvironment& env) {
  std::vector<std::string> edited;
  std::string record_path = "overlays/" + env.name + "/" + std::string(kRecordFile);
  std::optional<std::string> record = repo.read_head_file(record_path);
  if (!record || record->find("synoverlay " SYNOVERLAY_VERSION " from") == std::string::npos) {
    return edited;  // an older synoverlay's output may differ for good reasons
  }
  std::optional<ResolvedEnvironment> before = committed_environment(repo, env.name);
  if (!before) return edited;
  FileMap expected = render_environment(*before);
  FileMap committed = repo.read_head_tree("overlays/" + env.name + "/");
  FileMap clusters = repo.read_head_tree("clusters/" + env.name + "/");
  committed.insert(clusters.begin(), clusters.end());
  for (const auto& [path, content] : committed) {
    auto it = expected.find(path);
    if (it == expected.end() || it->second != content) edited.push_back(path);
  }
  return edited;
}

int refuse_edits(Streams streams, const std::string& what, const std::vector<std::string>& paths,
                 const std::string& how) {
  streams.err << "synoverlay: error: " << what << "\n";
  for (const std::string& path : paths) streams.err << "  " << path << "\n";
  streams.err << "  hint: " << how << "\n";
  return kExitRejected;
}

void print_paths(Streams streams, const CommitResult& result) {
  for (const std::string& path : result.added) streams.out << "  added     " << path << "\n";
  for (const std::string& path : result.modified) streams.out << "  modified  " << path << "\n";
  for (const std::string& path : result.removed) streams.out << "  removed   " << path << "\n";
}

// Added, modified and removed paths between two file sets, as a commit would list them.
CommitResult compare_files(const FileMap& before, const FileMap& after) {
  CommitResult result;
  for (const auto& [path, content] : after) {
    auto it = before.find(path);
    if (it == before.end()) {
      result.added.push_back(path);
    } else if (it->second != content) {
      result.modified.push_back(path);
    }
  }
  for (const auto& [path, content] : before) {
    if (!after.contains(path)) result.removed.push_back(path);
  }
  return result;
}

std::string short_id(const std::string& id) { return id.substr(0, 12); }

int open_repository(const BuildOptions& options, Streams streams, std::optional<GitRepo>& repo) {
  std::string path = options.repo.empty() ? "." : options.repo;
  try {
    repo.emplace(GitRepo::open(path));
    return kExitOk;
  } catch (const GitError& error) {
    if (!options.init || options.dry_run) {
      streams.err << "synoverlay: error: " << error.what() << "\n"
                  << "  hint: create it with 'git init " << path
                  << "', or add --init and synoverlay creates it\n";
      return kExitSystem;
    }
  }
  try {
    repo.emplace(GitRepo::init(path));
    say(options.common, streams, "created a git repository in " + repo->workdir());
    return kExitOk;
  } catch (const GitError& error) {
    return system_error(streams, error.what());
  }
}

int build_in(GitRepo& repo, const BuildOptions& options,
             const std::vector<ResolvedEnvironment>& environments, Streams streams) {
  if (std::string state = repo.unusable_state(); !state.empty()) {
    return system_error(streams, "cannot build in " + repo.workdir() + ": " + state);
  }
  BuildPlan plan = plan_build(environments, repo);
  FileMap head;
  for (const std::string& prefix : plan.owned) {
    FileMap part = repo.read_head_tree(prefix);
    head.insert(part.begin(), part.end());
  }
  FileMap disk = read_owned_files(repo.workdir(), plan.owned);

  if (!options.force) {
    std::vector<std::string> base_edits = hand_edited_base(repo);
    if (!base_edits.empty()) {
      return refuse_edits(streams, "base/ was edited by hand; synoverlay owns it:", base_edits,
                          "move the change into an environment file, or run again with "
                          "--force to replace base/ with synoverlay's");
    }
    for (const ResolvedEnvironment& env : environments) {
      std::vector<std::string> edits = committed_overlay_edits(repo, env);
      if (!edits.empty()) {
        return refuse_edits(
            streams,
            "committed files of environment '" + env.name + "' were edited by hand:", edits,
            "put the change into " + env.source + ", or run again with --force to replace them");
      }
    }
    std::vector<std::string> edits = uncommitted_edits(disk, head, plan.files);
    if (!edits.empty()) {
      return refuse_edits(streams, "uncommitted edits in files synoverlay owns:", edits,
                          "commit or discard them ('git restore <path>'), or run again with "
                          "--force to replace them");
    }
  }

  bool base_changed = false;
  for (const auto& [path, content] : plan.files) {
    if (!path.starts_with("base/")) continue;
    auto it = head.find(path);
    if (it == head.end() || it->second != content) base_changed = true;
  }
  std::string message = commit_message(options, environments, plan, base_changed);

  if (options.dry_run) {
    CommitResult changes = compare_files(options.no_commit ? disk : head, plan.files);
    bool nothing = changes.added.empty() && changes.modified.empty() && changes.removed.empty();
    if (nothing) {
      streams.out << "dry run: up to date, nothing would change\n";
      return kExitOk;
    }
    streams.out << "dry run: nothing written; a build would "
                << (options.no_commit ? "write" : "commit") << ":\n";
    print_paths(streams, changes);
    if (!options.no_commit) {
      streams.out << "with the message:\n";
      std::istringstream lines(message);
      for (std::string line; std::getline(lines, line);) streams.out << "  | " << line << "\n";
    }
    return kExitOk;
  }

  if (options.no_commit) {
    WriteSummary written = write_owned_files(repo.workdir(), plan.owned, plan.files);
    CommitResult changes = compare_files(disk, plan.files);
    if (written.written.empty() && written.removed.empty()) {
      streams.out << "up to date: the work tree already holds this output\n";
      return kExitOk;
    }
    streams.out << "wrote the files without committing (" << repo.workdir() << "):\n";
    print_paths(streams, changes);
    return kExitOk;
  }

  Signature author, committer;
  std::string problem;
  if (!choose_signatures(options, repo, author, committer, problem)) {
    streams.err << "synoverlay: error: " << problem << "\n";
    return kExitUsage;
  }
  say(options.common, streams, "committing on branch " + repo.current_branch());
  CommitResult result = repo.commit_owned(plan.owned, plan.files, author, committer, message);
  write_owned_files(repo.workdir(), plan.owned, plan.files);
  if (!result.committed) {
    std::string names;
    for (const ResolvedEnvironment& env : environments) {
      names += (names.empty() ? "" : ", ") + ("overlays/" + env.name);
    }
    streams.out << "up to date: " << names << " already match"
                << (environments.size() == 1 ? "es " + environments[0].source
                                             : " their environment files")
                << "; no commit (HEAD " << short_id(result.commit_id) << ")\n";
    return kExitOk;
  }
  streams.out << "committed " << short_id(result.commit_id) << " on " << repo.current_branch()
              << " in " << repo.workdir() << ": " << message.substr(0, message.find('\n')) << "\n";
  print_paths(streams, result);
  return kExitOk;
}

}  // namespace

int run_validate(const ValidateOptions& options, Streams streams) {
  Loaded loaded;
  load_all(
      options.files, [](const std::string& path) { return path; }, loaded);
  bool ok = report(loaded, options.common, streams);
  if (ok && options.common.format == OutputFormat::human) {
    for (const ResolvedEnvironment& env : loaded.environments) {
      streams.out << "ok: " << env.source << " (environment " << env.name << ", Synapse "
                  << env.version << ")\n";
    }
  }
  return ok ? kExitOk : kExitRejected;
}

int run_build(const BuildOptions& options, Streams streams) {
  // Validate before touching any repository, so a bad file changes nothing anywhere.
  Loaded loaded;
  load_all(
      options.files, [](const std::string& path) { return path; }, loaded);
  if (!report(loaded, options.common, streams)) return kExitRejected;

  std::optional<GitRepo> repo;
  if (int code = open_repository(options, streams, repo); code != kExitOk) return code;
  for (ResolvedEnvironment& env : loaded.environments) {
    env.source = source_name(env.source, repo->workdir());
  }
  try {
    return build_in(*repo, options, loaded.environments, streams);
  } catch (const GitError& error) {
    return system_error(streams, error.what());
  } catch (const OutputError& error) {
    return system_error(streams, error.what());
  }
}

int run_schema(Streams streams) {
  streams.out << embedded_schema();
  return kExitOk;
}

}  // namespace synoverlay
