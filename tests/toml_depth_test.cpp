#include "toml_depth.h"

#include <doctest/doctest.h>

#include <string>

#include "load_toml.h"

namespace synoverlay {

TEST_CASE("toml_depth: ordinary environment files pass") {
  CHECK_FALSE(
      find_excess_nesting("name = \"a.b.c\"\n[cortex.config]\n\"x.y\" = [[1, 2], {a = 1}]\n"));
  // Dots and brackets inside strings and comments never count.
  std::string many(200, '.');
  CHECK_FALSE(find_excess_nesting("a = \"" + many + "\"\nb = '" + many + "'\n# " + many + "\n"));
  CHECK_FALSE(find_excess_nesting("a = \"\"\"\n[[[[" + std::string(100, '[') + "\n\"\"\"\n"));
  CHECK_FALSE(find_excess_nesting("a = 1.5\nb = 2.5\n"));
}

TEST_CASE("toml_depth: the offset of the first level too deep") {
  std::string deep = "x = " + std::string(40, '[');
  CHECK(find_excess_nesting(deep) == 4 + kMaxTomlDepth);
  std::string dotted;
  for (int i = 0; i < 40; ++i) dotted += "a.";
  CHECK(find_excess_nesting(dotted + "b = 1\n") == 2 * kMaxTomlDepth + 1);
}

TEST_CASE("toml_depth: the loader refuses deep nesting with a positioned error") {
  DiagnosticSink sink;
  std::string text = "name = \"x\"\nx = " + std::string(100000, '{');
  CHECK_FALSE(load_environment("deep.toml", text, sink));
  std::vector<Diagnostic> found = sink.sorted();
  REQUIRE(found.size() == 1);
  CHECK(found[0].rule == "toml-depth");
  CHECK(found[0].message == "the file nests deeper than 32 levels here");
  CHECK(found[0].span.begin == SourcePos{2, 37});
}

TEST_CASE("toml_depth: non-ASCII outside strings never reaches the parser") {
  CHECK_FALSE(find_stray_non_ascii("name = \"\xCE\x9E\" # \xCE\x9E\n"));
  CHECK_FALSE(find_stray_non_ascii("\xEF\xBB\xBFname = 'x'\n"));
  CHECK(find_stray_non_ascii("digest\xCE\x9E = 1\n") == 6);
  CHECK(find_stray_non_ascii("a = \"\"\"x\\\n  \xCE\x9E\"\"\"\n") == 12);
  CHECK_FALSE(find_stray_non_ascii("a = \"\"\"x\\n\xCE\x9E\"\"\"\n"));

  DiagnosticSink sink;
  CHECK_FALSE(load_environment("x.toml", "name = \"x\"\ndigest\xCE\x9E" "8b = 1\n", sink));
  std::vector<Diagnostic> found = sink.sorted();
  REQUIRE(found.size() == 1);
  CHECK(found[0].rule == "toml-syntax");
  CHECK(found[0].message == "invalid TOML: a non-ASCII character outside a string");
  CHECK(found[0].span.begin == SourcePos{2, 7});
}

TEST_CASE("toml_depth: escapes in multi-line strings that toml++ checks for white space") {
  // After a backslash in a multi-line basic string toml++ asks whether the next character
  // is white space, and after white space whether the following one is: a line-ending
  // backslash, or a mistaken one.
  CHECK(find_stray_non_ascii("a = \"\"\"\\\xCA\xBA\"\"\"\n") == 8);
  CHECK(find_stray_non_ascii("a = \"\"\"\\ \t\xCA\xBA\"\"\"\n") == 10);
  CHECK(find_stray_non_ascii("a = \"\"\"x\\\r\n\r\n \xCA\xBA\"\"\"\n") == 14);
  // An escaped backslash, a literal string or a one-line string has no such check.
  CHECK_FALSE(find_stray_non_ascii("a = \"\"\"x\\\\ \xCA\xBA\"\"\"\n"));
  CHECK_FALSE(find_stray_non_ascii("a = '''x\\\n\xCA\xBA'''\n"));
  CHECK_FALSE(find_stray_non_ascii("a = \"x\\\xCA\xBA\"\n"));
}

// A quote opens a string only where a key or a value begins; anywhere else, as in the
// middle of a bare value, toml++ takes it for an ordinary character and reads on.
TEST_CASE("toml_depth: a quote in the middle of a bare value opens no string") {
  // What the fuzzers found: U+02BA, and U+FD3F, after a quote inside a number.
  CHECK(find_stray_non_ascii("x = 2s\"\xCA\xBA\"") == 7);
  CHECK(find_stray_non_ascii("name = 0\"stagi\xEF\xB4\xBFng\"\n") == 14);
  CHECK(find_stray_non_ascii("[axon]\ndigest = 2s\"ah56:4F5C1A[\xCA\xBA\xCA\xB0"
                             "4A\"\n") == 31);
  // The same after values of other kinds, in arrays and in inline tables.
  CHECK(find_stray_non_ascii("x = true\"\xCA\xBA\"\n") == 9);
  CHECK(find_stray_non_ascii("x = [1, 2'\xCA\xBA']\n") == 10);
  CHECK(find_stray_non_ascii("x = { a = 1\"\xCA\xBA\" }\n") == 12);
  // A date, a space and a time are one value.
  CHECK(find_stray_non_ascii("x = 1979-05-27 07:32\"\xCA\xBA\"\n") == 21);
  CHECK(find_stray_non_ascii("x = 1979-05-27 0\xCA\xBA\n") == 16);
  // After the space and the time's first digit, toml++ takes the next character for part
  // of the value whatever it is: a '#', a ',' or a line break opens nothing there.
  CHECK(find_stray_non_ascii("x = 3956-05-27 0#cetd\xCA\xBA'''\n") == 21);
  CHECK(find_stray_non_ascii("x = [1979-05-27 0,\"\xCA\xBA\"]\n") == 19);
  CHECK(find_stray_non_ascii("x = 1979-05-27 0\n\xCA\xBA = 1\n") == 17);
  CHECK_FALSE(find_stray_non_ascii("x = 1979-05-27 07:32:00#\xCA\xBA\n"));
}

TEST_CASE("toml_depth: quotes where TOML has no string are ordinary characters") {
  // In a key, after a key, after a value, in and after a table header.
  CHECK(find_stray_non_ascii("a\"\xCA\xBA\" = 1\n") == 2);
  CHECK(find_stray_non_ascii("a \"\xCA\xBA\" = 1\n") == 3);
  CHECK(find_stray_non_ascii("a = \"x\" \"\xCA\xBA\"\n") == 9);
  CHECK(find_stray_non_ascii("a = \"x\"\"\xCA\xBA\"\n") == 8);
  CHECK(find_stray_non_ascii("[a] \"\xCA\xBA\"\n") == 5);
  CHECK(find_stray_non_ascii("[a \"\xCA\xBA\"]\n") == 4);
  // An array of tables is written with touching brackets.
  CHECK(find_stray_non_ascii("[ [a]]\nb = \"\xCA\xBA\"\n") == 12);
  // Array values are separated by commas; an inline table keeps to one line, has no
  // comment and no comma before its '}'; a multi-line string is no key.
  CHECK(find_stray_non_ascii("a = [1 \"\xCA\xBA\"]\n") == 8);
  CHECK(find_stray_non_ascii("a = [, \"\xCA\xBA\"]\n") == 8);
  CHECK(find_stray_non_ascii("a = { b = 1,\n c = \"\xCA\xBA\" }\n") == 19);
  CHECK(find_stray_non_ascii("a = { b = 1, } # \xCA\xBA\n") == 17);
  CHECK(find_stray_non_ascii("\"\"\"k\"\"\" = \"\xCA\xBA\"\n") == 11);
  // A carriage return alone ends no line.
  CHECK(find_stray_non_ascii("a = 1\r# \xCA\xBA\n") == 8);
  CHECK(find_stray_non_ascii("# x\rb = '\xCA\xBA'\n") == 9);
  CHECK(find_stray_non_ascii("a = 1 # x\rb = '\xCA\xBA'\n") == 15);
  CHECK(find_stray_non_ascii("[a] # x\rb = '\xCA\xBA'\n") == 13);
  CHECK(find_stray_non_ascii("a = [ # x\rb = '\xCA\xBA']\n") == 15);
  // Once the text is not TOML, no later quote or comment is trusted.
  CHECK(find_stray_non_ascii("a: 1\nb = \"\xCA\xBA\"\n# \xCA\xBA\n") == 10);
}

TEST_CASE("toml_depth: strings and comments where TOML has them hold any letter") {
  std::string text = "# \xCA\xBA\r\n";
  text += "name = \"x\"\nversion = \"v2.233.0\"\n";
  text += "[cortex.config]\n";
  text += "'k\xCA\xBA'.\"q\xCA\xBA\" . bare = \"\xCA\xBA\xEF\xB4\xBF\xC3\xA9\" # \xCA\xBA\n";
  text += "arr = [ # \xCA\xBA\r\n  \"\xCA\xBA\", '\xCA\xBA', # \xCA\xBA\n\n  [\"\xCA\xBA\"],\n]\n";
  text += "tbl = { \"k\xCA\xBA\" = '\xCA\xBA', n.m = [ \"\xCA\xBA\" ], e = {} }\n";
  text += "ml = \"\"\"\n\xCA\xBA \" \"\" \\\" \\\\\n\xCA\xBA\"\"\"\"\"\n";
  text += "lit = '''\xCA\xBA ' '' \\\n\xCA\xBA''''\n";
  text += "cont = \"\"\"a \\\n   b\xCA\xBA\"\"\"\n";
  text += "nums = [1, -2.5e+3, 0x1F, inf, true, 1979-05-27 07:32:00Z] # \xCA\xBA\n";
  text += "[ \"t\xCA\xBA\" . 'u' ]  # \xCA\xBA\n";
  text += "[[\"a\xCA\xBA\"]]";
  CHECK_FALSE(find_stray_non_ascii(text));
  // toml++ reads the same text without an error.
  DiagnosticSink sink;
  load_environment("forms.toml", text, sink);
  for (const Diagnostic& found : sink.sorted()) CHECK(found.rule != "toml-syntax");
}

TEST_CASE("toml_depth: a mistake before a stray letter is reported as that mistake") {
  // After "name:" the scan trusts no quote, so the letter in the later string counts as
  // stray; but the parser finds the mistake on an earlier line, and that is reported.
  DiagnosticSink sink;
  CHECK_FALSE(load_environment("x.toml", "name: \"x\"\nversion = \"v\xC3\xA9\"\n", sink));
  std::vector<Diagnostic> found = sink.sorted();
  REQUIRE(found.size() == 1);
  CHECK(found[0].rule == "toml-syntax");
  CHECK(found[0].message == "invalid TOML key-value pair: expected '=', saw ':'");
  CHECK(found[0].span.begin == SourcePos{1, 5});

  // On the stray letter's own line, or where the text before it ends, the letter is
  // reported.
  struct Case {
    std::string_view text;
    SourcePos at;
  };
  for (const Case& c : {Case{"name = \"x\"\nx = 2s\"\xCA\xBA\"\n", {2, 8}},
                        Case{"name = \"x\"\nx = [\n1,\n\xCA\xBA]\n", {4, 1}},
                        Case{"name: \"x\"\n\xCA\xBA = 1\n", {2, 1}}}) {
    CAPTURE(c.text);
    DiagnosticSink stray;
    CHECK_FALSE(load_environment("x.toml", c.text, stray));
    found = stray.sorted();
    REQUIRE(found.size() == 1);
    CHECK(found[0].message == "invalid TOML: a non-ASCII character outside a string");
    CHECK(found[0].span.begin == c.at);
  }
}

}  // namespace synoverlay
