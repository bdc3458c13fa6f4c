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

}  // namespace synoverlay
