#include "grammar.h"

#include <cstddef>

namespace synoverlay {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || is_digit(c); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

template <typename Predicate>
bool all_of(std::string_view text, Predicate predicate) {
  for (char c : text) {
    if (!predicate(c)) return false;
  }
  return true;
}

// label = [a-z0-9]([a-z0-9-]*[a-z0-9])?
bool is_host_label(std::string_view text) {
  if (text.empty() || !is_lower_alnum(text.front()) || !is_lower_alnum(text.back())) {
    return false;
  }
  return all_of(text, [](char c) { return is_lower_alnum(c) || c == '-'; });
}

// host = label(.label)*
bool is_host(std::string_view text) {
  for (;;) {
    std::size_t dot = text.find('.');
    if (!is_host_label(text.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

// component = [a-z0-9]+(([._]|__|-+)[a-z0-9]+)*
bool is_component(std::string_view text) {
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    while (i < text.size() && is_lower_alnum(text[i])) ++i;
    if (i == start) return false;  // a run of letters and digits must follow
    if (i == text.size()) return true;
    if (text[i] == '.') {
      ++i;
    } else if (text[i] == '_') {
      i += text.substr(i, 2) == "__" ? 2 : 1;
    } else if (text[i] == '-') {
      while (i < text.size() && text[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

// The first part of a repository: host(:port)? or a component.
bool is_repository_start(std::string_view text) {
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return is_host(text) || is_component(text);
  std::string_view port = text.substr(colon + 1);
  return is_host(text.substr(0, colon)) && !port.empty() && port.size() <= 5 &&
         all_of(port, is_digit);
}

// tag = [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool is_tag(std::string_view text) {
  if (text.empty() || text.size() > 128 || text.front() == '.' || text.front() == '-') {
    return false;
  }
  return all_of(text, [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

// sha256:[0-9a-f]{64}
bool is_digest(std::string_view text) {
  constexpr std::string_view kAlgorithm = "sha256:";
  return text.size() == kAlgorithm.size() + 64 && text.starts_with(kAlgorithm) &&
         all_of(text.substr(kAlgorithm.size()), is_lower_hex);
}

}  // namespace

bool is_image_repository(std::string_view text) {
  std::size_t slash = text.find('/');
  if (!is_repository_start(text.substr(0, slash))) return false;
  while (slash != std::string_view::npos) {
    text.remove_prefix(slash + 1);
    slash = text.find('/');
    if (!is_component(text.substr(0, slash))) return false;
  }
  return true;
}

bool is_image_reference(std::string_view text) {
  std::size_t at = text.find('@');
  bool digest = at != std::string_view::npos;
  if (digest && !is_digest(text.substr(at + 1))) return false;
  std::string_view name = text.substr(0, at);
  // A tag holds neither ':' nor '/', so only the last ':' after the last '/' can start one;
  // a ':' before any '/' may instead be a registry's port.
  std::size_t colon = name.rfind(':');
  std::size_t slash = name.rfind('/');
  bool may_be_tag =
      colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  if (may_be_tag && is_tag(name.substr(colon + 1)) && is_image_repository(name.substr(0, colon))) {
    return true;
  }
  return digest && is_image_repository(name);
}

bool is_option_name(std::string_view text) {
  if (text.empty() || text.front() < 'a' || text.front() > 'z') return false;
  std::size_t colon = text.find(':');
  auto word = [](char c) { return is_lower_alnum(c) || c == '_'; };
  if (!all_of(text.substr(0, colon), word)) return false;
  while (colon != std::string_view::npos) {
    text.remove_prefix(colon + 1);
    colon = text.find(':');
    std::string_view part = text.substr(0, colon);
    if (part.empty() || !all_of(part, word)) return false;
  }
  return true;
}

bool is_interval(std::string_view text) {
  if (text.empty()) return false;
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    return i > start;
  };
  while (i < text.size()) {
    if (!digits()) return false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      if (!digits()) return false;
    }
    // "m" may not be followed by "s" of a next part (that needs digits first), so reading
    // "ms" greedily is exact.
    if (text.substr(i, 2) == "ms") {
      i += 2;
    } else if (i < text.size() && (text[i] == 's' || text[i] == 'm' || text[i] == 'h')) {
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

bool is_floating_tag(std::string_view text) {
  constexpr std::string_view kEnd = ".x.x";
  if (text.size() < 2 + kEnd.size() || !text.starts_with('v') || !text.ends_with(kEnd)) {
    return false;
  }
  std::string_view major = text.substr(1, text.size() - 1 - kEnd.size());
  if (major.size() > 9 || !all_of(major, is_digit)) return false;
  return major == "0" || major.front() != '0';
}

}  // namespace synoverlay
