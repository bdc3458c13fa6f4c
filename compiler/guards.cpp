#include "guards.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <utility>

#include "load_toml.h"
#include "overlay.h"
#include "quantity.h"

namespace synoverlay {
namespace {

constexpr std::string_view kRecordDir = "overlays/";

// The environment file a record names in its first line ("... from envs/dev.toml: the ...").
std::string record_source(std::string_view text) {
  std::string_view first = text.substr(0, text.find('\n'));
  std::size_t from = first.find(" from ");
  std::size_t end = first.rfind(": the normalised");
  if (from == std::string_view::npos || end == std::string_view::npos || end < from + 6) {
    return {};
  }
  return std::string(first.substr(from + 6, end - from - 6));
}

// The first position of `candidates` that is known: where the file asks for a value, else
// the table it would be in, else the environment's name.
SourceSpan first_known(std::initializer_list<SourceSpan> candidates) {
  for (const SourceSpan& span : candidates) {
    if (span.known()) return span;
  }
  return SourceSpan{{1, 0}, {}};
}

std::string quoted(const std::string& value) { return "'" + value + "'"; }

std::string class_text(const std::string& storage_class) {
  return storage_class.empty() ? "the cluster's default" : quoted(storage_class);
}

std::string numbered(const std::vector<std::string>& steps, const std::string& indent) {
  std::string out;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    out += "\n" + indent + std::to_string(i + 1) + ". " + steps[i];
  }
  return out;
}

// Compares two quantities by value; text that does not parse (never from a validated
// environment) compares as text.
int compare_quantities(const std::string& a, const std::string& b) {
  QuantityError error;
  std::optional<Quantity> qa = parse_quantity(a, error);
  std::optional<Quantity> qb = parse_quantity(b, error);
  if (!qa || !qb) return a.compare(b);
  return compare(*qa, *qb);
}

// Collects refusals and accepted changes for one environment.
class EnvironmentGuard {
 public:
  EnvironmentGuard(const ResolvedEnvironment& before, const ResolvedEnvironment& after,
                   const Environment& file, const GuardOptions& options, DiagnosticSink& sink)
      : before_(before), after_(after), file_(file), options_(options), sink_(sink) {}

  std::vector<AcceptedChange> run() {
    check_storage();
    check_storage_class();
    check_network();
    check_namespace();
    check_cluster_domain();
    check_versions();
    return std::move(accepted_);
  }

 private:
  void check_storage() {
    for (ServiceKind kind : kAllServices) {
      const ResolvedService& old_service = before_.service(kind);
      const ResolvedService& new_service = after_.service(kind);
      // Only a StatefulSet that exists on both sides is updated in place; a service switched
      // on or off is created or deleted, which Kubernetes accepts.
      if (!old_service.enabled || !new_service.enabled) continue;
      int order = compare_quantities(new_service.storage, old_service.storage);
      if (order == 0) continue;
      const ServiceSpec& spec = file_.service(kind);
      SourceSpan where = first_known({spec.storage.span, spec.table_span, file_.name.span});
      std::string name(service_name(kind));
      std::string change = name + " storage " + old_service.storage + " -> " + new_service.storage;
      if (order > 0) {
        storage_growth(kind, where, change);
        continue;
      }
      check_rebuild(true, "guard-storage-shrink", where,
                    name + " storage shrinks from " + quoted(old_service.storage) + " to " +
                        quoted(new_service.storage) + ": a volume cannot shrink",
                    change);
    }
  }

  void check_storage_class() {
    const std::string from = class_text(before_.storage_class);
    const std::string to = class_text(after_.storage_class);
    check_rebuild(before_.storage_class != after_.storage_class, "guard-storage-class",
                  first_known({file_.storage_class.span, file_.name.span}),
                  "storage class changes from " + from + " to " + to +
                      ": existing volumes keep their class, and a running StatefulSet cannot "
                      "change its volume claim template",
                  "storage class " + from + " -> " + to);
  }

  void check_network() {
    const ServiceSpec& aha = file_.service(ServiceKind::aha);
    check_rebuild(before_.network != after_.network, "guard-network",
                  first_known({aha.network.span, aha.table_span, file_.name.span}),
                  "AHA network changes from " + quoted(before_.network) + " to " +
                      quoted(after_.network) +
                      ": AHA's certificate authority and every service certificate were issued "
                      "for the network the environment was deployed with",
                  "AHA network " + before_.network + " -> " + after_.network);
  }

  void check_namespace() {
    check_rebuild(before_.namespace_ != after_.namespace_, "guard-namespace",
                  first_known({file_.namespace_.span, file_.name.span}),
                  "namespace changes from " + quoted(before_.namespace_) + " to " +
                      quoted(after_.namespace_) +
                      ": the running deployment and its volumes stay in " +
                      quoted(before_.namespace_) + ", and AHA's certificates name " +
                      quoted(before_.aha_dns_name),
                  "namespace " + before_.namespace_ + " -> " + after_.namespace_);
  }

  void check_cluster_domain() {
    check_rebuild(before_.cluster_domain != after_.cluster_domain, "guard-cluster-domain",
                  first_known({file_.cluster_domain.span, file_.name.span}),
                  "cluster domain changes from " + quoted(before_.cluster_domain) + " to " +
                      quoted(after_.cluster_domain) +
                      ": AHA's certificate and the registry URL every service stores name " +
                      quoted(before_.aha_dns_name),
                  "cluster domain " + before_.cluster_domain + " -> " + after_.cluster_domain);
  }

  void storage_growth(ServiceKind kind, SourceSpan where, const std::string& change) {
    const ResolvedService& old_service = before_.service(kind);
    const ResolvedService& new_service = after_.service(kind);
    std::string name(service_name(kind));
    std::vector<std::string> steps = storage_growth_steps(after_, kind);
    if (options_.accept_storage_growth) {
      accepted_.push_back({change +
                               ", with --accept-storage-growth; once this commit is "
                               "pushed, in namespace " +
                               after_.namespace_ + ":",
                           steps});
      return;
    }
    sink_.error(file_.path, where, "guard-storage-growth",
                name + " storage grows from " + quoted(old_service.storage) + " to " +
                    quoted(new_service.storage) + ": the running StatefulSet " + quoted(name) +
                    " cannot change its volume claim template",
                "the volume can grow in place: run again with --accept-storage-growth, which "
                "commits the change and records these steps in the commit message; once the "
                "commit is pushed, in namespace " +
                    quoted(after_.namespace_) + ":" + numbered(steps, "    "));
  }

  void check_rebuild(bool changed, const char* rule, SourceSpan where, const std::string& message,
                     const std::string& change) {
    if (!changed) return;
    if (options_.allow_rebuild) {
      accepted_.push_back({change + ", with --allow-rebuild (a deliberate rebuild)", {}});
      return;
    }
    sink_.error(file_.path, where, rule, message,
                "a new environment is the way: copy the file under a new name, build and sync "
                "it, move the data over, then run 'synoverlay remove " +
                    before_.name +
                    "'; for a deliberate rebuild of this environment, run again with "
                    "--allow-rebuild");
  }

  void check_versions() {
    std::optional<ReleaseVersion> old_release = parse_release(before_.version);
    std::optional<ReleaseVersion> new_release = parse_release(after_.version);
    if (old_release && new_release && *new_release < *old_release) {
      downgrade("version", "Synapse", before_.version, after_.version,
                first_known({file_.version.span, file_.name.span}));
    }

    // Optic's storage outlives a switched-off Optic (claims are kept), so a release recorded
    // for a disabled Optic still counts when it is switched on again.
    const ResolvedService& old_optic = before_.service(ServiceKind::optic);
    const ResolvedService& new_optic = after_.service(ServiceKind::optic);
    std::optional<ReleaseVersion> old_tag = parse_release(old_optic.tag);
    std::optional<ReleaseVersion> new_tag = parse_release(new_optic.tag);
    if (new_optic.enabled && old_tag && new_tag && *new_tag < *old_tag) {
      const ServiceSpec& spec = file_.service(ServiceKind::optic);
      downgrade("optic version", "Optic", old_optic.tag, new_optic.tag,
                first_known({spec.version.span, spec.table_span, file_.name.span}));
    }
  }

  void downgrade(const std::string& label, const std::string& product, const std::string& from,
                 const std::string& to, SourceSpan where) {
    if (options_.allow_downgrade) {
      accepted_.push_back({label + " " + from + " -> " + to + ", with --allow-downgrade", {}});
      return;
    }
    sink_.error(file_.path, where, "guard-downgrade",
                label + " goes back from " + quoted(from) + " to " + quoted(to) + ": " + product +
                    " cannot be downgraded once a newer release has touched its storage",
                "use " + quoted(from) +
                    " or newer; --allow-downgrade commits it anyway, for "
                    "storage the newer release never touched");
  }

  const ResolvedEnvironment& before_;
  const ResolvedEnvironment& after_;
  const Environment& file_;
  const GuardOptions& options_;
  DiagnosticSink& sink_;
  std::vector<AcceptedChange> accepted_;
};

// ---- base/ ---------------------------------------------------------------------------

// The fields of a StatefulSet's spec that Kubernetes refuses to update.
constexpr std::string_view kImmutableFields[] = {"volumeClaimTemplates", "selector", "serviceName"};

struct StatefulSetDoc {
  std::string path;
  YAML::Node doc;
};

// Every StatefulSet in the .yaml files of `base`, by name. Files that do not parse are
// skipped: they cannot have been deployed either.
std::map<std::string, StatefulSetDoc> statefulsets(const FileMap& base) {
  std::map<std::string, StatefulSetDoc> found;
  for (const auto& [path, content] : base) {
    if (!path.ends_with(".yaml")) continue;
    try {
      for (const YAML::Node& doc : YAML::LoadAll(content)) {
        if (!doc.IsMap() || !doc["kind"] || doc["kind"].as<std::string>("") != "StatefulSet") {
          continue;
        }
        std::string name = doc["metadata"] && doc["metadata"]["name"]
                               ? doc["metadata"]["name"].as<std::string>("")
                               : std::string();
        found[name] = {path, doc};
      }
    } catch (const YAML::Exception&) {
      continue;
    }
  }
  return found;
}

// A text for a YAML value that is equal exactly when the values are: mapping keys sorted
// (their order means nothing to Kubernetes), every scalar quoted.
void canonical(const YAML::Node& node, std::string& out) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::map<std::string, YAML::Node> entries;
      for (const auto& entry : node) entries[entry.first.as<std::string>("")] = entry.second;
      out += '{';
      for (const auto& [key, value] : entries) {
        out += '"' + key + "\":";
        canonical(value, out);
        out += ',';
      }
      out += '}';
      break;
    }
    case YAML::NodeType::Sequence:
      out += '[';
      for (const YAML::Node& item : node) {
        canonical(item, out);
        out += ',';
      }
      out += ']';
      break;
    case YAML::NodeType::Scalar:
      out += '"' + node.Scalar() + '"';
      break;
    default:
      out += "null";
      break;
  }
}

// The immutable field `field` of `sts` as the cluster sees it for an environment: the
// overlay replaces the first claim template's size always, and its storage class when the
// environment names one, so the base's values there never reach the cluster.
std::string effective_field(const YAML::Node& sts, std::string_view field, bool own_class) {
  YAML::Node spec = sts["spec"];
  if (!spec || !spec.IsMap() || !spec[std::string(field)]) return "absent";
  YAML::Node value = YAML::Clone(spec[std::string(field)]);
  if (field == "volumeClaimTemplates" && value.IsSequence() && value.size() > 0) {
    YAML::Node claim = value[0]["spec"];
    if (claim && claim.IsMap()) {
      if (claim["resources"] && claim["resources"]["requests"] &&
          claim["resources"]["requests"].IsMap()) {
        claim["resources"]["requests"].remove("storage");
      }
      if (own_class) claim.remove("storageClassName");
    }
  }
  std::string text;
  canonical(value, text);
  return text;
}

bool uses_statefulset(const std::optional<ResolvedEnvironment>& env, const std::string& name) {
  if (!env) return true;
  for (const ResolvedService& service : env->services) {
    if (service_name(service.kind) == name) return service.enabled;
  }
  return true;  // not a service's StatefulSet: every environment has it
}

std::string join(const std::vector<std::string>& items, const std::string& last_separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += i + 1 == items.size() ? last_separator : ", ";
    out += items[i];
  }
  return out;
}

// One StatefulSet of base/ whose immutable fields change for some deployed environment.
struct BaseChange {
  std::string path;
  std::string name;
  std::set<std::string_view> fields;
  std::vector<std::string> environments;
  std::vector<std::string> commands;  // one per environment
};

std::optional<BaseChange> compare_statefulset(
    const std::string& name, const StatefulSetDoc& old_sts, const StatefulSetDoc& new_sts,
    const std::map<std::string, std::optional<ResolvedEnvironment>>& deployed) {
  BaseChange change{new_sts.path, name, {}, {}, {}};
  for (const auto& [env_name, env] : deployed) {
    if (!uses_statefulset(env, name)) continue;
    bool own_class = env && !env->storage_class.empty();
    bool changed = false;
    for (std::string_view field : kImmutableFields) {
      if (effective_field(old_sts.doc, field, own_class) !=
          effective_field(new_sts.doc, field, own_class)) {
        change.fields.insert(field);
        changed = true;
      }
    }
    if (!changed) continue;
    change.environments.push_back(env_name);
    std::string ns = env ? env->namespace_ : "<namespace of " + env_name + ">";
    change.commands.push_back(env_name + ": kubectl -n " + ns + " delete sts " + name +
                              " --cascade=orphan");
  }
  if (change.environments.empty()) return std::nullopt;
  return change;
}

}  // namespace

std::string record_path(const std::string& name) {
  return std::string(kRecordDir) + name + "/" + std::string(kRecordFile);
}

std::optional<ResolvedEnvironment> read_record(const std::string& path, std::string_view text,
                                               std::string* problem) {
  DiagnosticSink sink;
  std::optional<Environment> env = load_environment(path, text, sink);
  std::optional<ResolvedEnvironment> resolved;
  if (env && !sink.has_errors()) resolved = validate_environment(*env, record_source(text), sink);
  if (!resolved && problem != nullptr) {
    for (const Diagnostic& d : sink.sorted()) {
      if (d.severity != Severity::error) continue;
      *problem = d.message;
      break;
    }
  }
  return resolved;
}

std::map<std::string, std::optional<ResolvedEnvironment>> recorded_environments(
    const GitRepo& repo, const std::set<std::string>& skip) {
  std::map<std::string, std::optional<ResolvedEnvironment>> found;
  for (const auto& [path, id] : repo.head_blob_ids(kRecordDir)) {
    std::string_view rest = std::string_view(path).substr(kRecordDir.size());
    std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos || rest.substr(slash + 1) != kRecordFile) continue;
    std::string name(rest.substr(0, slash));
    if (skip.contains(name)) continue;
    std::optional<std::string> content = repo.read_head_file(path);
    found[name] = content ? read_record(path, *content) : std::nullopt;
  }
  return found;
}

std::vector<std::string> storage_growth_steps(const ResolvedEnvironment& env, ServiceKind kind) {
  const std::string name(service_name(kind));
  const std::string pvc = "storage-" + name + "-0";
  const std::string& ns = env.namespace_;
  std::string app = "synapse-" + env.name;
  std::string argocd = "argocd app sync " + app;
  if (env.gitops && env.argocd_namespace != "argocd") argocd += " -N " + env.argocd_namespace;
  std::string flux = "flux reconcile kustomization " + app + " --with-source";
  if (env.gitops && env.flux_namespace != "flux-system") flux += " -n " + env.flux_namespace;
  std::string sync = "sync: " + argocd + " (Argo CD) or " + flux + " (Flux)";
  if (env.gitops) sync = "sync: " + (env.gitops_engine == "flux" ? flux : argocd);

  return {
      "the StorageClass of PVC " + pvc + " (" + class_text(env.storage_class) +
          ") must have allowVolumeExpansion: true",
      "kubectl -n " + ns + " patch pvc " + pvc +
          " -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"" +
          env.service(kind).storage + "\"}}}}'",
      "kubectl -n " + ns + " delete sts " + name + " --cascade=orphan",
      sync,
  };
}

std::vector<AcceptedChange> guard_environment(const ResolvedEnvironment& before,
                                              const ResolvedEnvironment& after,
                                              const Environment& file, const GuardOptions& options,
                                              DiagnosticSink& sink) {
  return EnvironmentGuard(before, after, file, options, sink).run();
}

std::vector<AcceptedChange> guard_base(
    const FileMap& committed_base, const FileMap& new_base,
    const std::map<std::string, std::optional<ResolvedEnvironment>>& deployed,
    const GuardOptions& options, DiagnosticSink& sink) {
  std::vector<AcceptedChange> accepted;
  std::map<std::string, StatefulSetDoc> old_sets = statefulsets(committed_base);
  std::map<std::string, StatefulSetDoc> new_sets = statefulsets(new_base);
  for (const auto& [name, old_sts] : old_sets) {
    auto next = new_sets.find(name);
    if (next == new_sets.end()) continue;
    std::optional<BaseChange> change = compare_statefulset(name, old_sts, next->second, deployed);
    if (!change) continue;

    std::vector<std::string> fields(change->fields.begin(), change->fields.end());
    std::string what = change->path + ": this synoverlay changes the " + join(fields, " and ") +
                       " of StatefulSet " + quoted(name);
    if (change->fields.contains("selector")) {
      change->commands.push_back("the selector changes: after each of these, also delete pod " +
                                 name +
                                 "-0, so that the new StatefulSet recreates it on the "
                                 "same volume");
    }
    std::string steps;
    for (const std::string& command : change->commands) steps += "\n    " + command;
    if (options.allow_rebuild) {
      accepted.push_back({what + ", with --allow-rebuild; once this commit is pushed, recreate "
                                 "it without its pods, then sync:",
                          change->commands});
      continue;
    }
    sink.error({}, {}, "guard-base",
               what + ", which a running cluster rejects; environments using it: " +
                   join(change->environments, " and "),
               "keep building these environments with the synoverlay that wrote base/, or run "
               "again with --allow-rebuild and, once the commit is pushed, recreate the "
               "StatefulSet without its pods, then sync:" +
                   steps);
  }
  return accepted;
}

}  // namespace synoverlay
