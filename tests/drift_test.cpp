// synoverlay check's pieces: the unified diff (exact output, and on random texts a patch
// that applies and is a shortest one), and find_drift / report_drift against real
// repositories in fresh folders under /tmp.

#include "drift.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "guards.h"
#include "load_toml.h"
#include "overlay.h"
#include "test_support.h"

namespace synoverlay {
namespace {

using testing::read_file;
using testing::shell_quote;
using testing::TempDir;
using testing::write_file;

namespace fs = std::filesystem;

// ---- unified_diff ----------------------------------------------------------------------

std::string numbered_lines(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += "line " + std::to_string(i) + "\n";
  return out;
}

std::string replace_line(std::string text, int number, const std::string& with) {
  std::string old = "line " + std::to_string(number) + "\n";
  std::size_t at = text.find(old);
  REQUIRE(at != std::string::npos);
  return text.replace(at, old.size(), with);
}

TEST_CASE("unified_diff: equal texts give nothing") {
  CHECK(unified_diff("", "", "a/x", "b/x").empty());
  CHECK(unified_diff("same\n", "same\n", "a/x", "b/x").empty());
}

TEST_CASE("unified_diff: one changed line with three lines of context") {
  std::string before = numbered_lines(1, 10);
  std::string after = replace_line(before, 5, "line five\n");
  CHECK(unified_diff(before, after, "a/f.yaml", "b/f.yaml") ==
        "--- a/f.yaml\n"
        "+++ b/f.yaml\n"
        "@@ -2,7 +2,7 @@\n"
        " line 2\n"
        " line 3\n"
        " line 4\n"
        "-line 5\n"
        "+line five\n"
        " line 6\n"
        " line 7\n"
        " line 8\n");
}

TEST_CASE("unified_diff: new and deleted files, and one-line ranges") {
  CHECK(unified_diff("", "a\nb\n", "/dev/null", "b/new") ==
        "--- /dev/null\n+++ b/new\n@@ -0,0 +1,2 @@\n+a\n+b\n");
  CHECK(unified_diff("a\nb\n", "", "a/old", "/dev/null") ==
        "--- a/old\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n");
  CHECK(unified_diff("x\n", "y\n", "a/f", "b/f") == "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n+y\n");
  // An insertion between lines 1 and 2 of a one-line-context diff.
  CHECK(unified_diff("a\nb\n", "a\nnew\nb\n", "a/f", "b/f", 1) ==
        "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n+new\n b\n");
  CHECK(unified_diff("a\nb\nc\n", "a\nc\n", "a/f", "b/f", 0) ==
        "--- a/f\n+++ b/f\n@@ -2 +1,0 @@\n-b\n");
}

TEST_CASE("unified_diff: a last line without a line break is marked") {
  CHECK(unified_diff("a\nb", "a\nb\n", "a/f", "b/f") ==
        "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
  CHECK(unified_diff("a\n", "a\nc", "a/f", "b/f") ==
        "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+c\n\\ No newline at end of file\n");
}

TEST_CASE("unified_diff: changes at most two contexts apart share a hunk") {
  std::string before = numbered_lines(1, 30);
  // Six unchanged lines (5..10) between the changes: one hunk.
  std::string near = replace_line(replace_line(before, 4, "four\n"), 11, "eleven\n");
  CHECK(unified_diff(before, near, "a/f", "b/f") ==
        "--- a/f\n+++ b/f\n"
        "@@ -1,14 +1,14 @@\n"
        " line 1\n line 2\n line 3\n-line 4\n+four\n"
        " line 5\n line 6\n line 7\n line 8\n line 9\n line 10\n"
        "-line 11\n+eleven\n line 12\n line 13\n line 14\n");
  // Seven unchanged lines (5..11): two hunks.
  std::string far = replace_line(replace_line(before, 4, "four\n"), 12, "twelve\n");
  CHECK(unified_diff(before, far, "a/f", "b/f") ==
        "--- a/f\n+++ b/f\n"
        "@@ -1,7 +1,7 @@\n"
        " line 1\n line 2\n line 3\n-line 4\n+four\n line 5\n line 6\n line 7\n"
        "@@ -9,7 +9,7 @@\n"
        " line 9\n line 10\n line 11\n-line 12\n+twelve\n line 13\n line 14\n line 15\n");
}

// Applies a unified diff made by unified_diff to `before`; throws when it does not fit.
std::string apply_patch(const std::string& before, const std::string& patch) {
  std::vector<std::string> old_lines;
  std::istringstream in(before);
  for (std::string line; std::getline(in, line);) old_lines.push_back(line);
  std::vector<std::string> out;
  std::size_t next_old = 0;
  std::istringstream lines(patch);
  std::string line;
  std::getline(lines, line);  // ---
  std::getline(lines, line);  // +++
  while (std::getline(lines, line)) {
    if (line.starts_with("@@")) {
      int start = std::stoi(line.substr(4));
      std::size_t comma = line.find(',');
      std::size_t space = line.find(' ', 4);
      int count =
          comma != std::string::npos && comma < space ? std::stoi(line.substr(comma + 1)) : 1;
      std::size_t first =
          count == 0 ? static_cast<std::size_t>(start) : static_cast<std::size_t>(start - 1);
      if (first < next_old) throw std::runtime_error("hunks overlap");
      while (next_old < first) out.push_back(old_lines.at(next_old++));
    } else if (line.starts_with("\\")) {
      continue;
    } else if (line[0] == ' ' || line[0] == '-') {
      if (old_lines.at(next_old) != line.substr(1)) throw std::runtime_error("no match");
      if (line[0] == ' ') out.push_back(line.substr(1));
      ++next_old;
    } else if (line[0] == '+') {
      out.push_back(line.substr(1));
    }
  }
  while (next_old < old_lines.size()) out.push_back(old_lines[next_old++]);
  std::string text;
  for (const std::string& l : out) text += l + "\n";
  return text;
}

std::size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<std::size_t>> table(a.size() + 1,
                                              std::vector<std::size_t>(b.size() + 1, 0));
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      table[i][j] = a[i - 1] == b[j - 1] ? table[i - 1][j - 1] + 1
                                         : std::max(table[i - 1][j], table[i][j - 1]);
    }
  }
  return table[a.size()][b.size()];
}

TEST_CASE("unified_diff: on random texts the patch applies and changes as few lines as can be") {
  std::mt19937 random(20240611);
  for (int round = 0; round < 400; ++round) {
    auto make = [&](std::size_t size) {
      std::vector<std::string> lines;
      std::uniform_int_distribution<int> letter(0, round % 2 == 0 ? 2 : 6);
      for (std::size_t i = 0; i < size; ++i) lines.push_back(std::string(1, 'a' + letter(random)));
      return lines;
    };
    std::uniform_int_distribution<std::size_t> size(0, 40);
    std::vector<std::string> a = make(size(random)), b = make(size(random));
    std::string before, after;
    for (const std::string& l : a) before += l + "\n";
    for (const std::string& l : b) after += l + "\n";
    int context = static_cast<int>(round % 4);
    std::string patch = unified_diff(before, after, "a/f", "b/f", context);
    CAPTURE(before);
    CAPTURE(after);
    CAPTURE(patch);
    CHECK(apply_patch(before, patch) == after);
    std::size_t changed = 0;
    std::istringstream lines(patch);
    std::string line;
    std::getline(lines, line);
    std::getline(lines, line);
    while (std::getline(lines, line)) changed += line[0] == '+' || line[0] == '-';
    CHECK(changed == a.size() + b.size() - 2 * lcs_length(a, b));
  }
}

TEST_CASE("unified_diff: large unrelated files still give a patch that applies") {
  std::string before, after;
  for (int i = 0; i < 20000; ++i) {
    before += "old " + std::to_string(i) + "\n";
    after += "new " + std::to_string(i) + "\n";
  }
  after.insert(after.size() / 2, before.substr(0, 600));
  std::string patch = unified_diff(before, after, "a/f", "b/f");
  CHECK(apply_patch(before, patch) == after);
}

// ---- find_drift and report_drift against a real repository ------------------------------

ResolvedEnvironment resolve(std::string_view text) {
  DiagnosticSink sink;
  std::optional<Environment> env = load_environment("envs/dev.toml", text, sink);
  REQUIRE(env.has_value());
  std::optional<ResolvedEnvironment> resolved = validate_environment(*env, "envs/dev.toml", sink);
  REQUIRE(resolved.has_value());
  return *resolved;
}

constexpr std::string_view kDev = R"(name = "dev"
namespace = "synapse-dev"
version = "v2.233.0"

[cortex]
storage = "100Gi"
)";

const Signature kWho{"Test", "test@example.invalid", 1700000000, 0};

// Commits `files` replacing everything under `prefixes`.
void commit(GitRepo& repo, const std::vector<std::string>& prefixes, const FileMap& files) {
  repo.commit_owned(prefixes, files, kWho, kWho, "test commit\n");
}

// A repository holding a build of `env`: base/ and its overlay.
void commit_build(GitRepo& repo, const ResolvedEnvironment& env) {
  FileMap files = render_base();
  FileMap overlay = render_environment(env);
  files.insert(overlay.begin(), overlay.end());
  commit(repo, owned_prefixes(env.name), files);
}

std::vector<std::string> paths_of(const DriftReport& report) {
  std::vector<std::string> paths;
  for (const DriftedFile& file : report.files) paths.push_back(file.path);
  return paths;
}

TEST_CASE("find_drift: a fresh build is up to date") {
  TempDir dir;
  GitRepo repo = GitRepo::init(dir.path());
  ResolvedEnvironment env = resolve(kDev);
  commit_build(repo, env);
  DriftReport report = find_drift(repo, {env});
  CHECK(report.files.empty());
  CHECK(report.orphans.empty());
}

TEST_CASE("find_drift: an empty repository lacks everything") {
  TempDir dir;
  GitRepo repo = GitRepo::init(dir.path());
  ResolvedEnvironment env = resolve(kDev);
  DriftReport report = find_drift(repo, {env});
  REQUIRE_FALSE(report.files.empty());
  for (const DriftedFile& file : report.files) {
    CHECK_FALSE(file.committed.has_value());
    CHECK(file.expected.has_value());
    bool base = file.path.starts_with("base/");
    CHECK(file.reason ==
          (base ? DriftReason::base_other_version : DriftReason::environment_changed));
    CHECK(file.detail.empty());
  }
}

TEST_CASE("find_drift: an environment file changed without a build") {
  TempDir dir;
  GitRepo repo = GitRepo::init(dir.path());
  commit_build(repo, resolve(kDev));
  std::string changed(kDev);
  changed.replace(changed.find("100Gi"), 5, "200Gi");
  DriftReport report = find_drift(repo, {resolve(changed)});
  CHECK(paths_of(report) == std::vector<std::string>{"overlays/dev/cortex-storage.yaml",
                                                     "overlays/dev/synoverlay-record.toml"});
  for (const DriftedFile& file : report.files) {
    CHECK(file.reason == DriftReason::environment_changed);
    CHECK(file.environment == "dev");
  }
}

TEST_CASE("find_drift: a hand edit of a committed overlay file") {
  TempDir dir;
  GitRepo repo = GitRepo::init(dir.path());
  ResolvedEnvironment env = resolve(kDev);
  commit_build(repo, env);
  FileMap files = repo.read_head_tree("overlays/dev/");
  files["overlays/dev/cortex.yaml"] += "# a note\n";
  files["overlays/dev/extra.yaml"] = "x: 1\n";
  commit(repo, {"overlays/dev/"}, files);

  DriftReport report = find_drift(repo, {env});
  CHECK(paths_of(report) ==
        std::vector<std::string>{"overlays/dev/cortex.yaml", "overlays/dev/extra.yaml"});
  for (const DriftedFile& file : report.files) CHECK(file.reason == DriftReason::hand_edit);
  CHECK_FALSE(report.files[1].expected.has_value());
}

TEST_CASE("find_drift: base/ edited by hand or written by another synoverlay") {
  TempDir dir;
  GitRepo repo = GitRepo::init(dir.path());
  ResolvedEnvironment env = resolve(kDev);
  commit_build(repo, env);
  FileMap base = repo.read_head_tree("base/");
  base["base/aha/service.yaml"] += "# hand edit\n";
  commit(repo, {"base/"}, base);

  DriftReport edited = find_drift(repo, {env});
  REQUIRE(edited.files.size() == 1);
  CHECK(edited.files[0].path == "base/aha/service.yaml");
  CHECK(edited.files[0].reason == DriftReason::base_hand_edit);
  CHECK(base_hand_edits(base) == std::vector<std::string>{"base/aha/service.yaml"});

  // The same change with a record that lists it: another synoverlay's base/.
  std::string& record = base[std::string(kBaseRecordFile)];
  std::string old_id = GitRepo::blob_id(render_base()["base/aha/service.yaml"]);
  record.replace(record.find(old_id), old_id.size(),
                 GitRepo::blob_id(base["base/aha/service.yaml"]));
  record.replace(record.find("synoverlay = \"" SYNOVERLAY_VERSION "\""),
                 std::string_view("synoverlay = \"" SYNOVERLAY_VERSION "\"").size(),
                 "synoverlay = \"0.0.1\"");
  commit(repo, {"base/"}, base);
  CHECK(base_hand_edits(base).empty());
  CHECK(base_record_version(base) == "0.0.1");
  DriftReport older = find_drift(repo, {env});
  CHECK(paths_of(older) ==
        std::vector<std::string>{"base/aha/service.yaml", "base/synoverlay-record.toml"});
  for (const DriftedFile& file : older.files) {
    CHECK(file.reason == DriftReason::base_other_version);
    CHECK(file.detail == "0.0.1");
  }
}

TEST_CASE("find_drift: folders no given environment produces are orphans") {
  TempDir dir;
  GitRepo repo = GitRepo::init(dir.path());
  ResolvedEnvironment env = resolve(kDev);
  commit_build(repo, env);
  commit(repo, {"overlays/old/", "clusters/gone/"},
         {{"overlays/old/kustomization.yaml", "x\n"}, {"clusters/gone/app.yaml", "y\n"}});
  DriftReport report = find_drift(repo, {env});
  CHECK(report.files.empty());
  CHECK(report.orphans == std::vector<std::string>{"clusters/gone", "overlays/old"});
}

TEST_CASE("report_drift: one diagnostic per file at line 1 of its environment file") {
  DriftReport report;
  report.files = {
      {"base/aha/service.yaml", "a", "b", DriftReason::base_hand_edit, "", ""},
      {"base/synoverlay-record.toml", "a", "b", DriftReason::base_other_version, "", "0.0.1"},
      {"overlays/dev/cortex.yaml", "a", "b", DriftReason::hand_edit, "dev", ""},
      {"overlays/dev/new.yaml", std::nullopt, "b", DriftReason::environment_changed, "dev", ""},
      {"overlays/dev/old.yaml", "a", std::nullopt, DriftReason::environment_changed, "dev", ""},
  };
  report.orphans = {"overlays/old"};
  DiagnosticSink sink;
  report_drift(report, {{"dev", "envs/dev.toml"}}, "envs/a.toml", sink);
  std::vector<Diagnostic> found = sink.sorted();
  REQUIRE(found.size() == 6);

  CHECK(found[0].file.empty());
  CHECK(found[0].severity == Severity::warning);
  CHECK(found[0].rule == "overlay-orphaned");
  CHECK(found[0].message ==
        "overlays/old has no environment file in this run; remove it with 'synoverlay remove "
        "old'");
  CHECK(found[0].hint ==
        "this is only meaningful when every environment file of the repository is given to "
        "synoverlay check");

  CHECK(found[1].file == "envs/a.toml");
  CHECK(found[1].span.begin.line == 1);
  CHECK(found[1].rule == "drift-base");
  CHECK(found[1].message ==
        "base/aha/service.yaml differs from HEAD: base/ differs from this synoverlay's: hand "
        "edit (the file is not the one base/synoverlay-record.toml lists)");
  CHECK(found[2].rule == "drift-base");
  CHECK(found[2].message ==
        "base/synoverlay-record.toml differs from HEAD: base/ differs from this synoverlay's "
        "(" SYNOVERLAY_VERSION "): written by synoverlay 0.0.1");

  CHECK(found[3].file == "envs/dev.toml");
  CHECK(found[3].rule == "drift-hand-edit");
  CHECK(found[3].message ==
        "overlays/dev/cortex.yaml differs from HEAD: hand edit (the committed record matches "
        "envs/dev.toml, the file does not)");
  CHECK(found[3].hint ==
        "move the change into envs/dev.toml and build, or restore the file with 'synoverlay "
        "build --force envs/dev.toml'");
  CHECK(found[4].rule == "drift-environment");
  CHECK(found[4].message ==
        "overlays/dev/new.yaml is not at HEAD: environment file changed without a build");
  CHECK(found[4].hint ==
        "run 'synoverlay build envs/dev.toml' and commit its result with the change");
  CHECK(found[5].message ==
        "overlays/dev/old.yaml is at HEAD but no longer generated: environment file changed "
        "without a build");
  for (std::size_t i = 1; i < found.size(); ++i) CHECK(found[i].severity == Severity::error);
}

}  // namespace
}  // namespace synoverlay
