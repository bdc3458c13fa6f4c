#pragma once
// A pre-parse check of how deeply a TOML text nests. toml++ descends recursively into
// dotted keys, table headers, arrays and inline tables; a hostile file with thousands of
// levels would exhaust the stack. Environment files nest three levels at most.

#include <cstddef>
#include <optional>
#include <string_view>

namespace synoverlay {

// Deepest nesting accepted: brackets ([ and {) open at once, or parts of one dotted key.
inline constexpr std::size_t kMaxTomlDepth = 32;

// The byte offset where `text` first nests deeper than kMaxTomlDepth, or nothing. Strings
// and comments are skipped, so their contents never count.
std::optional<std::size_t> find_excess_nesting(std::string_view text);

// The byte offset of the first non-ASCII character outside strings and comments, or of
// one after a backslash (and white space) in a multi-line basic string, or nothing.
// toml++ 3.3 reaches undefined behaviour when it asks whether some of them (U+00A1 to
// U+0499, for one) are white space, so they never get to it. The scan follows TOML's
// structure as toml++ reads it: a quote opens a string only where a key or a value
// begins, and after the first thing that is not TOML no quote or comment counts.
std::optional<std::size_t> find_stray_non_ascii(std::string_view text);

}  // namespace synoverlay
