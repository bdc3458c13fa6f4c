// The build's guards on in-memory environments: every refusal with its exact message, line
// and hint, what each flag lets through, and the base/ StatefulSet comparison.

#include "guards.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "load_toml.h"
#include "overlay.h"

namespace synoverlay {
namespace {

constexpr std::string_view kPath = "envs/dev.toml";

constexpr std::string_view kCommitted = R"(name = "dev"
namespace = "synapse-dev"
version = "v2.233.0"

[cortex]
storage = "100Gi"
)";

struct Parsed {
  Environment file;
  ResolvedEnvironment resolved;
};

Parsed parse(std::string_view text) {
  DiagnosticSink sink;
  std::optional<Environment> env = load_environment(std::string(kPath), text, sink);
  REQUIRE(env.has_value());
  std::optional<ResolvedEnvironment> resolved =
      validate_environment(*env, std::string(kPath), sink);
  REQUIRE(resolved.has_value());
  REQUIRE_FALSE(sink.has_errors());
  return {*env, *resolved};
}

// Guards `after` (TOML) against `before` (TOML) and returns the diagnostics, sorted.
struct Outcome {
  std::vector<Diagnostic> diagnostics;
  std::vector<AcceptedChange> accepted;
};

Outcome guard(std::string_view before, std::string_view after, GuardOptions options = {}) {
  Parsed old_env = parse(before);
  Parsed new_env = parse(after);
  DiagnosticSink sink;
  Outcome outcome;
  outcome.accepted =
      guard_environment(old_env.resolved, new_env.resolved, new_env.file, options, sink);
  outcome.diagnostics = sink.sorted();
  return outcome;
}

std::string with(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  std::size_t at = out.find(from);
  REQUIRE(at != std::string::npos);
  out.replace(at, from.size(), to);
  return out;
}

const std::string kRebuildHint =
    "a new environment is the way: copy the file under a new name, build and sync it, move "
    "the data over, then run 'synoverlay remove dev'; for a deliberate rebuild of this "
    "environment, run again with --allow-rebuild";

void expect_one(const Outcome& outcome, std::string_view rule, std::uint32_t line,
                std::uint32_t column, std::string_view message) {
  REQUIRE(outcome.diagnostics.size() == 1);
  const Diagnostic& d = outcome.diagnostics[0];
  CHECK(d.file == kPath);
  CHECK(d.severity == Severity::error);
  CHECK(d.rule == rule);
  CHECK(d.span.begin.line == line);
  CHECK(d.span.begin.column == column);
  CHECK(d.message == message);
}

TEST_CASE("guards: an unchanged environment and harmless changes pass") {
  CHECK(guard(kCommitted, kCommitted).diagnostics.empty());

  // Sizes of CPU and memory, a newer release and the same size spelled otherwise are fine.
  std::string after = with(kCommitted, "storage = \"100Gi\"",
                           "storage = \"102400Mi\"\nrequests = { cpu = \"1\", memory = \"2Gi\" }");
  after = with(after, "v2.233.0", "v2.240.1");
  Outcome outcome = guard(kCommitted, after);
  CHECK(outcome.diagnostics.empty());
  CHECK(outcome.accepted.empty());
}

TEST_CASE("guards: storage growth is refused with the steps for that environment") {
  Outcome outcome = guard(kCommitted, with(kCommitted, "100Gi", "200Gi"));
  expect_one(outcome, "guard-storage-growth", 6, 11,
             "cortex storage grows from '100Gi' to '200Gi': the running StatefulSet 'cortex' "
             "cannot change its volume claim template");
  CHECK(outcome.diagnostics[0].hint ==
        "the volume can grow in place: run again with --accept-storage-growth, which commits "
        "the change and records these steps in the commit message; once the commit is pushed, "
        "in namespace 'synapse-dev':\n"
        "    1. the StorageClass of PVC storage-cortex-0 (the cluster's default) must have "
        "allowVolumeExpansion: true\n"
        "    2. kubectl -n synapse-dev patch pvc storage-cortex-0 -p "
        "'{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"200Gi\"}}}}'\n"
        "    3. kubectl -n synapse-dev delete sts cortex --cascade=orphan\n"
        "    4. sync: argocd app sync synapse-dev (Argo CD) or flux reconcile kustomization "
        "synapse-dev --with-source (Flux)");
}

TEST_CASE("guards: a default size that grows points at the service's table or the name") {
  // With the storage key removed the service's table is the place to point at, and with
  // the table gone too, the environment's name.
  std::string before = std::string(kCommitted) + "\n[aha]\nstorage = \"5Gi\"\n";
  std::string after = std::string(kCommitted) + "\n[aha]\nnetwork = \"dev.synapse\"\n";
  Outcome shrink = guard(before, after);
  expect_one(shrink, "guard-storage-shrink", 8, 1,
             "aha storage shrinks from '5Gi' to '2Gi': a volume cannot shrink");

  Outcome gone = guard(kCommitted, with(kCommitted, "\n[cortex]\nstorage = \"100Gi\"\n", "\n"));
  expect_one(gone, "guard-storage-shrink", 1, 8,
             "cortex storage shrinks from '100Gi' to '50Gi': a volume cannot shrink");
}

TEST_CASE("guards: --accept-storage-growth lets growth through and returns the steps") {
  GuardOptions options;
  options.accept_storage_growth = true;
  Outcome outcome = guard(kCommitted, with(kCommitted, "100Gi", "0.25Ti"), options);
  CHECK(outcome.diagnostics.empty());
  REQUIRE(outcome.accepted.size() == 1);
  CHECK(outcome.accepted[0].summary ==
        "cortex storage 100Gi -> 256Gi, with --accept-storage-growth; once this commit is "
        "pushed, in namespace synapse-dev:");
  CHECK(outcome.accepted[0].steps ==
        std::vector<std::string>{
            "the StorageClass of PVC storage-cortex-0 (the cluster's default) must have "
            "allowVolumeExpansion: true",
            "kubectl -n synapse-dev patch pvc storage-cortex-0 -p "
            "'{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"256Gi\"}}}}'",
            "kubectl -n synapse-dev delete sts cortex --cascade=orphan",
            "sync: argocd app sync synapse-dev (Argo CD) or flux reconcile kustomization "
            "synapse-dev --with-source (Flux)"});

  // Growth is not a rebuild, and a rebuild flag does not let growth through.
  GuardOptions rebuild;
  rebuild.allow_rebuild = true;
  CHECK(guard(kCommitted, with(kCommitted, "100Gi", "200Gi"), rebuild).diagnostics.size() == 1);
}

TEST_CASE("guards: storage shrink is refused; a new environment is the way") {
  Outcome outcome = guard(kCommitted, with(kCommitted, "100Gi", "99Gi"));
  expect_one(outcome, "guard-storage-shrink", 6, 11,
             "cortex storage shrinks from '100Gi' to '99Gi': a volume cannot shrink");
  CHECK(outcome.diagnostics[0].hint == kRebuildHint);

  GuardOptions growth;
  growth.accept_storage_growth = true;
  CHECK(guard(kCommitted, with(kCommitted, "100Gi", "99Gi"), growth).diagnostics.size() == 1);

  GuardOptions rebuild;
  rebuild.allow_rebuild = true;
  Outcome accepted = guard(kCommitted, with(kCommitted, "100Gi", "99Gi"), rebuild);
  CHECK(accepted.diagnostics.empty());
  REQUIRE(accepted.accepted.size() == 1);
  CHECK(accepted.accepted[0].summary ==
        "cortex storage 100Gi -> 99Gi, with --allow-rebuild (a deliberate rebuild)");
  CHECK(accepted.accepted[0].steps.empty());
}

TEST_CASE("guards: a changed storage class is refused, in both directions") {
  std::string fast = with(kCommitted, "version = \"v2.233.0\"\n",
                          "version = \"v2.233.0\"\nstorage_class = \"fast\"\n");
  Outcome named = guard(kCommitted, fast);
  expect_one(named, "guard-storage-class", 4, 17,
             "storage class changes from the cluster's default to 'fast': existing volumes keep "
             "their class, and a running StatefulSet cannot change its volume claim template");
  CHECK(named.diagnostics[0].hint == kRebuildHint);

  // Back to the default: the key is gone, so the name's line is where to look.
  Outcome removed = guard(fast, kCommitted);
  expect_one(removed, "guard-storage-class", 1, 8,
             "storage class changes from 'fast' to the cluster's default: existing volumes keep "
             "their class, and a running StatefulSet cannot change its volume claim template");
}

TEST_CASE("guards: AHA network, namespace and cluster domain are fixed once deployed") {
  std::string network = std::string(kCommitted) + "\n[aha]\nnetwork = \"other.synapse\"\n";
  Outcome net = guard(kCommitted, network);
  expect_one(net, "guard-network", 9, 11,
             "AHA network changes from 'dev.synapse' to 'other.synapse': AHA's certificate "
             "authority and every service certificate were issued for the network the "
             "environment was deployed with");
  CHECK(net.diagnostics[0].hint == kRebuildHint);

  Outcome ns = guard(kCommitted, with(kCommitted, "\"synapse-dev\"", "\"synapse-prod\""));
  expect_one(ns, "guard-namespace", 2, 13,
             "namespace changes from 'synapse-dev' to 'synapse-prod': the running deployment and "
             "its volumes stay in 'synapse-dev', and AHA's certificates name "
             "'aha.synapse-dev.svc.cluster.local'");
  CHECK(ns.diagnostics[0].hint == kRebuildHint);

  std::string domain = with(kCommitted, "version = \"v2.233.0\"\n",
                            "version = \"v2.233.0\"\ncluster_domain = \"corp.example\"\n");
  Outcome cd = guard(kCommitted, domain);
  expect_one(cd, "guard-cluster-domain", 4, 18,
             "cluster domain changes from 'cluster.local' to 'corp.example': AHA's certificate "
             "and the registry URL every service stores name "
             "'aha.synapse-dev.svc.cluster.local'");
  CHECK(cd.diagnostics[0].hint == kRebuildHint);

  GuardOptions rebuild;
  rebuild.allow_rebuild = true;
  Outcome all = guard(kCommitted, with(domain, "\"synapse-dev\"", "\"synapse-prod\""), rebuild);
  CHECK(all.diagnostics.empty());
  REQUIRE(all.accepted.size() == 2);
  CHECK(all.accepted[0].summary ==
        "namespace synapse-dev -> synapse-prod, with --allow-rebuild (a deliberate rebuild)");
  CHECK(all.accepted[1].summary ==
        "cluster domain cluster.local -> corp.example, with --allow-rebuild (a deliberate "
        "rebuild)");
}

TEST_CASE("guards: a lower Synapse release is refused unless --allow-downgrade") {
  Outcome outcome = guard(kCommitted, with(kCommitted, "v2.233.0", "v2.232.9"));
  expect_one(outcome, "guard-downgrade", 3, 11,
             "version goes back from 'v2.233.0' to 'v2.232.9': Synapse cannot be downgraded "
             "once a newer release has touched its storage");
  CHECK(outcome.diagnostics[0].hint ==
        "use 'v2.233.0' or newer; --allow-downgrade commits it anyway, for storage the newer "
        "release never touched");

  GuardOptions options;
  options.allow_downgrade = true;
  Outcome accepted = guard(kCommitted, with(kCommitted, "v2.233.0", "v2.232.9"), options);
  CHECK(accepted.diagnostics.empty());
  REQUIRE(accepted.accepted.size() == 1);
  CHECK(accepted.accepted[0].summary == "version v2.233.0 -> v2.232.9, with --allow-downgrade");

  // A floating tag on either side cannot be compared, so it is not refused.
  CHECK(guard(kCommitted, with(kCommitted, "v2.233.0", "v2.x.x")).diagnostics.empty());
  CHECK(guard(with(kCommitted, "v2.233.0", "v2.x.x"), kCommitted).diagnostics.empty());
}

constexpr std::string_view kOptic = R"(
[optic]
version = "v2.19.3"
netloc = "optic.example.com"
)";

TEST_CASE("guards: Optic's own release is guarded; switching Optic on or off is fine") {
  std::string before = std::string(kCommitted) + std::string(kOptic);
  Outcome outcome = guard(before, with(before, "v2.19.3", "v2.18.0"));
  expect_one(outcome, "guard-downgrade", 9, 11,
             "optic version goes back from 'v2.19.3' to 'v2.18.0': Optic cannot be downgraded "
             "once a newer release has touched its storage");
  CHECK(outcome.diagnostics[0].hint ==
        "use 'v2.19.3' or newer; --allow-downgrade commits it anyway, for storage the newer "
        "release never touched");

  // Off, and on again, with another size: a StatefulSet that is created or deleted.
  std::string off = with(before, "[optic]\n", "[optic]\nenabled = false\n");
  CHECK(guard(before, off).diagnostics.empty());
  CHECK(guard(off, with(before, "netloc", "storage = \"1Gi\"\nnetloc")).diagnostics.empty());
  CHECK(guard(kCommitted, before).diagnostics.empty());
  CHECK(guard(before, kCommitted).diagnostics.empty());

  // Its volume outlives a switched-off Optic, so switching on an older release is refused.
  CHECK(guard(off, with(before, "v2.19.3", "v2.18.0")).diagnostics.size() == 1);
}

TEST_CASE("guards: every refusal is reported at once, sorted by line") {
  std::string after = with(kCommitted, "\"synapse-dev\"", "\"elsewhere\"");
  after = with(after, "v2.233.0", "v2.100.0");
  after = with(after, "100Gi", "10Gi");
  Outcome outcome = guard(kCommitted, after);
  REQUIRE(outcome.diagnostics.size() == 3);
  CHECK(outcome.diagnostics[0].rule == "guard-namespace");
  CHECK(outcome.diagnostics[1].rule == "guard-downgrade");
  CHECK(outcome.diagnostics[2].rule == "guard-storage-shrink");
}

TEST_CASE("guards: the sync step names the engine the environment uses") {
  std::string argocd = std::string(kCommitted) +
                       "\n[gitops]\nengine = \"argocd\"\nrepo_url = \"https://git.example/r\"\n";
  ResolvedEnvironment env = parse(argocd).resolved;
  CHECK(storage_growth_steps(env, ServiceKind::cortex).back() ==
        "sync: argocd app sync synapse-dev");
  env = parse(argocd + "argocd_namespace = \"apps\"\n").resolved;
  CHECK(storage_growth_steps(env, ServiceKind::cortex).back() ==
        "sync: argocd app sync synapse-dev -N apps");

  std::string flux = with(argocd, "\"argocd\"", "\"flux\"");
  env = parse(flux).resolved;
  CHECK(storage_growth_steps(env, ServiceKind::axon).back() ==
        "sync: flux reconcile kustomization synapse-dev --with-source");
  env = parse(flux + "flux_namespace = \"gitops\"\n").resolved;
  std::vector<std::string> steps = storage_growth_steps(env, ServiceKind::axon);
  CHECK(steps.back() == "sync: flux reconcile kustomization synapse-dev --with-source -n gitops");
  CHECK(steps[1] ==
        "kubectl -n synapse-dev patch pvc storage-axon-0 -p "
        "'{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"50Gi\"}}}}'");

  env = parse(with(kCommitted, "version = \"v2.233.0\"\n",
                   "version = \"v2.233.0\"\nstorage_class = \"ssd\"\n"))
            .resolved;
  CHECK(storage_growth_steps(env, ServiceKind::cortex).front() ==
        "the StorageClass of PVC storage-cortex-0 ('ssd') must have allowVolumeExpansion: true");
}

TEST_CASE("guards: a record reads back as the environment it was written from") {
  std::string text = std::string(kCommitted) + std::string(kOptic);
  ResolvedEnvironment env = parse(text).resolved;
  std::string record = render_record(env);
  std::optional<ResolvedEnvironment> back = read_record(record_path("dev"), record);
  REQUIRE(back.has_value());
  CHECK(back->source == kPath);
  CHECK(render_record(*back) == record);
  CHECK(record_path("dev") == "overlays/dev/synoverlay-record.toml");

  std::string problem;
  CHECK_FALSE(read_record(record_path("dev"), "name = 3\n", &problem).has_value());
  CHECK_FALSE(problem.empty());
}

// ---- base/ ---------------------------------------------------------------------------

// base/ as this synoverlay writes it, with `from` replaced by `to` in one file.
FileMap edited_base(const std::string& path, std::string_view from, std::string_view to) {
  FileMap base = render_base();
  REQUIRE(base.contains(path));
  base[path] = with(base[path], from, to);
  return base;
}

std::map<std::string, std::optional<ResolvedEnvironment>> deployed(
    std::initializer_list<std::string_view> texts) {
  std::map<std::string, std::optional<ResolvedEnvironment>> out;
  for (std::string_view text : texts) {
    ResolvedEnvironment env = parse(text).resolved;
    out[env.name] = env;
  }
  return out;
}

const std::string kCortexSts = "base/cortex/statefulset.yaml";

// The claim template's labels in base/cortex/statefulset.yaml come after this marker.
std::string claim_label_change(std::string_view text) {
  std::string out(text);
  std::size_t claims = out.find("\"volumeClaimTemplates\"");
  REQUIRE(claims != std::string::npos);
  std::size_t label = out.find("\"app.kubernetes.io/part-of\": \"synapse\"", claims);
  REQUIRE(label != std::string::npos);
  out.insert(label + std::string_view("\"app.kubernetes.io/part-of\": \"synapse").size(), "-v2");
  return out;
}

TEST_CASE("guards: base/ claim templates, selector and serviceName must not change") {
  FileMap committed = render_base();
  FileMap next = committed;
  next[kCortexSts] = claim_label_change(next[kCortexSts]);
  std::string prod = with(with(kCommitted, "\"dev\"", "\"prod\""), "synapse-dev", "synapse-prod");
  auto environments = deployed({kCommitted, prod});

  DiagnosticSink sink;
  CHECK(guard_base(committed, next, environments, {}, sink).empty());
  std::vector<Diagnostic> found = sink.sorted();
  REQUIRE(found.size() == 1);
  CHECK(found[0].rule == "guard-base");
  CHECK(found[0].file.empty());
  CHECK(found[0].message ==
        "base/cortex/statefulset.yaml: this synoverlay changes the volumeClaimTemplates of "
        "StatefulSet 'cortex', which a running cluster rejects; environments using it: dev and "
        "prod");
  CHECK(found[0].hint ==
        "keep building these environments with the synoverlay that wrote base/, or run again "
        "with --allow-rebuild and, once the commit is pushed, recreate the StatefulSet without "
        "its pods, then sync:\n"
        "    dev: kubectl -n synapse-dev delete sts cortex --cascade=orphan\n"
        "    prod: kubectl -n synapse-prod delete sts cortex --cascade=orphan");

  GuardOptions rebuild;
  rebuild.allow_rebuild = true;
  DiagnosticSink quiet;
  std::vector<AcceptedChange> accepted = guard_base(committed, next, environments, rebuild, quiet);
  CHECK(quiet.empty());
  REQUIRE(accepted.size() == 1);
  CHECK(accepted[0].summary ==
        "base/cortex/statefulset.yaml: this synoverlay changes the volumeClaimTemplates of "
        "StatefulSet 'cortex', with --allow-rebuild; once this commit is pushed, recreate it "
        "without its pods, then sync:");
  CHECK(accepted[0].steps ==
        std::vector<std::string>{"dev: kubectl -n synapse-dev delete sts cortex --cascade=orphan",
                                 "prod: kubectl -n synapse-prod delete sts cortex "
                                 "--cascade=orphan"});
}

TEST_CASE("guards: a selector change also asks to delete the pod") {
  FileMap committed = render_base();
  FileMap next = committed;
  std::string& sts = next[kCortexSts];
  std::size_t selector = sts.find("\"selector\"");
  REQUIRE(selector != std::string::npos);
  std::size_t name = sts.find("\"app.kubernetes.io/name\": \"cortex\"", selector);
  sts.insert(name + std::string_view("\"app.kubernetes.io/name\": \"cortex").size(), "-db");
  next[kCortexSts] = with(next[kCortexSts], "\"cortex-headless\"", "\"cortex-pods\"");

  DiagnosticSink sink;
  guard_base(committed, next, deployed({kCommitted}), {}, sink);
  std::vector<Diagnostic> found = sink.sorted();
  REQUIRE(found.size() == 1);
  CHECK(found[0].message ==
        "base/cortex/statefulset.yaml: this synoverlay changes the selector and serviceName of "
        "StatefulSet 'cortex', which a running cluster rejects; environments using it: dev");
  CHECK(found[0].hint.ends_with(
      "\n    dev: kubectl -n synapse-dev delete sts cortex --cascade=orphan"
      "\n    the selector changes: after each of these, also delete pod cortex-0, so that the "
      "new StatefulSet recreates it on the same volume"));
}

TEST_CASE("guards: base/ changes the overlay hides or no environment uses pass") {
  FileMap committed = render_base();
  auto environments = deployed({kCommitted});
  auto passes = [&](const FileMap& next,
                    const std::map<std::string, std::optional<ResolvedEnvironment>>& envs) {
    DiagnosticSink sink;
    guard_base(committed, next, envs, {}, sink);
    return sink.empty();
  };

  // The overlay replaces the claim's size, so a new default size in base/ never applies.
  CHECK(passes(edited_base(kCortexSts, "\"storage\": \"50Gi\"", "\"storage\": \"60Gi\""),
               environments));
  // Comments, key order and the pod template may change.
  CHECK(passes(edited_base(kCortexSts, "# StatefulSet", "# The StatefulSet"), environments));
  CHECK(passes(edited_base(kCortexSts, "\"failureThreshold\": 3", "\"failureThreshold\": 4"),
               environments));
  // Nothing is deployed, or only environments without Optic are.
  CHECK(passes(edited_base(kCortexSts, "\"cortex-headless\"", "\"x\""), {}));
  FileMap optic = render_base();
  optic["base/optic/statefulset.yaml"] = claim_label_change(optic["base/optic/statefulset.yaml"]);
  CHECK(passes(optic, environments));
  CHECK_FALSE(passes(optic, deployed({std::string(kCommitted) + std::string(kOptic)})));
  // An environment whose record cannot be read counts as using everything.
  CHECK_FALSE(passes(optic, {{"old", std::nullopt}}));
}

TEST_CASE("guards: a storage class in base/ matters only where the overlay sets none") {
  FileMap committed = render_base();
  FileMap next = committed;
  next[kCortexSts] =
      with(next[kCortexSts],
           "\"accessModes\":", "\"storageClassName\": \"slow\"\n        \"accessModes\":");
  std::string own = with(kCommitted, "version = \"v2.233.0\"\n",
                         "version = \"v2.233.0\"\nstorage_class = \"fast\"\n");
  DiagnosticSink sink;
  guard_base(committed, next, deployed({own}), {}, sink);
  CHECK(sink.empty());
  guard_base(committed, next, deployed({kCommitted}), {}, sink);
  CHECK(sink.error_count() == 1);
}

}  // namespace
}  // namespace synoverlay
