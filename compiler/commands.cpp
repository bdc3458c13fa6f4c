#include "commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "drift.h"
#include "embedded.h"
#include "git_repo.h"
#include "load_toml.h"
#include "output_files.h"
#include "overlay.h"
#include "push.h"
#include "repo_lock.h"
#include "validate.h"

namespace synoverlay {
namespace {

namespace fs = std::filesystem;

struct Loaded {
  std::vector<ResolvedEnvironment> environments;
  std::vector<Environment> inputs;  // the file of each environment, for the guards' positions
  SourceTexts sources;
  DiagnosticSink sink;
  // The guards' diagnostics under a machine format (json, sarif, github): a build prints
  // them with validation's in one document at its end. Human output streams instead.
  mutable DiagnosticSink late;
};

// Runs `work(i)` for every i below `count`, on both cores (or more) when there are enough to
// share; `work` must touch nothing but its own i's data.
template <typename Work>
void for_each_index(std::size_t count, const Work& work) {
  constexpr std::size_t kEnoughToShare = 8;
  std::size_t threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  if (count < kEnoughToShare || threads == 1) {
    for (std::size_t i = 0; i < count; ++i) work(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  auto run = [&] {
    for (std::size_t i = next++; i < count; i = next++) work(i);
  };
  std::vector<std::future<void>> helpers;
  for (std::size_t t = 1; t < threads; ++t) helpers.push_back(std::async(std::launch::async, run));
  run();
  for (std::future<void>& helper : helpers) helper.get();
}

bool machine_format(const CommonOptions& common) { return common.format != OutputFormat::human; }

// True when `sink` lets the run go on: no error, and no warning under --werror.
bool passes(const DiagnosticSink& sink, const CommonOptions& common) {
  return !sink.has_errors() && !(common.werror && sink.warning_count() != 0);
}

// Why a path that is no regular file is refused: "the file is <this>".
std::string not_regular_file(mode_t mode) {
  std::string kind = "a special file";
  if (S_ISDIR(mode)) kind = "a folder";
  if (S_ISFIFO(mode)) kind = "a named pipe (FIFO)";
  if (S_ISCHR(mode)) kind = "a character device";
  if (S_ISBLK(mode)) kind = "a block device";
  if (S_ISSOCK(mode)) kind = "a socket";
  return "is " + kind + ", not an environment file";
}

// Reads `fd` up to one byte past the size limit, so that an oversized file is recognised
// without reading it all.
std::optional<std::string> read_limited(int fd, std::string& problem) {
  std::string text;
  std::array<char, 65536> chunk;  // growing by chunks: no megabyte zero-filled per file
  while (text.size() <= kMaxEnvironmentBytes) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problem = "cannot be read: " + std::string(std::strerror(errno));
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(n));
  }
  if (text.size() > kMaxEnvironmentBytes + 1) text.resize(kMaxEnvironmentBytes + 1);
  return text;
}

// Reads an environment file, which must be a regular file: a named pipe would wait for a
// writer, and a device such as /dev/zero never ends. The type is checked before opening, so
// that no device is opened at all, and again on what was opened, since the path may have
// changed in between; O_NONBLOCK keeps that open from waiting for a pipe's writer (it does
// nothing to a regular file).
std::optional<std::string> read_text(const std::string& path, std::string& problem) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    problem = not_regular_file(info.st_mode);
    return std::nullopt;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    problem = "cannot be read: " + std::string(std::strerror(errno));
    return std::nullopt;
  }
  std::optional<std::string> text;
  if (::fstat(fd, &info) != 0) {
    problem = "cannot be read: " + std::string(std::strerror(errno));
  } else if (!S_ISREG(info.st_mode)) {
    problem = not_regular_file(info.st_mode);
  } else {
    text = read_limited(fd, problem);
  }
  ::close(fd);
  return text;
}

// Loads and validates every file; `source_of` gives the name generated files quote.
// Where an environment's namespace is written: the key, or its name when defaulted.
SourceSpan namespace_span(const Environment& env) {
  return env.namespace_.given ? env.namespace_.span : env.name.span;
}

// Two environments in one namespace would own the same StatefulSets, Services and Job, and
// their Argo CD or Flux applications would fight over them.
void check_shared_namespaces(Loaded& loaded) {
  std::map<std::string, std::string> owner;  // namespace -> environment name
  for (std::size_t i = 0; i < loaded.environments.size(); ++i) {
    const ResolvedEnvironment& env = loaded.environments[i];
    auto [it, fresh] = owner.emplace(env.namespace_, env.name);
    if (fresh || it->second == env.name) continue;
    loaded.sink.error(loaded.inputs[i].path, namespace_span(loaded.inputs[i]),
                      "duplicate-namespace",
                      "namespace '" + env.namespace_ + "' is also used by environment '" +
                          it->second + "' in this run",
                      "each environment needs a namespace of its own; set 'namespace'");
  }
}

// Adds the diagnostics of `from` to `to`, in their order.
void merge_into(DiagnosticSink& to, const DiagnosticSink& from) {
  for (Diagnostic& diagnostic : from.sorted()) to.add(std::move(diagnostic));
}

template <class SourceName>
void load_all(const std::vector<std::string>& files, SourceName source_of, Loaded& loaded) {
  // Files are read one after the other; parsed and validated on all cores, each into a sink
  // of its own, merged in the order of the files so that the report is the same either way.
  std::vector<std::optional<std::string>> texts(files.size());
  std::vector<std::string> problems(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) texts[i] = read_text(files[i], problems[i]);
  std::vector<std::optional<Environment>> loads(files.size());
  std::vector<DiagnosticSink> load_sinks(files.size());
  for_each_index(files.size(), [&](std::size_t i) {
    if (texts[i]) loads[i] = load_environment(files[i], *texts[i], load_sinks[i]);
  });
  std::vector<Environment> parsed;
  parsed.reserve(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (!texts[i]) {
      loaded.sink.error(files[i], {}, "file-read", "the file " + problems[i]);
      continue;
    }
    merge_into(loaded.sink, load_sinks[i]);
    loaded.sources[files[i]] = std::move(*texts[i]);
    if (loads[i]) parsed.push_back(std::move(*loads[i]));
  }

  std::vector<std::optional<ResolvedEnvironment>> checked(parsed.size());
  std::vector<DiagnosticSink> check_sinks(parsed.size());
  for_each_index(parsed.size(), [&](std::size_t i) {
    checked[i] = validate_environment(parsed[i], source_of(parsed[i].path), check_sinks[i]);
  });
  std::map<std::string, const Located<std::string>*> names;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const Environment& env = parsed[i];
    if (env.name.given) {
      auto [it, fresh] = names.emplace(env.name.value, &env.name);
      if (!fresh) {
        loaded.sink.error(
            env.path, env.name.span, "duplicate-name",
            "environment name '" + env.name.value + "' is also used by another file in this run",
            "each environment needs its own name: it is the overlay's folder");
      }
    }
    merge_into(loaded.sink, check_sinks[i]);
    if (!checked[i]) continue;
    loaded.environments.push_back(std::move(*checked[i]));
    loaded.inputs.push_back(env);
  }
  check_shared_namespaces(loaded);
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
// root when the file lies inside it, else its file name alone. Folders are resolved once
// each (`resolved` keeps them), since a fleet's files share a few.
std::string source_name(const std::string& path, const std::string& workdir,
                        std::map<std::string, fs::path>& resolved) {
  auto canonical = [&](const fs::path& folder) -> const fs::path& {
    auto [it, fresh] = resolved.try_emplace(folder.string());
    if (fresh) {
      std::error_code ec;
      it->second = fs::weakly_canonical(fs::absolute(folder, ec), ec);
    }
    return it->second;
  };
  fs::path file(path);
  fs::path folder = file.has_parent_path() ? file.parent_path() : fs::path(".");
  fs::path absolute = canonical(folder) / file.filename();
  fs::path relative = absolute.lexically_relative(canonical(workdir));
  std::string name = !relative.empty() && *relative.begin() != ".."
                         ? relative.generic_string()
                         : file.filename().generic_string();
  // The name goes into YAML comments and commit trailers: a newline there would become a
  // key, and bytes that are not ASCII might not be UTF-8.
  for (char& c : name) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) c = '?';
  }
  return name;
}

// Names every environment's source as source_name() does.
void name_sources(std::vector<ResolvedEnvironment>& environments, const std::string& workdir) {
  std::map<std::string, fs::path> resolved;
  for (ResolvedEnvironment& env : environments) {
    env.source = source_name(env.source, workdir, resolved);
  }
}

// An environment's record as HEAD holds it, read once per build.
struct CommittedRecord {
  std::optional<std::string> text;              // nothing: never committed
  std::optional<ResolvedEnvironment> resolved;  // nothing: never committed, or unreadable
  std::string problem;                          // why a committed record is unreadable
  // The blob ids of what this synoverlay makes of the record, when this synoverlay wrote it:
  // committed files that differ were edited by hand. Nothing for an older synoverlay's
  // record, whose output may differ for good reasons.
  std::optional<IdMap> generated;
};

// Git's blob id of every file.
IdMap ids_of(const FileMap& files) {
  IdMap ids;
  for (const auto& [path, content] : files) ids.emplace(path, GitRepo::blob_id(content));
  return ids;
}

// What HEAD holds under the owned prefixes, as blob ids (files are compared by id and read
// only where they differ), and the text of base/'s record.
struct HeadState {
  IdMap ids;
  IdMap base;  // the part of `ids` under base/
  std::string base_record;
};

HeadState read_head_state(const GitRepo& repo, const std::vector<std::string>& prefixes) {
  HeadState head;
  for (const std::string& prefix : prefixes) head.ids.merge(repo.head_blob_ids(prefix));
  head.base = repo.head_blob_ids("base/");
  head.base_record = repo.read_head_file(kBaseRecordFile).value_or("");
  return head;
}

// The files of `files` under base/.
FileMap base_part(const FileMap& files) {
  FileMap base;
  for (auto it = files.lower_bound("base/"); it != files.end() && it->first.starts_with("base/");
       ++it) {
    base.insert(*it);
  }
  return base;
}

// What a build makes of one environment.
struct EnvironmentPlan {
  FileMap files;
  CommittedRecord record;
  std::vector<std::string> changes;  // in words, against the committed record
};

struct BuildPlan {
  FileMap files;                                   // everything the build owns, as it should be
  std::vector<std::string> owned;                  // prefixes
  std::vector<std::string> body;                   // commit message body lines
  std::map<std::string, CommittedRecord> records;  // by environment name
};

BuildPlan plan_build(const std::vector<ResolvedEnvironment>& environments, const GitRepo& repo) {
  std::vector<EnvironmentPlan> parts(environments.size());
  // The repository is read on this thread only; what is made of it, on all cores.
  for (std::size_t i = 0; i < environments.size(); ++i) {
    parts[i].record.text = repo.read_head_file(record_path(environments[i].name));
  }
  for_each_index(environments.size(), [&](std::size_t i) {
    const ResolvedEnvironment& env = environments[i];
    EnvironmentPlan& part = parts[i];
    part.files = render_environment(env);
    CommittedRecord& record = part.record;
    if (record.text) {
      record.resolved = read_record(record_path(env.name), *record.text, &record.problem);
    }
    if (record.resolved &&
        record.text->find("synoverlay " SYNOVERLAY_VERSION " from") != std::string::npos) {
      record.generated = ids_of(render_environment(*record.resolved));
    }
    part.changes = describe_changes(record.resolved ? &*record.resolved : nullptr, env);
  });

  BuildPlan plan;
  plan.files = render_base();
  std::set<std::string> owned;
  for (std::size_t i = 0; i < environments.size(); ++i) {
    const std::string& name = environments[i].name;
    for (std::string& prefix : owned_prefixes(name)) owned.insert(std::move(prefix));
    plan.files.merge(parts[i].files);
    plan.body.push_back(name + ":");
    std::vector<std::string>& changes = parts[i].changes;
    if (changes.empty()) changes.push_back("overlay regenerated; no setting changed");
    for (const std::string& change : changes) plan.body.push_back("- " + change);
    plan.records.emplace(name, std::move(parts[i].record));
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

// Owned files whose work tree bytes differ from both HEAD (`head`: blob ids) and the new
// output: edits nobody committed, which a build would otherwise overwrite. `written` holds
// the blob ids of what a `build --no-commit` wrote.
std::vector<std::string> uncommitted_edits(const FileMap& disk, const IdMap& head,
                                           const FileMap& next,
                                           const std::map<std::string, std::string>& written = {}) {
  std::vector<std::string> edited;
  for (const auto& [path, content] : disk) {
    auto in_next = next.find(path);
    if (in_next != next.end() && in_next->second == content) continue;
    std::string id = GitRepo::blob_id(content);
    auto in_head = head.find(path);
    if (in_head != head.end() && in_head->second == id) continue;
    auto by_build = written.find(path);
    if (by_build != written.end() && by_build->second == id) continue;
    edited.push_back(path);
  }
  return edited;
}

// Files a `build --no-commit` wrote, with their blob ids, so that the next build knows them
// for its own output and not for hand edits. Kept in the git folder, never committed.
std::string written_record_path(const GitRepo& repo) {
  return repo.gitdir() + "/synoverlay-uncommitted";
}

std::map<std::string, std::string> read_written(const GitRepo& repo) {
  std::map<std::string, std::string> written;
  std::ifstream in(written_record_path(repo));
  std::string line;
  while (std::getline(in, line)) {
    std::size_t tab = line.find('\t');
    if (tab != std::string::npos) written[line.substr(tab + 1)] = line.substr(0, tab);
  }
  return written;
}

void record_written(const GitRepo& repo, const FileMap& files) {
  std::string text;
  for (const auto& [path, content] : files) text += GitRepo::blob_id(content) + "\t" + path + "\n";
  std::ofstream(written_record_path(repo), std::ios::trunc) << text;
}

// Committed overlay files that differ from what synoverlay makes of the committed record.
std::vector<std::string> committed_overlay_edits(const ResolvedEnvironment& env,
                                                 const CommittedRecord& record, const IdMap& head) {
  std::vector<std::string> edited;
  if (!record.generated) return edited;
  const IdMap& expected = *record.generated;
  for (const std::string& prefix : {"overlays/" + env.name + "/", "clusters/" + env.name + "/"}) {
    for (auto it = head.lower_bound(prefix); it != head.end() && it->first.starts_with(prefix);
         ++it) {
      auto want = expected.find(it->first);
      if (want == expected.end() || want->second != it->second) edited.push_back(it->first);
    }
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

// Added, modified and removed paths between two file sets given by blob id, as a commit
// would list them.
CommitResult compare_files(const IdMap& before, const IdMap& after) {
  CommitResult result;
  for (const auto& [path, id] : after) {
    auto it = before.find(path);
    if (it == before.end()) {
      result.added.push_back(path);
    } else if (it->second != id) {
      result.modified.push_back(path);
    }
  }
  for (const auto& [path, id] : before) {
    if (!after.contains(path)) result.removed.push_back(path);
  }
  return result;
}

std::string short_id(const std::string& id) { return id.substr(0, 12); }

int open_repository(const BuildOptions& options, Streams streams, std::optional<GitRepo>& repo) {
  std::string path = options.repo.empty() ? "." : options.repo;
  try {
    repo.emplace(GitRepo::open(path, options.repo.empty()));
    return kExitOk;
  } catch (const GitRefused& error) {
    return system_error(streams, error.what());  // a repository is there; --init cannot help
  } catch (const GitError& error) {
    if (!options.init || options.dry_run) {
      streams.err << "synoverlay: error: " << error.what() << "\n"
                  << "  hint: create it with 'git init " << path << "'"
                  << (options.dry_run ? "; a dry run creates nothing, --init included\n"
                                      : ", or add --init and synoverlay creates it\n");
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

// Prints the guards' diagnostics as report() prints validation's; true when none stops the
// build.
bool report_guards(const DiagnosticSink& sink, const Loaded& loaded, const CommonOptions& common,
                   Streams streams) {
  if (sink.empty()) return true;
  if (machine_format(common)) {
    for (Diagnostic& diagnostic : sink.sorted()) loaded.late.add(std::move(diagnostic));
    return passes(sink, common);
  }
  std::vector<Diagnostic> diagnostics = sink.sorted();
  std::ostream& target = common.format == OutputFormat::human ? streams.err : streams.out;
  render_diagnostics(target, diagnostics, loaded.sources, {common.format, common.color});
  bool ok = !sink.has_errors() && !(common.werror && sink.warning_count() != 0);
  if (!ok && common.format == OutputFormat::human) {
    streams.err << "synoverlay: the change was refused; nothing was written or committed\n";
  }
  return ok;
}

// An environment built here may not take a namespace that another environment committed
// in the repository already uses (a rename leaves the old one in place: remove it first).
void check_namespace_owners(const GitRepo& repo, const Loaded& loaded, DiagnosticSink& sink) {
  std::set<std::string> built;
  std::map<std::string, std::vector<std::size_t>> by_namespace;
  for (std::size_t i = 0; i < loaded.environments.size(); ++i) {
    built.insert(loaded.environments[i].name);
    by_namespace[loaded.environments[i].namespace_].push_back(i);
  }
  for (const auto& [name, recorded] : recorded_environments(repo, built)) {
    if (!recorded) continue;
    auto sharing = by_namespace.find(recorded->namespace_);
    if (sharing == by_namespace.end()) continue;
    for (std::size_t i : sharing->second) {
      sink.error(loaded.inputs[i].path, namespace_span(loaded.inputs[i]), "duplicate-namespace",
                 "namespace '" + recorded->namespace_ + "' is already used by environment '" +
                     name + "' in this repository",
                 "each environment needs a namespace of its own; set 'namespace', or remove '" +
                     name + "' first with 'synoverlay remove " + name + "'");
    }
  }
}

// True when version `a` ("1.2.3") is above `b`; a version that does not parse is not.
bool newer_version(const std::string& a, const std::string& b) {
  std::optional<ReleaseVersion> left = parse_release("v" + a);
  std::optional<ReleaseVersion> right = parse_release("v" + b);
  return left && right && *left > *right;
}

// Runs the guards against what HEAD holds: each environment built against its record and,
// when base/ changes, every environment recorded at HEAD against the new base. Returns
// false when the build must stop; what the flags let through goes into the commit body.
bool guard_build(const GitRepo& repo, const BuildOptions& options, const Loaded& loaded,
                 bool base_replaced, BuildPlan& plan, Streams streams) {
  DiagnosticSink sink;
  std::vector<AcceptedChange> accepted;
  for (std::size_t i = 0; i < loaded.environments.size(); ++i) {
    const ResolvedEnvironment& env = loaded.environments[i];
    const CommittedRecord& record = plan.records.at(env.name);
    if (!record.text) continue;  // never committed, so nothing runs from it yet
    if (!record.resolved) {
      sink.warning(loaded.inputs[i].path, {}, "guard-record",
                   "the committed record of '" + env.name + "' cannot be read (" + record.problem +
                       "), so the guards could not compare the change with it",
                   "compare " + record_path(env.name) + " with this file by hand");
      continue;
    }
    for (AcceptedChange& change :
         guard_environment(*record.resolved, env, loaded.inputs[i], options.guards, sink)) {
      change.summary = env.name + ": " + change.summary;
      accepted.push_back(std::move(change));
    }
  }

  check_namespace_owners(repo, loaded, sink);

  if (base_replaced) {
    FileMap committed_base = repo.read_head_tree("base/");
    for (AcceptedChange& change : guard_base(committed_base, base_part(plan.files),
                                             recorded_environments(repo), options.guards, sink)) {
      accepted.push_back(std::move(change));
    }
  }

  if (!report_guards(sink, loaded, options.common, streams)) return false;
  if (!accepted.empty()) plan.body.push_back("accepted although a running cluster rejects it:");
  for (const AcceptedChange& change : accepted) {
    plan.body.push_back("- " + change.summary);
    for (std::size_t i = 0; i < change.steps.size(); ++i) {
      plan.body.push_back("  " + std::to_string(i + 1) + ". " + change.steps[i]);
    }
  }
  return true;
}

int build_in(GitRepo& repo, const BuildOptions& options, const Loaded& loaded, Streams streams) {
  const std::vector<ResolvedEnvironment>& environments = loaded.environments;
  if (std::string state = repo.unusable_state(); !state.empty()) {
    return system_error(streams, "cannot build in " + repo.workdir() + ": " + state);
  }
  BuildPlan plan = plan_build(environments, repo);
  HeadState head = read_head_state(repo, plan.owned);
  FileMap disk = read_owned_files(repo.workdir(), plan.owned);
  check_writable(repo.workdir(), plan.files);

  if (!options.force) {
    std::string base_version = record_version(head.base_record);
    if (newer_version(base_version, SYNOVERLAY_VERSION)) {
      streams.err << "synoverlay: error: base/ was written by synoverlay " << base_version
                  << ", newer than this synoverlay " SYNOVERLAY_VERSION
                  << "; it would be replaced by an older base\n"
                  << "  hint: build with synoverlay " << base_version
                  << " or newer, or run again with --force to go back deliberately\n";
      return kExitRejected;
    }
    std::vector<std::string> base_edits = base_hand_edits_by_id(head.base, head.base_record);
    if (!base_edits.empty()) {
      return refuse_edits(streams, "base/ was edited by hand; synoverlay owns it:", base_edits,
                          "move the change into an environment file, or run again with "
                          "--force to replace base/ with synoverlay's");
    }
    for (const ResolvedEnvironment& env : environments) {
      std::vector<std::string> edits =
          committed_overlay_edits(env, plan.records.at(env.name), head.ids);
      if (!edits.empty()) {
        return refuse_edits(
            streams,
            "committed files of environment '" + env.name + "' were edited by hand:", edits,
            "put the change into " + env.source + ", or run again with --force to replace them");
      }
    }
    std::vector<std::string> edits =
        uncommitted_edits(disk, head.ids, plan.files, read_written(repo));
    if (!edits.empty()) {
      return refuse_edits(streams, "uncommitted edits in files synoverlay owns:", edits,
                          "commit or discard them ('git restore <path>'), or run again with "
                          "--force to replace them");
    }
  }
  bool base_changed = head.base != ids_of(base_part(plan.files));
  // A committed base/ that changes is checked against every recorded environment.
  bool base_replaced = base_changed && !head.base.empty();
  if (!guard_build(repo, options, loaded, base_replaced, plan, streams)) return kExitRejected;

  std::string message = commit_message(options, environments, plan, base_changed);

  if (options.dry_run) {
    CommitResult changes =
        compare_files(options.no_commit ? ids_of(disk) : head.ids, ids_of(plan.files));
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
    WriteSummary written = write_owned_files(repo.workdir(), plan.owned, plan.files, disk);
    record_written(repo, plan.files);
    CommitResult changes = compare_files(ids_of(disk), ids_of(plan.files));
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
  WriteSummary written = write_owned_files(repo.workdir(), plan.owned, plan.files, disk);
  repo.clear_pending_checkout();  // the work tree follows the commit; see repair_interrupted_build
  // Index entries the commit set have no stat data yet, nor do files just written.
  std::set<std::string> touched(written.written.begin(), written.written.end());
  touched.insert(result.added.begin(), result.added.end());
  touched.insert(result.modified.begin(), result.modified.end());
  repo.refresh_index_stat({touched.begin(), touched.end()});
  std::remove(written_record_path(repo).c_str());  // what --no-commit wrote is committed now
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

// A build under the clone's lock, so two builds in one clone take turns: first the repair of
// what a killed build left, then the build, and with --push the push (push.h). A dry run
// writes nothing and takes no lock.
int build_serialised(GitRepo& repo, const BuildOptions& options, const Loaded& loaded,
                     Streams streams) {
  if (options.dry_run) return build_in(repo, options, loaded, streams);
  std::optional<RepoLock> lock;
  try {
    std::chrono::milliseconds timeout(static_cast<long long>(options.lock_timeout * 1000));
    lock.emplace(RepoLock::acquire(repo.gitdir(), timeout, streams.err));
  } catch (const LockError& error) {
    streams.err << "synoverlay: error: " << error.what() << "\n";
    if (error.holder()) {
      streams.err << "  hint: gave up after " << options.lock_timeout << " s; wait for that "
                  << "build to finish, or wait longer with --lock-timeout SECONDS\n";
    }
    return kExitSystem;
  }
  repair_interrupted_build(repo, *lock, streams.err);
  if (!options.push) return build_in(repo, options, loaded, streams);

  PushSettings settings;
  settings.remote = options.remote;
  settings.tries = options.push_retries;
  settings.verbose = options.common.verbose;
  return build_and_push(
      repo, settings, [&] { return build_in(repo, options, loaded, streams); }, streams);
}

// Opens the repository and builds in it; every failure is an exit code.
int build_opened(const BuildOptions& options, Loaded& loaded, Streams streams) {
  std::optional<GitRepo> repo;
  if (int code = open_repository(options, streams, repo); code != kExitOk) return code;
  name_sources(loaded.environments, repo->workdir());
  try {
    return build_serialised(*repo, options, loaded, streams);
  } catch (const GitError& error) {
    return system_error(streams, error.what());
  } catch (const OutputError& error) {
    return system_error(streams, error.what());
  }
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
  // A machine format prints one document: validation's findings wait for the guards'.
  bool deferred = machine_format(options.common) && passes(loaded.sink, options.common);
  if (!deferred && !report(loaded, options.common, streams)) return kExitRejected;

  // Under a machine format stdout carries the one document; what the build did goes to
  // stderr.
  Streams build_streams =
      machine_format(options.common) ? Streams{streams.err, streams.err} : streams;
  int code = build_opened(options, loaded, build_streams);
  if (deferred) {
    for (Diagnostic& diagnostic : loaded.late.sorted()) loaded.sink.add(std::move(diagnostic));
    report(loaded, options.common, streams);
  }
  return code;
}

int run_schema(Streams streams) {
  streams.out << embedded_schema();
  return kExitOk;
}

namespace {

// The diffs of a drift report, as a patch that turns HEAD into what the files give.
void print_diffs(const DriftReport& drift, Streams streams) {
  for (const DriftedFile& file : drift.files) {
    streams.out << unified_diff(file.committed.value_or(""), file.expected.value_or(""),
                                file.committed ? "a/" + file.path : "/dev/null",
                                file.expected ? "b/" + file.path : "/dev/null");
  }
}

int check_in(const GitRepo& repo, const CheckOptions& options, Loaded& loaded, Streams streams) {
  std::map<std::string, std::string> file_of;
  for (std::size_t i = 0; i < loaded.environments.size(); ++i) {
    ResolvedEnvironment& env = loaded.environments[i];
    file_of[env.name] = loaded.inputs[i].path;
  }
  name_sources(loaded.environments, repo.workdir());
  DriftReport drift = find_drift(repo, loaded.environments);
  report_drift(drift, file_of, loaded.inputs.front().path, loaded.sink);
  if (options.common.format == OutputFormat::human) print_diffs(drift, streams);
  if (!report(loaded, options.common, streams)) return kExitRejected;
  if (options.common.format == OutputFormat::human) {
    std::string head = repo.head_id();
    streams.out << "up to date: base/";
    for (const ResolvedEnvironment& env : loaded.environments) {
      streams.out << ", overlays/" << env.name;
    }
    streams.out << " match HEAD" << (head.empty() ? "" : " (" + short_id(head) + ")") << "\n";
  }
  return kExitOk;
}

// A name that can only mean one folder under overlays/ and clusters/.
bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

int remove_in(GitRepo& repo, const RemoveOptions& options, Streams streams) {
  if (std::string state = repo.unusable_state(); !state.empty()) {
    return system_error(streams, "cannot remove in " + repo.workdir() + ": " + state);
  }
  // A build in this clone at the same time would interleave its commit and files with ours.
  std::optional<RepoLock> lock;
  try {
    lock.emplace(RepoLock::acquire(repo.gitdir(), std::chrono::seconds(60), streams.err));
  } catch (const LockError& error) {
    return system_error(streams, error.what());
  }
  std::vector<std::string> prefixes;
  std::vector<std::string> names;
  IdMap head;
  for (const std::string& name : options.names) {
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    IdMap files;
    for (std::string prefix : {"overlays/" + name + "/", "clusters/" + name + "/"}) {
      if (plain_name(name)) files.merge(repo.head_blob_ids(prefix));
      prefixes.push_back(std::move(prefix));
    }
    if (files.empty()) {
      streams.err << "synoverlay: error: no environment '" << name << "' at HEAD: neither overlays/"
                  << name << "/ nor clusters/" << name << "/ exists; nothing was removed\n";
      return kExitRejected;
    }
    names.push_back(name);
    head.merge(files);
  }

  // Removing the folders from the work tree must not take edits nobody committed with them.
  FileMap disk = read_owned_files(repo.workdir(), prefixes);
  std::vector<std::string> edits = uncommitted_edits(disk, head, {});
  if (!edits.empty()) {
    return refuse_edits(streams, "uncommitted edits in the folders to remove:", edits,
                        "commit or discard them first ('git restore <path>', or delete files "
                        "git does not track); nothing was removed");
  }

  BuildOptions identity;
  identity.author = options.author;
  Signature author, committer;
  std::string problem;
  if (!choose_signatures(identity, repo, author, committer, problem)) {
    streams.err << "synoverlay: error: " << problem << "\n";
    return kExitUsage;
  }
  std::string summary = options.message;
  if (summary.empty()) {
    summary = "synoverlay: remove ";
    for (std::size_t i = 0; i < names.size(); ++i) summary += (i ? ", " : "") + names[i];
  }
  std::string message = summary + "\n\n";
  for (const std::string& name : names) {
    message += "- " + name + ": overlays/" + name + "/ and clusters/" + name + "/ removed\n";
  }
  message += "\nSynoverlay-Version: " SYNOVERLAY_VERSION "\n";
  if (options.verbose) {
    streams.err << "synoverlay: committing on branch " << repo.current_branch() << "\n";
  }
  CommitResult result = repo.commit_owned(prefixes, {}, author, committer, message);
  write_owned_files(repo.workdir(), prefixes, {}, disk);
  repo.clear_pending_checkout();  // the work tree matches the commit: nothing to repair
  streams.out << "committed " << short_id(result.commit_id) << " on " << repo.current_branch()
              << " in " << repo.workdir() << ": " << summary << "\n";
  print_paths(streams, result);
  return kExitOk;
}

}  // namespace

int run_check(const CheckOptions& options, Streams streams) {
  Loaded loaded;
  load_all(
      options.files, [](const std::string& path) { return path; }, loaded);
  if (loaded.sink.has_errors() || loaded.environments.empty()) {
    report(loaded, options.common, streams);
    return kExitRejected;
  }
  std::string path = options.repo.empty() ? "." : options.repo;
  try {
    GitRepo repo = GitRepo::open(path, options.repo.empty());
    return check_in(repo, options, loaded, streams);
  } catch (const GitError& error) {
    report(loaded, options.common, streams);
    return system_error(streams, error.what());
  }
}

int run_remove(const RemoveOptions& options, Streams streams) {
  std::string path = options.repo.empty() ? "." : options.repo;
  try {
    GitRepo repo = GitRepo::open(path, options.repo.empty());
    return remove_in(repo, options, streams);
  } catch (const GitError& error) {
    return system_error(streams, error.what());
  } catch (const OutputError& error) {
    return system_error(streams, error.what());
  }
}

}  // namespace synoverlay
