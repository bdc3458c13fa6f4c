// Microbenchmarks of the compiler's in-memory stages: loading, validation, overlay and base
// rendering, and quantity parsing. The input is examples/production.toml, the file that sets
// every key; bench/run.sh runs this next to the whole-process measurements.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "load_toml.h"
#include "overlay.h"
#include "quantity.h"
#include "validate.h"

namespace synoverlay {
namespace {

constexpr const char* kExample = SYNOVERLAY_SOURCE_DIR "/examples/production.toml";

const std::string& example_text() {
  static const std::string text = [] {
    std::ifstream in(kExample, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    if (!in || out.str().empty()) {
      std::cerr << "stages_bench: cannot read " << kExample << "\n";
      std::exit(2);
    }
    return out.str();
  }();
  return text;
}

// A benchmark that measured an error path would flatter the figures, so any diagnostic
// stops the run.
void require_clean(const DiagnosticSink& sink, const char* stage) {
  if (sink.error_count() == 0) return;
  std::cerr << "stages_bench: " << stage << " reported " << sink.error_count() << " errors\n";
  std::exit(2);
}

Environment loaded_example() {
  DiagnosticSink sink;
  std::optional<Environment> env = load_environment(kExample, example_text(), sink);
  require_clean(sink, "load_environment");
  return std::move(*env);
}

ResolvedEnvironment resolved_example() {
  DiagnosticSink sink;
  std::optional<ResolvedEnvironment> env =
      validate_environment(loaded_example(), "examples/production.toml", sink);
  require_clean(sink, "validate_environment");
  return std::move(*env);
}

void BM_load_environment(benchmark::State& state) {
  const std::string& text = example_text();
  for (auto _ : state) {
    DiagnosticSink sink;
    std::optional<Environment> env = load_environment(kExample, text, sink);
    benchmark::DoNotOptimize(env);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_load_environment);

void BM_validate_environment(benchmark::State& state) {
  Environment env = loaded_example();
  for (auto _ : state) {
    DiagnosticSink sink;
    std::optional<ResolvedEnvironment> resolved =
        validate_environment(env, "examples/production.toml", sink);
    benchmark::DoNotOptimize(resolved);
  }
}
BENCHMARK(BM_validate_environment);

void BM_render_environment(benchmark::State& state) {
  ResolvedEnvironment env = resolved_example();
  for (auto _ : state) {
    FileMap files = render_environment(env);
    benchmark::DoNotOptimize(files);
  }
}
BENCHMARK(BM_render_environment);

void BM_render_base(benchmark::State& state) {
  for (auto _ : state) {
    FileMap files = render_base();
    benchmark::DoNotOptimize(files);
  }
}
BENCHMARK(BM_render_base);

// Every stage of one environment in memory, as `build` runs them before touching git.
void BM_whole_pipeline_in_memory(benchmark::State& state) {
  const std::string& text = example_text();
  for (auto _ : state) {
    DiagnosticSink sink;
    std::optional<Environment> env = load_environment(kExample, text, sink);
    std::optional<ResolvedEnvironment> resolved =
        validate_environment(*env, "examples/production.toml", sink);
    FileMap files = render_base();
    FileMap overlay = render_environment(*resolved);
    benchmark::DoNotOptimize(files);
    benchmark::DoNotOptimize(overlay);
  }
}
BENCHMARK(BM_whole_pipeline_in_memory);

void BM_parse_quantity(benchmark::State& state, std::string_view text) {
  for (auto _ : state) {
    QuantityError error;
    std::optional<Quantity> quantity = parse_quantity(text, error);
    benchmark::DoNotOptimize(quantity);
  }
}
BENCHMARK_CAPTURE(BM_parse_quantity, binary_suffix, std::string_view("512Mi"));
BENCHMARK_CAPTURE(BM_parse_quantity, fraction, std::string_view("1.5Gi"));
BENCHMARK_CAPTURE(BM_parse_quantity, exponent, std::string_view("12e3"));
BENCHMARK_CAPTURE(BM_parse_quantity, milli, std::string_view("250m"));
BENCHMARK_CAPTURE(BM_parse_quantity, invalid, std::string_view("4GB"));

}  // namespace
}  // namespace synoverlay

BENCHMARK_MAIN();
