// Fuzz target: any bytes as an environment file, through load_environment and
// validate_environment, with every diagnostic rendered as people and tools read it.
// Invariants:
// - a file that is refused (no Environment, or no ResolvedEnvironment) has an error;
// - every position points into the file: begin before end, and no line past the last;
// - the json rendering of the diagnostics is well-formed JSON.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "diagnostics.h"
#include "fuzz_check.h"
#include "json_check.h"
#include "load_toml.h"
#include "validate.h"

namespace synoverlay {
namespace {

constexpr const char* kTarget = "fuzz_load_validate";
constexpr const char* kPath = "fuzz.toml";

void check_positions(const std::vector<Diagnostic>& diagnostics, std::string_view text) {
  // A position may point just past the last line (an error at the end of the file).
  auto lines = static_cast<std::uint32_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const Diagnostic& d : diagnostics) {
    if (!d.span.known()) continue;
    std::string where = d.rule + " at " + std::to_string(d.span.begin.line) + ":" +
                        std::to_string(d.span.begin.column);
    FUZZ_REQUIRE(kTarget, d.span.begin.line <= lines + 1, "line past the end: " + where);
    if (d.span.end.line != 0) {
      FUZZ_REQUIRE(kTarget, d.span.begin <= d.span.end, "span ends before it begins: " + where);
    }
  }
}

void check_renderings(const std::vector<Diagnostic>& diagnostics, std::string_view text) {
  SourceTexts sources;
  sources.emplace(kPath, std::string(text));
  std::ostringstream human;
  render_diagnostics(human, diagnostics, sources, RenderOptions{OutputFormat::human, false});
  std::ostringstream json;
  render_diagnostics(json, diagnostics, sources, RenderOptions{OutputFormat::json, false});
  std::string json_text = json.str();
  fuzz::JsonChecker checker(json_text);
  FUZZ_REQUIRE(kTarget, checker.check(), "json diagnostics are not JSON: " + checker.error());
}

}  // namespace
}  // namespace synoverlay

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace synoverlay;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  DiagnosticSink sink;
  std::optional<Environment> env = load_environment(kPath, text, sink);
  FUZZ_REQUIRE(kTarget, env || sink.has_errors(), "load refused the file without an error");
  if (env) {
    std::size_t errors_before = sink.error_count();
    std::optional<ResolvedEnvironment> resolved = validate_environment(*env, kPath, sink);
    FUZZ_REQUIRE(kTarget, resolved || sink.error_count() > errors_before,
                 "validation refused the file without an error");
  }

  std::vector<Diagnostic> diagnostics = sink.sorted();
  check_positions(diagnostics, text);
  check_renderings(diagnostics, text);
  return 0;
}
