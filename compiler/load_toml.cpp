#include "load_toml.h"

#include <toml++/toml.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <vector>

#include "toml_depth.h"

namespace synoverlay {
namespace {

SourceSpan span_of(const toml::source_region& region) {
  return {{region.begin.line, region.begin.column}, {region.end.line, region.end.column}};
}

// The article and name of a TOML type, as a message says it.
std::string describe_type(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// Shared state of one file's loading.
struct LoadContext {
  const std::string& path;
  std::string_view text;
  DiagnosticSink& sink;
  // Dotted names of keys that are present but of the wrong type: reported once, never
  // again as missing.
  std::set<std::string, std::less<>> mistyped;

  // The characters of the file covered by `span` when it lies on one line.
  std::string_view source_of(SourceSpan span) const {
    if (!span.known() || span.begin.line != span.end.line) return {};
    std::size_t offset = 0;
    for (std::uint32_t line = 1; line < span.begin.line; ++line) {
      offset = text.find('\n', offset);
      if (offset == std::string_view::npos) return {};
      ++offset;
    }
    std::size_t begin = offset + span.begin.column - 1;
    std::size_t end = offset + span.end.column - 1;
    if (end > text.size() || begin >= end) return {};
    return text.substr(begin, end - begin);
  }
};

constexpr std::string_view kTopLevel = "the top level";

// Where a key that is unknown in table `where` does belong, for the hint of an unknown key:
// keys put under the wrong header are a common mistake, since a key written after a
// [table] header belongs to that table.
std::string elsewhere_hint(std::string_view key, std::string_view where) {
  static constexpr std::string_view kTopKeys[] = {"name",          "namespace", "version",
                                                  "cluster_domain", "storage_class",
                                                  "registry",      "pull_secret"};
  static constexpr std::string_view kServiceKeys[] = {"storage", "digest", "requests", "limits",
                                                      "config"};
  struct Home {
    std::string_view key;
    std::string_view table;
  };
  static constexpr Home kHomes[] = {
      {"network", "[aha]"},           {"enabled", "[optic]"},
      {"netloc", "[optic]"},          {"ingress", "[optic]"},
      {"class", "[optic.ingress]"},   {"tls_secret", "[optic.ingress]"},
      {"image", "[provisioning]"},    {"timeout", "[provisioning]"},
      {"retries", "[provisioning]"},  {"engine", "[gitops]"},
      {"repo_url", "[gitops]"},       {"revision", "[gitops]"},
      {"path", "[gitops]"},           {"argocd_namespace", "[gitops]"},
      {"project", "[gitops]"},        {"flux_namespace", "[gitops]"},
      {"interval", "[gitops]"},
  };
  auto in = [key](const auto& list) {
    return std::find(std::begin(list), std::end(list), key) != std::end(list);
  };
  std::string quoted_key = "'" + std::string(key) + "'";
  bool synapse_table = where == "[aha]" || where == "[axon]" || where == "[jsonstor]" ||
                       where == "[cortex]";

  if (synapse_table && (key == "version" || key == "pull_secret")) {
    return "the top-level " + quoted_key + " applies to every Synapse service; only [optic] "
           "has one of its own";
  }
  if (where != kTopLevel && in(kTopKeys)) {
    return quoted_key + " is a top-level key; move it above the first [table] header, since a "
           "key written after a header belongs to that table";
  }
  if (where == kTopLevel && in(kServiceKeys)) {
    return quoted_key + " belongs under a service table such as [cortex]";
  }
  if (key == "cpu" || key == "memory") {
    return quoted_key + " belongs in a requests or limits table, such as requests = { " +
           std::string(key) + " = \"" + (key == "cpu" ? "500m" : "1Gi") + "\" }";
  }
  for (const Home& home : kHomes) {
    if (home.key == key && home.table != where) {
      return quoted_key + " belongs under " + std::string(home.table);
    }
  }
  return {};
}

// Reads the keys of one table, remembers which keys it was asked for, and reports the
// others as unknown with the closest known key.
class TableReader {
 public:
  TableReader(LoadContext& ctx, const toml::table& table, std::string where)
      : ctx_(ctx), table_(table), where_(std::move(where)) {}

  void string(std::string_view key, Located<std::string>& out) {
    const toml::node* node = lookup(key);
    if (node == nullptr) return;
    if (const auto* value = node->as_string()) {
      set(out, value->get(), *node);
      return;
    }
    std::string hint;
    if (node->is_number()) {
      std::string raw(ctx_.source_of(span_of(node->source())));
      if (!raw.empty()) hint = "write it quoted: " + std::string(key) + " = \"" + raw + "\"";
    }
    wrong_type(key, *node, "a string", hint);
  }

  void boolean(std::string_view key, Located<bool>& out) {
    const toml::node* node = lookup(key);
    if (node == nullptr) return;
    if (const auto* value = node->as_boolean()) {
      set(out, value->get(), *node);
      return;
    }
    std::string hint;
    if (const auto* text = node->as_string()) {
      const std::string& s = text->get();
      if (s == "true" || s == "false") {
        hint = "write it without quotes: " + std::string(key) + " = " + s;
      }
    }
    wrong_type(key, *node, "a boolean (true or false)", hint);
  }

  void integer(std::string_view key, Located<std::int64_t>& out) {
    const toml::node* node = lookup(key);
    if (node == nullptr) return;
    if (const auto* value = node->as_integer()) {
      set(out, value->get(), *node);
      return;
    }
    std::string hint;
    if (const auto* text = node->as_string()) {
      const std::string& s = text->get();
      bool digits = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return c >= '0' && c <= '9';
      });
      if (digits) hint = "write it without quotes: " + std::string(key) + " = " + s;
    }
    if (const auto* number = node->as_floating_point()) {
      double value = number->get();
      if (value == static_cast<double>(static_cast<std::int64_t>(value))) {
        hint = "write a whole number: " + std::string(key) + " = " +
               std::to_string(static_cast<std::int64_t>(value));
      }
    }
    wrong_type(key, *node, "an integer", hint);
  }

  // A sub-table (standard or inline), or nothing when absent or of the wrong type.
  const toml::table* table(std::string_view key) {
    const toml::node* node = lookup(key);
    if (node == nullptr) return nullptr;
    if (const auto* value = node->as_table()) return value;
    std::string hint = "write it as a table: a [" + dotted(key) + "] header with its keys on "
                       "the lines below it";
    if (key == "requests" || key == "limits") {
      hint = "write it as a table: " + std::string(key) + " = { cpu = \"500m\", memory = "
             "\"1Gi\" }";
    }
    wrong_type(key, *node, "a table", hint);
    return nullptr;
  }

  // Reports every key of the table that no call above asked for.
  void finish() {
    for (auto&& [key, node] : table_) {
      if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
      std::string hint;
      std::vector<std::string_view> candidates(known_.begin(), known_.end());
      std::string_view match = closest_match(key.str(), candidates);
      if (!match.empty()) {
        hint = "did you mean '" + std::string(match) + "'?";
      } else if (std::string home = elsewhere_hint(key.str(), where_); !home.empty()) {
        hint = home;
      } else {
        hint = "known keys here: " + join_known();
      }
      ctx_.sink.error(ctx_.path, span_of(key.source()), "unknown-key",
                      "unknown key '" + std::string(key.str()) + "' in " + where_, hint);
    }
  }

  std::string child_where(std::string_view key) const {
    if (where_ == kTopLevel) return "[" + std::string(key) + "]";
    return "[" + where_.substr(1, where_.size() - 2) + "." + std::string(key) + "]";
  }

  // The dotted name of `key` in this table, for messages ("aha.requests.cpu").
  std::string dotted(std::string_view key) const {
    if (where_ == kTopLevel) return std::string(key);
    return where_.substr(1, where_.size() - 2) + "." + std::string(key);
  }

 private:
  const toml::node* lookup(std::string_view key) {
    known_.emplace_back(key);
    return table_.get(key);
  }

  template <class T, class V>
  static void set(Located<T>& out, V&& value, const toml::node& node) {
    out.value = std::forward<V>(value);
    out.span = span_of(node.source());
    out.given = true;
  }

  void wrong_type(std::string_view key, const toml::node& node, std::string_view expected,
                  std::string hint) {
    ctx_.mistyped.insert(dotted(key));
    ctx_.sink.error(ctx_.path, span_of(node.source()), "wrong-type",
                    "'" + dotted(key) + "' must be " + std::string(expected) + ", not " +
                        describe_type(node),
                    std::move(hint));
  }

  std::string join_known() const {
    std::string out;
    for (const std::string& key : known_) {
      if (!out.empty()) out += ", ";
      out += key;
    }
    return out;
  }

  LoadContext& ctx_;
  const toml::table& table_;
  std::string where_;
  std::vector<std::string> known_;  // every key asked for, in order
};

void read_resources(LoadContext& ctx, TableReader& parent, std::string_view key,
                    ResourceValues& out) {
  const toml::table* table = parent.table(key);
  if (table == nullptr) return;
  TableReader reader(ctx, *table, parent.child_where(key));
  reader.string("cpu", out.cpu);
  reader.string("memory", out.memory);
  reader.finish();
}

// Renders a TOML value as the YAML text Synapse parses from an environment variable, or
// nothing for values YAML cannot carry faithfully.
std::optional<std::string> config_value_text(const toml::node& node);

std::optional<std::string> json_scalar(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    std::string out = "\"";
    for (char c : s->get()) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  return config_value_text(node);
}

std::optional<std::string> config_value_text(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) {
    std::ostringstream out;
    out << *f;
    return out.str();
  }
  if (const auto* array = node.as_array()) {
    std::string out = "[";
    for (const toml::node& item : *array) {
      auto text = json_scalar(item);
      if (!text) return std::nullopt;
      out += (out.size() > 1 ? ", " : "") + *text;
    }
    return out + "]";
  }
  if (const auto* table = node.as_table()) {
    std::string out = "{";
    for (auto&& [key, item] : *table) {
      auto text = json_scalar(item);
      if (!text) return std::nullopt;
      out += (out.size() > 1 ? ", \"" : "\"") + std::string(key.str()) + "\": " + *text;
    }
    return out + "}";
  }
  return std::nullopt;
}

void read_config(LoadContext& ctx, TableReader& parent, std::vector<ConfigOption>& out) {
  const toml::table* table = parent.table("config");
  if (table == nullptr) return;
  for (auto&& [key, node] : *table) {
    ConfigOption option;
    option.name = {std::string(key.str()), span_of(key.source()), true};
    option.value.span = span_of(node.source());
    option.value.given = true;
    auto text = config_value_text(node);
    if (!text) {
      ctx.sink.error(ctx.path, option.value.span, "config-value",
                     "option '" + option.name.value + "' has " + describe_type(node) +
                         ", which Synapse cannot read from an environment variable",
                     "use a string, number, boolean, array or table");
      continue;
    }
    option.value.value = std::move(*text);
    out.push_back(std::move(option));
  }
}

void read_service(LoadContext& ctx, TableReader& root, ServiceSpec& spec) {
  std::string key(service_name(spec.kind));
  const toml::table* table = root.table(key);
  if (table == nullptr) return;
  spec.present = true;
  spec.table_span = span_of(table->source());
  TableReader reader(ctx, *table, root.child_where(key));
  reader.string("storage", spec.storage);
  reader.string("digest", spec.digest);
  read_resources(ctx, reader, "requests", spec.requests);
  read_resources(ctx, reader, "limits", spec.limits);
  read_config(ctx, reader, spec.config);
  if (spec.kind == ServiceKind::aha) reader.string("network", spec.network);
  if (spec.kind == ServiceKind::optic) {
    reader.boolean("enabled", spec.enabled);
    reader.string("version", spec.version);
    reader.string("netloc", spec.netloc);
    reader.string("pull_secret", spec.pull_secret);
    if (const toml::table* ingress = reader.table("ingress")) {
      spec.ingress.present = true;
      spec.ingress.table_span = span_of(ingress->source());
      TableReader ingress_reader(ctx, *ingress, reader.child_where("ingress"));
      ingress_reader.string("class", spec.ingress.class_name);
      ingress_reader.string("tls_secret", spec.ingress.tls_secret);
      ingress_reader.finish();
    }
  }
  reader.finish();
}

void read_provisioning(LoadContext& ctx, TableReader& root, ProvisioningSpec& spec) {
  const toml::table* table = root.table("provisioning");
  if (table == nullptr) return;
  spec.present = true;
  spec.table_span = span_of(table->source());
  TableReader reader(ctx, *table, root.child_where("provisioning"));
  reader.string("image", spec.image);
  reader.integer("timeout", spec.timeout);
  reader.integer("retries", spec.retries);
  read_resources(ctx, reader, "requests", spec.requests);
  read_resources(ctx, reader, "limits", spec.limits);
  reader.finish();
}

void read_gitops(LoadContext& ctx, TableReader& root, GitOpsSpec& spec) {
  const toml::table* table = root.table("gitops");
  if (table == nullptr) return;
  spec.present = true;
  spec.table_span = span_of(table->source());
  TableReader reader(ctx, *table, root.child_where("gitops"));
  reader.string("engine", spec.engine);
  reader.string("repo_url", spec.repo_url);
  reader.string("revision", spec.revision);
  reader.string("path", spec.path);
  reader.string("argocd_namespace", spec.argocd_namespace);
  reader.string("project", spec.project);
  reader.string("flux_namespace", spec.flux_namespace);
  reader.string("interval", spec.interval);
  reader.finish();
}

// `key` is the dotted name; the hint says where to add it, with `example` as the line.
void require(LoadContext& ctx, const Located<std::string>& value, SourceSpan where,
             const std::string& key, const std::string& example) {
  if (value.given || ctx.mistyped.contains(key)) return;
  std::size_t dot = key.rfind('.');
  std::string place = dot == std::string::npos ? "near the top, before any [table]"
                                               : "under [" + key.substr(0, dot) + "]";
  ctx.sink.error(ctx.path, where, "missing-key", "missing required key '" + key + "'",
                 "add it " + place + ": " + example);
}

// Where a missing top-level key is reported: the first line that holds TOML (not a comment
// or a blank line), the place where the file's keys begin; line 1 for an empty file.
SourceSpan top_of_file(std::string_view text) {
  std::uint32_t number = 1;
  for (std::size_t start = 0; start < text.size(); ++number) {
    std::size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    std::size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#') {
      auto column = static_cast<std::uint32_t>(first + 1);
      return {{number, column}, {number, column}};
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return {{1, 1}, {1, 1}};
}

void check_required(LoadContext& ctx, const Environment& env) {
  SourceSpan top = top_of_file(ctx.text);
  require(ctx, env.name, top, "name", "name = \"production\"");
  require(ctx, env.version, top, "version", "version = \"v2.233.0\"");
  const ServiceSpec& optic = env.service(ServiceKind::optic);
  bool optic_off = (optic.enabled.given && !optic.enabled.value) ||
                   ctx.mistyped.contains("optic.enabled");
  if (optic.present && !optic_off) {
    require(ctx, optic.version, optic.table_span, "optic.version", "version = \"v2.19.3\"");
    require(ctx, optic.netloc, optic.table_span, "optic.netloc",
            "netloc = \"optic.example.com\"");
  }
  const GitOpsSpec& gitops = env.gitops;
  if (gitops.present) {
    require(ctx, gitops.engine, gitops.table_span, "gitops.engine", "engine = \"argocd\"");
    require(ctx, gitops.repo_url, gitops.table_span, "gitops.repo_url",
            "repo_url = \"ssh://git@git.example.com/gitops.git\"");
  }
}

// Position of a byte offset, for errors found before toml++ runs.
SourceSpan span_at(std::string_view text, std::size_t offset) {
  SourcePos pos{1, 1};
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return {pos, {pos.line, pos.column + 1}};
}

std::string lower_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = char(text[0] - 'A' + 'a');
  return text;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// Line `number` (1-based) of `text`, without its line break.
std::string_view line_of(std::string_view text, std::uint32_t number) {
  std::size_t start = 0;
  for (std::uint32_t n = 1; n < number; ++n) {
    start = text.find('\n', start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  std::size_t end = text.find('\n', start);
  return text.substr(start, end == std::string_view::npos ? end : end - start);
}

// toml++ says "error while parsing <what>: <detail>"; diagnostics say "invalid TOML <what>:
// <detail>", so that the line does not read "error: error while ...".
std::string syntax_message(std::string_view raw) {
  std::string lowered = lower_first(std::string(raw));
  std::string_view description = lowered;
  constexpr std::string_view kLead = "error while parsing ";
  std::size_t colon = description.find(": ");
  if (!description.starts_with(kLead) || colon == std::string_view::npos) {
    return "invalid TOML: " + lowered;
  }
  return "invalid TOML " + std::string(description.substr(kLead.size(), colon - kLead.size())) +
         std::string(description.substr(colon));
}

// The value of a `key = value` line when it is written bare (no quotes, brackets or braces)
// and is no TOML boolean: most likely a string that lost its quotes.
std::optional<std::pair<std::string, std::string>> bare_value(std::string_view line) {
  std::size_t equals = line.find('=');
  if (equals == std::string_view::npos) return std::nullopt;
  std::string_view key = trim(line.substr(0, equals));
  std::string_view value = line.substr(equals + 1);
  value = trim(value.substr(0, value.find(" #")));
  if (key.empty() || value.empty() || value == "true" || value == "false") return std::nullopt;
  if (std::string_view("\"'[{").find(value[0]) != std::string_view::npos) return std::nullopt;
  return std::pair{std::string(key), std::string(value)};
}

// A hint for the syntax errors people make in environment files, or empty.
std::string syntax_hint(std::string_view description, std::string_view line) {
  auto has = [description](std::string_view part) {
    return description.find(part) != std::string_view::npos;
  };
  if (has("redefine existing")) {
    return "each key and table may be defined only once; keep one and merge the settings";
  }
  if (has("dangling comma")) return "remove the comma before '}'";
  if (has("inline table") && has("saw '\\n'")) {
    return "an inline table { ... } must close on the same line; use a [table] section for "
           "longer ones";
  }
  if (has("table header")) return "a table header is written [name], on a line of its own";
  if (has("expected '=', saw ':'") && line.find(':') != std::string_view::npos) {
    std::string fixed(line);
    fixed.replace(fixed.find(':'), 1, " =");
    return "TOML assigns with '=': " + std::string(trim(fixed));
  }
  if (has("expected '='")) return "write key = value, such as name = \"production\"";
  if (has("expected value")) return "give a value after '=', such as name = \"production\"";
  if (has("expected a comment or whitespace")) return "write one key = value pair per line";
  if (has("escape sequence")) {
    return "in \"...\" a backslash starts an escape; write '\\\\' for a backslash, or use "
           "a 'literal string'";
  }
  if (has("string") && has("end-of-file")) {
    return "the string is never closed; end it with the quotes it starts with";
  }
  if (has("string")) {
    return "close the string on the same line; a string that spans lines is written between "
           "triple quotes";
  }
  if (has("array") && has("end-of-file")) return "close the array with ']'";
  if (has("utf-8")) return "save the file as UTF-8";
  if (has("root table")) return "each line is key = value, a [table] header or a # comment";
  if (auto bare = bare_value(line)) {
    return "strings are quoted in TOML: " + bare->first + " = \"" + bare->second + "\"";
  }
  return {};
}

// Reports the error toml++ found in `text` as a toml-syntax diagnostic.
void report_parse_error(const std::string& path, std::string_view text,
                        const toml::parse_error& error, DiagnosticSink& sink) {
  SourceSpan span = span_of(error.source());
  sink.error(path, span, "toml-syntax", syntax_message(error.description()),
             syntax_hint(error.description(), line_of(text, span.begin.line)));
}

// The scan for stray non-ASCII characters stops trusting quotes and comments after the
// first thing that is not TOML, so in a file with such a mistake a later non-ASCII letter
// in a string counts as stray. The text before that letter is safe to parse: when the
// parser finds an error there on an earlier line, this reports that error, which comes
// first in the file, and returns true. An error on the last line of `before` may come from
// its end, which is no end of the file, so it does not count.
bool report_earlier_error(const std::string& path, std::string_view text, std::size_t stray,
                          DiagnosticSink& sink) {
  std::string_view before = text.substr(0, stray);
  if (before.empty() || find_excess_nesting(before)) return false;
  auto last_line =
      static_cast<std::uint32_t>(std::count(before.begin(), before.end() - 1, '\n') + 1);
  try {
    (void)toml::parse(before, path);
  } catch (const toml::parse_error& error) {
    if (error.source().begin.line >= last_line) return false;
    report_parse_error(path, text, error, sink);
    return true;
  }
  return false;
}

}  // namespace

std::optional<Environment> load_environment(const std::string& path, std::string_view text,
                                            DiagnosticSink& sink) {
  if (text.size() > kMaxEnvironmentBytes) {
    sink.error(path, {}, "file-too-large",
               // The caller may read only one byte past the limit, so the size is not known.
               "the file is larger than " + std::to_string(kMaxEnvironmentBytes) +
                   " bytes, the limit for environment files",
               "is this the right file?");
    return std::nullopt;
  }
  if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    sink.error(path, span_at(text, nul), "toml-syntax", "the file contains a NUL byte",
               "environment files are UTF-8 text");
    return std::nullopt;
  }

  if (std::optional<std::size_t> stray = find_stray_non_ascii(text)) {
    if (report_earlier_error(path, text, *stray, sink)) return std::nullopt;
    sink.error(path, span_at(text, *stray), "toml-syntax",
               "invalid TOML: a non-ASCII character outside a string",
               "TOML allows letters other than ASCII only inside quoted strings and comments");
    return std::nullopt;
  }
  if (std::optional<std::size_t> deep = find_excess_nesting(text)) {
    sink.error(path, span_at(text, *deep), "toml-depth",
               "the file nests deeper than " + std::to_string(kMaxTomlDepth) + " levels here",
               "environment files nest a few levels at most; is this the right file?");
    return std::nullopt;
  }

  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    report_parse_error(path, text, error, sink);
    return std::nullopt;
  }

  LoadContext ctx{path, text, sink, {}};
  Environment env;
  env.path = path;
  TableReader reader(ctx, root, std::string(kTopLevel));
  reader.string("name", env.name);
  reader.string("namespace", env.namespace_);
  reader.string("version", env.version);
  reader.string("cluster_domain", env.cluster_domain);
  reader.string("storage_class", env.storage_class);
  reader.string("registry", env.registry);
  reader.string("pull_secret", env.pull_secret);
  for (ServiceKind kind : kAllServices) {
    env.service(kind).kind = kind;
    read_service(ctx, reader, env.service(kind));
  }
  read_provisioning(ctx, reader, env.provisioning);
  read_gitops(ctx, reader, env.gitops);
  reader.finish();
  check_required(ctx, env);
  return env;
}

std::string_view service_name(ServiceKind kind) {
  static constexpr std::array<std::string_view, kAllServices.size()> kNames = {
      "aha", "axon", "jsonstor", "cortex", "optic"};
  return kNames[static_cast<int>(kind)];
}

}  // namespace synoverlay
