#pragma once
// Stage 2: Environment -> ResolvedEnvironment. Checks the meaning of every value (names,
// versions, quantities, netloc, options), fills in the defaults and puts quantities in the
// canonical form the API server stores. Every problem is reported, not just the first.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "diagnostics.h"
#include "env_model.h"

namespace synoverlay {

struct ResourceDefaults {
  std::string_view request_cpu, request_memory, limit_cpu, limit_memory, storage;
};

// The sizes a service gets when the environment file does not set them.
const ResourceDefaults& service_defaults(ServiceKind kind);

inline constexpr std::string_view kDefaultNamespace = "synapse";
inline constexpr std::string_view kDefaultClusterDomain = "cluster.local";
inline constexpr std::string_view kDefaultProvisioningImage = "registry.k8s.io/kubectl:v1.32.4";
inline constexpr std::int64_t kDefaultProvisioningTimeout = 900;
inline constexpr std::int64_t kDefaultProvisioningRetries = 10;

struct ResolvedResources {
  std::string cpu;     // canonical quantity
  std::string memory;  // canonical quantity
};

// A Synapse option passed through as an environment variable.
struct SynapseSetting {
  std::string variable;  // SYN_CORTEX_STORM_LOG
  std::string value;     // as Synapse will parse it (YAML)
  std::string option;    // storm:log, as the user wrote it
  friend auto operator<=>(const SynapseSetting&, const SynapseSetting&) = default;
};

struct ResolvedService {
  ServiceKind kind = ServiceKind::aha;
  bool enabled = true;
  std::string tag;     // image tag
  std::string digest;  // "sha256:..." or empty
  std::string storage;
  ResolvedResources requests;
  ResolvedResources limits;
  // Settings from the [<service>.config] table, sorted by variable.
  std::vector<SynapseSetting> env;
};

struct ResolvedEnvironment {
  std::string source;  // the environment file as generated files name it
  std::string name;
  std::string namespace_;
  std::string version;
  std::string cluster_domain;
  std::string storage_class;  // empty: the cluster's default class
  std::string registry;       // empty: Docker Hub's vertexproject/
  std::string pull_secret;
  std::string network;       // AHA network
  std::string aha_dns_name;  // aha.<namespace>.svc.<cluster_domain>
  bool floating_version = false;
  bool legacy_healthcheck = false;  // release older than v2.225.0
  std::array<ResolvedService, kAllServices.size()> services;

  std::string optic_netloc;
  std::string optic_pull_secret;  // empty: none
  bool ingress = false;
  std::string ingress_class;
  std::string ingress_tls_secret;

  std::string provisioning_image;
  std::int64_t provisioning_timeout = kDefaultProvisioningTimeout;
  std::int64_t provisioning_retries = kDefaultProvisioningRetries;
  ResolvedResources provisioning_requests;
  ResolvedResources provisioning_limits;

  bool gitops = false;
  std::string gitops_engine;  // "argocd" or "flux"
  std::string gitops_repo_url;
  std::string gitops_revision;
  std::string gitops_path;  // folder inside the GitOps repository, "" for its root
  std::string argocd_namespace;
  std::string argocd_project;
  std::string flux_namespace;
  std::string flux_interval;

  const ResolvedService& service(ServiceKind kind) const {
    return services[static_cast<int>(kind)];
  }
  bool optic_enabled() const { return service(ServiceKind::optic).enabled; }
};

// Checks `env` and resolves it. Returns nothing when any error was
// reported; warnings alone still give a result. `source` is the file name that generated
// files will quote.
std::optional<ResolvedEnvironment> validate_environment(const Environment& env,
                                                        const std::string& source,
                                                        DiagnosticSink& sink);

// A parsed exact release tag "vMAJOR.MINOR.PATCH".
struct ReleaseVersion {
  int major = 0, minor = 0, patch = 0;
  friend auto operator<=>(const ReleaseVersion&, const ReleaseVersion&) = default;
};

// Parses "v2.233.0"; nothing for floating or malformed tags.
std::optional<ReleaseVersion> parse_release(std::string_view tag);

// A stable diagnostic id (the `rule` of a Diagnostic) and what it checks.
struct RuleInfo {
  std::string_view id;
  std::string_view summary;
};

// Every rule id that reading, loading and validating an environment file can report,
// including the ones commands.cpp reports (file-read, duplicate-name).
std::span<const RuleInfo> diagnostic_rules();

}  // namespace synoverlay
