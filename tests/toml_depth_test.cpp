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

}  // namespace synoverlay
