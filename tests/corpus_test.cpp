// The diagnostic corpus: every tests/cases/*.toml is run through the real binary, in every
// output format, and compared byte for byte with its golden files. With UPDATE_GOLDEN=1 in
// the environment the golden files are rewritten instead (then read them before committing).
//
// Golden files of tests/cases/<case>.toml, where <case> starts with "error.":
//   <case>.human, .json, .github, .sarif  what `synoverlay validate [--format F]
//                                         tests/cases/<case>.toml`, run from the source
//                                         folder with NO_COLOR=1, writes: stderr, then stdout
//   <case>.exit                           its exit code
//   <case>.werror.human, .werror.exit     the same with --werror, for cases whose
//                                         diagnostics are all warnings (exit 0 without it)
// Cases that start with "ok." have no golden files: they must produce no diagnostic at all.

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "validate.h"

namespace synoverlay {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = SYNOVERLAY_SOURCE_DIR;
const fs::path kCasesDir = kSourceDir / "tests" / "cases";

// ---- running the binary ----------------------------------------------------------------

struct Run {
  std::string out;
  std::string err;
  int exit = -1;
};

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Runs `synoverlay <args>` from the source folder; `environment` is prepended to the command
// ("NO_COLOR=1").
Run run_synoverlay(const std::string& args, const std::string& environment = "NO_COLOR=1") {
  fs::path err_path =
      fs::temp_directory_path() / ("synoverlay-corpus-" + std::to_string(::getpid()) + ".err");
  std::string command = "cd " + shell_quote(kSourceDir.string()) + " && env " + environment + " " +
                        shell_quote(SYNOVERLAY_BINARY) + " " + args + " 2>" +
                        shell_quote(err_path.string());
  Run run;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) != 0;) {
    run.out.append(buffer, n);
  }
  int status = ::pclose(pipe);
  run.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = read_file(err_path);
  fs::remove(err_path);
  return run;
}

bool update_golden() {
  const char* value = std::getenv("UPDATE_GOLDEN");
  return value != nullptr && std::string(value) == "1";
}

std::vector<std::string> case_names(std::string_view prefix) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(kCasesDir)) {
    std::string file = entry.path().filename().string();
    if (file.starts_with(prefix) && file.ends_with(".toml")) {
      names.push_back(file.substr(0, file.size() - 5));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string case_path(const std::string& name) { return "tests/cases/" + name + ".toml"; }

// ---- a small JSON reader -----------------------------------------------------------------

struct Json;
using JsonArray = std::vector<Json>;
using JsonObject = std::map<std::string, Json, std::less<>>;

struct Json {
  std::variant<std::nullptr_t, bool, long long, std::string, JsonArray, JsonObject> value;

  const Json& operator[](std::string_view key) const {
    static const Json kNull{nullptr};
    const auto* object = std::get_if<JsonObject>(&value);
    if (object == nullptr) return kNull;
    auto it = object->find(key);
    return it == object->end() ? kNull : it->second;
  }
  const JsonArray& array() const {
    static const JsonArray kEmpty;
    const auto* array = std::get_if<JsonArray>(&value);
    return array == nullptr ? kEmpty : *array;
  }
  std::string str() const {
    const auto* text = std::get_if<std::string>(&value);
    return text == nullptr ? "<not a string>" : *text;
  }
  long long num() const {
    const auto* number = std::get_if<long long>(&value);
    return number == nullptr ? -1 : *number;
  }
  bool has(std::string_view key) const {
    const auto* object = std::get_if<JsonObject>(&value);
    return object != nullptr && object->find(key) != object->end();
  }
};

// Reads one JSON document; throws std::runtime_error on anything malformed, including
// trailing text. Numbers are integers: no output of synoverlay holds another kind.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  Json document() {
    Json value = read_value();
    skip_space();
    if (pos_ != text_.size()) fail("trailing text");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at byte " + std::to_string(pos_));
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
  }

  void expect(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  bool take(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Json read_value() {
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    char c = text_[pos_];
    if (c == '{') return read_object();
    if (c == '[') return read_array();
    if (c == '"') return Json{read_string()};
    if (take("true")) return Json{true};
    if (take("false")) return Json{false};
    if (take("null")) return Json{nullptr};
    return read_number();
  }

  Json read_object() {
    JsonObject object;
    expect('{');
    skip_space();
    if (take("}")) return Json{std::move(object)};
    do {
      skip_space();
      std::string key = read_string();
      expect(':');
      object.emplace(std::move(key), read_value());
      skip_space();
    } while (take(","));
    expect('}');
    return Json{std::move(object)};
  }

  Json read_array() {
    JsonArray array;
    expect('[');
    skip_space();
    if (take("]")) return Json{std::move(array)};
    do {
      array.push_back(read_value());
      skip_space();
    } while (take(","));
    expect(']');
    return Json{std::move(array)};
  }

  Json read_number() {
    std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ == start) fail("unexpected character");
    return Json{std::stoll(std::string(text_.substr(start, pos_ - start)))};
  }

  unsigned read_hex4() {
    if (pos_ + 4 > text_.size()) fail("short \\u escape");
    unsigned value = std::stoul(std::string(text_.substr(pos_, 4)), nullptr, 16);
    pos_ += 4;
    return value;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string read_string() {
    if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a string");
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("raw control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned code = read_hex4();
          if (code >= 0xD800 && code < 0xDC00 && take("\\u")) {
            code = 0x10000 + ((code - 0xD800) << 10) + (read_hex4() - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default:
          fail("unknown escape");
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

Json parse_json(const std::string& text) { return JsonReader(text).document(); }

// ---- the diagnostics each format shows, compared ----------------------------------------

struct Shown {
  std::string file;
  long long line = 0, column = 0, end_line = 0, end_column = 0;
  std::string severity, rule, message, hint;
};

std::vector<Shown> from_json(const Json& doc) {
  std::vector<Shown> shown;
  for (const Json& d : doc["diagnostics"].array()) {
    shown.push_back({d["file"].str(), d["line"].num(), d["column"].num(), d["end_line"].num(),
                     d["end_column"].num(), d["severity"].str(), d["rule"].str(),
                     d["message"].str(), d["hint"].str()});
  }
  return shown;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The human format: "file:line:col: severity: message", the source line, a caret under the
// column, then "  hint: ..." when there is a hint. Returns the diagnostics with file, line,
// column, severity, message and hint; checks that each caret stands under its column.
std::vector<Shown> from_human(const std::string& text) {
  std::vector<Shown> shown;
  std::vector<std::string> lines = lines_of(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::size_t severity_at = std::string::npos;
    std::string severity;
    for (std::string candidate : {"error", "warning"}) {
      std::size_t at = line.find(": " + candidate + ": ");
      if (at != std::string::npos && at < severity_at) {
        severity_at = at;
        severity = candidate;
      }
    }
    if (severity_at == std::string::npos || line.starts_with(" ")) continue;

    Shown d;
    std::string location = line.substr(0, severity_at);
    std::size_t second = location.rfind(':');
    std::size_t first = location.rfind(':', second - 1);
    REQUIRE(first != std::string::npos);
    d.file = location.substr(0, first);
    d.line = std::stoll(location.substr(first + 1, second - first - 1));
    d.column = std::stoll(location.substr(second + 1));
    d.severity = severity;
    d.message = line.substr(severity_at + severity.size() + 4);

    // "   N | source" then "     | ^~~" with the caret under the column.
    REQUIRE(i + 2 < lines.size());
    std::string gutter = "   " + std::to_string(d.line) + " | ";
    CHECK(lines[i + 1].starts_with(gutter));
    std::size_t caret = lines[i + 2].find('^');
    REQUIRE(caret != std::string::npos);
    CHECK(static_cast<long long>(caret - gutter.size() + 1) == d.column);
    i += 2;
    if (i + 1 < lines.size() && lines[i + 1].starts_with("  hint: ")) {
      d.hint = lines[++i].substr(8);
    }
    shown.push_back(d);
  }
  return shown;
}

// Decodes the escapes of a workflow command's data or property.
std::string github_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// One `::severity file=...,line=...,col=...,endLine=...,endColumn=...,title=rule::message`
// line per diagnostic; the hint follows the message after an encoded line break.
std::vector<Shown> from_github(const std::string& text) {
  std::vector<Shown> shown;
  for (const std::string& line : lines_of(text)) {
    REQUIRE(line.starts_with("::"));
    std::size_t space = line.find(' ');
    std::size_t data = line.find("::", 2);
    REQUIRE(space != std::string::npos);
    REQUIRE(data != std::string::npos);
    Shown d;
    d.severity = line.substr(2, space - 2);
    std::map<std::string, std::string> properties;
    std::istringstream in(line.substr(space + 1, data - space - 1));
    for (std::string property; std::getline(in, property, ',');) {
      std::size_t equals = property.find('=');
      properties[property.substr(0, equals)] = github_decode(property.substr(equals + 1));
    }
    // GitHub takes no columns on an annotation over several lines; -1 marks them absent.
    auto number = [&properties](const char* key) {
      auto it = properties.find(key);
      return it == properties.end() ? -1 : std::stoll(it->second);
    };
    d.file = properties["file"];
    d.line = number("line");
    d.column = number("col");
    d.end_line = number("endLine");
    d.end_column = number("endColumn");
    d.rule = properties["title"];
    std::string message = github_decode(line.substr(data + 2));
    std::size_t hint = message.find("\nhint: ");
    d.message = message.substr(0, hint);
    if (hint != std::string::npos) d.hint = message.substr(hint + 7);
    shown.push_back(d);
  }
  return shown;
}

std::vector<Shown> from_sarif(const Json& doc) {
  CHECK(doc["version"].str() == "2.1.0");
  const JsonArray& runs = doc["runs"].array();
  REQUIRE(runs.size() == 1);
  const Json& driver = runs[0]["tool"]["driver"];
  CHECK(driver["name"].str() == "synoverlay");
  const JsonArray& rules = driver["rules"].array();

  std::vector<Shown> shown;
  for (const Json& result : runs[0]["results"].array()) {
    Shown d;
    d.rule = result["ruleId"].str();
    long long index = result["ruleIndex"].num();
    REQUIRE(index >= 0);
    REQUIRE(static_cast<std::size_t>(index) < rules.size());
    CHECK(rules[static_cast<std::size_t>(index)]["id"].str() == d.rule);
    d.severity = result["level"].str();
    std::string message = result["message"]["text"].str();
    std::size_t hint = message.find("\nhint: ");
    d.message = message.substr(0, hint);
    if (hint != std::string::npos) d.hint = message.substr(hint + 7);
    const JsonArray& locations = result["locations"].array();
    REQUIRE(locations.size() == 1);
    const Json& physical = locations[0]["physicalLocation"];
    d.file = physical["artifactLocation"]["uri"].str();
    const Json& region = physical["region"];
    d.line = region["startLine"].num();
    d.column = region["startColumn"].num();
    d.end_line = region["endLine"].num();
    d.end_column = region["endColumn"].num();
    shown.push_back(d);
  }
  return shown;
}

// Field by field, so that a failure names the field.
void check_same(const std::vector<Shown>& expected, const std::vector<Shown>& actual,
                const std::string& what, bool with_rule, bool with_end) {
  INFO(what);
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("diagnostic " << i << ": " << expected[i].message);
    CHECK(actual[i].file == expected[i].file);
    bool one_line = expected[i].end_line == expected[i].line;
    CHECK(actual[i].line == expected[i].line);
    if (actual[i].column != -1 || one_line) CHECK(actual[i].column == expected[i].column);
    CHECK(actual[i].severity == expected[i].severity);
    CHECK(actual[i].message == expected[i].message);
    CHECK(actual[i].hint == expected[i].hint);
    if (with_rule) CHECK(actual[i].rule == expected[i].rule);
    if (with_end) {
      CHECK(actual[i].end_line == expected[i].end_line);
      if (actual[i].end_column != -1 || one_line) {
        CHECK(actual[i].end_column == expected[i].end_column);
      }
    }
  }
}

// ---- golden files -------------------------------------------------------------------------

struct Golden {
  std::string suffix;  // file name suffix after the case name
  std::string args;    // extra arguments
};

const std::vector<Golden> kFormats = {{".human", ""},
                                      {".json", "--format json"},
                                      {".github", "--format github"},
                                      {".sarif", "--format sarif"}};

// Compares one run with its golden files, or rewrites them under UPDATE_GOLDEN=1.
void compare_golden(const std::string& name, const std::string& suffix, const Run& run) {
  fs::path text_path = kCasesDir / (name + suffix);
  fs::path exit_path = kCasesDir / (name + (suffix == ".werror.human" ? ".werror" : "") + ".exit");
  std::string text = run.err + run.out;
  std::string exit = std::to_string(run.exit) + "\n";
  if (update_golden()) {
    write_file(text_path, text);
    write_file(exit_path, exit);
    return;
  }
  INFO("golden file " << text_path.string() << " (UPDATE_GOLDEN=1 rewrites it)");
  REQUIRE(fs::exists(text_path));
  CHECK(read_file(text_path) == text);
  CHECK(read_file(exit_path) == exit);
}

TEST_CASE("corpus: the cases exist in the promised numbers") {
  CHECK(case_names("error.").size() >= 60);
  CHECK(case_names("ok.").size() >= 6);
}

TEST_CASE("corpus: every error case matches its golden files in every format") {
  for (const std::string& name : case_names("error.")) {
    INFO("case " << name);
    const std::string path = case_path(name);
    std::map<std::string, Run> runs;
    for (const Golden& format : kFormats) {
      Run run = run_synoverlay("validate " + format.args + " " + path);
      compare_golden(name, format.suffix, run);
      if (format.suffix != ".human") CHECK(run.err.empty());
      runs[format.suffix] = run;
    }

    // An error case shows at least one problem; a clean exit means warnings only, which
    // --werror turns into a failure.
    Json json = parse_json(runs[".json"].out);
    REQUIRE(!json["diagnostics"].array().empty());
    int exit = runs[".json"].exit;
    CHECK((exit == 0 || exit == 1));
    CHECK((exit == 1) == (json["errors"].num() > 0));
    for (const auto& [suffix, run] : runs) CHECK(run.exit == exit);
    if (exit == 0) {
      CHECK(json["warnings"].num() > 0);
      Run werror = run_synoverlay("validate --werror " + path);
      CHECK(werror.exit == 1);
      compare_golden(name, ".werror.human", werror);
    } else {
      if (update_golden()) {
        fs::remove(kCasesDir / (name + ".werror.human"));
        fs::remove(kCasesDir / (name + ".werror.exit"));
      }
      CHECK_FALSE(fs::exists(kCasesDir / (name + ".werror.exit")));
    }
  }
}

TEST_CASE("corpus: json, sarif, github and human show the same diagnostics") {
  for (const std::string& name : case_names("error.")) {
    INFO("case " << name);
    const std::string path = case_path(name);
    Json json = parse_json(run_synoverlay("validate --format json " + path).out);
    CHECK(json["version"].num() == 1);
    std::vector<Shown> expected = from_json(json);
    long long errors = std::count_if(expected.begin(), expected.end(),
                                     [](const Shown& d) { return d.severity == "error"; });
    CHECK(json["errors"].num() == errors);
    CHECK(json["warnings"].num() == static_cast<long long>(expected.size()) - errors);
    for (const Shown& d : expected) {
      CHECK(d.file == path);
      CHECK(d.line > 0);
      CHECK(d.column > 0);
      CHECK(!d.rule.empty());
      CHECK(!d.message.empty());
    }

    // Sorted by position, as promised.
    for (std::size_t i = 1; i < expected.size(); ++i) {
      CHECK(std::pair(expected[i - 1].line, expected[i - 1].column) <=
            std::pair(expected[i].line, expected[i].column));
    }

    Json sarif = parse_json(run_synoverlay("validate --format sarif " + path).out);
    check_same(expected, from_sarif(sarif), "sarif", true, true);
    check_same(expected, from_github(run_synoverlay("validate --format github " + path).out),
               "github", true, true);
    check_same(expected, from_human(run_synoverlay("validate " + path).err), "human", false, false);
  }
}

TEST_CASE("corpus: ok cases give no diagnostic at all") {
  std::string all;
  for (const std::string& name : case_names("ok.")) {
    INFO("case " << name);
    const std::string path = case_path(name);
    all += " " + path;
    Run human = run_synoverlay("validate --werror " + path);
    CHECK(human.exit == 0);
    CHECK(human.err.empty());
    CHECK(human.out.starts_with("ok: " + path + " "));
    Run json = run_synoverlay("validate --format json " + path);
    CHECK(json.exit == 0);
    CHECK(json.out == "{\"version\":1,\"diagnostics\":[],\"errors\":0,\"warnings\":0}\n");
    Run github = run_synoverlay("validate --format github " + path);
    CHECK(github.exit == 0);
    CHECK(github.out.empty());
  }

  // All at once too: their names differ, so no duplicate-name either.
  Run together = run_synoverlay("validate --werror" + all);
  CHECK(together.exit == 0);
  CHECK(together.err.empty());
}

TEST_CASE("corpus: every problem of every file is reported in one run, sorted by file") {
  // The sink sorts by path, and "x-y.toml" sorts before "x.toml".
  std::vector<std::string> names = case_names("error.");
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return case_path(a) < case_path(b); });
  std::string args;
  std::vector<Shown> expected;
  for (const std::string& name : names) {
    args += " " + case_path(name);
    std::vector<Shown> one = from_json(parse_json(read_file(kCasesDir / (name + ".json"))));
    expected.insert(expected.end(), one.begin(), one.end());
  }

  // The corpus files all name the environment "staging", which a single run reports as
  // duplicate names; those diagnostics are set aside here and checked below.
  Run run = run_synoverlay("validate --format json" + args);
  CHECK(run.exit == 1);
  std::vector<Shown> actual = from_json(parse_json(run.out));
  std::vector<Shown> duplicates;
  std::erase_if(actual, [&](const Shown& d) {
    if (d.rule != "duplicate-name") return false;
    duplicates.push_back(d);
    return true;
  });
  check_same(expected, actual, "one run over the whole corpus", true, true);
  CHECK(!duplicates.empty());
}

TEST_CASE("corpus: problems outside a file's content") {
  SUBCASE("two files with one name") {
    // Each alone has warnings only; together the second one's name is taken.
    Run run = run_synoverlay(
        "validate --format json tests/cases/error.version-floating.toml "
        "tests/cases/error.quantity-fraction-milli.toml");
    CHECK(run.exit == 1);
    std::vector<Shown> shown = from_json(parse_json(run.out));
    REQUIRE(!shown.empty());
    CHECK(std::count_if(shown.begin(), shown.end(), [](const Shown& d) {
            return d.rule == "duplicate-name" &&
                   d.file == "tests/cases/error.quantity-fraction-milli.toml" && d.line == 3;
          }) == 1);
  }
  SUBCASE("a file that does not exist") {
    Run run = run_synoverlay("validate --format json tests/cases/no-such-file.toml");
    CHECK(run.exit == 1);
    std::vector<Shown> shown = from_json(parse_json(run.out));
    REQUIRE(shown.size() == 1);
    CHECK(shown[0].rule == "file-read");
    CHECK(shown[0].line == 0);
  }
  SUBCASE("a syntax error stops only its own file") {
    Run run = run_synoverlay(
        "validate --format json tests/cases/error.syntax-colon.toml "
        "tests/cases/error.name-uppercase.toml");
    std::vector<Shown> shown = from_json(parse_json(run.out));
    REQUIRE(shown.size() == 2);
    CHECK(shown[0].rule == "dns-label");  // error.name-... sorts before error.syntax-...
    CHECK(shown[1].rule == "toml-syntax");
  }
}

TEST_CASE("corpus: no colour without a terminal or with NO_COLOR") {
  const std::string path = case_path("error.many-problems");
  Run plain = run_synoverlay("validate " + path);
  CHECK(plain.err.find('\x1b') == std::string::npos);
  Run no_color_unset = run_synoverlay("validate " + path, "-u NO_COLOR");
  CHECK(no_color_unset.err.find('\x1b') == std::string::npos);
  CHECK(no_color_unset.err == plain.err);
}

// The messages and hints docs/diagnostics.md shows as examples: list items "- error: `...`",
// "- warning: `...`" and "- hint: `...`", whose code spans may be wrapped over lines.
std::vector<std::string> documented_examples(std::string docs) {
  for (std::size_t at; (at = docs.find("\n  ")) != std::string::npos;) {
    std::size_t end = docs.find_first_not_of(' ', at + 1);
    docs.replace(at, end - at, " ");
  }
  std::vector<std::string> examples;
  for (std::string lead : {"- error: `", "- warning: `", "- hint: `"}) {
    for (std::size_t at = docs.find(lead); at != std::string::npos; at = docs.find(lead, at)) {
      at += lead.size();
      std::size_t end = docs.find('`', at);
      REQUIRE(end != std::string::npos);
      examples.push_back(docs.substr(at, end - at));
    }
  }
  return examples;
}

TEST_CASE("corpus: every rule is documented and shown by at least one golden file") {
  std::string docs = read_file(kSourceDir / "docs" / "diagnostics.md");
  std::string goldens;
  for (const std::string& name : case_names("error.")) {
    goldens += read_file(kCasesDir / (name + ".json"));
  }
  for (const RuleInfo& rule : diagnostic_rules()) {
    INFO("rule " << rule.id);
    CHECK(docs.find("`" + std::string(rule.id) + "`") != std::string::npos);
    // These need more than one file, or no file at all; the test above covers them.
    bool outside =
        rule.id == "duplicate-name" || rule.id == "duplicate-namespace" ||
        rule.id == "file-read" || rule.id == "file-too-large";
    if (!outside) {
      CHECK(goldens.find("\"rule\":\"" + std::string(rule.id) + "\"") != std::string::npos);
    }
  }

  // Every example in the docs is what synoverlay prints: a message or hint of a golden file,
  // or of the problems outside a file's content, produced here.
  std::set<std::string> shown;
  for (const std::string& name : case_names("error.")) {
    for (const Shown& d : from_json(parse_json(read_file(kCasesDir / (name + ".json"))))) {
      shown.insert(d.message);
      shown.insert(d.hint);
    }
  }
  fs::path big =
      fs::temp_directory_path() / ("synoverlay-corpus-" + std::to_string(::getpid()) + "-big.toml");
  write_file(big, std::string(1048577, '#'));
  for (std::string args :
       {"tests/cases/no-such-file.toml " + shell_quote(big.string()),
        case_path("error.version-floating") + " " + case_path("error.quantity-fraction-milli"),
        case_path("ok.everything") + " " + case_path("pair.shared-namespace")}) {
    for (const Shown& d :
         from_json(parse_json(run_synoverlay("validate --format json " + args).out))) {
      shown.insert(d.message);
      shown.insert(d.hint);
    }
  }
  fs::remove(big);
  std::vector<std::string> examples = documented_examples(docs);
  CHECK(examples.size() >= diagnostic_rules().size());
  for (const std::string& example : examples) {
    INFO("example in docs/diagnostics.md: " << example);
    CHECK(shown.contains(example));
  }
}

}  // namespace
}  // namespace synoverlay
