#pragma once
// The environment file as plain structs. Every value read from TOML keeps the span where
// the user wrote it, so that any later stage can point at it; `given` tells a value the
// user wrote from a default.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"

namespace synoverlay {

template <class T>
struct Located {
  T value{};
  SourceSpan span;  // where the value is written; unknown for defaults
  bool given = false;
};

enum class ServiceKind { aha, axon, jsonstor, cortex, optic };

inline constexpr std::array kAllServices = {ServiceKind::aha, ServiceKind::axon,
                                            ServiceKind::jsonstor, ServiceKind::cortex,
                                            ServiceKind::optic};

// "aha", "axon", "jsonstor", "cortex", "optic".
std::string_view service_name(ServiceKind kind);

struct ResourceValues {
  Located<std::string> cpu;
  Located<std::string> memory;
};

// One entry of a `[<service>.config]` table: a Synapse option and its value as YAML text.
struct ConfigOption {
  Located<std::string> name;   // e.g. "storm:log"
  Located<std::string> value;  // e.g. "true", already rendered as the YAML Synapse parses
};

struct IngressSpec {
  bool present = false;
  SourceSpan table_span;
  Located<std::string> class_name;
  Located<std::string> tls_secret;
};

struct ServiceSpec {
  ServiceKind kind = ServiceKind::aha;
  bool present = false;  // the file has a [<service>] table
  SourceSpan table_span;
  Located<std::string> storage;
  Located<std::string> digest;
  ResourceValues requests;
  ResourceValues limits;
  std::vector<ConfigOption> config;
  Located<std::string> network;      // aha only
  Located<bool> enabled;             // optic only
  Located<std::string> version;      // optic only
  Located<std::string> netloc;       // optic only
  Located<std::string> pull_secret;  // optic only
  IngressSpec ingress;               // optic only
};

struct ProvisioningSpec {
  bool present = false;
  SourceSpan table_span;
  Located<std::string> image;
  Located<std::int64_t> timeout;  // seconds to wait for aha-0 in one attempt
  Located<std::int64_t> retries;  // the Job's backoffLimit
  ResourceValues requests;
  ResourceValues limits;
};

struct GitOpsSpec {
  bool present = false;
  SourceSpan table_span;
  Located<std::string> engine;  // "argocd" or "flux"
  Located<std::string> repo_url;
  Located<std::string> revision;
  Located<std::string> path;              // folder of the GitOps repo inside repo_url
  Located<std::string> argocd_namespace;  // where the Application lives
  Located<std::string> project;           // Argo CD project
  Located<std::string> flux_namespace;    // where GitRepository and Kustomization live
  Located<std::string> interval;          // Flux reconcile interval
};

struct Environment {
  std::string path;  // the file as the user named it
  Located<std::string> name;
  Located<std::string> namespace_;
  Located<std::string> version;
  Located<std::string> cluster_domain;
  Located<std::string> storage_class;
  Located<std::string> registry;
  Located<std::string> pull_secret;
  std::array<ServiceSpec, kAllServices.size()> services;
  ProvisioningSpec provisioning;
  GitOpsSpec gitops;

  ServiceSpec& service(ServiceKind kind) { return services[static_cast<int>(kind)]; }
  const ServiceSpec& service(ServiceKind kind) const { return services[static_cast<int>(kind)]; }
};

}  // namespace synoverlay
