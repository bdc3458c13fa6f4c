#pragma once
// Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity): parsing with the
// full grammar, exact comparison, and the canonical form the API server stores.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace synoverlay {

// A 128-bit integer: values up to 2^63 in billionths need more than 64 bits.
__extension__ using Int128 = __int128;

struct Quantity {
  // The value in billionths (value × 10^9), after the API server's rounding up to 1n.
  Int128 nanos = 0;
  // The API server's canonical spelling: "1.5" -> "1500m", "1.5Gi" -> "1536Mi".
  std::string canonical;
  bool negative() const { return nanos < 0; }
  bool zero() const { return nanos == 0; }
  // True when the value is not a whole number (a fraction of a byte for memory).
  bool fractional() const { return nanos % 1'000'000'000 != 0; }
};

struct QuantityError {
  std::size_t offset = 0;  // byte offset inside the text of the offending character
  std::string message;     // lower-case, e.g. "unknown suffix 'g'"
  std::string hint;        // e.g. "suffixes are case-sensitive: use 'G' or 'Gi'"
};

// Parses `text` with the grammar <sign>?<number><suffix>? where number is
// digits, digits '.' digits?, or '.' digits; suffix is Ki Mi Gi Ti Pi Ei, n u m k M G T P E,
// or e/E followed by a signed integer exponent. No spaces anywhere. On failure returns
// nothing and fills `error`. Values whose magnitude exceeds 2^63-1 are refused as too large.
std::optional<Quantity> parse_quantity(std::string_view text, QuantityError& error);

// <0, 0 or >0 as a compares to b by value.
int compare(const Quantity& a, const Quantity& b);

}  // namespace synoverlay
