#pragma once
// The small grammars of environment values that are not DNS names: image references, Synapse
// option names, Flux intervals, floating release tags. Each matcher reads the whole string
// and accepts exactly what the regular expression in its comment accepts (the expressions
// are the ones schema/env.schema.json carries; tests/grammar_test.cpp compares the two on
// generated strings). They are written by hand because compiling std::regex at every start
// cost more than everything else validation does.

#include <string_view>

namespace synoverlay {

// An image repository, the distribution project's grammar with lower-case paths:
//   (host(:port)? | component) (/ component)*
//   host      = label(.label)*,  label = [a-z0-9]([a-z0-9-]*[a-z0-9])?,  port = [0-9]{1,5}
//   component = [a-z0-9]+(([._]|__|-+)[a-z0-9]+)*
bool is_image_repository(std::string_view text);

// A repository with a tag, a digest, or both:
//   repository (:tag(@sha256:[0-9a-f]{64})? | @sha256:[0-9a-f]{64})
//   tag = [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool is_image_reference(std::string_view text);

// A Synapse option name: [a-z][a-z0-9_]*(:[a-z0-9_]+)*
bool is_option_name(std::string_view text);

// A Flux interval (Go duration without sign): ([0-9]+(\.[0-9]+)?(ms|s|m|h))+
bool is_interval(std::string_view text);

// A floating release tag: v(0|[1-9][0-9]{0,8})\.x\.x
bool is_floating_tag(std::string_view text);

}  // namespace synoverlay
