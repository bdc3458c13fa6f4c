// Tests for the hand-written value grammars: each matcher against the regular expression it
// stands for (std::regex, here only as the reference), on hand-picked strings and on every
// string a seeded generator makes from the characters that matter to that grammar.

#include "grammar.h"

#include <doctest/doctest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

namespace synoverlay {
namespace {

// The expressions of schema/env.schema.json.
const std::string kHost = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*";
const std::string kComponent = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const std::string kRepository =
    "(?:" + kHost + "(?::[0-9]{1,5})?|" + kComponent + ")(?:/" + kComponent + ")*";
const std::string kDigest = "@sha256:[0-9a-f]{64}";

struct Grammar {
  std::string name;
  bool (*matcher)(std::string_view);
  std::regex reference;
  std::string alphabet;            // what the generator draws from
  std::vector<std::string> seeds;  // valid strings the generator mutates
};

std::vector<Grammar> grammars() {
  std::vector<Grammar> all;
  all.push_back({"repository",
                 is_image_repository,
                 std::regex("^" + kRepository + "$"),
                 "ab09-._:/A",
                 {"a.b:50/c__d", "a-b/c-d.e_f"}});
  all.push_back(
      {"image",
       is_image_reference,
       std::regex("^" + kRepository + "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:" + kDigest + ")?|" +
                  kDigest + ")$"),
       "a0-._:/@A",
       {"a:1/b:T-1", "a/b@sha256:" + std::string(64, 'a'), "a:5@sha256:" + std::string(64, '0')}});
  all.push_back({"option",
                 is_option_name,
                 std::regex("^[a-z][a-z0-9_]*(?::[a-z0-9_]+)*$"),
                 "az09_:A-",
                 {"storm:log", "a_b:c_1"}});
  all.push_back({"interval",
                 is_interval,
                 std::regex("^(?:[0-9]+(?:\\.[0-9]+)?(?:ms|s|m|h))+$"),
                 "09.smhx",
                 {"1h30m", "0.5ms"}});
  all.push_back({"floating",
                 is_floating_tag,
                 std::regex("^v(0|[1-9][0-9]{0,8})\\.x\\.x$"),
                 "v09.x2",
                 {"v2.x.x", "v10.x.x"}});
  return all;
}

bool reference_match(const Grammar& grammar, const std::string& text) {
  return std::regex_match(text, grammar.reference);
}

TEST_CASE("each matcher accepts exactly what its expression accepts, on generated strings") {
  std::mt19937 random(20261204);
  for (const Grammar& grammar : grammars()) {
    CAPTURE(grammar.name);
    std::uniform_int_distribution<std::size_t> pick(0, grammar.alphabet.size() - 1);
    std::size_t accepted = 0;
    std::size_t refused = 0;
    for (int round = 0; round < 20000; ++round) {
      std::string text;
      if (round % 2 == 0) {  // a random string of the alphabet
        std::size_t length = static_cast<std::size_t>(round % 13);
        for (std::size_t i = 0; i < length; ++i) text += grammar.alphabet[pick(random)];
      } else {  // a valid string with up to two characters replaced, inserted or dropped
        text = grammar.seeds[static_cast<std::size_t>(round) % grammar.seeds.size()];
        for (int edit = 0; edit < round % 3; ++edit) {
          std::size_t at = random() % (text.size() + 1);
          char c = grammar.alphabet[pick(random)];
          unsigned kind = random() % 3;
          if (kind == 0 && at < text.size()) text[at] = c;
          if (kind == 1) text.insert(at, 1, c);
          if (kind == 2 && at < text.size()) text.erase(at, 1);
        }
      }
      CAPTURE(text);
      bool expected = reference_match(grammar, text);
      CHECK(grammar.matcher(text) == expected);
      (expected ? accepted : refused) += 1;
    }
    // The generator must reach both sides, or the comparison proves little.
    CHECK(accepted > 1000);
    CHECK(refused > 1000);
  }
}

TEST_CASE("hand-picked strings agree with the expressions") {
  const std::string hex64(64, 'a');
  const std::vector<std::string> samples = {
      "",
      "vertexproject/synapse-cortex:v2.233.0",
      "docker.io/vertexproject/synapse:v2.233.0",
      "localhost:5000/synapse:v2",
      "localhost:5000/synapse",
      "localhost:5000@sha256:" + hex64,
      "localhost:123456/synapse:v2",
      "a__b/c:t",
      "a___b/c:t",
      "a--b.c/d:t",
      "-a/b:t",
      "a/b:-t",
      "a/b:" + std::string(128, 't'),
      "a/b:" + std::string(129, 't'),
      "a/b@sha256:" + hex64,
      "a/b:t@sha256:" + hex64,
      "a/b:t@sha256:" + std::string(63, 'a'),
      "a/b@sha256:" + std::string(64, 'A'),
      "a/b:t@@sha256:" + hex64,
      "A/b:t",
      "a//b:t",
      "a/b/:t",
      "mirror.example.com/vertexproject",
      "mirror.example.com:8443/vertexproject",
      "mirror.example.com/Vertex",
      "storm:log:level",
      "storm::log",
      "Storm:log",
      "https_port",
      "1h30m",
      "1.5s",
      "10ms",
      "1m5s",
      "1.s",
      ".5s",
      "5",
      "v2.x.x",
      "v0.x.x",
      "v02.x.x",
      "v123456789.x.x",
      "v1234567890.x.x",
      "v.x.x",
      "vx.x",
  };
  for (const Grammar& grammar : grammars()) {
    for (const std::string& text : samples) {
      CAPTURE(grammar.name);
      CAPTURE(text);
      CHECK(grammar.matcher(text) == reference_match(grammar, text));
    }
  }
}

}  // namespace
}  // namespace synoverlay
