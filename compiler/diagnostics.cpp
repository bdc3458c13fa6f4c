#include "diagnostics.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The json format writes one document and a newline:
//
//   {"version":1,
//    "diagnostics":[{"file":"a.toml","line":3,"column":5,"end_line":3,"end_column":9,
//                    "severity":"error","rule":"quantity-syntax","message":"...","hint":"..."}],
//    "errors":1,"warnings":0}
//
// without any of the whitespace shown here. Keys always come in this order. "file" is ""
// when the problem belongs to no file; "line", "column", "end_line" and "end_column" are
// 1-based (columns count bytes, "end_column" is just past the last byte) and 0 when
// unknown; "severity" is "error" or "warning"; "hint" is "" when there is none. "errors"
// and "warnings" count the diagnostics of the document. Strings are UTF-8 with '"' and '\'
// escaped and control characters written as \u00XX; bytes that are not valid UTF-8 become
// U+FFFD.

namespace synoverlay {
namespace {

constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kBold = "\033[1m";
constexpr std::string_view kBoldRed = "\033[1;31m";
constexpr std::string_view kBoldMagenta = "\033[1;35m";
constexpr std::string_view kBoldGreen = "\033[1;32m";
constexpr std::string_view kBoldCyan = "\033[1;36m";

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The length of the well-formed UTF-8 sequence that starts `text` (not empty), or 0 when
// the bytes there are not one.
std::size_t utf8_sequence_length(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  std::size_t length = 0;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
  } else {
    return 0;
  }

  if (text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if (!is_utf8_continuation(text[i])) return 0;
  }

  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not valid UTF-8.
  const auto second = static_cast<unsigned char>(text[1]);
  if (lead == 0xE0 && second < 0xA0) return 0;
  if (lead == 0xED && second > 0x9F) return 0;
  if (lead == 0xF0 && second < 0x90) return 0;
  if (lead == 0xF4 && second > 0x8F) return 0;
  return length;
}

char hex_digit(unsigned value, bool upper) {
  constexpr std::string_view kLower = "0123456789abcdef";
  constexpr std::string_view kUpper = "0123456789ABCDEF";
  return (upper ? kUpper : kLower)[value & 0xF];
}

// Appends `text` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex_digit(c >> 4, false);
      out += hex_digit(c, false);
      ++i;
    } else {
      // A JSON document must be Unicode, so a stray byte cannot be passed on as it is.
      const std::size_t length = utf8_sequence_length(text.substr(i));
      if (length == 0) {
        out += kReplacementCharacter;
        ++i;
      } else {
        out += text.substr(i, length);
        i += length;
      }
    }
  }
  out += '"';
}

void append_json_key(std::string& out, std::string_view key) {
  append_json_string(out, key);
  out += ':';
}

std::size_t count_severity(std::span<const Diagnostic> diagnostics, Severity severity) {
  return static_cast<std::size_t>(
      std::count_if(diagnostics.begin(), diagnostics.end(),
                    [severity](const Diagnostic& d) { return d.severity == severity; }));
}

// ---- human ----------------------------------------------------------------------------

// Wraps text in an ANSI style when color is on; without color it adds no byte at all.
class Painter {
 public:
  explicit Painter(bool color) : color_(color) {}

  std::string paint(std::string_view style, std::string_view text) const {
    if (!color_) return std::string(text);
    std::string painted;
    painted.reserve(style.size() + text.size() + kReset.size());
    painted += style;
    painted += text;
    painted += kReset;
    return painted;
  }

 private:
  bool color_;
};

// Line `number` (1-based) of `text` without its line break and without the '\r' of a CRLF
// file, or nothing when the text has no such line. Text after the last line break counts
// as a line only when it is not empty.
std::optional<std::string_view> source_line(std::string_view text, std::uint32_t number) {
  std::size_t start = 0;
  for (std::uint32_t n = 1; n < number; ++n) {
    const std::size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) return std::nullopt;
    start = newline + 1;
  }
  if (start >= text.size()) return std::nullopt;

  const std::size_t newline = text.find('\n', start);
  std::string_view line =
      text.substr(start, newline == std::string_view::npos ? newline : newline - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Everything before the caret: a tab where the source has a tab so that the caret lands
// under the same column in a terminal, a space for any other character.
std::string caret_padding(std::string_view line, std::uint32_t column) {
  std::string padding;
  for (std::size_t i = 0; i + 1 < column; ++i) {
    if (i >= line.size()) {
      padding += ' ';
    } else if (line[i] == '\t') {
      padding += '\t';
    } else if (!is_utf8_continuation(line[i])) {
      padding += ' ';
    }
  }
  return padding;
}

// '^' under the first byte of the span and '~' under the rest of it when the span stays on
// one line; one mark per character, not per byte.
std::string caret_marks(std::string_view line, const SourceSpan& span) {
  std::string marks = "^";
  if (span.end.line != span.begin.line) return marks;

  for (std::size_t i = span.begin.column; i + 1 < span.end.column; ++i) {
    if (i < line.size() && is_utf8_continuation(line[i])) continue;
    marks += '~';
  }
  return marks;
}

std::string location_text(const Diagnostic& d) {
  if (d.file.empty()) return "synoverlay:";
  if (!d.span.known()) return d.file + ":";

  std::string location = d.file + ":" + std::to_string(d.span.begin.line) + ":";
  if (d.span.begin.column != 0) location += std::to_string(d.span.begin.column) + ":";
  return location;
}

void write_source_excerpt(std::ostream& out, const Diagnostic& d, std::string_view line,
                          const Painter& painter) {
  const std::string number = std::to_string(d.span.begin.line);
  const std::string blank_gutter(number.size(), ' ');
  out << "   " << number << " | " << line << '\n';

  // Without a column there is nothing to point at; the quoted line still helps.
  if (d.span.begin.column == 0) return;
  out << "   " << blank_gutter << " | " << caret_padding(line, d.span.begin.column)
      << painter.paint(kBoldGreen, caret_marks(line, d.span)) << '\n';
}

void write_human(std::ostream& out, const Diagnostic& d, const SourceTexts& sources,
                 const Painter& painter) {
  const bool error = d.severity == Severity::error;
  const std::string label = std::string(to_string(d.severity)) + ":";
  out << painter.paint(kBold, location_text(d)) << ' '
      << painter.paint(error ? kBoldRed : kBoldMagenta, label) << ' ' << d.message << '\n';

  if (!d.file.empty() && d.span.known()) {
    const auto text = sources.find(d.file);
    if (text != sources.end()) {
      if (const auto line = source_line(text->second, d.span.begin.line)) {
        write_source_excerpt(out, d, *line, painter);
      }
    }
  }

  if (!d.hint.empty()) out << "  " << painter.paint(kBoldCyan, "hint:") << ' ' << d.hint << '\n';
}

// ---- json -----------------------------------------------------------------------------

void append_json_diagnostic(std::string& out, const Diagnostic& d) {
  // A position is meaningful only inside a file; elsewhere it is reported as unknown.
  const bool positioned = !d.file.empty() && d.span.known();
  const auto number = [positioned](std::uint32_t value) {
    return std::to_string(positioned ? value : 0);
  };

  out += '{';
  append_json_key(out, "file");
  append_json_string(out, d.file);
  out += ",\"line\":" + number(d.span.begin.line);
  out += ",\"column\":" + number(d.span.begin.column);
  out += ",\"end_line\":" + number(d.span.end.line);
  out += ",\"end_column\":" + number(d.span.end.column);
  out += ',';
  append_json_key(out, "severity");
  append_json_string(out, to_string(d.severity));
  out += ',';
  append_json_key(out, "rule");
  append_json_string(out, d.rule);
  out += ',';
  append_json_key(out, "message");
  append_json_string(out, d.message);
  out += ',';
  append_json_key(out, "hint");
  append_json_string(out, d.hint);
  out += '}';
}

void write_json(std::ostream& out, std::span<const Diagnostic> diagnostics) {
  std::string doc = "{\"version\":1,\"diagnostics\":[";
  for (std::size_t i = 0; i < diagnostics.size(); ++i) {
    if (i != 0) doc += ',';
    append_json_diagnostic(doc, diagnostics[i]);
  }
  doc += "],\"errors\":" + std::to_string(count_severity(diagnostics, Severity::error));
  doc += ",\"warnings\":" + std::to_string(count_severity(diagnostics, Severity::warning));
  doc += "}\n";
  out << doc;
}

// ---- github ---------------------------------------------------------------------------

// The runner reads a workflow command up to the end of the line, so line breaks and the
// escape character itself must be encoded in the message.
std::string github_data(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    switch (c) {
      case '%': escaped += "%25"; break;
      case '\r': escaped += "%0D"; break;
      case '\n': escaped += "%0A"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

// Property values also end at ',' (next property) and ':' (start of "::message").
std::string github_property(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    switch (c) {
      case '%': escaped += "%25"; break;
      case '\r': escaped += "%0D"; break;
      case '\n': escaped += "%0A"; break;
      case ':': escaped += "%3A"; break;
      case ',': escaped += "%2C"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::vector<std::string> github_properties(const Diagnostic& d) {
  std::vector<std::string> properties;
  if (!d.file.empty()) properties.push_back("file=" + github_property(d.file));

  if (!d.file.empty() && d.span.known()) {
    // GitHub refuses columns on an annotation that spans several lines.
    const bool has_end = d.span.end.line != 0;
    const bool one_line = !has_end || d.span.end.line == d.span.begin.line;
    properties.push_back("line=" + std::to_string(d.span.begin.line));
    if (one_line && d.span.begin.column != 0) {
      properties.push_back("col=" + std::to_string(d.span.begin.column));
    }
    if (has_end) properties.push_back("endLine=" + std::to_string(d.span.end.line));
    if (has_end && one_line && d.span.end.column != 0) {
      properties.push_back("endColumn=" + std::to_string(d.span.end.column));
    }
  }

  if (!d.rule.empty()) properties.push_back("title=" + github_property(d.rule));
  return properties;
}

void write_github(std::ostream& out, const Diagnostic& d) {
  std::string line = "::";
  line += to_string(d.severity);

  const std::vector<std::string> properties = github_properties(d);
  for (std::size_t i = 0; i < properties.size(); ++i) {
    line += i == 0 ? ' ' : ',';
    line += properties[i];
  }

  line += "::" + github_data(d.message);
  if (!d.hint.empty()) line += "%0A" + github_data("hint: " + d.hint);
  out << line << '\n';
}

// ---- sarif ----------------------------------------------------------------------------

// A relative URI reference for a path: backslashes become '/', and every byte outside the
// unreserved set and '/' is percent-encoded, so spaces, '#', '?' and ':' stay in the path.
std::string sarif_uri(std::string_view path) {
  std::string uri;
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    const bool alphanumeric = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                              (byte >= '0' && byte <= '9');
    if (c == '\\') {
      uri += '/';
    } else if (alphanumeric || c == '/' || c == '.' || c == '-' || c == '_' || c == '~') {
      uri += c;
    } else {
      uri += '%';
      uri += hex_digit(byte >> 4, true);
      uri += hex_digit(byte, true);
    }
  }
  return uri;
}

// The distinct rule ids in the order they first appear.
std::vector<std::string_view> rule_ids(std::span<const Diagnostic> diagnostics) {
  std::vector<std::string_view> ids;
  for (const Diagnostic& d : diagnostics) {
    if (std::find(ids.begin(), ids.end(), d.rule) == ids.end()) ids.push_back(d.rule);
  }
  return ids;
}

void append_sarif_rules(std::string& out, std::span<const std::string_view> ids) {
  out += "\"rules\":[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) out += ',';
    out += "{\"id\":";
    append_json_string(out, ids[i]);
    out += ",\"shortDescription\":{\"text\":";
    append_json_string(out, ids[i]);
    out += "}}";
  }
  out += ']';
}

void append_sarif_region(std::string& out, const SourceSpan& span) {
  out += "\"region\":{\"startLine\":" + std::to_string(span.begin.line);
  if (span.begin.column != 0) out += ",\"startColumn\":" + std::to_string(span.begin.column);
  if (span.end.line != 0) {
    out += ",\"endLine\":" + std::to_string(span.end.line);
    if (span.end.column != 0) out += ",\"endColumn\":" + std::to_string(span.end.column);
  }
  out += '}';
}

void append_sarif_location(std::string& out, const Diagnostic& d) {
  out += "\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":";
  append_json_string(out, sarif_uri(d.file));
  out += '}';
  if (d.span.known()) {
    out += ',';
    append_sarif_region(out, d.span);
  }
  out += "}}]";
}

void append_sarif_result(std::string& out, const Diagnostic& d, std::size_t rule_index) {
  out += "{\"ruleId\":";
  append_json_string(out, d.rule);
  out += ",\"ruleIndex\":" + std::to_string(rule_index);
  out += ",\"level\":";
  append_json_string(out, to_string(d.severity));
  out += ",\"message\":{\"text\":";
  append_json_string(out, d.hint.empty() ? d.message : d.message + "\nhint: " + d.hint);
  out += '}';
  if (!d.file.empty()) {
    out += ',';
    append_sarif_location(out, d);
  }
  out += '}';
}

void write_sarif(std::ostream& out, std::span<const Diagnostic> diagnostics) {
  const std::vector<std::string_view> ids = rule_ids(diagnostics);

  std::string doc = "{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{";
  doc += "\"name\":\"synoverlay\",\"version\":";
  append_json_string(doc, SYNOVERLAY_VERSION);
  doc += ',';
  append_sarif_rules(doc, ids);
  doc += "}},\"results\":[";

  for (std::size_t i = 0; i < diagnostics.size(); ++i) {
    if (i != 0) doc += ',';
    const auto rule = std::find(ids.begin(), ids.end(), diagnostics[i].rule);
    append_sarif_result(doc, diagnostics[i], static_cast<std::size_t>(rule - ids.begin()));
  }
  doc += "]}]}\n";
  out << doc;
}

// ---- did you mean ---------------------------------------------------------------------

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_letter(char a, char b) { return ascii_lower(a) == ascii_lower(b); }

// Optimal string alignment distance, ignoring ASCII case: insertions, deletions,
// substitutions and swaps of two neighbouring characters each cost one.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the table suffice: a swap looks two rows back.
  std::vector<std::size_t> before_previous(b.size() + 1);
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;

  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = same_letter(a[i - 1], b[j - 1]) ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      const bool swapped =
          i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) && same_letter(a[i - 2], b[j - 1]);
      if (swapped) current[j] = std::min(current[j], before_previous[j - 2] + 1);
    }
    std::swap(before_previous, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

// True when one is a prefix of the other (ignoring case) and they differ by at most three
// characters: "stor" for "storage".
bool prefix_related(std::string_view word, std::string_view candidate) {
  const std::string_view shorter = word.size() <= candidate.size() ? word : candidate;
  const std::string_view longer = word.size() <= candidate.size() ? candidate : word;
  if (shorter.empty() || longer.size() - shorter.size() > 3) return false;
  return std::equal(shorter.begin(), shorter.end(), longer.begin(), same_letter);
}

}  // namespace

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
  }
  return "error";
}

namespace {

// Control characters from a user's value are shown as escapes: printed raw, a newline
// would forge a diagnostic line and an ESC would drive the terminal. Hints may span lines
// on purpose (a guard's steps), and no hint quotes a value that holds a newline.
std::string visible_controls(std::string text, bool keep_newlines) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if ((byte >= 0x20 && byte != 0x7f) || (keep_newlines && c == '\n')) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

}  // namespace

void DiagnosticSink::add(Diagnostic diagnostic) {
  diagnostic.message = visible_controls(std::move(diagnostic.message), false);
  diagnostic.hint = visible_controls(std::move(diagnostic.hint), true);
  diagnostics_.push_back(std::move(diagnostic));
}

void DiagnosticSink::error(const std::string& file, SourceSpan span, std::string rule,
                           std::string message, std::string hint) {
  add({file, span, Severity::error, std::move(rule), std::move(message), std::move(hint)});
}

void DiagnosticSink::warning(const std::string& file, SourceSpan span, std::string rule,
                             std::string message, std::string hint) {
  add({file, span, Severity::warning, std::move(rule), std::move(message), std::move(hint)});
}

std::size_t DiagnosticSink::error_count() const {
  return count_severity(diagnostics_, Severity::error);
}

std::size_t DiagnosticSink::warning_count() const {
  return count_severity(diagnostics_, Severity::warning);
}

std::vector<Diagnostic> DiagnosticSink::sorted() const {
  std::vector<Diagnostic> result = diagnostics_;

  // An empty file name and line 0 sort first on their own, which puts problems without a
  // file, then those without a position, ahead of the rest.
  std::stable_sort(result.begin(), result.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file) return a.file < b.file;
    return a.span.begin < b.span.begin;
  });
  return result;
}

void render_diagnostics(std::ostream& out, std::span<const Diagnostic> diagnostics,
                        const SourceTexts& sources, const RenderOptions& options) {
  switch (options.format) {
    case OutputFormat::human: {
      const Painter painter(options.color);
      for (const Diagnostic& d : diagnostics) write_human(out, d, sources, painter);
      break;
    }
    case OutputFormat::json: write_json(out, diagnostics); break;
    case OutputFormat::github:
      for (const Diagnostic& d : diagnostics) write_github(out, d);
      break;
    case OutputFormat::sarif: write_sarif(out, diagnostics); break;
  }
}

std::string_view closest_match(std::string_view word,
                               std::span<const std::string_view> candidates) {
  if (word.empty()) return {};

  // Short words allow fewer edits: one edit turns most two-letter words into others.
  const std::size_t limit = word.size() >= 5 ? 2 : word.size() >= 3 ? 1 : 0;

  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const std::string_view candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    const bool close = distance <= limit || prefix_related(word, candidate);
    // Strictly smaller, so that a tie keeps the earlier candidate.
    if (close && distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace synoverlay
