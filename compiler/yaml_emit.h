#pragma once
// A small YAML writer for generated manifests. Every string, keys included, is written
// double-quoted, so YAML 1.1 readers (Kubernetes) never take "yes", "0755" or "1e3" for
// anything but a string; numbers and booleans are written plain on purpose.

#include <string>
#include <utility>
#include <vector>

namespace synoverlay {

class Yaml {
 public:
  // A double-quoted string.
  static Yaml str(std::string text);
  // A plain scalar: an integer or a boolean the caller has spelled correctly.
  static Yaml plain(std::string text);
  static Yaml integer(long long value) { return plain(std::to_string(value)); }
  static Yaml boolean(bool value) { return plain(value ? "true" : "false"); }
  static Yaml seq();
  static Yaml map();

  // Appends to a sequence. On a temporary the result is a temporary too, so that a chain
  // such as Yaml::map().set(...).set(...) is moved where it goes, never copied.
  Yaml& add(Yaml item) &;
  Yaml&& add(Yaml item) &&;
  // Appends a key to a mapping (keys keep their order).
  Yaml& set(std::string key, Yaml value) &;
  Yaml&& set(std::string key, Yaml value) &&;

  // The value as a YAML document, ending with a newline.
  std::string emit() const;

 private:
  enum class Kind { quoted, plain, seq, map };
  Kind kind_ = Kind::quoted;
  std::string text_;
  std::vector<Yaml> items_;
  std::vector<std::pair<std::string, Yaml>> entries_;

  bool block() const;
  void emit_block(std::string& out, int indent) const;
  void emit_inline(std::string& out) const;
};

// `text` as a double-quoted YAML scalar.
std::string yaml_quote(const std::string& text);

}  // namespace synoverlay
