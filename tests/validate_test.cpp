// Loading and validation in-process: defaults, canonical quantities, request/limit checks,
// config options, Optic's presence, and where diagnostics point.

#include "validate.h"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "load_toml.h"

namespace synoverlay {
namespace {

struct Checked {
  std::optional<ResolvedEnvironment> env;
  std::vector<Diagnostic> diagnostics;
  bool loaded = false;

  // The only diagnostic; fails the test when there is not exactly one.
  const Diagnostic& only() const {
    REQUIRE(diagnostics.size() == 1);
    return diagnostics[0];
  }
};

Checked check(std::string_view text) {
  DiagnosticSink sink;
  Checked out;
  std::optional<Environment> env = load_environment("env.toml", text, sink);
  out.loaded = env.has_value();
  if (env) out.env = validate_environment(*env, "envs/env.toml", sink);
  out.diagnostics = sink.sorted();
  return out;
}

constexpr std::string_view kMinimal = "name = \"dev\"\nversion = \"v2.233.0\"\n";

std::string with_minimal(std::string_view rest) {
  return std::string(kMinimal) + std::string(rest);
}

TEST_CASE("defaults are filled in for everything the file leaves out") {
  Checked result = check(kMinimal);
  REQUIRE(result.diagnostics.empty());
  REQUIRE(result.env);
  const ResolvedEnvironment& env = *result.env;
  CHECK(env.source == "envs/env.toml");
  CHECK(env.name == "dev");
  CHECK(env.namespace_ == "synapse");
  CHECK(env.cluster_domain == "cluster.local");
  CHECK(env.aha_dns_name == "aha.synapse.svc.cluster.local");
  CHECK(env.network == "dev.synapse");
  CHECK(env.storage_class.empty());
  CHECK(env.registry.empty());
  CHECK_FALSE(env.optic_enabled());
  CHECK_FALSE(env.gitops);
  CHECK(env.provisioning_image == kDefaultProvisioningImage);
  CHECK(env.provisioning_timeout == kDefaultProvisioningTimeout);
  CHECK(env.provisioning_retries == kDefaultProvisioningRetries);
  CHECK(env.provisioning_requests.cpu == "50m");
  CHECK(env.provisioning_limits.memory == "256Mi");

  for (ServiceKind kind : kAllServices) {
    INFO(service_name(kind));
    const ResolvedService& service = env.service(kind);
    const ResourceDefaults& defaults = service_defaults(kind);
    CHECK(service.storage == defaults.storage);
    CHECK(service.requests.cpu == defaults.request_cpu);
    CHECK(service.requests.memory == defaults.request_memory);
    CHECK(service.limits.cpu == defaults.limit_cpu);
    CHECK(service.limits.memory == defaults.limit_memory);
    CHECK(service.env.empty());
    if (kind != ServiceKind::optic) CHECK(service.tag == "v2.233.0");
  }
  CHECK(env.service(ServiceKind::cortex).storage == "50Gi");
  CHECK(env.service(ServiceKind::axon).limits.cpu == "1");
}

TEST_CASE("quantities are resolved to the canonical form the API server stores") {
  Checked result = check(with_minimal(
      "[cortex]\nstorage = \"1.5Gi\"\nrequests = { cpu = \"1.5\", memory = \"0.5Gi\" }\n"
      "limits = { cpu = \"2000m\", memory = \"1024Mi\" }\n"
      "[axon]\nstorage = \"1000\"\nrequests = { cpu = \"+250m\" }\n"));
  REQUIRE(result.diagnostics.empty());
  REQUIRE(result.env);
  const ResolvedService& cortex = result.env->service(ServiceKind::cortex);
  CHECK(cortex.storage == "1536Mi");
  CHECK(cortex.requests.cpu == "1500m");
  CHECK(cortex.requests.memory == "512Mi");
  CHECK(cortex.limits.cpu == "2");
  CHECK(cortex.limits.memory == "1Gi");
  const ResolvedService& axon = result.env->service(ServiceKind::axon);
  CHECK(axon.storage == "1k");
  CHECK(axon.requests.cpu == "250m");
}

TEST_CASE("a request above its limit is compared after unit conversion") {
  SUBCASE("equal values in different units are fine") {
    Checked result =
        check(with_minimal("[cortex]\nrequests = { cpu = \"1.5\", memory = \"1Gi\" }\n"
                           "limits = { cpu = \"1500m\", memory = \"1024Mi\" }\n"));
    CHECK(result.diagnostics.empty());
    CHECK(result.env);
  }
  SUBCASE("one core is less than 1500m, two cores are more") {
    Checked result =
        check(with_minimal("[cortex]\nrequests = { cpu = \"2\" }\nlimits = { cpu = \"1500m\" }\n"));
    CHECK_FALSE(result.env);
    const Diagnostic& d = result.only();
    CHECK(d.rule == "request-exceeds-limit");
    CHECK(d.message == "cortex requests.cpu '2' is above limits.cpu '1500m'");
    CHECK(d.span.begin.line == 4);
    CHECK(d.span.begin.column == 20);
  }
}

TEST_CASE("a request above a default limit names the default") {
  SUBCASE("the user's request against the default limit") {
    Checked result = check(with_minimal("[jsonstor]\nrequests = { memory = \"2Gi\" }\n"));
    const Diagnostic& d = result.only();
    CHECK(d.rule == "request-exceeds-limit");
    CHECK(d.severity == Severity::error);
    CHECK(d.message ==
          "jsonstor requests.memory '2Gi' is above limits.memory '1Gi' (the default for "
          "jsonstor)");
    CHECK(d.span.begin.line == 4);  // at the user's value, not at the default
    CHECK(d.span.begin.column == 23);
  }
  SUBCASE("the user's limit against the default request") {
    Checked result = check(with_minimal("[cortex]\nlimits = { cpu = \"250m\" }\n"));
    const Diagnostic& d = result.only();
    CHECK(d.message ==
          "cortex limits.cpu '250m' is below requests.cpu '500m' (the default for cortex)");
    CHECK(d.span.begin.column == 18);
  }
}

TEST_CASE("config options map to SYN_<SERVICE>_<OPTION> with YAML text values") {
  Checked result =
      check(with_minimal("[cortex.config]\n"
                         "\"storm:log\" = true\n"
                         "\"storm:log:level\" = \"INFO\"\n"
                         "\"http:max:body\" = 1048576\n"
                         "\"ratio\" = 1.5\n"
                         "\"some:list\" = [\"a\", 'b', 3]\n"
                         "\"some:map\" = { key = \"value\", on = false }\n"
                         "[axon.config]\n"
                         "\"http:port\" = 8443\n"));
  REQUIRE(result.diagnostics.empty());
  REQUIRE(result.env);
  const std::vector<SynapseSetting>& cortex = result.env->service(ServiceKind::cortex).env;
  REQUIRE(cortex.size() == 6);
  // Sorted by variable name.
  CHECK(cortex[0].variable == "SYN_CORTEX_HTTP_MAX_BODY");
  CHECK(cortex[0].value == "1048576");
  CHECK(cortex[1].variable == "SYN_CORTEX_RATIO");
  CHECK(cortex[1].value == "1.5");
  CHECK(cortex[2].variable == "SYN_CORTEX_SOME_LIST");
  CHECK(cortex[2].value == "[\"a\", \"b\", 3]");
  CHECK(cortex[3].variable == "SYN_CORTEX_SOME_MAP");
  CHECK(cortex[3].value == "{\"key\": \"value\", \"on\": false}");
  CHECK(cortex[4].variable == "SYN_CORTEX_STORM_LOG");
  CHECK(cortex[4].value == "true");
  CHECK(cortex[4].option == "storm:log");
  CHECK(cortex[5].variable == "SYN_CORTEX_STORM_LOG_LEVEL");
  CHECK(cortex[5].value == "INFO");

  const std::vector<SynapseSetting>& axon = result.env->service(ServiceKind::axon).env;
  REQUIRE(axon.size() == 1);
  CHECK(axon[0].variable == "SYN_AXON_HTTP_PORT");
  CHECK(axon[0].value == "8443");
}

TEST_CASE("options synoverlay sets itself are refused") {
  struct Reserved {
    const char* table;
    const char* option;
  };
  for (Reserved reserved :
       {Reserved{"aha", "aha:network"}, Reserved{"axon", "aha:provision"},
        Reserved{"jsonstor", "dns:name"}, Reserved{"cortex", "dmon:listen"},
        Reserved{"cortex", "axon"}, Reserved{"cortex", "jsonstor"}, Reserved{"optic", "netloc"},
        Reserved{"optic", "cortex"}, Reserved{"axon", "https:port"}}) {
    INFO(reserved.table << " " << reserved.option);
    std::string optic = std::string(reserved.table) == "optic"
                            ? "[optic]\nversion = \"v2.19.3\"\nnetloc = \"optic.example.com\"\n"
                            : "";
    Checked result = check(with_minimal(optic + "[" + reserved.table + ".config]\n\"" +
                                        reserved.option + "\" = \"x\"\n"));
    CHECK_FALSE(result.env);
    const Diagnostic& d = result.only();
    CHECK(d.rule == "config-reserved");
    CHECK(d.message == "option '" + std::string(reserved.option) + "' cannot be set in [" +
                           reserved.table + ".config]");
  }

  SUBCASE("the same name is fine where synoverlay does not set it") {
    Checked result = check(with_minimal("[aha.config]\naxon = \"x\"\n"));
    CHECK(result.diagnostics.empty());
  }
}

TEST_CASE("Optic is deployed when its table is present, unless disabled") {
  SUBCASE("absent") {
    Checked result = check(kMinimal);
    REQUIRE(result.env);
    CHECK_FALSE(result.env->optic_enabled());
  }
  SUBCASE("present") {
    Checked result =
        check(with_minimal("[optic]\nversion = \"v2.19.3\"\nnetloc = \"optic.example.com:8443\"\n"
                           "pull_secret = \"optic-registry\"\n"));
    REQUIRE(result.diagnostics.empty());
    REQUIRE(result.env);
    CHECK(result.env->optic_enabled());
    CHECK(result.env->service(ServiceKind::optic).tag == "v2.19.3");
    CHECK(result.env->optic_netloc == "optic.example.com:8443");
    CHECK(result.env->optic_pull_secret == "optic-registry");
  }
  SUBCASE("present without its required keys") {
    Checked result = check(with_minimal("[optic]\nstorage = \"5Gi\"\n"));
    REQUIRE(result.diagnostics.size() == 2);
    CHECK(result.diagnostics[0].message == "missing required key 'optic.version'");
    CHECK(result.diagnostics[1].message == "missing required key 'optic.netloc'");
    CHECK(result.diagnostics[0].span.begin.line == 3);  // the [optic] header
  }
  SUBCASE("disabled: settings kept, nothing required, nothing deployed") {
    Checked result = check(with_minimal("[optic]\nenabled = false\nstorage = \"5Gi\"\n"));
    REQUIRE(result.diagnostics.empty());
    REQUIRE(result.env);
    CHECK_FALSE(result.env->optic_enabled());
  }
  SUBCASE("the top-level pull secret is Optic's default") {
    Checked result = check(with_minimal(
        "pull_secret = \"shared\"\n[optic]\nversion = \"v2.19.3\"\nnetloc = \"o.example\"\n"));
    REQUIRE(result.env);
    CHECK(result.env->optic_pull_secret == "shared");
  }
}

TEST_CASE("probes follow the version") {
  auto legacy = [](const char* version) {
    Checked result = check("name = \"dev\"\nversion = \"" + std::string(version) + "\"\n");
    REQUIRE(result.env);
    return result.env->legacy_healthcheck;
  };
  CHECK(legacy("v2.224.9"));
  CHECK_FALSE(legacy("v2.225.0"));
  CHECK_FALSE(legacy("v2.233.0"));
  // A floating tag gets the newest release's probes, and a warning that says so.
  Checked floating = check("name = \"dev\"\nversion = \"v2.x.x\"\n");
  REQUIRE(floating.env);
  CHECK(floating.env->floating_version);
  CHECK_FALSE(floating.env->legacy_healthcheck);
  CHECK(floating.only().rule == "version-floating");
  CHECK(floating.only().severity == Severity::warning);
}

TEST_CASE("a number where a string belongs is one error with the quoted form") {
  Checked result = check("name = \"dev\"\nversion = 2.10\n");
  const Diagnostic& d = result.only();  // and no "missing required key 'version'"
  CHECK(d.rule == "wrong-type");
  CHECK(d.message == "'version' must be a string, not a floating-point number");
  CHECK(d.hint == "write it quoted: version = \"2.10\"");
  CHECK(d.span.begin.line == 2);
  CHECK(d.span.begin.column == 11);
  CHECK(d.span.end.column == 15);
}

TEST_CASE("a syntax error stops the file with one diagnostic") {
  Checked result = check("name = dev\nversion = \"v2.233.0\"\n[aha\n");
  CHECK_FALSE(result.loaded);
  const Diagnostic& d = result.only();
  CHECK(d.rule == "toml-syntax");
  CHECK(d.span.begin.line == 1);
  CHECK(d.hint == "strings are quoted in TOML: name = \"dev\"");
}

TEST_CASE("diagnostics point at the offending character inside a value") {
  SUBCASE("a quantity's bad suffix") {
    Checked result = check(with_minimal("[cortex]\nstorage = \"200gb\"\n"));
    const Diagnostic& d = result.only();
    CHECK(d.rule == "quantity-syntax");
    CHECK(d.span.begin.column == 15);  // the 'g'
  }
  SUBCASE("a name's bad character") {
    Checked result = check("name = \"dev_eu\"\nversion = \"v2.233.0\"\n");
    const Diagnostic& d = result.only();
    CHECK(d.rule == "dns-label");
    CHECK(d.span.begin.column == 12);  // the '_'
    CHECK(d.hint.ends_with("did you mean 'dev-eu'?"));
  }
  SUBCASE("with escapes in the value the whole value is marked") {
    Checked result = check("name = \"D\\u0065v\"\nversion = \"v2.233.0\"\n");
    const Diagnostic& d = result.only();
    CHECK(d.rule == "dns-label");
    CHECK(d.span.begin.column == 8);
    CHECK(d.span.end.column == 18);
  }
}

TEST_CASE("every problem of a file is reported, sorted by position") {
  Checked result = check(
      "[optic]\nnetloc = \"https://o.example\"\nversion = \"2.19.3\"\n"
      "[aha]\nnetwork = \"x\"\nstorage = \"0\"\n");
  std::vector<std::string> rules;
  for (const Diagnostic& d : result.diagnostics) rules.push_back(d.rule);
  CHECK(rules == std::vector<std::string>{"missing-key", "missing-key", "netloc", "version-format",
                                          "aha-network", "quantity-range"});
  for (std::size_t i = 1; i < result.diagnostics.size(); ++i) {
    CHECK(result.diagnostics[i - 1].span.begin <= result.diagnostics[i].span.begin);
  }
}

TEST_CASE("warnings alone still give a result; errors give none") {
  Checked warning = check(with_minimal("[aha]\nstorage = \"2.5\"\n"));
  CHECK(warning.only().rule == "quantity-fraction");
  CHECK(warning.env);
  Checked error = check(with_minimal("[aha]\nstorage = \"2.5q\"\n"));
  CHECK(error.only().rule == "quantity-syntax");
  CHECK_FALSE(error.env);
}

TEST_CASE("rule ids are unique and lower-case") {
  std::set<std::string_view> seen;
  for (const RuleInfo& rule : diagnostic_rules()) {
    INFO(rule.id);
    CHECK(seen.insert(rule.id).second);
    CHECK(rule.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string_view::npos);
    CHECK(!rule.summary.empty());
  }
}

}  // namespace
}  // namespace synoverlay
