// Hostile input, in process. Every string field of the environment file is given YAML,
// shell and newline injection: the loader and validator either refuse the value with an
// error whose text carries no raw control character, or the overlay generator renders it so
// that every generated YAML file (parsed with yaml-cpp) has exactly the structure it has with
// a harmless value and holds the value verbatim, and the record reads back to the same
// environment. Environment names that are paths are refused. Oversized, deeply nested,
// binary and oddly encoded files get a clear error or are read correctly, and a path that is
// no regular file (a named pipe, a device) is refused without waiting; the risky ones
// run in a child process, so that a crash or a hang fails one check instead of the whole
// test binary. tests/integration/hostile_test.sh does the same through the real binary,
// kubectl kustomize and the provisioning script.

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "load_toml.h"
#include "overlay.h"
#include "test_support.h"
#include "validate.h"

namespace synoverlay {
namespace {

// One string key of the environment file: its table ("" for the top level), its key as
// written in TOML, and a value every check accepts.
struct Field {
  std::string table;
  std::string key;
  std::string benign;
};

const std::vector<Field>& string_fields() {
  static const std::vector<Field> fields = {
      {"", "name", "hostile"},
      {"", "namespace", "hostile-ns"},
      {"", "version", "v2.233.0"},
      {"", "cluster_domain", "cluster.local"},
      {"", "storage_class", "fast-ssd"},
      {"", "registry", "mirror.example.com/vertexproject"},
      {"", "pull_secret", "synapse-registry"},
      {"aha", "network", "hostile.synapse"},
      {"cortex", "storage", "50Gi"},
      {"cortex", "digest",
       "sha256:4f5c1a8b2e3d9f0a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"},
      {"cortex.requests", "cpu", "500m"},
      {"cortex.config", "\"storm:log:level\"", "INFO"},
      {"optic", "version", "v2.19.3"},
      {"optic", "netloc", "optic.example.com"},
      {"optic", "pull_secret", "optic-registry"},
      {"optic.ingress", "class", "nginx"},
      {"optic.ingress", "tls_secret", "optic-tls"},
      {"provisioning", "image", "registry.k8s.io/kubectl:v1.32.4"},
      {"gitops", "engine", "argocd"},
      {"gitops", "repo_url", "https://git.example.com/platform/gitops.git"},
      {"gitops", "revision", "main"},
      {"gitops", "path", "clusters/prod"},
      {"gitops", "argocd_namespace", "argocd"},
      {"gitops", "project", "default"},
      {"gitops", "flux_namespace", "flux-system"},
      {"gitops", "interval", "5m"},
  };
  return fields;
}

// YAML, shell and newline injection, and characters YAML 1.1 readers treat specially.
const std::vector<std::string>& hostile_values() {
  using namespace std::string_literals;
  static const std::vector<std::string> values = {
      "a\nb: c",
      "x: y",
      "'",
      "\"",
      "{a: b}",
      "- x",
      "&a",
      "*a",
      "!!python/object",
      "!!python/object/apply:os.system [\"id\"]",
      "$(touch /tmp/pwned)",
      "`id`",
      "; rm -rf /",
      "a\nb",
      "a\r\nb",
      "\n",
      "a\rb",
      "a\0b"s,
      "a\tb",
      "# comment",
      "a #b",
      "---",
      "...",
      "%YAML 1.2",
      "? x",
      "| x",
      "> x",
      "@x",
      "\\",
      "\x1b[2J",
      "a\nenv.toml:1:1: error: forged",
      "a\xc2\x85" "b",        // NEL: a line break to YAML 1.1
      "a\xe2\x80\xa8" "b",    // LINE SEPARATOR
      "${HOME}",
      "x\" \"y: z",
      std::string(5000, 'a'),
  };
  return values;
}

// `text` as a TOML basic string.
std::string toml_string(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// An environment file that sets every string field, with `overrides` (by "table.key")
// replacing the benign values.
std::string environment_text(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::vector<std::string>> tables;
  std::vector<std::string> order;
  for (const Field& field : string_fields()) {
    auto it = overrides.find(field.table + "." + field.key);
    std::string value = it == overrides.end() ? field.benign : it->second;
    if (!tables.contains(field.table)) order.push_back(field.table);
    tables[field.table].push_back(field.key + " = " + toml_string(value));
  }
  std::string text;
  for (const std::string& table : order) {
    if (!table.empty()) text += "\n[" + table + "]\n";
    for (const std::string& line : tables[table]) text += line + "\n";
  }
  return text;
}

struct Outcome {
  std::vector<Diagnostic> diagnostics;
  std::optional<ResolvedEnvironment> env;
};

Outcome load_and_validate(std::string_view text) {
  DiagnosticSink sink;
  Outcome out;
  std::optional<Environment> loaded = load_environment("envs/hostile.toml", text, sink);
  if (loaded && !sink.has_errors()) {
    out.env = validate_environment(*loaded, "envs/hostile.toml", sink);
  }
  out.diagnostics = sink.sorted();
  return out;
}

bool has_control_character(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) return true;
  }
  return false;
}

std::string shape_key(const YAML::Node& key);

// The structure of a YAML node with its scalars' values left out: the keys of mappings in
// order, the length of sequences, and the tag of every scalar.
std::string shape(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::string out = "{";
      for (const auto& entry : node) {
        out += shape_key(entry.first) + ":" + shape(entry.second) + ",";
      }
      return out + "}";
    }
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      for (const auto& item : node) out += shape(item) + ",";
      return out + "]";
    }
    case YAML::NodeType::Scalar: return "s<" + node.Tag() + ">";
    case YAML::NodeType::Null: return "null";
    default: return "?";
  }
}

std::string shape_key(const YAML::Node& key) {
  return key.IsScalar() ? "'" + key.Scalar() + "'" : "(" + shape(key) + ")";
}

// Every scalar below `node`, mapping keys included.
void collect_scalars(const YAML::Node& node, std::vector<std::string>& out) {
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsMap()) {
    for (const auto& entry : node) {
      collect_scalars(entry.first, out);
      collect_scalars(entry.second, out);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) collect_scalars(item, out);
  }
}

std::optional<YAML::Node> parse_yaml(const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

// Checks one accepted hostile value: same files, same YAML structure as with the benign
// value, the value verbatim in a scalar, and a record that reads back to the same thing.
void check_accepted(const std::string& what, const std::string& value,
                    const ResolvedEnvironment& env, const ResolvedEnvironment& baseline) {
  FileMap files = render_environment(env);
  FileMap expected = render_environment(baseline);
  std::vector<std::string> paths, expected_paths;
  for (const auto& [path, content] : files) paths.push_back(path);
  for (const auto& [path, content] : expected) expected_paths.push_back(path);
  CHECK_MESSAGE(paths == expected_paths, what << ": other files than with a harmless value");

  bool found = false;
  for (const auto& [path, content] : files) {
    if (!path.ends_with(".yaml") || !expected.contains(path)) continue;
    std::optional<YAML::Node> doc = parse_yaml(content);
    CHECK_MESSAGE(doc.has_value(), what << ": " << path << " is not YAML:\n" << content);
    if (!doc) continue;
    std::optional<YAML::Node> base = parse_yaml(expected.at(path));
    REQUIRE(base.has_value());
    CHECK_MESSAGE(shape(*doc) == shape(*base),
                  what << ": " << path << " has another structure:\n" << content);
    std::vector<std::string> scalars;
    collect_scalars(*doc, scalars);
    for (const std::string& scalar : scalars) {
      if (scalar.find(value) != std::string::npos) found = true;
    }
  }
  CHECK_MESSAGE(found, what << ": the value appears verbatim in no generated scalar");

  DiagnosticSink sink;
  std::optional<Environment> record = load_environment("record.toml", render_record(env), sink);
  REQUIRE_MESSAGE(record.has_value(), what << ": the record does not load");
  std::optional<ResolvedEnvironment> again = validate_environment(*record, env.source, sink);
  REQUIRE_MESSAGE(again.has_value(), what << ": the record does not validate");
  CHECK_MESSAGE(describe(*again) == describe(env), what << ": the record reads back differently");
}

// The result of running `work` in a child process: whether it finished (neither a signal
// nor the alarm), and the byte it reported through a pipe ('E' refused, 'O' accepted).
struct ChildResult {
  bool finished = false;
  char answer = 0;
  std::string how;  // what happened, for messages
};

ChildResult run_in_child(const std::function<char()>& work, unsigned seconds) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::alarm(seconds);
    char answer = work();
    (void)!::write(fds[1], &answer, 1);
    ::_exit(0);
  }
  ::close(fds[1]);
  ChildResult result;
  if (::read(fds[0], &result.answer, 1) != 1) result.answer = 0;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    int signal = WTERMSIG(status);
    result.how = signal == SIGALRM ? "hung (no answer after " + std::to_string(seconds) + "s)"
                                   : "killed by signal " + std::to_string(signal);
  } else if (WEXITSTATUS(status) != 0 || result.answer == 0) {
    // A sanitizer reports a crash and exits with a status of its own.
    result.how = "exited with status " + std::to_string(WEXITSTATUS(status)) + " before answering";
  } else {
    result.finished = true;
    result.how = result.answer == 'E' ? "refused" : "accepted";
  }
  return result;
}

// Loads and validates `text` in a child process: 'E' when an error was reported.
ChildResult load_in_child(std::string text, unsigned seconds = 60) {
  return run_in_child(
      [text = std::move(text)] {
        Outcome outcome = load_and_validate(text);
        bool refused = !outcome.env.has_value();
        for (const Diagnostic& d : outcome.diagnostics) {
          if (d.severity == Severity::error) refused = true;
        }
        return refused ? 'E' : 'O';
      },
      seconds);
}

std::string repeat(std::string_view part, std::size_t times) {
  std::string out;
  out.reserve(part.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += part;
  return out;
}

constexpr std::string_view kMinimal = "name = \"dev\"\nversion = \"v2.233.0\"\n";

}  // namespace

TEST_CASE("hostile: the benign environment of these tests is valid") {
  Outcome outcome = load_and_validate(environment_text({}));
  for (const Diagnostic& d : outcome.diagnostics) INFO(d.rule << ": " << d.message);
  REQUIRE(outcome.env.has_value());
  std::map<std::string, std::string> flux = {{"gitops.engine", "flux"}};
  REQUIRE(load_and_validate(environment_text(flux)).env.has_value());
}

TEST_CASE("hostile: every string field refuses injection or renders it as a plain string") {
  int accepted = 0, refused = 0;
  std::vector<std::string> raw_control;  // diagnostics that carry a control character
  for (const char* engine : {"argocd", "flux"}) {
    std::map<std::string, std::string> base = {{"gitops.engine", engine}};
    std::optional<ResolvedEnvironment> baseline = load_and_validate(environment_text(base)).env;
    REQUIRE(baseline.has_value());
    for (const Field& field : string_fields()) {
      if (field.key == "engine") continue;  // fixed per round
      for (const std::string& value : hostile_values()) {
        std::string id = field.table + "." + field.key;
        std::map<std::string, std::string> overrides = base;
        overrides[id] = value;
        std::string what = std::string(engine) + ": " + id + " = " + toml_string(value);
        Outcome outcome = load_and_validate(environment_text(overrides));

        for (const Diagnostic& d : outcome.diagnostics) {
          CHECK_MESSAGE(d.rule != "toml-syntax", what << ": the test wrote bad TOML");
          // Printed raw, a newline forges a diagnostic line and ESC drives the terminal.
          if (has_control_character(d.message) || has_control_character(d.hint)) {
            raw_control.push_back(what + " -> " + toml_string(d.message + " / " + d.hint));
          }
        }
        if (!outcome.env) {
          bool has_error = false;
          for (const Diagnostic& d : outcome.diagnostics) {
            if (d.severity == Severity::error) has_error = true;
          }
          CHECK_MESSAGE(has_error, what << ": refused without an error");
          ++refused;
          continue;
        }
        ++accepted;
        CHECK_MESSAGE(!has_control_character(value),
                      what << ": a value with a control character was accepted");
        check_accepted(what, value, *outcome.env, *baseline);
      }
    }
  }
  MESSAGE("hostile values refused: " << refused << ", accepted and checked: " << accepted);
  std::string examples;
  for (std::size_t i = 0; i < raw_control.size() && i < 8; ++i) examples += raw_control[i] + "\n";
  CHECK_MESSAGE(raw_control.empty(), raw_control.size()
                                         << " diagnostics quote a value with its raw control "
                                            "characters (newline, CR, ESC, NUL), for example:\n"
                                         << examples);
  // Config values may be any one-line YAML, so some injections are legal there; without an
  // accepted case the structural checks above would never have run.
  CHECK(accepted > 0);
  CHECK(refused > 0);
}

TEST_CASE("hostile: environment names that are paths are refused") {
  for (const char* name : {"../x", "/abs", "a/b", "..", ".", "a\\b", "", "x/../../y"}) {
    std::string text = "name = " + toml_string(name) + "\nversion = \"v2.233.0\"\n";
    Outcome outcome = load_and_validate(text);
    CHECK_MESSAGE(!outcome.env.has_value(), "name '" << name << "' was accepted");
    CHECK_MESSAGE(!outcome.diagnostics.empty(), "name '" << name << "' refused silently");
  }
}

TEST_CASE("hostile: an oversized file is refused at once") {
  std::string text(100u << 20, '#');
  Outcome outcome = load_and_validate(text);
  CHECK_FALSE(outcome.env.has_value());
  REQUIRE(outcome.diagnostics.size() == 1);
  CHECK(outcome.diagnostics[0].rule == "file-too-large");
}

TEST_CASE("hostile: deep nesting is an error, never a crash or a hang") {
  constexpr std::size_t kDepth = 100'000;
  std::string head(kMinimal);
  struct Case {
    const char* what;
    std::string text;
  };
  std::vector<Case> cases = {
      {"inline tables", head + "x = " + repeat("{a = ", kDepth) + "1" + repeat("}", kDepth)},
      {"arrays", head + "x = " + repeat("[", kDepth) + repeat("]", kDepth)},
      {"a dotted key", head + repeat("a.", kDepth) + "b = 1\n"},
      {"a table header", head + "[" + repeat("a.", kDepth) + "b]\nc = 1\n"},
      {"an array-of-tables header", head + "[[" + repeat("a.", kDepth) + "b]]\nc = 1\n"},
      {"a config value (dotted key, 10,000 levels)",
       head + "[cortex.config]\n" + repeat("a.", 10'000) + "b = 1\n"},
      {"a config value (dotted key)",
       head + "[cortex.config]\n" + repeat("a.", kDepth) + "b = 1\n"},
      {"a config value (inline tables, 200 levels)",
       head + "[cortex.config]\nx = " + repeat("{a = ", 200) + "1" + repeat("}", 200) + "\n"},
  };
  for (const Case& c : cases) {
    ChildResult result = load_in_child(c.text);
    CHECK_MESSAGE(result.finished,
                  std::string(c.what) << " (" << c.text.size() << " bytes): " << result.how);
  }
}

TEST_CASE("hostile: encodings and stray bytes get a clear error or are read correctly") {
  std::string dev = std::string(kMinimal) + "[cortex]\nstorage = \"100Gi\"\n";
  Outcome plain = load_and_validate(dev);
  REQUIRE(plain.env.has_value());

  SUBCASE("a byte-order mark is read as the same environment") {
    Outcome bom = load_and_validate("\xef\xbb\xbf" + dev);
    REQUIRE(bom.env.has_value());
    CHECK(describe(*bom.env) == describe(*plain.env));
    CHECK(render_environment(*bom.env) == render_environment(*plain.env));
  }
  SUBCASE("CRLF line endings are read as the same environment") {
    std::string crlf;
    for (char c : dev) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    Outcome outcome = load_and_validate(crlf);
    REQUIRE(outcome.env.has_value());
    CHECK(render_environment(*outcome.env) == render_environment(*plain.env));
  }
  SUBCASE("refused with a positioned error") {
    using namespace std::string_literals;
    std::vector<std::string> bad = {
        "name = \"d\xff\"\nversion = \"v2.233.0\"\n",       // invalid UTF-8 in a string
        "# \xc3\x28\n"s + dev,                              // invalid UTF-8 in a comment
        "name = \"dev\"\0\nversion = \"v2.233.0\"\n"s,      // NUL
        "name = \"dev\"\rversion = \"v2.233.0\"\n",         // lone carriage return
        "\xff\xfen\0a\0m\0e\0"s,                            // UTF-16
        "\xef\xbb\xbf\xef\xbb\xbf"s + dev,                  // two byte-order marks
        "name = \"dev\xed\xa0\x80\"\nversion = \"v2.233.0\"\n",  // an encoded surrogate
    };
    for (const std::string& text : bad) {
      Outcome outcome = load_and_validate(text);
      CHECK_FALSE(outcome.env.has_value());
      REQUIRE_FALSE(outcome.diagnostics.empty());
      CHECK(outcome.diagnostics[0].span.known());
    }
  }
}

TEST_CASE("hostile: random bytes never crash or hang the loader") {
  std::mt19937 random(20261204);
  std::vector<std::string> inputs;
  for (int i = 0; i < 64; ++i) {
    std::string text(static_cast<std::size_t>(random() % 4096), '\0');
    for (char& c : text) c = static_cast<char>(random());
    inputs.push_back(std::move(text));
  }
  ChildResult result = run_in_child(
      [&inputs] {
        for (const std::string& text : inputs) load_and_validate(text);
        return 'E';
      },
      60);
  CHECK_MESSAGE(result.finished, "random bytes: " << result.how);
}

TEST_CASE("hostile: an environment file that is no regular file is refused, never read") {
  testing::TempDir dir("hostile");
  std::string fifo = dir / "fifo.toml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string link = dir / "link.toml";
  REQUIRE(::symlink(fifo.c_str(), link.c_str()) == 0);
  std::string socket_path = dir / "socket.toml";
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof address.sun_path);
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);

  struct Case {
    std::string path;
    std::string kind;
  };
  std::vector<Case> cases = {
      {fifo, "a named pipe (FIFO)"},       {link, "a named pipe (FIFO)"},
      {socket_path, "a socket"},           {dir.path(), "a folder"},
      {"/dev/zero", "a character device"}, {"/dev/null", "a character device"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.path);
    auto validate = [&c](std::ostream& out, std::ostream& err) {
      ValidateOptions options;
      options.common.format = OutputFormat::json;
      options.files = {c.path};
      return run_validate(options, {out, err});
    };
    // In a child first: a read that waits for a writer, or never ends, fails only this.
    ChildResult child = run_in_child(
        [&validate] {
          std::ostringstream out, err;
          return validate(out, err) == kExitRejected ? 'E' : 'O';
        },
        10);
    REQUIRE_MESSAGE(child.finished, c.path << ": " << child.how);
    std::ostringstream out, err;
    CHECK(validate(out, err) == kExitRejected);
    std::string message = "the file is " + c.kind + ", not an environment file";
    CHECK(out.str() == "{\"version\":1,\"diagnostics\":[{\"file\":\"" + c.path +
                           "\",\"line\":0,\"column\":0,\"end_line\":0,\"end_column\":0,"
                           "\"severity\":\"error\",\"rule\":\"file-read\",\"message\":\"" +
                           message + "\",\"hint\":\"\"}],\"errors\":1,\"warnings\":0}\n");
    CHECK(err.str().empty());
  }
  ::close(listener);
}

}  // namespace synoverlay
