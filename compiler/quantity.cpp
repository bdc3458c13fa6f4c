// Kubernetes resource quantities: a scanner for the grammar, exact arithmetic on decimal digit
// strings (no floating point anywhere), and the canonical spelling the API server stores.

#include "quantity.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace synoverlay {
namespace {

// Unsigned, so that the magnitude of the most negative value can be printed.
__extension__ using UInt128 = unsigned __int128;

constexpr Int128 kNanosPerUnit = 1'000'000'000;
// The largest magnitude, 2^63-1 base units, in nanos; it has 28 decimal digits.
constexpr Int128 kMaxNanos = Int128{std::numeric_limits<std::int64_t>::max()} * kNanosPerUnit;
constexpr std::int64_t kMaxNanosDigits = 28;
constexpr std::size_t kMaxSignificantDigits = 40;
// Exponents are clamped here; anything this far out is too large or below 1n either way.
constexpr std::int64_t kExponentClamp = 1'000'000'000'000;

constexpr std::string_view kExampleHint = "expected a quantity such as '512Mi' or '250m'";
constexpr std::string_view kSuffixListHint =
    "valid suffixes are n u m k M G T P E (powers of 10), Ki Mi Gi Ti Pi Ei (powers of 2), "
    "or an exponent such as 'e3'";

enum class Format { binary_si, decimal_si, decimal_exponent };

struct SuffixInfo {
  std::string_view text;
  Format format;
  int power;  // of 10 for decimal suffixes, of 2 for binary ones
  std::string_view meaning;
};

// Decimal suffixes come first because hints list candidates in this order ("'G' or 'Gi'").
constexpr std::array<SuffixInfo, 15> kSuffixes{{
    {"n", Format::decimal_si, -9, "10^-9"},
    {"u", Format::decimal_si, -6, "10^-6"},
    {"m", Format::decimal_si, -3, "10^-3"},
    {"k", Format::decimal_si, 3, "10^3"},
    {"M", Format::decimal_si, 6, "10^6"},
    {"G", Format::decimal_si, 9, "10^9"},
    {"T", Format::decimal_si, 12, "10^12"},
    {"P", Format::decimal_si, 15, "10^15"},
    {"E", Format::decimal_si, 18, "10^18"},
    {"Ki", Format::binary_si, 10, "2^10"},
    {"Mi", Format::binary_si, 20, "2^20"},
    {"Gi", Format::binary_si, 30, "2^30"},
    {"Ti", Format::binary_si, 40, "2^40"},
    {"Pi", Format::binary_si, 50, "2^50"},
    {"Ei", Format::binary_si, 60, "2^60"},
}};

constexpr std::array<std::string_view, 7> kBinarySuffixesBy1024{"",   "Ki", "Mi", "Gi",
                                                                "Ti", "Pi", "Ei"};

// What the scanner found in a well-formed quantity. Its value is
// ±(integer fraction as one digit string) × 10^(decimal_power - |fraction|) × 2^binary_power.
struct Parts {
  bool negative = false;
  std::string_view integer;   // digits before the '.', possibly empty
  std::string_view fraction;  // digits after the '.', possibly empty
  std::size_t integer_offset = 0;
  std::size_t fraction_offset = 0;
  Format format = Format::decimal_si;
  std::int64_t decimal_power = 0;
  int binary_power = 0;
};

bool fail(QuantityError& error, std::size_t offset, std::string message, std::string hint) {
  error = QuantityError{offset, std::move(message), std::move(hint)};
  return false;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

const SuffixInfo* find_suffix(std::string_view text) {
  for (const SuffixInfo& suffix : kSuffixes) {
    if (suffix.text == text) return &suffix;
  }
  return nullptr;
}

// The valid suffixes a mistyped one probably meant: the same letters in another case, the
// binary form of a bare prefix ("K" -> "Ki"), and byte units with the 'B' dropped ("GB").
std::vector<const SuffixInfo*> suffix_candidates(std::string_view suffix) {
  std::string key = ascii_lower(suffix);
  bool bytes = key.size() > 1 && key.back() == 'b';
  if (bytes) key.pop_back();

  std::vector<const SuffixInfo*> candidates;
  for (const SuffixInfo& candidate : kSuffixes) {
    // A byte count is never meant in milli- or micro-bytes, so "mB" suggests 'M', not 'm'.
    if (bytes && candidate.power < 0) continue;
    std::string lower = ascii_lower(candidate.text);
    if (lower == key || (key.back() != 'i' && lower == key + "i")) candidates.push_back(&candidate);
  }
  return candidates;
}

std::string join_candidates(const std::vector<const SuffixInfo*>& candidates) {
  std::string joined;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i != 0) joined += i + 1 == candidates.size() ? " or " : ", ";
    joined += quoted(candidates[i]->text) + " (" + std::string(candidates[i]->meaning) + ")";
  }
  return joined;
}

// `number` is the text before the suffix, used to show a corrected spelling.
std::string unknown_suffix_hint(std::string_view number, std::string_view suffix) {
  if (suffix == "\xC2\xB5" || suffix == "\xCE\xBC") return "write micro (10^-6) as 'u'";
  if (suffix == "B" || suffix == "b") {
    return "a plain number counts bytes: write " + quoted(number) + " without a unit";
  }

  std::vector<const SuffixInfo*> candidates = suffix_candidates(suffix);
  if (candidates.empty()) return std::string(kSuffixListHint);
  bool bytes = suffix.size() > 1 && (suffix.back() == 'b' || suffix.back() == 'B');
  std::string lead = bytes ? "quantities have no byte unit 'B'" : "suffixes are case-sensitive";
  return lead + ": did you mean " + join_candidates(candidates) + "?";
}

// Reads the characters of a quantity from left to right and fills `parts`; on the first
// problem it fills `error` with the offset of the offending character.
class Scanner {
 public:
  Scanner(std::string_view text, Parts& parts, QuantityError& error)
      : text_(text), parts_(parts), error_(error) {}

  bool scan() {
    scan_sign();
    return scan_number() && scan_suffix();
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  std::string_view take_digits() {
    std::size_t start = pos_;
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  void scan_sign() {
    if (peek() != '+' && peek() != '-') return;
    parts_.negative = peek() == '-';
    ++pos_;
  }

  bool scan_number() {
    std::size_t start = pos_;
    parts_.integer_offset = pos_;
    parts_.integer = take_digits();
    if (peek() == '.') {
      ++pos_;
      parts_.fraction_offset = pos_;
      parts_.fraction = take_digits();
    }

    if (parts_.integer.empty() && parts_.fraction.empty()) return missing_number(start);
    if (peek() == '.') {
      return fail(error_, pos_, "second decimal point in quantity " + quoted(text_),
                  "write at most one '.', e.g. '1.5'");
    }
    return true;
  }

  bool missing_number(std::size_t start) {
    std::string hint(kExampleHint);
    // "Gi" alone most likely lost its amount; show where the number goes.
    if (const SuffixInfo* suffix = find_suffix(text_.substr(start))) {
      hint = "write the amount before the unit, e.g. '1" + std::string(suffix->text) + "'";
    }
    return fail(error_, start, "quantity " + quoted(text_) + " must start with a number", hint);
  }

  bool scan_suffix() {
    std::string_view rest = text_.substr(pos_);
    if (rest.empty()) return true;  // no suffix: DecimalSI in base units
    if (const SuffixInfo* suffix = find_suffix(rest)) {
      parts_.format = suffix->format;
      if (suffix->format == Format::binary_si) {
        parts_.binary_power = suffix->power;
      } else {
        parts_.decimal_power = suffix->power;
      }
      return true;
    }

    // "E" and "Ei" matched above, so an 'e' or 'E' here starts an exponent when a digit or a
    // sign follows it, or when it is alone ("1e" lacks its exponent).
    bool exponent_letter = rest[0] == 'e' || rest[0] == 'E';
    if (exponent_letter &&
        (rest.size() == 1 || is_digit(rest[1]) || rest[1] == '+' || rest[1] == '-')) {
      return scan_exponent();
    }
    return bad_suffix(rest);
  }

  bool bad_suffix(std::string_view rest) {
    unsigned char first = static_cast<unsigned char>(rest[0]);
    bool letter = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first >= 0x80;
    if (letter) {
      return fail(error_, pos_, "unknown suffix " + quoted(rest) + " in quantity " + quoted(text_),
                  unknown_suffix_hint(text_.substr(0, pos_), rest));
    }

    std::string hint = rest[0] == ','
                           ? "write the decimal point as '.', e.g. '1.5'"
                           : "expected digits, an optional '.', then a suffix such as 'Mi' or 'm'";
    return fail(error_, pos_,
                "unexpected " + quoted(rest.substr(0, 1)) + " in quantity " + quoted(text_), hint);
  }

  bool scan_exponent() {
    bool lone_e = text_.substr(pos_) == "e";
    ++pos_;
    bool negative = peek() == '-';
    if (peek() == '+' || peek() == '-') ++pos_;
    std::string_view digits = take_digits();

    if (digits.empty()) {
      std::string hint = "write a whole number after the 'e', e.g. '1e3' or '5e-3'";
      if (lone_e) hint += "; the suffix for 10^18 is 'E'";
      return fail(error_, pos_, "exponent missing in quantity " + quoted(text_), hint);
    }
    if (peek() == '.') {
      return fail(error_, pos_, "fractional exponent in quantity " + quoted(text_),
                  "the exponent must be a whole number, e.g. '1e3' or '25e-1'");
    }
    if (pos_ < text_.size()) {
      return fail(error_, pos_,
                  "unexpected " + quoted(text_.substr(pos_)) + " after the exponent in quantity " +
                      quoted(text_),
                  "an exponent cannot be combined with a suffix: write e.g. '1e3' or '1k'");
    }

    parts_.format = Format::decimal_exponent;
    parts_.decimal_power = negative ? -clamped_integer(digits) : clamped_integer(digits);
    return true;
  }

  static std::int64_t clamped_integer(std::string_view digits) {
    std::int64_t value = 0;
    for (char c : digits) {
      value = std::min(value * 10 + (c - '0'), kExponentClamp);
    }
    return value;
  }

  std::string_view text_;
  Parts& parts_;
  QuantityError& error_;
  std::size_t pos_ = 0;
};

// Multiplies a decimal digit string (most significant digit first) by a small factor.
void multiply_digits(std::string& digits, unsigned factor) {
  unsigned carry = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    unsigned product = static_cast<unsigned>(*it - '0') * factor + carry;
    *it = static_cast<char>('0' + product % 10);
    carry = product / 10;
  }
  for (; carry != 0; carry /= 10) {
    digits.insert(digits.begin(), static_cast<char>('0' + carry % 10));
  }
}

// Only for strings of at most kMaxNanosDigits digits, which fit with room to spare.
Int128 digits_to_int(std::string_view digits) {
  Int128 value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

// The non-zero value digits × 10^shift in nanos, rounded away from zero to a whole nano, as
// the API server does so that a tiny request still asks for something; nothing if too large.
std::optional<Int128> shifted_nanos(std::string digits, std::int64_t shift) {
  Int128 nanos = 0;
  if (shift >= 0) {
    if (static_cast<std::int64_t>(digits.size()) + shift > kMaxNanosDigits) return std::nullopt;
    digits.append(static_cast<std::size_t>(shift), '0');
    nanos = digits_to_int(digits);
  } else if (static_cast<std::uint64_t>(-shift) >= digits.size()) {
    nanos = 1;
  } else {
    std::size_t kept = digits.size() - static_cast<std::size_t>(-shift);
    bool inexact = digits.find_first_not_of('0', kept) != std::string::npos;
    if (static_cast<std::int64_t>(kept) > kMaxNanosDigits) return std::nullopt;
    nanos = digits_to_int(std::string_view(digits).substr(0, kept)) + (inexact ? 1 : 0);
  }
  if (nanos > kMaxNanos) return std::nullopt;
  return nanos;
}

bool too_large(std::string_view text, QuantityError& error) {
  return fail(error, 0, "quantity " + quoted(text) + " is too large",
              "the largest quantity is 9223372036854775807 (2^63-1) in base units, just under "
              "'8Ei'");
}

// The exact magnitude of `parts` in nanos (rounded up to 1n), or nothing with `error` filled.
std::optional<Int128> magnitude_nanos(const Parts& parts, std::string_view text,
                                      QuantityError& error) {
  std::string digits = std::string(parts.integer) + std::string(parts.fraction);
  std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 0;

  // Trailing zeros move into the power so that only significant digits are counted.
  std::size_t last = digits.find_last_not_of('0');
  std::int64_t power = parts.decimal_power - static_cast<std::int64_t>(parts.fraction.size()) +
                       static_cast<std::int64_t>(digits.size() - 1 - last);
  std::string significant = digits.substr(first, last + 1 - first);

  // The value is at least 10^(digits-1+power) base units; from 10^28 nanos on it is too large,
  // which must be known before the string grows by the power.
  if (static_cast<std::int64_t>(significant.size()) - 1 + power + 9 >= kMaxNanosDigits) {
    too_large(text, error);
    return std::nullopt;
  }
  if (significant.size() > kMaxSignificantDigits) {
    std::size_t index = first + kMaxSignificantDigits;
    std::size_t offset = index < parts.integer.size()
                             ? parts.integer_offset + index
                             : parts.fraction_offset + (index - parts.integer.size());
    std::string limit = std::to_string(kMaxSignificantDigits);
    fail(error, offset,
         "quantity " + quoted(text) + " has more than " + limit + " significant digits",
         "round it to at most " + limit + " digits; the value is kept to 1n (10^-9) anyway");
    return std::nullopt;
  }

  for (int power_of_two = 0; power_of_two < parts.binary_power; power_of_two += 10) {
    multiply_digits(significant, 1024);
  }
  std::optional<Int128> nanos = shifted_nanos(std::move(significant), power + 9);
  if (!nanos) too_large(text, error);
  return nanos;
}

std::string int128_to_string(Int128 value) {
  bool negative = value < 0;
  UInt128 magnitude =
      negative ? static_cast<UInt128>(-(value + 1)) + 1 : static_cast<UInt128>(value);
  std::string text;
  do {
    text.insert(text.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  return negative ? "-" + text : text;
}

// m × 10^e with e as large as possible, then e lowered to a multiple of 3 (1.5 -> 1500m).
std::string decimal_canonical(Int128 nanos, Format format) {
  Int128 mantissa = nanos;
  int exponent = -9;
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  while (exponent % 3 != 0) {
    mantissa *= 10;
    --exponent;
  }

  std::string number = int128_to_string(mantissa);
  if (format == Format::decimal_exponent) {
    return exponent == 0 ? number : number + "e" + std::to_string(exponent);
  }
  if (exponent == 0) return number;
  for (const SuffixInfo& suffix : kSuffixes) {
    if (suffix.format == Format::decimal_si && suffix.power == exponent) {
      return number + std::string(suffix.text);
    }
  }
  // Unreachable while magnitudes stop at 2^63-1 (below 10^19, so e <= 18); the API server
  // falls back to exponent notation past 'E' rather than growing the mantissa.
  return number + "e" + std::to_string(exponent);
}

// The whole value divided by 1024 while it stays whole (1.5Gi -> 1536Mi).
std::string binary_canonical(Int128 nanos) {
  Int128 units = nanos / kNanosPerUnit;
  std::size_t steps = 0;
  while (units % 1024 == 0 && steps + 1 < kBinarySuffixesBy1024.size()) {
    units /= 1024;
    ++steps;
  }
  return int128_to_string(units) + std::string(kBinarySuffixesBy1024[steps]);
}

// The spelling Quantity.String() gives for a freshly parsed value. Known difference: the API
// server's parser keeps the user's own text when it merely looks canonical, so it echoes
// "+1", "01", "1.", "1.001", "1E3" or "1e0" unchanged where this returns "1", "1", "1",
// "1001m", "1e3" and "1"; it matters only when predicting whether such a text shows a diff.
std::string canonical_form(Int128 nanos, Format format) {
  if (nanos == 0) return "0";
  if (format == Format::binary_si) {
    bool small = nanos > -1024 * kNanosPerUnit && nanos < 1024 * kNanosPerUnit;
    bool whole = nanos % kNanosPerUnit == 0;
    if (!small && whole) return binary_canonical(nanos);
    format = Format::decimal_si;  // small or fractional binary values print as DecimalSI
  }
  return decimal_canonical(nanos, format);
}

bool check_whitespace(std::string_view text, QuantityError& error) {
  auto space = std::find_if(text.begin(), text.end(), is_space);
  if (space == text.end()) return true;

  std::string squeezed;
  std::copy_if(text.begin(), text.end(), std::back_inserter(squeezed),
               [](char c) { return !is_space(c); });
  // Suggest the squeezed text only when it is itself right; otherwise say what else is wrong.
  std::string hint(kExampleHint);
  QuantityError squeezed_error;
  if (!squeezed.empty()) {
    hint = parse_quantity(squeezed, squeezed_error)
               ? "write it without spaces: " + quoted(squeezed)
               : "write it without spaces; also " + squeezed_error.hint;
  }
  std::string what = *space == ' ' ? "space" : "whitespace";
  return fail(error, static_cast<std::size_t>(space - text.begin()),
              what + " in quantity " + quoted(text), hint);
}

}  // namespace

std::optional<Quantity> parse_quantity(std::string_view text, QuantityError& error) {
  if (text.empty()) {
    fail(error, 0, "empty quantity", std::string(kExampleHint));
    return std::nullopt;
  }
  if (!check_whitespace(text, error)) return std::nullopt;

  Parts parts;
  if (!Scanner(text, parts, error).scan()) return std::nullopt;
  std::optional<Int128> magnitude = magnitude_nanos(parts, text, error);
  if (!magnitude) return std::nullopt;

  Quantity quantity;
  quantity.nanos = parts.negative ? -*magnitude : *magnitude;
  quantity.canonical = canonical_form(quantity.nanos, parts.format);
  return quantity;
}

int compare(const Quantity& a, const Quantity& b) {
  return (a.nanos > b.nanos) - (a.nanos < b.nanos);
}

}  // namespace synoverlay
