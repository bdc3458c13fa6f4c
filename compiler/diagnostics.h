#pragma once
// Diagnostics: positions in environment files, the sink that collects problems, and the
// renderers that print them for people (human), tools (json, sarif) and CI (github).

#include <cstdint>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace synoverlay {

// A 1-based line and column (columns count bytes). Line 0 means "no position".
struct SourcePos {
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  friend auto operator<=>(const SourcePos&, const SourcePos&) = default;
};

// A half-open region of a file: `end` is the position just past the last character.
struct SourceSpan {
  SourcePos begin;
  SourcePos end;

  bool known() const { return begin.line != 0; }
  friend auto operator<=>(const SourceSpan&, const SourceSpan&) = default;
};

enum class Severity { error, warning };

std::string_view to_string(Severity severity);

struct Diagnostic {
  std::string file;  // the path as the user gave it; empty for problems with no file
  SourceSpan span;   // unknown when the problem has no position
  Severity severity = Severity::error;
  std::string rule;  // stable id, e.g. "quantity-syntax"
  std::string message;
  std::string hint;  // optional second line that says how to fix it
};

// Collects diagnostics from every stage; reports are sorted by file and position.
class DiagnosticSink {
 public:
  void add(Diagnostic diagnostic);
  void error(const std::string& file, SourceSpan span, std::string rule, std::string message,
             std::string hint = {});
  void warning(const std::string& file, SourceSpan span, std::string rule, std::string message,
               std::string hint = {});

  std::size_t error_count() const;
  std::size_t warning_count() const;
  bool has_errors() const { return error_count() != 0; }
  bool empty() const { return diagnostics_.empty(); }

  // Sorted by file, then position, then insertion order; stable.
  std::vector<Diagnostic> sorted() const;

 private:
  std::vector<Diagnostic> diagnostics_;
};

enum class OutputFormat { human, json, github, sarif };

// The text of each file, by path, for quoting source lines under a diagnostic.
using SourceTexts = std::map<std::string, std::string, std::less<>>;

struct RenderOptions {
  OutputFormat format = OutputFormat::human;
  bool color = false;  // human format only
};

// Writes every diagnostic in the chosen format. Human: `path:line:col: error: message`,
// the source line, a caret line, and `  hint: ...`. json: one document (see README).
// github: one `::error file=...,line=...,col=...::message` line each. sarif: SARIF 2.1.0.
void render_diagnostics(std::ostream& out, std::span<const Diagnostic> diagnostics,
                        const SourceTexts& sources, const RenderOptions& options);

// The closest candidate to `word` (edit distance at most 2, or a third of its length
// for longer words), or an empty view when none is close.
std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace synoverlay
