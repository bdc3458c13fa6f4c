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

}  // namespace

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
