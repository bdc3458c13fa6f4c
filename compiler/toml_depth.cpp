#include "toml_depth.h"

namespace synoverlay {
namespace {

// Skips the string starting at `i` (a quote character) and returns the offset just past
// it; an unterminated string runs to the end, where the parser will report it.
std::size_t skip_string(std::string_view text, std::size_t i) {
  char quote = text[i];
  bool multi = text.substr(i, 3) == std::string_view(quote == '"' ? "\"\"\"" : "'''");
  std::size_t pos = i + (multi ? 3 : 1);
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '\\' && quote == '"') {
      pos += 2;
      continue;
    }
    if (!multi && c == '\n') return pos;
    if (c == quote && (!multi || text.substr(pos, 3) == text.substr(i, 3))) {
      return pos + (multi ? 3 : 1);
    }
    ++pos;
  }
  return pos;
}

// After a line-ending backslash in a multi-line basic string, the offset of the first
// character that is not ASCII white space, when it is not ASCII; else npos.
std::size_t trimmed_non_ascii(std::string_view text, std::size_t backslash) {
  std::size_t pos = backslash + 1;
  while (pos < text.size() &&
         (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\r' || text[pos] == '\n')) {
    ++pos;
  }
  bool crossed_line =
      text.substr(backslash + 1, pos - backslash - 1).find('\n') != std::string_view::npos;
  if (crossed_line && pos < text.size() && static_cast<unsigned char>(text[pos]) >= 0x80) {
    return pos;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::size_t> find_stray_non_ascii(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '"' && text.substr(i, 3) == "\"\"\"") {
      std::size_t end = skip_string(text, i);
      for (std::size_t pos = i + 3; pos < end; ++pos) {
        if (text[pos] != '\\') continue;
        if (std::size_t bad = trimmed_non_ascii(text, pos); bad != std::string_view::npos) {
          return bad;
        }
        ++pos;  // the escaped character
      }
    }
    if (c == '"' || c == '\'') {
      i = skip_string(text, i);
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    // A byte-order mark opens the file legitimately.
    if (i == 0 && text.starts_with("\xEF\xBB\xBF")) {
      i = 3;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) return i;
    ++i;
  }
  return std::nullopt;
}

std::optional<std::size_t> find_excess_nesting(std::string_view text) {
  std::size_t brackets = 0;
  std::size_t dots = 0;  // dots in the current key or value, outside strings
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '"' || c == '\'') {
      i = skip_string(text, i);
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '[' || c == '{') {
      if (++brackets > kMaxTomlDepth) return i;
    } else if ((c == ']' || c == '}') && brackets > 0) {
      --brackets;
    } else if (c == '.') {
      if (++dots > kMaxTomlDepth) return i;
    } else if (c == '\n' || c == '=' || c == ',') {
      dots = 0;
    }
    ++i;
  }
  return std::nullopt;
}

}  // namespace synoverlay
