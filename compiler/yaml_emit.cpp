#include "yaml_emit.h"

#include <cstdio>

namespace synoverlay {

std::string yaml_quote(const std::string& text) {
  auto plain = [](char c) {
    unsigned char byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte != 0x7f && c != '"' && c != '\\';
  };
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = i;
    while (run < text.size() && plain(text[run])) ++run;
    out.append(text, i, run - i);  // what needs no escape, in one piece
    if (run == text.size()) break;
    char c = text[run];
    unsigned char byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default: {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
        out += escaped;
      }
    }
    i = run + 1;
  }
  out += '"';
  return out;
}

Yaml Yaml::str(std::string text) {
  Yaml y;
  y.kind_ = Kind::quoted;
  y.text_ = std::move(text);
  return y;
}

Yaml Yaml::plain(std::string text) {
  Yaml y;
  y.kind_ = Kind::plain;
  y.text_ = std::move(text);
  return y;
}

Yaml Yaml::seq() {
  Yaml y;
  y.kind_ = Kind::seq;
  return y;
}

Yaml Yaml::map() {
  Yaml y;
  y.kind_ = Kind::map;
  return y;
}

Yaml& Yaml::add(Yaml item) & {
  items_.push_back(std::move(item));
  return *this;
}

Yaml&& Yaml::add(Yaml item) && { return std::move(add(std::move(item))); }

Yaml& Yaml::set(std::string key, Yaml value) & {
  entries_.emplace_back(std::move(key), std::move(value));
  return *this;
}

Yaml&& Yaml::set(std::string key, Yaml value) && {
  return std::move(set(std::move(key), std::move(value)));
}

bool Yaml::block() const {
  return (kind_ == Kind::seq && !items_.empty()) || (kind_ == Kind::map && !entries_.empty());
}

void Yaml::emit_inline(std::string& out) const {
  switch (kind_) {
    case Kind::quoted:
      out += yaml_quote(text_);
      break;
    case Kind::plain:
      out += text_;
      break;
    case Kind::seq:
      out += "[]";
      break;
    case Kind::map:
      out += "{}";
      break;
  }
}

// Writes a non-empty sequence or mapping whose first line starts at the current position
// (the caller has written the indentation or "- ") and whose other lines get `indent`.
void Yaml::emit_block(std::string& out, int indent) const {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  bool first = true;
  if (kind_ == Kind::map) {
    for (const auto& [key, value] : entries_) {
      if (!first) out += pad;
      first = false;
      out += yaml_quote(key) + ":";
      if (value.block()) {
        out += "\n";
        int child = indent + 2;
        out += std::string(static_cast<std::size_t>(child), ' ');
        value.emit_block(out, child);
      } else {
        out += " ";
        value.emit_inline(out);
        out += "\n";
      }
    }
    return;
  }
  for (const Yaml& item : items_) {
    if (!first) out += pad;
    first = false;
    out += "- ";
    if (item.block()) {
      item.emit_block(out, indent + 2);
    } else {
      item.emit_inline(out);
      out += "\n";
    }
  }
}

std::string Yaml::emit() const {
  std::string out;
  if (block()) {
    emit_block(out, 0);
  } else {
    emit_inline(out);
    out += "\n";
  }
  return out;
}

}  // namespace synoverlay
