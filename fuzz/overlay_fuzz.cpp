// Fuzz target: environment files (seeded with valid ones, which libFuzzer mutates) that load
// and validate cleanly go through the overlay generator. Invariants:
// - every generated YAML file parses (yaml-cpp) to a mapping or a sequence, and the
//   kustomization carries the environment's namespace and name exactly;
// - the record (render_record) loads and validates without an error, describes the same
//   environment (describe()), and generates byte for byte the same files.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "load_toml.h"
#include "overlay.h"
#include "validate.h"

namespace synoverlay {
namespace {

constexpr const char* kTarget = "fuzz_overlay";

YAML::Node parse_yaml(const std::string& path, const std::string& content) {
  try {
    YAML::Node root = YAML::Load(content);
    FUZZ_REQUIRE(kTarget, root.IsMap() || root.IsSequence(),
                 path + " is not a mapping or a sequence:\n" + content);
    return root;
  } catch (const YAML::Exception& error) {
    fuzz::invariant_failed(kTarget, path + " is not YAML (" + error.what() + "):\n" + content);
  }
}

// The value at `keys` below `node` as a string, or nothing when absent or not a scalar.
// Recursion instead of a loop: assigning to a YAML::Node would rebind the tree itself.
std::optional<std::string> scalar_at(const YAML::Node& node,
                                     std::span<const char* const> keys) {
  if (keys.empty()) return node.IsScalar() ? std::optional(node.Scalar()) : std::nullopt;
  if (!node.IsMap()) return std::nullopt;
  const YAML::Node child = node[keys.front()];
  if (!child) return std::nullopt;
  return scalar_at(child, keys.subspan(1));
}

std::optional<std::string> scalar_at(const YAML::Node& node,
                                     std::initializer_list<const char*> keys) {
  return scalar_at(node, std::span<const char* const>(keys.begin(), keys.size()));
}

void check_files(const ResolvedEnvironment& env, const FileMap& files) {
  std::string kustomization = "overlays/" + env.name + "/kustomization.yaml";
  FUZZ_REQUIRE(kTarget, files.contains(kustomization), "no " + kustomization);
  for (const auto& [path, content] : files) {
    if (!path.ends_with(".yaml")) continue;
    const YAML::Node root = parse_yaml(path, content);
    if (path != kustomization) continue;
    FUZZ_REQUIRE(kTarget, scalar_at(root, {"namespace"}) == env.namespace_,
                 "the kustomization's namespace is not '" + env.namespace_ + "'");
    const YAML::Node labels = root["labels"];
    FUZZ_REQUIRE(kTarget, labels.IsSequence() && labels.size() == 1,
                 "the kustomization has not exactly one labels entry");
    FUZZ_REQUIRE(kTarget,
                 scalar_at(labels[0], {"pairs", "app.kubernetes.io/instance"}) == env.name,
                 "the environment label is not '" + env.name + "'");
  }
}

void check_record(const ResolvedEnvironment& env, const FileMap& files) {
  std::string record = render_record(env);
  DiagnosticSink sink;
  std::optional<Environment> loaded = load_environment("record.toml", record, sink);
  FUZZ_REQUIRE(kTarget, loaded && !sink.has_errors(), "the record does not load:\n" + record);
  std::optional<ResolvedEnvironment> again = validate_environment(*loaded, env.source, sink);
  FUZZ_REQUIRE(kTarget, again.has_value(), "the record does not validate:\n" + record);
  FUZZ_REQUIRE(kTarget, describe(*again) == describe(env),
               "the record describes another environment:\n" + record);
  FUZZ_REQUIRE(kTarget, render_environment(*again) == files,
               "the record generates other files:\n" + record);
}

}  // namespace
}  // namespace synoverlay

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace synoverlay;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  DiagnosticSink sink;
  std::optional<Environment> env = load_environment("fuzz.toml", text, sink);
  if (!env || sink.has_errors()) return 0;
  std::optional<ResolvedEnvironment> resolved = validate_environment(*env, "fuzz.toml", sink);
  if (!resolved) return 0;

  FileMap files = render_environment(*resolved);
  check_files(*resolved, files);
  check_record(*resolved, files);
  return 0;
}
