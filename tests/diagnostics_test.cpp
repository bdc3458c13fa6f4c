#include "diagnostics.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace synoverlay {
namespace {

Diagnostic make(std::string file, SourceSpan span, std::string rule, std::string message,
                std::string hint = {}, Severity severity = Severity::error) {
  return Diagnostic{std::move(file),    span,           severity, std::move(rule),
                    std::move(message), std::move(hint)};
}

SourceSpan span(std::uint32_t line, std::uint32_t column, std::uint32_t end_line,
                std::uint32_t end_column) {
  return {{line, column}, {end_line, end_column}};
}

std::string render(const std::vector<Diagnostic>& diagnostics, OutputFormat format,
                   const SourceTexts& sources = {}, bool color = false) {
  std::ostringstream out;
  render_diagnostics(out, diagnostics, sources, RenderOptions{format, color});
  return out.str();
}

struct CommandResult {
  int status = -1;
  std::string output;
};

// Feeds `input` to `python3 -c program` and returns its exit status and standard output.
CommandResult run_python(const std::string& program, const std::string& input) {
  char path[] = "/tmp/synoverlay-diagnostics-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  close(fd);

  // The program is quoted with single quotes, so it must not contain any.
  REQUIRE(program.find('\'') == std::string::npos);
  const std::string command = "python3 -c '" + program + "' < " + path + " 2>/dev/null";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t read = 0;
  while ((read = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), read);
  }
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  unlink(path);
  return result;
}

// Python's own reading of a JSON document, written back compactly in ASCII: proves the
// document is valid JSON and shows exactly which strings a consumer decodes.
constexpr const char* kReserialize =
    "import json,sys; doc = json.load(sys.stdin.buffer); "
    "print(json.dumps(doc, ensure_ascii=True, separators=(\",\", \":\")))";

// A SARIF document up to the rules of its one run.
std::string sarif_start() {
  return std::string("{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{") +
         "\"name\":\"synoverlay\",\"version\":\"" + SYNOVERLAY_VERSION + "\",";
}

bool python_available() { return std::system("python3 -c pass > /dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("severities are spelled as in compiler output") {
  CHECK(to_string(Severity::error) == "error");
  CHECK(to_string(Severity::warning) == "warning");
}

TEST_CASE("the sink counts errors and warnings") {
  DiagnosticSink sink;
  CHECK(sink.empty());
  CHECK_FALSE(sink.has_errors());

  sink.warning("a.toml", span(1, 1, 1, 2), "floating-tag", "w");
  CHECK_FALSE(sink.has_errors());
  sink.error("a.toml", span(2, 1, 2, 2), "quantity-syntax", "e1", "h");
  sink.error("", {}, "missing-file", "e2");

  CHECK_FALSE(sink.empty());
  CHECK(sink.has_errors());
  CHECK(sink.error_count() == 2);
  CHECK(sink.warning_count() == 1);

  const std::vector<Diagnostic> all = sink.sorted();
  REQUIRE(all.size() == 3);
  CHECK(all[2].severity == Severity::error);
  CHECK(all[2].hint == "h");
  CHECK(all[1].severity == Severity::warning);
}

TEST_CASE("sorted orders by file, then position, then insertion") {
  DiagnosticSink sink;
  sink.error("b.toml", span(3, 1, 3, 2), "r", "b 3:1");
  sink.error("b.toml", span(2, 7, 2, 8), "r", "b 2:7");
  sink.error("", {}, "r", "no file");
  sink.error("a.toml", span(2, 5, 2, 6), "r", "a 2:5 first");
  sink.warning("a.toml", {}, "r", "a no position");
  sink.error("a.toml", span(2, 5, 2, 9), "r", "a 2:5 second");
  sink.error("a.toml", span(1, 9, 1, 10), "r", "a 1:9");
  sink.error("a.toml", span(2, 3, 2, 4), "r", "a 2:3");

  std::vector<std::string> order;
  for (const Diagnostic& d : sink.sorted()) order.push_back(d.message);
  CHECK(order == std::vector<std::string>{"no file", "a no position", "a 1:9", "a 2:3",
                                          "a 2:5 first", "a 2:5 second", "b 2:7", "b 3:1"});
}

TEST_CASE("human: location, source line, caret range and hint") {
  const SourceTexts sources{
      {"env/prod.toml", "[cluster]\nnamespace = \"prod\"\n[cortex]\nmemory = \"4GB\"\n"}};
  const std::vector<Diagnostic> diagnostics{make("env/prod.toml", span(4, 11, 4, 14),
                                                 "quantity-syntax", "unknown suffix 'GB' in '4GB'",
                                                 "suffixes are case-sensitive: use 'G' or 'Gi'")};

  CHECK(render(diagnostics, OutputFormat::human, sources) ==
        "env/prod.toml:4:11: error: unknown suffix 'GB' in '4GB'\n"
        "   4 | memory = \"4GB\"\n"
        "     |           ^~~\n"
        "  hint: suffixes are case-sensitive: use 'G' or 'Gi'\n");
}

TEST_CASE("human: a span of one byte, an empty span and a span over lines show one caret") {
  const SourceTexts sources{{"a.toml", "x = 1\ny = [\n  2,\n]\n"}};
  const std::vector<Diagnostic> one_byte{make("a.toml", span(1, 5, 1, 6), "r", "m")};
  const std::vector<Diagnostic> empty_span{make("a.toml", span(1, 5, 1, 5), "r", "m")};
  const std::vector<Diagnostic> unknown_end{make("a.toml", span(1, 5, 0, 0), "r", "m")};
  const std::vector<Diagnostic> two_lines{make("a.toml", span(2, 5, 4, 2), "r", "m")};

  const std::string caret_at_5 = "a.toml:1:5: error: m\n   1 | x = 1\n     |     ^\n";
  CHECK(render(one_byte, OutputFormat::human, sources) == caret_at_5);
  CHECK(render(empty_span, OutputFormat::human, sources) == caret_at_5);
  CHECK(render(unknown_end, OutputFormat::human, sources) == caret_at_5);
  CHECK(render(two_lines, OutputFormat::human, sources) ==
        "a.toml:2:5: error: m\n   2 | y = [\n     |     ^\n");
}

TEST_CASE("human: the caret line copies tabs so that the caret lines up") {
  const SourceTexts sources{{"t.toml", "[limits]\n\tmemory\t= \"1g\"\n"}};
  const std::vector<Diagnostic> diagnostics{
      make("t.toml", span(2, 12, 2, 14), "quantity-syntax", "unknown suffix 'g'")};

  CHECK(render(diagnostics, OutputFormat::human, sources) ==
        "t.toml:2:12: error: unknown suffix 'g'\n"
        "   2 | \tmemory\t= \"1g\"\n"
        "     | \t      \t   ^~\n");
}

TEST_CASE("human: multi-byte UTF-8 characters take one column in the caret line") {
  // o w n e r ' ' = ' ' " z o ë(2 bytes) - t e a m " : 'ë' is bytes 12 and 13.
  const SourceTexts sources{{"u.toml", "owner = \"zoë-team\"\n"}};
  const std::vector<Diagnostic> after{make("u.toml", span(1, 14, 1, 15), "r", "dash")};
  const std::vector<Diagnostic> across{make("u.toml", span(1, 10, 1, 19), "r", "value")};

  CHECK(render(after, OutputFormat::human, sources) ==
        "u.toml:1:14: error: dash\n"
        "   1 | owner = \"zoë-team\"\n"
        "     |             ^\n");
  CHECK(render(across, OutputFormat::human, sources) ==
        "u.toml:1:10: error: value\n"
        "   1 | owner = \"zoë-team\"\n"
        "     |          ^~~~~~~~\n");
}

TEST_CASE("human: the gutter is as wide as the line number") {
  std::string text;
  for (int i = 1; i < 120; ++i) text += "# filler\n";
  text += "cpu = \"-1\"\n";
  const SourceTexts sources{{"long.toml", text}};
  const std::vector<Diagnostic> diagnostics{
      make("long.toml", span(120, 7, 120, 11), "quantity-negative", "negative")};

  CHECK(render(diagnostics, OutputFormat::human, sources) ==
        "long.toml:120:7: error: negative\n"
        "   120 | cpu = \"-1\"\n"
        "       |       ^~~~\n");
}

TEST_CASE("human: CRLF files lose the carriage return") {
  const SourceTexts sources{{"w.toml", "a = 1\r\nb = \"x\"\r\n"}};
  const std::vector<Diagnostic> diagnostics{make("w.toml", span(2, 5, 2, 8), "r", "m")};

  const std::string out = render(diagnostics, OutputFormat::human, sources);
  CHECK(out == "w.toml:2:5: error: m\n   2 | b = \"x\"\n     |     ^~~\n");
  CHECK(out.find('\r') == std::string::npos);
}

TEST_CASE("human: without the text or the line only the first line and the hint remain") {
  const SourceTexts sources{{"short.toml", "a = 1\n"}};
  const std::vector<Diagnostic> missing_text{make("gone.toml", span(1, 1, 1, 2), "r", "m", "h")};
  const std::vector<Diagnostic> missing_line{make("short.toml", span(2, 1, 2, 2), "r", "m")};
  const std::vector<Diagnostic> far_line{make("short.toml", span(9, 1, 9, 2), "r", "m")};

  CHECK(render(missing_text, OutputFormat::human, sources) ==
        "gone.toml:1:1: error: m\n  hint: h\n");
  CHECK(render(missing_line, OutputFormat::human, sources) == "short.toml:2:1: error: m\n");
  CHECK(render(far_line, OutputFormat::human, sources) == "short.toml:9:1: error: m\n");
}

TEST_CASE("human: a last line without a line break still exists") {
  const SourceTexts sources{{"n.toml", "a = 1\nb = ?"}};
  const std::vector<Diagnostic> diagnostics{make("n.toml", span(2, 5, 2, 6), "r", "m")};

  CHECK(render(diagnostics, OutputFormat::human, sources) ==
        "n.toml:2:5: error: m\n   2 | b = ?\n     |     ^\n");
}

TEST_CASE("human: a line without a column is quoted without a caret") {
  const SourceTexts sources{{"c.toml", "a = 1\n"}};
  const std::vector<Diagnostic> diagnostics{make("c.toml", span(1, 0, 0, 0), "r", "m")};

  CHECK(render(diagnostics, OutputFormat::human, sources) == "c.toml:1: error: m\n   1 | a = 1\n");
}

TEST_CASE("human: no position, no file, warnings, and several diagnostics in a row") {
  const SourceTexts sources{{"a.toml", "a = 1\n"}};
  const std::vector<Diagnostic> diagnostics{
      make("a.toml", {}, "missing-key", "missing key 'namespace'", "add 'namespace = \"x\"'"),
      make("", {}, "no-environments", "no environment files found"),
      make("a.toml", span(1, 5, 1, 6), "floating-tag", "tag floats", "", Severity::warning)};

  CHECK(render(diagnostics, OutputFormat::human, sources) ==
        "a.toml: error: missing key 'namespace'\n"
        "  hint: add 'namespace = \"x\"'\n"
        "synoverlay: error: no environment files found\n"
        "a.toml:1:5: warning: tag floats\n"
        "   1 | a = 1\n"
        "     |     ^\n");
}

TEST_CASE("human: color wraps the location, the severity, the caret and the hint") {
  const SourceTexts sources{{"a.toml", "memory = \"4GB\"\n"}};
  const std::vector<Diagnostic> diagnostics{
      make("a.toml", span(1, 11, 1, 14), "quantity-syntax", "bad", "use 'Gi'"),
      make("a.toml", {}, "w", "careful", "", Severity::warning)};

  const std::string plain = render(diagnostics, OutputFormat::human, sources, false);
  CHECK(plain.find('\033') == std::string::npos);

  CHECK(render(diagnostics, OutputFormat::human, sources, true) ==
        "\033[1ma.toml:1:11:\033[0m \033[1;31merror:\033[0m bad\n"
        "   1 | memory = \"4GB\"\n"
        "     |           \033[1;32m^~~\033[0m\n"
        "  \033[1;36mhint:\033[0m use 'Gi'\n"
        "\033[1ma.toml:\033[0m \033[1;35mwarning:\033[0m careful\n");
}

TEST_CASE("human: nothing is written for no diagnostics") {
  CHECK(render({}, OutputFormat::human).empty());
  CHECK(render({}, OutputFormat::github).empty());
}

TEST_CASE("json: exact document with escaping") {
  const std::vector<Diagnostic> diagnostics{
      make("env/a \"b\".toml", span(3, 5, 3, 9), "quantity-syntax",
           "bad \"4GB\" in C:\\x\nnext\tline\x01 é", "use 'Gi'"),
      make("", {}, "no-environments", "nothing", "", Severity::warning),
      make("b.toml", {}, "missing-key", "invalid \xff byte")};

  CHECK(render(diagnostics, OutputFormat::json) ==
        "{\"version\":1,\"diagnostics\":["
        "{\"file\":\"env/a \\\"b\\\".toml\",\"line\":3,\"column\":5,\"end_line\":3,"
        "\"end_column\":9,\"severity\":\"error\",\"rule\":\"quantity-syntax\","
        "\"message\":\"bad \\\"4GB\\\" in C:\\\\x\\u000anext\\u0009line\\u0001 é\","
        "\"hint\":\"use 'Gi'\"},"
        "{\"file\":\"\",\"line\":0,\"column\":0,\"end_line\":0,\"end_column\":0,"
        "\"severity\":\"warning\",\"rule\":\"no-environments\",\"message\":\"nothing\","
        "\"hint\":\"\"},"
        "{\"file\":\"b.toml\",\"line\":0,\"column\":0,\"end_line\":0,\"end_column\":0,"
        "\"severity\":\"error\",\"rule\":\"missing-key\",\"message\":\"invalid \xEF\xBF\xBD "
        "byte\",\"hint\":\"\"}],"
        "\"errors\":2,\"warnings\":1}\n");
}

TEST_CASE("json: bytes that are not UTF-8 become U+FFFD, valid UTF-8 passes through") {
  const auto message_of = [](std::string message) {
    const std::string out = render({make("", {}, "r", std::move(message))}, OutputFormat::json);
    const std::size_t begin = out.find("\"message\":\"") + 11;
    return out.substr(begin, out.find("\",\"hint\"") - begin);
  };
  const auto replacements = [](int count) {
    std::string text;
    for (int i = 0; i < count; ++i) text += "\xEF\xBF\xBD";
    return text;
  };

  CHECK(message_of("smile \xF0\x9F\x98\x80 caf\xC3\xA9") == "smile \xF0\x9F\x98\x80 caf\xC3\xA9");
  CHECK(message_of("latin1 caf\xE9!") == "latin1 caf" + replacements(1) + "!");
  CHECK(message_of("overlong \xC0\xAF") == "overlong " + replacements(2));
  CHECK(message_of("surrogate \xED\xA0\x80") == "surrogate " + replacements(3));
  CHECK(message_of("too large \xF4\x90\x80\x80") == "too large " + replacements(4));
  CHECK(message_of("cut \xE2\x82") == "cut " + replacements(2));
}

TEST_CASE("json: an empty list is still one document") {
  CHECK(render({}, OutputFormat::json) ==
        "{\"version\":1,\"diagnostics\":[],\"errors\":0,\"warnings\":0}\n");
}

TEST_CASE("json and sarif outputs are valid JSON that decodes to the original text") {
  REQUIRE_MESSAGE(python_available(), "python3 is needed to check the JSON documents");

  const std::vector<Diagnostic> diagnostics{
      make("dir/my \"env\".toml", span(2, 3, 2, 7), "quantity-syntax",
           "say \"hi\" \\ é\n\x01\x1f\x7f end", "tab\there"),
      make("", {}, "other", "plain", "", Severity::warning)};

  const CommandResult json = run_python(kReserialize, render(diagnostics, OutputFormat::json));
  CHECK(json.status == 0);
  CHECK(json.output ==
        "{\"version\":1,\"diagnostics\":[{\"file\":\"dir/my \\\"env\\\".toml\",\"line\":2,"
        "\"column\":3,\"end_line\":2,\"end_column\":7,\"severity\":\"error\","
        "\"rule\":\"quantity-syntax\",\"message\":\"say \\\"hi\\\" \\\\ \\u00e9\\n\\u0001"
        "\\u001f\\u007f end\",\"hint\":\"tab\\there\"},{\"file\":\"\",\"line\":0,\"column\":0,"
        "\"end_line\":0,\"end_column\":0,\"severity\":\"warning\",\"rule\":\"other\","
        "\"message\":\"plain\",\"hint\":\"\"}],\"errors\":1,\"warnings\":1}\n");

  const std::string read_sarif =
      "import json,sys; doc = json.load(sys.stdin.buffer); run = doc[\"runs\"][0]; "
      "rules = run[\"tool\"][\"driver\"][\"rules\"]; "
      "print(doc[\"version\"]); "
      "print(all(rules[r[\"ruleIndex\"]][\"id\"] == r[\"ruleId\"] for r in run[\"results\"])); "
      "print(json.dumps(run[\"results\"][0][\"message\"][\"text\"])); "
      "print(run[\"results\"][0][\"locations\"][0][\"physicalLocation\"]"
      "[\"artifactLocation\"][\"uri\"])";
  const CommandResult sarif = run_python(read_sarif, render(diagnostics, OutputFormat::sarif));
  CHECK(sarif.status == 0);
  CHECK(sarif.output ==
        "2.1.0\nTrue\n"
        "\"say \\\"hi\\\" \\\\ \\u00e9\\n\\u0001\\u001f\\u007f end\\nhint: tab\\there\"\n"
        "dir/my%20%22env%22.toml\n");

  // The checker must reject what is not JSON, or the checks above would prove nothing.
  CHECK(run_python(kReserialize, "{\"a\":\"\n\"}").status != 0);
}

TEST_CASE("github: workflow command lines with escaping") {
  const std::vector<Diagnostic> diagnostics{
      make("env/a,b:c.toml", span(3, 5, 3, 9), "quantity-syntax", "50% of 'x': bad,\r\nsecond line",
           "use 'Gi'"),
      make("b.toml", span(2, 1, 4, 2), "multi-line", "spans lines", "", Severity::warning),
      make("c.toml", {}, "missing-key", "missing key"),
      make("", {}, "no-environments", "nothing found", "add one"),
      make("d.toml", span(7, 2, 0, 0), "r:1,2", "no end")};

  CHECK(render(diagnostics, OutputFormat::github) ==
        "::error file=env/a%2Cb%3Ac.toml,line=3,col=5,endLine=3,endColumn=9,"
        "title=quantity-syntax::50%25 of 'x': bad,%0D%0Asecond line%0Ahint: use 'Gi'\n"
        "::warning file=b.toml,line=2,endLine=4,title=multi-line::spans lines\n"
        "::error file=c.toml,title=missing-key::missing key\n"
        "::error title=no-environments::nothing found%0Ahint: add one\n"
        "::error file=d.toml,line=7,col=2,title=r%3A1%2C2::no end\n");
}

TEST_CASE("sarif: exact document") {
  const std::vector<Diagnostic> diagnostics{
      make("env/my prod.toml", span(3, 5, 3, 9), "quantity-syntax", "bad \"4GB\"", "use 'Gi'"),
      make("env\\win#1.toml", {}, "floating-tag", "tag 'v2.x.x' floats", "", Severity::warning),
      make("", {}, "quantity-syntax", "no file"),
      make("c.toml", span(4, 2, 6, 1), "multi-line", "several lines")};

  CHECK(render(diagnostics, OutputFormat::sarif) ==
        sarif_start() +
            "\"rules\":["
            "{\"id\":\"quantity-syntax\",\"shortDescription\":{\"text\":\"quantity-syntax\"}},"
            "{\"id\":\"floating-tag\",\"shortDescription\":{\"text\":\"floating-tag\"}},"
            "{\"id\":\"multi-line\",\"shortDescription\":{\"text\":\"multi-line\"}}]}},"
            "\"results\":["
            "{\"ruleId\":\"quantity-syntax\",\"ruleIndex\":0,\"level\":\"error\","
            "\"message\":{\"text\":\"bad \\\"4GB\\\"\\u000ahint: use 'Gi'\"},"
            "\"locations\":[{\"physicalLocation\":{\"artifactLocation\":"
            "{\"uri\":\"env/my%20prod.toml\"},\"region\":{\"startLine\":3,\"startColumn\":5,"
            "\"endLine\":3,\"endColumn\":9}}}]},"
            "{\"ruleId\":\"floating-tag\",\"ruleIndex\":1,\"level\":\"warning\","
            "\"message\":{\"text\":\"tag 'v2.x.x' floats\"},"
            "\"locations\":[{\"physicalLocation\":{\"artifactLocation\":"
            "{\"uri\":\"env/win%231.toml\"}}}]},"
            "{\"ruleId\":\"quantity-syntax\",\"ruleIndex\":0,\"level\":\"error\","
            "\"message\":{\"text\":\"no file\"}},"
            "{\"ruleId\":\"multi-line\",\"ruleIndex\":2,\"level\":\"error\","
            "\"message\":{\"text\":\"several lines\"},"
            "\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":\"c.toml\"},"
            "\"region\":{\"startLine\":4,\"startColumn\":2,\"endLine\":6,\"endColumn\":1}}}]}"
            "]}]}\n");
}

TEST_CASE("sarif: no diagnostics gives a run without rules or results") {
  CHECK(render({}, OutputFormat::sarif) == sarif_start() + "\"rules\":[]}},\"results\":[]}]}\n");
}

TEST_CASE("closest_match finds typical typos") {
  const std::vector<std::string_view> keys{"namespace", "storage", "requests", "limits",
                                           "netloc",    "cpu",     "memory",   "image"};

  CHECK(closest_match("storag", keys) == "storage");
  CHECK(closest_match("requets", keys) == "requests");
  CHECK(closest_match("limts", keys) == "limits");
  CHECK(closest_match("netlock", keys) == "netloc");
  CHECK(closest_match("memroy", keys) == "memory");      // swapped neighbours: one edit
  CHECK(closest_match("reqeusts", keys) == "requests");  // likewise
  CHECK(closest_match("namspce", keys) == "namespace");  // two edits in a long word
  CHECK(closest_match("stor", keys) == "storage");       // a prefix
  CHECK(closest_match("imagetag", keys) == "image");     // the key is a prefix of the word
  CHECK(closest_match("STORAGE", keys) == "storage");    // case is ignored
  CHECK(closest_match("Memroy", keys) == "memory");
}

TEST_CASE("closest_match returns nothing when nothing is close") {
  const std::vector<std::string_view> keys{"namespace", "storage", "requests", "limits",
                                           "netloc",    "cpu",     "memory",   "image"};

  CHECK(closest_match("xyz", keys).empty());
  CHECK(closest_match("replicas", keys).empty());
  CHECK(closest_match("", keys).empty());
  CHECK(closest_match("storage", {}).empty());
  CHECK(closest_match("netlocation", keys).empty());  // five more than 'netloc'
  CHECK(closest_match("cxx", keys).empty());          // two edits in a three-letter word
  CHECK(closest_match("storxyz", keys).empty());      // three edits in a seven-letter word
}

TEST_CASE("closest_match: short words, exact matches and ties") {
  const std::vector<std::string_view> gpu_first{"gpu", "cpu"};
  const std::vector<std::string_view> only_cpu{"cpu"};
  const std::vector<std::string_view> two_letters{"ab", "cd"};
  const std::vector<std::string_view> ties{"bat", "hat"};

  CHECK(closest_match("cpu", gpu_first) == "cpu");  // exact beats the earlier near miss
  CHECK(closest_match("gpu", only_cpu) == "cpu");   // one edit is fine for three letters
  CHECK(closest_match("cup", only_cpu) == "cpu");   // a swap of neighbours is one edit
  CHECK(closest_match("xb", two_letters).empty());  // two letters must match exactly
  CHECK(closest_match("AB", two_letters) == "ab");
  CHECK(closest_match("cat", ties) == "bat");  // a tie goes to the earlier candidate

  // The result refers to the candidate itself, not to a copy.
  const std::vector<std::string_view> keys{"storage"};
  CHECK(closest_match("storag", keys).data() == keys[0].data());
}

}  // namespace synoverlay
