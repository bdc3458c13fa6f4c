// Fuzz target: diagnostics with arbitrary fields (file names, spans, rules, messages and
// hints of any bytes) and arbitrary source texts, rendered in all four formats. Invariants:
// - json and sarif are well-formed JSON (strict, UTF-8);
// - github writes exactly one workflow command line per diagnostic, so a message can never
//   start a command of its own;
// - human rendering, with and without colour, neither crashes nor reads out of bounds.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "fuzz_check.h"
#include "json_check.h"
#include "load_toml.h"

namespace synoverlay {
namespace {

constexpr const char* kTarget = "fuzz_diagnostics";

// Mostly small numbers, so that positions often land inside the source text, and now and
// then any position a file within the size limit can have. Larger columns are left out on
// purpose: the human renderer pads up to the column whatever the line's length, so a column
// of 2^32 asks for gigabytes; no diagnostic of a real file can carry one.
std::uint32_t position(FuzzedDataProvider& input) {
  if (input.ConsumeBool()) return input.ConsumeIntegralInRange<std::uint32_t>(0, 12);
  return input.ConsumeIntegralInRange<std::uint32_t>(0, kMaxEnvironmentBytes + 2);
}

// One of a few file names (so that source texts match), or any bytes.
std::string file_name(FuzzedDataProvider& input) {
  switch (input.ConsumeIntegralInRange(0, 3)) {
    case 0: return "";
    case 1: return "a.toml";
    case 2: return "envs/b c.toml";
    default: return input.ConsumeRandomLengthString(64);
  }
}

Diagnostic diagnostic(FuzzedDataProvider& input) {
  Diagnostic d;
  d.file = file_name(input);
  d.span.begin = {position(input), position(input)};
  d.span.end = {position(input), position(input)};
  d.severity = input.ConsumeBool() ? Severity::error : Severity::warning;
  d.rule = input.ConsumeRandomLengthString(32);
  d.message = input.ConsumeRandomLengthString(256);
  d.hint = input.ConsumeRandomLengthString(128);
  return d;
}

std::string render(const std::vector<Diagnostic>& diagnostics, const SourceTexts& sources,
                   OutputFormat format, bool color) {
  std::ostringstream out;
  render_diagnostics(out, diagnostics, sources, RenderOptions{format, color});
  return out.str();
}

void require_json(const std::string& text, const char* format) {
  fuzz::JsonChecker checker(text);
  FUZZ_REQUIRE(kTarget, checker.check(),
               std::string(format) + " output is not JSON: " + checker.error() + "\n" + text);
}

void require_github_lines(const std::string& text, std::size_t count) {
  std::size_t lines = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    FUZZ_REQUIRE(kTarget, end != std::string::npos, "github output does not end with a newline");
    std::string_view line(text.data() + start, end - start);
    FUZZ_REQUIRE(kTarget, line.starts_with("::error") || line.starts_with("::warning"),
                 "github line is not a workflow command: " + std::string(line));
    FUZZ_REQUIRE(kTarget, line.find('\r') == std::string_view::npos,
                 "github line holds a carriage return");
    ++lines;
    start = end + 1;
  }
  FUZZ_REQUIRE(kTarget, lines == count,
               "github wrote " + std::to_string(lines) + " lines for " + std::to_string(count) +
                   " diagnostics");
}

}  // namespace
}  // namespace synoverlay

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace synoverlay;
  FuzzedDataProvider input(data, size);

  SourceTexts sources;
  sources["a.toml"] = input.ConsumeRandomLengthString(512);
  if (input.ConsumeBool()) sources["envs/b c.toml"] = input.ConsumeRandomLengthString(256);

  std::vector<Diagnostic> diagnostics;
  auto count = input.ConsumeIntegralInRange<std::size_t>(0, 6);
  for (std::size_t i = 0; i < count && input.remaining_bytes() > 0; ++i) {
    diagnostics.push_back(diagnostic(input));
  }

  render(diagnostics, sources, OutputFormat::human, false);
  render(diagnostics, sources, OutputFormat::human, true);
  require_json(render(diagnostics, sources, OutputFormat::json, false), "json");
  require_json(render(diagnostics, sources, OutputFormat::sarif, false), "sarif");
  require_github_lines(render(diagnostics, sources, OutputFormat::github, false),
                       diagnostics.size());
  return 0;
}
