#pragma once
// synoverlay check: what a repository holds at HEAD compared with what the environment
// files give now, file by file, with the reason each file differs; line-based unified diffs
// to show the difference; and the diagnostics a pull request shows.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"
#include "git_repo.h"
#include "validate.h"

namespace synoverlay {

// A unified diff from `before` to `after` with `context` lines of context and `--- `/`+++ `
// headers naming `before_name` and `after_name` ("a/overlays/dev/x.yaml", "/dev/null").
// Empty when the texts are equal. The edit script is a shortest one (Myers' algorithm) up
// to a few thousand differences between two regions, a correct but longer one beyond; a
// last line without a line break is marked "\ No newline at end of file", as diff does.
std::string unified_diff(std::string_view before, std::string_view after,
                         const std::string& before_name, const std::string& after_name,
                         int context = 3);

enum class DriftReason {
  environment_changed,  // the committed record differs from the environment file
  hand_edit,            // the record matches, the file does not
  base_hand_edit,       // a base/ file differs from the checksum its record lists
  base_other_version,   // base/ as another synoverlay wrote it
};

struct DriftedFile {
  std::string path;
  std::optional<std::string> committed;  // at HEAD; nothing when HEAD lacks the file
  std::optional<std::string> expected;   // generated now; nothing when no longer generated
  DriftReason reason = DriftReason::hand_edit;
  std::string environment;  // the environment's name; empty for base/
  std::string detail;       // base_other_version: the version that wrote base/ ("" unknown)
};

struct DriftReport {
  std::vector<DriftedFile> files;  // sorted by path
  // Folders at HEAD of environments no input produces, sorted by name: "overlays/<name>",
  // or "clusters/<name>" when only that one is left.
  std::vector<std::string> orphans;
};

// Compares HEAD of `repo` with base/ and with overlays/<name>/ and clusters/<name>/ of every
// environment as this synoverlay generates them. Folders of other environments at HEAD are
// reported as orphans.
DriftReport find_drift(const GitRepo& repo, const std::vector<ResolvedEnvironment>& environments);

// Files of HEAD's base/ (`head_base`, by full path) whose blob id differs from the one
// base/synoverlay-record.toml lists for them, or that it does not list.
std::vector<std::string> base_hand_edits(const FileMap& head_base);

// The same from the blob ids of HEAD's base/ files and the text of the record.
std::vector<std::string> base_hand_edits_by_id(const IdMap& head_base, std::string_view record);

// The synoverlay version base/synoverlay-record.toml names, or "" when there is none.
std::string base_record_version(const FileMap& head_base);
// The same from the record's text.
std::string record_version(std::string_view record);

// One diagnostic per drifted file, at line 1 of the environment file it belongs to
// (`file_of`: environment name -> path as the user gave it; base/ files go to
// `base_file`), and one warning per orphan. Rules: drift-environment, drift-hand-edit,
// drift-base, overlay-orphaned.
void report_drift(const DriftReport& report, const std::map<std::string, std::string>& file_of,
                  const std::string& base_file, DiagnosticSink& sink);

}  // namespace synoverlay
