// Tests for Kubernetes resource quantities: values, canonical spellings, errors, comparison.

#include "quantity.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace synoverlay {
namespace {

constexpr Int128 kUnit = 1'000'000'000;  // nanos in one base unit
constexpr Int128 kKi = Int128{1} << 10;
constexpr Int128 kMi = Int128{1} << 20;
constexpr Int128 kGi = Int128{1} << 30;
constexpr Int128 kTi = Int128{1} << 40;
constexpr Int128 kPi = Int128{1} << 50;
constexpr Int128 kEi = Int128{1} << 60;
constexpr Int128 kMaxUnits = (Int128{1} << 63) - 1;

// A whole number of base units, in nanos.
constexpr Int128 units(Int128 count) { return count * kUnit; }

constexpr Int128 pow10(int exponent) {
  Int128 value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

// doctest cannot print Int128, so values are compared as text.
std::string str(Int128 value) {
  if (value < 0) return "-" + str(-value);
  std::string text;
  do {
    text.insert(text.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value != 0);
  return text;
}

struct ValidCase {
  const char* text;
  const char* canonical;
  Int128 nanos;
};

// Canonical forms follow Quantity.String() in k8s.io/apimachinery; see quantity.cpp for the
// spellings the API server echoes instead ("+1", "01", "1.", "1.001", "1E3").
const std::vector<ValidCase> kValidCases = {
    // The examples of the specification.
    {"1.5", "1500m", 1'500'000'000},
    {"1000", "1k", units(1000)},
    {"1500", "1500", units(1500)},
    {"0.5", "500m", 500'000'000},
    {"100m", "100m", 100'000'000},
    {"1000m", "1", kUnit},
    {"2000Mi", "2000Mi", units(2000 * kMi)},
    {"1e3", "1e3", units(1000)},
    {"1.5e3", "1500", units(1500)},
    {"1000e3", "1e6", units(pow10(6))},
    {"12e-1", "1200e-3", 1'200'000'000},
    {"-1", "-1", -kUnit},
    {"+1", "1", kUnit},
    {"01", "1", kUnit},
    {"1.", "1", kUnit},
    {".5", "500m", 500'000'000},
    {"1E", "1E", units(pow10(18))},
    {"1000P", "1E", units(pow10(18))},
    {"0.1n", "1n", 1},
    {"1.0001n", "2n", 2},
    {"1.5Gi", "1536Mi", units(1536 * kMi)},
    {"2048Mi", "2Gi", units(2 * kGi)},
    {"0.5Ki", "512", units(512)},
    {"1Ki", "1Ki", units(kKi)},
    {"1024Ki", "1Mi", units(kMi)},

    // Every decimal suffix, and no suffix.
    {"1n", "1n", 1},
    {"1u", "1u", 1000},
    {"1m", "1m", 1'000'000},
    {"1", "1", kUnit},
    {"1k", "1k", units(pow10(3))},
    {"1M", "1M", units(pow10(6))},
    {"1G", "1G", units(pow10(9))},
    {"1T", "1T", units(pow10(12))},
    {"1P", "1P", units(pow10(15))},
    {"9E", "9E", units(9 * pow10(18))},

    // Every binary suffix.
    {"1Mi", "1Mi", units(kMi)},
    {"1Gi", "1Gi", units(kGi)},
    {"1Ti", "1Ti", units(kTi)},
    {"1Pi", "1Pi", units(kPi)},
    {"1Ei", "1Ei", units(kEi)},
    {"7Ei", "7Ei", units(7 * kEi)},
    {"8191Pi", "8191Pi", units(8191 * kPi)},

    // Binary values: small or fractional ones print as DecimalSI, whole ones in steps of 1024.
    {"1.5Ki", "1536", units(1536)},
    {"0.1Ki", "102400m", 102'400'000'000},
    {"1.1Ki", "1126400m", 1'126'400'000'000},
    {"1023Ki", "1023Ki", units(1023 * kKi)},
    {"0.5Mi", "512Ki", units(512 * kKi)},
    {"3072Ki", "3Mi", units(3 * kMi)},
    {"1024Gi", "1Ti", units(kTi)},
    {"100.035Ki", "102435840m", 102'435'840'000'000},
    {"0.05Gi", "53687091200m", 53'687'091'200'000'000},
    {".001Ki", "1024m", 1'024'000'000},
    {".000001Ki", "1024u", 1'024'000},
    {".000000001Ki", "1024n", 1024},
    {"0.9765625Ki", "1k", units(1000)},  // 1000 bytes: below 1024, so DecimalSI
    {"-0.9765625Ki", "-1k", -units(1000)},
    {"0Ki", "0", 0},

    // Exponents: either letter, signed, and far out of range.
    {"1E3", "1e3", units(1000)},
    {"1e+3", "1e3", units(1000)},
    {"1e03", "1e3", units(1000)},
    {"12e3", "12e3", units(12'000)},
    {"1e-3", "1e-3", 1'000'000},
    {"1.5e-3", "1500e-6", 1'500'000},
    {"1E-9", "1e-9", 1},
    {"1e0", "1", kUnit},
    {"1e18", "1e18", units(pow10(18))},
    {"0.5e-1", "50e-3", 50'000'000},
    {"1e-30", "1e-9", 1},
    {"1e-99999999999999999999999", "1e-9", 1},
    {"0e99999999999999999999999", "0", 0},

    // Other decimal spellings.
    {"100.035k", "100035", units(100'035)},
    {"0.0005k", "500m", 500'000'000},
    {"1.G", "1G", units(pow10(9))},
    {"1.01E", "1010P", units(101 * pow10(16))},
    {"9.2E", "9200P", units(92 * pow10(17))},
    {"1.08", "1080m", 1'080'000'000},
    {"0.0108", "10800u", 10'800'000},
    {"1.001", "1001m", 1'001'000'000},
    {"1.500", "1500m", 1'500'000'000},
    {"40T", "40T", units(40 * pow10(12))},
    {"1000k", "1M", units(pow10(6))},
    {"0.001", "1m", 1'000'000},
    {"0.000000001", "1n", 1},
    {"00000000000000000000000000000000000000000000000001", "1", kUnit},
    {"0.0000000000000000000000000000000000000000000000000001", "1n", 1},

    // Signs and zero.
    {"0", "0", 0},
    {"-0", "0", 0},
    {"+0.0", "0", 0},
    {"0.000m", "0", 0},
    {"+.5", "500m", 500'000'000},
    {"-.5", "-500m", -500'000'000},
    {"-1.5Gi", "-1536Mi", -units(1536 * kMi)},
    {"-1Ki", "-1Ki", -units(kKi)},
    {"-0.5Ki", "-512", -units(512)},
    {"-1e3", "-1e3", -units(1000)},
    {"-12e-1", "-1200e-3", -1'200'000'000},

    // Rounding up, away from zero, to a whole nano.
    {"-0.1n", "-1n", -1},
    {"3.001n", "4n", 4},
    {"0.00000012345", "124n", 124},
    {"0.0000000005", "1n", 1},
    {"1.1E-9", "2e-9", 2},
    {"5e-10", "1e-9", 1},
    {"0.000000000001Ki", "2n", 2},
    {"1.000000000000000000000000000000000000001", "1000000001n", kUnit + 1},

    // The largest magnitude, 2^63-1 base units.
    {"9223372036854775807", "9223372036854775807", units(kMaxUnits)},
    {"-9223372036854775807", "-9223372036854775807", -units(kMaxUnits)},
    {"9.223372036854775807E", "9223372036854775807", units(kMaxUnits)},
    {"9223372036854775807.000000000", "9223372036854775807", units(kMaxUnits)},
};

TEST_CASE("quantities parse to exact nanos and the canonical spelling") {
  for (const ValidCase& item : kValidCases) {
    std::string text = item.text;
    CAPTURE(text);
    QuantityError error;
    std::optional<Quantity> quantity = parse_quantity(text, error);
    CHECK_MESSAGE(quantity.has_value(), error.message);
    if (!quantity) continue;
    CHECK(quantity->canonical == std::string(item.canonical));
    CHECK(str(quantity->nanos) == str(item.nanos));
  }
}

TEST_CASE("a canonical spelling parses back to itself and the same value") {
  for (const ValidCase& item : kValidCases) {
    std::string text = item.text;
    CAPTURE(text);
    QuantityError error;
    std::optional<Quantity> again = parse_quantity(item.canonical, error);
    CHECK_MESSAGE(again.has_value(), error.message);
    if (!again) continue;
    CHECK(again->canonical == std::string(item.canonical));
    CHECK(str(again->nanos) == str(item.nanos));
  }
}

TEST_CASE("negative, zero and fractional are reported") {
  QuantityError error;
  CHECK(parse_quantity("-1Gi", error)->negative());
  CHECK_FALSE(parse_quantity("1Gi", error)->negative());
  CHECK(parse_quantity("-0", error)->zero());
  CHECK(parse_quantity("128m", error)->fractional());
  CHECK(parse_quantity("0.5", error)->fractional());
  CHECK_FALSE(parse_quantity("1.5Ki", error)->fractional());
  CHECK_FALSE(parse_quantity("1000m", error)->fractional());
}

const char* const kTooLarge[] = {
    "8Ei",
    "-8Ei",
    "8192Pi",
    "9223372036854775808",
    "-9223372036854775808",
    "9223372036854775807.0000000001",
    "9.3E",
    "10E",
    "12E",
    "1e19",
    "1e99999999999999999999999",
    "100000000000000000000000000000000000000000000000000",
};

TEST_CASE("magnitudes above 2^63-1 are refused as too large") {
  for (std::string text : kTooLarge) {
    CAPTURE(text);
    QuantityError error;
    CHECK_FALSE(parse_quantity(text, error).has_value());
    CHECK(error.offset == 0);
    CHECK(error.message == "quantity '" + text + "' is too large");
    CHECK(error.hint ==
          "the largest quantity is 9223372036854775807 (2^63-1) in base units, just under '8Ei'");
  }
}

struct ErrorCase {
  const char* text;
  std::size_t offset;
  const char* message;
  const char* hint;
};

constexpr const char* kExample = "expected a quantity such as '512Mi' or '250m'";
constexpr const char* kSuffixList =
    "valid suffixes are n u m k M G T P E (powers of 10), Ki Mi Gi Ti Pi Ei (powers of 2), "
    "or an exponent such as 'e3'";

const std::vector<ErrorCase> kErrorCases = {
    {"", 0, "empty quantity", kExample},

    // Suffixes are case-sensitive and have no 'B'.
    {"1g", 1, "unknown suffix 'g' in quantity '1g'",
     "suffixes are case-sensitive: did you mean 'G' (10^9) or 'Gi' (2^30)?"},
    {"1ki", 1, "unknown suffix 'ki' in quantity '1ki'",
     "suffixes are case-sensitive: did you mean 'Ki' (2^10)?"},
    {"1K", 1, "unknown suffix 'K' in quantity '1K'",
     "suffixes are case-sensitive: did you mean 'k' (10^3) or 'Ki' (2^10)?"},
    {"0.1mi", 3, "unknown suffix 'mi' in quantity '0.1mi'",
     "suffixes are case-sensitive: did you mean 'Mi' (2^20)?"},
    {"1EI", 1, "unknown suffix 'EI' in quantity '1EI'",
     "suffixes are case-sensitive: did you mean 'Ei' (2^60)?"},
    {"1U", 1, "unknown suffix 'U' in quantity '1U'",
     "suffixes are case-sensitive: did you mean 'u' (10^-6)?"},
    {"1GB", 1, "unknown suffix 'GB' in quantity '1GB'",
     "quantities have no byte unit 'B': did you mean 'G' (10^9) or 'Gi' (2^30)?"},
    {"1Gb", 1, "unknown suffix 'Gb' in quantity '1Gb'",
     "quantities have no byte unit 'B': did you mean 'G' (10^9) or 'Gi' (2^30)?"},
    {"1gib", 1, "unknown suffix 'gib' in quantity '1gib'",
     "quantities have no byte unit 'B': did you mean 'Gi' (2^30)?"},
    {"512MB", 3, "unknown suffix 'MB' in quantity '512MB'",
     "quantities have no byte unit 'B': did you mean 'M' (10^6) or 'Mi' (2^20)?"},
    {"1KiB", 1, "unknown suffix 'KiB' in quantity '1KiB'",
     "quantities have no byte unit 'B': did you mean 'Ki' (2^10)?"},
    {"64B", 2, "unknown suffix 'B' in quantity '64B'",
     "a plain number counts bytes: write '64' without a unit"},
    {"5\xC2\xB5", 1, "unknown suffix '\xC2\xB5' in quantity '5\xC2\xB5'",
     "write micro (10^-6) as 'u'"},
    {"1x", 1, "unknown suffix 'x' in quantity '1x'", kSuffixList},
    {".5i", 2, "unknown suffix 'i' in quantity '.5i'", kSuffixList},
    {"1Gi2", 1, "unknown suffix 'Gi2' in quantity '1Gi2'", kSuffixList},
    {"1Ex", 1, "unknown suffix 'Ex' in quantity '1Ex'", kSuffixList},

    // Spaces anywhere.
    {"1 Gi", 1, "space in quantity '1 Gi'", "write it without spaces: '1Gi'"},
    {" 1", 0, "space in quantity ' 1'", "write it without spaces: '1'"},
    {"1Gi ", 3, "space in quantity '1Gi '", "write it without spaces: '1Gi'"},
    {"1\tGi", 1, "whitespace in quantity '1\tGi'", "write it without spaces: '1Gi'"},
    {"1 g", 1, "space in quantity '1 g'",
     "write it without spaces; also suffixes are case-sensitive: did you mean 'G' (10^9) or "
     "'Gi' (2^30)?"},
    {"  ", 0, "space in quantity '  '", kExample},

    // No number.
    {"Gi", 0, "quantity 'Gi' must start with a number",
     "write the amount before the unit, e.g. '1Gi'"},
    {"abc", 0, "quantity 'abc' must start with a number", kExample},
    {"-", 1, "quantity '-' must start with a number", kExample},
    {"-m", 1, "quantity '-m' must start with a number",
     "write the amount before the unit, e.g. '1m'"},
    {".", 0, "quantity '.' must start with a number", kExample},
    {"+-1", 1, "quantity '+-1' must start with a number", kExample},
    {"e3", 0, "quantity 'e3' must start with a number", kExample},

    // Decimal points.
    {"1.2.3", 3, "second decimal point in quantity '1.2.3'", "write at most one '.', e.g. '1.5'"},
    {"1..", 2, "second decimal point in quantity '1..'", "write at most one '.', e.g. '1.5'"},

    // Exponents.
    {"1e", 2, "exponent missing in quantity '1e'",
     "write a whole number after the 'e', e.g. '1e3' or '5e-3'; the suffix for 10^18 is 'E'"},
    {"1e+", 3, "exponent missing in quantity '1e+'",
     "write a whole number after the 'e', e.g. '1e3' or '5e-3'"},
    {"1E-", 3, "exponent missing in quantity '1E-'",
     "write a whole number after the 'e', e.g. '1e3' or '5e-3'"},
    {"1e+x", 3, "exponent missing in quantity '1e+x'",
     "write a whole number after the 'e', e.g. '1e3' or '5e-3'"},
    {"1e1.5", 3, "fractional exponent in quantity '1e1.5'",
     "the exponent must be a whole number, e.g. '1e3' or '25e-1'"},
    {"1e3Gi", 3, "unexpected 'Gi' after the exponent in quantity '1e3Gi'",
     "an exponent cannot be combined with a suffix: write e.g. '1e3' or '1k'"},

    // Stray characters.
    {"1,5", 1, "unexpected ',' in quantity '1,5'", "write the decimal point as '.', e.g. '1.5'"},
    {"1+1.0M", 1, "unexpected '+' in quantity '1+1.0M'",
     "expected digits, an optional '.', then a suffix such as 'Mi' or 'm'"},
    {"1_000", 1, "unexpected '_' in quantity '1_000'",
     "expected digits, an optional '.', then a suffix such as 'Mi' or 'm'"},

    // 41 significant digits: the caret goes under the 41st.
    {"0.00012345678901234567890123456789012345678901", 45,
     "quantity '0.00012345678901234567890123456789012345678901' has more than 40 significant "
     "digits",
     "round it to at most 40 digits; the value is kept to 1n (10^-9) anyway"},
    {"1234567890.1234567890123456789012345678901", 41,
     "quantity '1234567890.1234567890123456789012345678901' has more than 40 significant digits",
     "round it to at most 40 digits; the value is kept to 1n (10^-9) anyway"},
};

TEST_CASE("malformed quantities give the offending offset, a message and a hint") {
  for (const ErrorCase& item : kErrorCases) {
    std::string text = item.text;
    CAPTURE(text);
    QuantityError error;
    CHECK_FALSE(parse_quantity(text, error).has_value());
    CHECK(error.offset == item.offset);
    CHECK(error.message == std::string(item.message));
    CHECK(error.hint == std::string(item.hint));
  }
}

TEST_CASE("a failed parse leaves no stale result and a later success leaves the error alone") {
  QuantityError error;
  CHECK_FALSE(parse_quantity("1g", error).has_value());
  CHECK(error.offset == 1);
  CHECK(parse_quantity("1G", error).has_value());
  CHECK(error.message == "unknown suffix 'g' in quantity '1g'");
}

struct CompareCase {
  const char* a;
  const char* b;
  int expected;
};

const std::vector<CompareCase> kCompareCases = {
    {"1", "1500m", -1},
    {"1Gi", "1G", 1},
    {"1024Mi", "1Gi", 0},
    {"1000m", "1", 0},
    {"1e3", "1k", 0},
    {"1k", "1Ki", -1},
    {"-1", "0", -1},
    {"0", "-0", 0},
    {"0.1n", "1n", 0},
    {"7Ei", "8191Pi", -1},
    {"-1Gi", "-1G", -1},
    {"250m", "0.25", 0},
    {"9223372036854775807", "7Ei", 1},
};

TEST_CASE("quantities compare by value across units") {
  for (const CompareCase& item : kCompareCases) {
    std::string text_a = item.a;
    std::string text_b = item.b;
    CAPTURE(text_a);
    CAPTURE(text_b);
    QuantityError error;
    std::optional<Quantity> a = parse_quantity(text_a, error);
    std::optional<Quantity> b = parse_quantity(text_b, error);
    CHECK(a.has_value());
    CHECK(b.has_value());
    if (!a || !b) continue;
    CHECK(compare(*a, *b) == item.expected);
    CHECK(compare(*b, *a) == -item.expected);
  }
}

}  // namespace
}  // namespace synoverlay
