#pragma once
// Stage 3: ResolvedEnvironment -> the files of a GitOps repository, in memory (no I/O).
// The base comes from the files embedded at build time; each environment gets
// overlays/<name>/ (kustomization, patches, the record of its normalised environment) and,
// with a [gitops] table, clusters/<name>/ with the engine's own manifests.

#include <string>
#include <utility>
#include <vector>

#include "git_repo.h"
#include "validate.h"

namespace synoverlay {

// Name of the file in overlays/<name>/ that records the normalised environment.
inline constexpr std::string_view kRecordFile = "synoverlay-record.toml";
// Name of the file in base/ that records the synoverlay version and each file's blob id.
inline constexpr std::string_view kBaseRecordFile = "base/synoverlay-record.toml";

// The files synoverlay owns for `env`: the folders a build replaces as a whole.
std::vector<std::string> owned_prefixes(const std::string& env_name);

// base/ as this synoverlay writes it, including its record.
FileMap render_base();

// overlays/<name>/ and clusters/<name>/ for one environment.
FileMap render_environment(const ResolvedEnvironment& env);

// The normalised environment as a TOML environment file: every effective value, defaults
// included. Loading and validating it gives back the same environment.
std::string render_record(const ResolvedEnvironment& env);

// The environment as (label, value) pairs a reviewer reads ("cortex storage", "200Gi"),
// used to say in a commit message what changed.
std::vector<std::pair<std::string, std::string>> describe(const ResolvedEnvironment& env);

// Lines such as "cortex storage 100Gi -> 200Gi" for every difference.
std::vector<std::string> describe_changes(const ResolvedEnvironment* before,
                                          const ResolvedEnvironment& after);

}  // namespace synoverlay
