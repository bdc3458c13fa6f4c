#pragma once
// The build's guards: changes to an environment that is already committed are compared with
// the committed state (the record each overlay keeps of its normalised environment), and
// those a running cluster rejects are refused with the steps that make them possible.
// Also here: reading those records back from HEAD, which synoverlay check uses too.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"
#include "env_model.h"
#include "git_repo.h"
#include "validate.h"

namespace synoverlay {

struct GuardOptions {
  bool accept_storage_growth = false;  // commit a larger claim template; record the steps
  bool allow_rebuild = false;          // commit changes a running deployment rejects, on purpose
  bool allow_downgrade = false;        // commit a lower Synapse or Optic release
};

// A change a running cluster rejects that the options let through, for the commit body:
// what changed, and the commands that apply it to the cluster (possibly none).
struct AcceptedChange {
  std::string summary;  // "cortex storage 100Gi -> 200Gi, with --accept-storage-growth"
  std::vector<std::string> steps;
};

// The environment an overlay's record file describes, resolved as the current synoverlay
// resolves it, with `source` taken from the record's header; nothing when the text does not
// load or validate (the first problem is put into `problem` when given).
std::optional<ResolvedEnvironment> read_record(const std::string& path, std::string_view text,
                                               std::string* problem = nullptr);

// Path of the record of environment `name`: overlays/<name>/synoverlay-record.toml.
std::string record_path(const std::string& name);

// Every environment that has a record at HEAD, by name, except those named in `skip`;
// nothing for a record that does not load or validate any more.
std::map<std::string, std::optional<ResolvedEnvironment>> recorded_environments(
    const GitRepo& repo, const std::set<std::string>& skip = {});

// The commands a person runs to grow the volume of `kind` in `env` to the size `env` asks
// for: the storage class, the PVC patch, the StatefulSet removed without its pods, the sync.
std::vector<std::string> storage_growth_steps(const ResolvedEnvironment& env, ServiceKind kind);

// Compares the committed environment `before` with `after`, built from `file`. Each change
// a running deployment rejects and `options` does not allow is an error in `sink` at the
// line of `file` that asks for it. Returns the changes the options let through.
std::vector<AcceptedChange> guard_environment(const ResolvedEnvironment& before,
                                              const ResolvedEnvironment& after,
                                              const Environment& file, const GuardOptions& options,
                                              DiagnosticSink& sink);

// Compares the StatefulSets of the committed base/ with those of the new one, in the fields
// a running cluster does not let change (volumeClaimTemplates, selector, serviceName), as
// each environment in `deployed` sees them after its overlay's patches. An environment
// without a readable record counts as using every StatefulSet. Without
// options.allow_rebuild each changed StatefulSet used by some environment is an error
// ("guard-base") naming the file and the environments; with it, the changes are returned.
std::vector<AcceptedChange> guard_base(
    const FileMap& committed_base, const FileMap& new_base,
    const std::map<std::string, std::optional<ResolvedEnvironment>>& deployed,
    const GuardOptions& options, DiagnosticSink& sink);

}  // namespace synoverlay
