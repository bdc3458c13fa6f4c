#include "validate.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "grammar.h"
#include "quantity.h"

namespace synoverlay {
namespace {

constexpr std::string_view kLabelHint =
    "use lower-case letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters";
constexpr std::string_view kSubdomainHint =
    "use lower-case letters, digits, '-' and '.', each dot-separated part starting and "
    "ending with a letter or digit, at most 253 characters";
constexpr std::string_view kNetlocHint =
    "expected host[:port] such as 'optic.example.com' or 'optic.example.com:8443'";

// Longest certificate name Synapse accepts for `<name>.<network>` and AHA's DNS name.
constexpr std::size_t kMaxCertificateName = 64;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxSubdomain = 253;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// The user's value in single quotes, control characters shown as escapes (a raw newline
// in a hint would forge a diagnostic line).
std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out + "'";
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

// The suffix of a quantity as written ("Gi" of "2Gi"), empty for plain numbers.
std::string_view suffix_of(std::string_view text) {
  std::size_t unit = text.find_first_not_of("+-0123456789.");
  return unit == std::string_view::npos ? std::string_view() : text.substr(unit);
}

// How a message names one character of the user's value.
std::string describe_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (c == ' ') return "a space";
  if (byte < 0x20 || byte == 0x7f) return "a control character (byte " + std::to_string(byte) + ")";
  if (byte >= 0x80) return "a non-ASCII character";
  if (is_upper(c)) return "the upper-case letter " + quoted(std::string(1, c));
  return quoted(std::string(1, c));
}

// What is wrong with a name, and where: `offset` is npos when nothing is.
struct NameProblem {
  std::size_t offset = std::string_view::npos;
  std::string reason;
  explicit operator bool() const { return offset != std::string_view::npos; }
};

NameProblem label_problem(std::string_view text) {
  if (text.empty()) return {0, "it is empty"};
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_lower_alnum(c)) continue;
    if (c != '-') return {i, describe_char(c) + " is not allowed"};
    if (i == 0) return {i, "it must start with a letter or digit"};
    if (i + 1 == text.size()) return {i, "it must end with a letter or digit"};
  }
  if (text.size() > kMaxLabel) {
    return {kMaxLabel, "it has " + std::to_string(text.size()) + " characters, at most " +
                           std::to_string(kMaxLabel) + " are allowed"};
  }
  return {};
}

NameProblem subdomain_problem(std::string_view text) {
  if (text.empty()) return {0, "it is empty"};
  std::size_t start = 0;
  while (true) {
    std::size_t dot = text.find('.', start);
    std::size_t end = dot == std::string_view::npos ? text.size() : dot;
    std::string_view label = text.substr(start, end - start);
    if (label.empty()) return {start, "it has an empty part (two dots, or a dot at an end)"};
    if (NameProblem problem = label_problem(label)) {
      if (label.size() > kMaxLabel && problem.reason.starts_with("it has")) {
        problem.reason = "its part " + quoted(label) + " has " + std::to_string(label.size()) +
                         " characters, at most " + std::to_string(kMaxLabel) + " are allowed";
      }
      problem.offset += start;
      return problem;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (text.size() > kMaxSubdomain) {
    return {kMaxSubdomain, "it has " + std::to_string(text.size()) + " characters, at most " +
                               std::to_string(kMaxSubdomain) + " are allowed"};
  }
  return {};
}

// A likely intended name: lower case, '_' and spaces turned into '-', other characters dropped;
// empty when that is no valid name either (too long, say) or the same text.
std::string suggest_name(std::string_view text, bool dots) {
  std::string out;
  for (char c : text) {
    c = to_lower(c);
    if (is_lower_alnum(c) || c == '-' || (dots && c == '.')) {
      out += c;
    } else if (c == '_' || c == ' ' || (!dots && c == '.')) {
      out += '-';
    }
  }
  auto trim = [](std::string& s) {
    while (!s.empty() && (s.front() == '-' || s.front() == '.')) s.erase(s.begin());
    while (!s.empty() && (s.back() == '-' || s.back() == '.')) s.pop_back();
  };
  trim(out);
  bool valid = dots ? !subdomain_problem(out) : !label_problem(out);
  return valid && out != text ? out : std::string();
}

// A dotted IPv4 address with four parts from 0 to 255 and no leading zeros.
bool valid_ipv4(std::string_view host) {
  int parts = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = host.find('.', start);
    std::string_view part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    bool digits =
        !part.empty() && part.size() <= 3 && std::all_of(part.begin(), part.end(), is_digit);
    if (!digits || (part.size() > 1 && part[0] == '0')) return false;
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

// An IPv6 address in hexadecimal groups; the dotted-quad tail and zone ids are not accepted.
bool valid_ipv6(std::string_view host) {
  if (host.find_first_not_of("0123456789abcdefABCDEF:") != std::string_view::npos) return false;
  in6_addr address{};
  return inet_pton(AF_INET6, std::string(host).c_str(), &address) == 1;
}

// A host whose last part is all digits is read as an IPv4 address (no top-level domain is
// numeric), so "10.0.0.300" is a bad address rather than a host name.
bool numeric_last_label(std::string_view host) {
  std::size_t dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  return !last.empty() && std::all_of(last.begin(), last.end(), is_digit);
}

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5 || port[0] == '0') return false;
  if (!std::all_of(port.begin(), port.end(), is_digit)) return false;
  return std::stoi(std::string(port)) <= 65535;
}

struct Netloc {
  std::string_view host;
  std::string_view port;
  std::size_t port_offset = 0;
  bool ip = false;
};

// One file's validation: the environment, its text, and where problems go.
class Validator {
 public:
  Validator(const Environment& env, DiagnosticSink& sink) : env_(env), sink_(sink) {}

  std::optional<ResolvedEnvironment> run(const std::string& source);

 private:
  void error(SourceSpan span, std::string rule, std::string message, std::string hint = {}) {
    sink_.error(env_.path, span, std::move(rule), std::move(message), std::move(hint));
  }
  void warning(SourceSpan span, std::string rule, std::string message, std::string hint = {}) {
    sink_.warning(env_.path, span, std::move(rule), std::move(message), std::move(hint));
  }

  // The span of the character at `offset` inside a string value, when the value is
  // written without escapes (so offsets in the value are offsets in the file). An offset
  // just past the value points at the closing quote: "something is missing here".
  SourceSpan char_span(const Located<std::string>& value, std::size_t offset) const;

  // Both return false after reporting a problem.
  bool check_characters(const Located<std::string>& value, std::string_view key);
  bool check_free_form(const Located<std::string>& value, std::string_view key);
  void check_label(const Located<std::string>& value, std::string_view key);
  void check_subdomain(const Located<std::string>& value, std::string_view key);
  void check_version(const Located<std::string>& value, std::string_view key, bool synapse);
  void check_digest(const Located<std::string>& value, std::string_view key);
  std::optional<Netloc> check_netloc(const Located<std::string>& value);
  void check_netloc_host(const Located<std::string>& value, Netloc& netloc, std::size_t base);
  void check_ingress(const Located<std::string>& netloc_value, const Netloc& netloc);
  void check_network(ResolvedEnvironment& out);
  void check_aha_dns_name(const ResolvedEnvironment& out);
  void check_registry(const Located<std::string>& value);
  void check_image(const Located<std::string>& value, std::string_view key);
  void check_config(const ServiceSpec& spec, ResolvedService& out);
  void check_provisioning(ResolvedEnvironment& out);
  void check_gitops(ResolvedEnvironment& out);
  void check_repo_url(const Located<std::string>& value, bool flux);

  // Resolves one quantity: the user's value when given (checked), else the default.
  std::optional<Quantity> quantity(const Located<std::string>& value, std::string_view fallback,
                                   std::string_view key, bool bytes);
  void resolve_resources(const ResourceValues& requests, const ResourceValues& limits,
                         const ResourceDefaults& defaults, std::string_view owner,
                         ResolvedResources& out_requests, ResolvedResources& out_limits);
  void compare_request_limit(const Located<std::string>& request, const Quantity& request_q,
                             const Located<std::string>& limit, const Quantity& limit_q,
                             std::string_view owner, std::string_view resource);

  const Environment& env_;
  DiagnosticSink& sink_;
};

SourceSpan Validator::char_span(const Located<std::string>& value, std::size_t offset) const {
  SourceSpan span = value.span;
  if (!span.known() || span.begin.line != span.end.line) return span;
  std::size_t length = span.end.column - span.begin.column;
  if (length != value.value.size() + 2) return span;  // escapes or a multi-line string
  std::uint32_t column = span.begin.column + 1 + static_cast<std::uint32_t>(offset);
  return {{span.begin.line, column}, {span.begin.line, column + 1}};
}

// The name of a Unicode line break starting at `at` (NEL, LS, PS), or nothing: YAML and
// kustomize treat them as line breaks, so they cannot travel inside a one-line value.
std::string_view unicode_line_break(std::string_view text, std::size_t at) {
  std::string_view rest = text.substr(at);
  if (rest.starts_with("\xC2\x85")) return "U+0085";
  if (rest.starts_with("\xE2\x80\xA8")) return "U+2028";
  if (rest.starts_with("\xE2\x80\xA9")) return "U+2029";
  return {};
}

bool Validator::check_characters(const Located<std::string>& value, std::string_view key) {
  for (std::size_t i = 0; i < value.value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value.value[i]);
    if (std::string_view name = unicode_line_break(value.value, i); !name.empty()) {
      error(char_span(value, i), "control-character",
            quoted(key) + " contains the Unicode line break " + std::string(name),
            "newlines, tabs and other control characters are not allowed here");
      return false;
    }
    if (c >= 0x20 && c != 0x7f) continue;
    error(char_span(value, i), "control-character",
          quoted(key) + " contains " + describe_char(value.value[i]),
          "newlines, tabs and other control characters are not allowed here");
    return false;
  }
  return true;
}

// URLs, revisions and paths end up in YAML and in commands people copy into a shell.
bool Validator::check_free_form(const Located<std::string>& value, std::string_view key) {
  std::size_t bad = value.value.find_first_of(" \"'\\`$");
  if (bad == std::string::npos) return check_characters(value, key);
  error(
      char_span(value, bad), "gitops-value",
      std::string(key) + " " + quoted(value.value) + " contains " + describe_char(value.value[bad]),
      "URLs, revisions and paths take no spaces, quotes, backslashes or '$'");
  return false;
}

void Validator::check_label(const Located<std::string>& value, std::string_view key) {
  NameProblem problem = label_problem(value.value);
  if (!problem) return;
  std::string hint(kLabelHint);
  if (std::string better = suggest_name(value.value, false); !better.empty()) {
    hint += "; did you mean " + quoted(better) + "?";
  }
  error(
      char_span(value, problem.offset), "dns-label",
      std::string(key) + " " + quoted(value.value) + " is not a DNS-1123 label: " + problem.reason,
      hint);
}

void Validator::check_subdomain(const Located<std::string>& value, std::string_view key) {
  NameProblem problem = subdomain_problem(value.value);
  if (!problem) return;
  std::string hint(kSubdomainHint);
  if (std::string better = suggest_name(value.value, true); !better.empty()) {
    hint += "; did you mean " + quoted(better) + "?";
  }
  error(char_span(value, problem.offset), "dns-subdomain",
        std::string(key) + " " + quoted(value.value) +
            " is not a DNS-1123 subdomain: " + problem.reason,
        hint);
}

void Validator::check_version(const Located<std::string>& value, std::string_view key,
                              bool synapse) {
  const std::string& tag = value.value;
  const std::string example = synapse ? "v2.233.0" : "v2.19.3";
  std::optional<int> major;
  bool floating = is_floating_tag(tag);
  if (auto release = parse_release(tag)) {
    major = release->major;
  } else if (floating) {
    major = std::stoi(tag.substr(1, tag.find('.') - 1));
  }

  if (synapse && major && *major != 2) {
    std::string hint =
        *major >= 3 ? "Synapse v3 provisions differently (one shared secret, a new image "
                      "registry and new names) and is not supported yet; use a v2 release"
                    : "synoverlay deploys Synapse v2; use a v2 release such as '" + example + "'";
    error(value.span, "version-unsupported",
          std::string(key) + " " + quoted(tag) + " is not a Synapse v2 " +
              (floating ? "tag" : "release"),
          hint);
    return;
  }
  if (major && floating) {
    warning(
        value.span, "version-floating",
        std::string(key) + " " + quoted(tag) + " is a floating tag: pods can run different builds",
        "pin an exact release such as '" + example +
            "'; with a floating tag the probes "
            "assume the newest release and version guards cannot apply");
    return;
  }
  if (major) return;

  std::string hint =
      "expected an exact tag such as '" + example + "' (a 'v', then MAJOR.MINOR.PATCH)";
  if (parse_release("v" + tag)) {
    hint = "release tags start with 'v': write 'v" + tag + "'";
  } else if (!tag.empty() && tag[0] == 'V' && parse_release("v" + tag.substr(1))) {
    hint = "release tags start with a lower-case 'v': write 'v" + tag.substr(1) + "'";
  } else if (lower(tag) == "latest") {
    hint = "'latest' changes with every release; pin an exact release such as '" + example + "'";
  }
  error(value.span, "version-format",
        std::string(key) + " " + quoted(tag) + " is not a release tag", hint);
}

void Validator::check_digest(const Located<std::string>& value, std::string_view key) {
  const std::string& digest = value.value;
  constexpr std::string_view kPrefix = "sha256:";
  constexpr std::size_t kHexDigits = 64;
  const std::string hint =
      "expected 'sha256:' followed by 64 lower-case hex digits, as "
      "'docker buildx imagetools inspect' prints it";
  std::string name = std::string(key) + " " + quoted(digest);

  if (!digest.starts_with(kPrefix)) {
    bool bare = digest.size() == kHexDigits && std::all_of(digest.begin(), digest.end(), is_hex);
    error(char_span(value, 0), "digest-format", name + " does not start with 'sha256:'",
          bare ? "write 'sha256:" + digest + "'" : hint);
    return;
  }
  std::size_t bad = digest.find_first_not_of("0123456789abcdef", kPrefix.size());
  if (bad != std::string::npos) {
    bool upper =
        digest.find_first_not_of("0123456789abcdefABCDEF", kPrefix.size()) == std::string::npos;
    error(char_span(value, bad), "digest-format",
          name + " has " + describe_char(digest[bad]) + " where a hex digit belongs",
          upper ? "write the hex digits in lower case: '" + lower(digest) + "'" : hint);
    return;
  }
  std::size_t count = digest.size() - kPrefix.size();
  if (count == kHexDigits) return;
  error(char_span(value, std::min(digest.size(), kPrefix.size() + kHexDigits)), "digest-format",
        name + " has " + std::to_string(count) + " hex digits; a sha256 digest has 64",
        "copy the whole digest; " + hint);
}

// Checks Optic's netloc and returns its host and port, or nothing when it is wrong.
std::optional<Netloc> Validator::check_netloc(const Located<std::string>& value) {
  const std::string& netloc = value.value;
  std::string_view rest = netloc;

  // What the user most likely meant: scheme, user, path and spaces taken away.
  std::string right = netloc;
  std::erase_if(right, [](char c) { return c == ' ' || c == '\t'; });
  if (std::size_t scheme = right.find("://"); scheme != std::string::npos) {
    right.erase(0, scheme + 3);
  }
  if (std::size_t end = right.find_first_of("/?#"); end != std::string::npos) right.resize(end);
  if (std::size_t at = right.rfind('@'); at != std::string::npos) right.erase(0, at + 1);
  std::string right_hint(kNetlocHint);
  if (!right.empty() && right != netloc) {
    right_hint = "write only the host and port: " + quoted(right);
  }

  auto fail = [&](std::size_t offset, const std::string& what, const std::string& hint) {
    error(char_span(value, offset), "netloc", "netloc " + quoted(netloc) + " " + what, hint);
    return std::nullopt;
  };
  if (netloc.empty()) return fail(0, "is empty", std::string(kNetlocHint));
  if (std::size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    return fail(0, "has a scheme (" + quoted(rest.substr(0, scheme + 3)) + ")", right_hint);
  }
  if (std::size_t slash = rest.find_first_of("/?#"); slash != std::string_view::npos) {
    return fail(slash, "has a path (" + quoted(rest.substr(slash)) + ")", right_hint);
  }
  if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
    return fail(0, "has a user name (" + quoted(rest.substr(0, at + 1)) + ")", right_hint);
  }
  if (std::size_t space = rest.find_first_of(" \t"); space != std::string_view::npos) {
    return fail(space, "contains " + describe_char(rest[space]), right_hint);
  }

  Netloc out;
  std::size_t base = 0;  // offset of the host in the value
  if (rest[0] == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos || !valid_ipv6(rest.substr(1, close - 1))) {
      return fail(1, "has an invalid IPv6 address", "expected an address such as '[fd00::1]'");
    }
    out.host = rest.substr(1, close - 1);
    out.ip = true;
    base = 1;
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest[0] != ':') {
      return fail(close + 1, "has " + describe_char(rest[0]) + " after the address",
                  "write the port after a colon: '[" + std::string(out.host) + "]:4443'");
    }
    if (!rest.empty()) {
      out.port = rest.substr(1);
      out.port_offset = close + 2;
    }
  } else if (std::count(rest.begin(), rest.end(), ':') > 1) {
    std::string hint = valid_ipv6(rest) ? "write an IPv6 address in brackets: '[" + netloc + "]'"
                                        : std::string(kNetlocHint);
    return fail(0, "has more than one ':'", hint);
  } else {
    std::size_t colon = rest.find(':');
    out.host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      out.port = rest.substr(colon + 1);
      out.port_offset = colon + 1;
    }
    check_netloc_host(value, out, base);
    if (out.host.empty()) return std::nullopt;
  }

  bool has_port = out.port_offset != 0;
  if (has_port && !valid_port(out.port)) {
    std::string host = netloc.substr(0, out.port_offset - 1);
    return fail(out.port_offset, "has an invalid port " + quoted(out.port),
                "a port is a number from 1 to 65535, such as '" + host +
                    ":8443', or leave it out: '" + host + "'");
  }
  return out;
}

// Checks a host that is not in brackets; clears `netloc.host` when it is wrong.
void Validator::check_netloc_host(const Located<std::string>& value, Netloc& netloc,
                                  std::size_t base) {
  std::string_view host = netloc.host;
  const std::string& text = value.value;
  auto fail = [&](std::size_t offset, const std::string& what, const std::string& hint) {
    error(char_span(value, base + offset), "netloc", "netloc " + quoted(text) + " " + what, hint);
    netloc.host = {};
  };
  if (host.empty()) return fail(0, "has no host", std::string(kNetlocHint));
  if (numeric_last_label(host)) {
    if (valid_ipv4(host)) {
      netloc.ip = true;
    } else {
      fail(0, "has an invalid IPv4 address " + quoted(host),
           "an IPv4 address is four numbers from 0 to 255 without leading zeros, such as "
           "'10.0.0.5'; a host name cannot end in a number");
    }
    return;
  }
  NameProblem problem = subdomain_problem(host);
  if (!problem) return;
  std::string hint(kNetlocHint);
  if (lower(host) != host && !subdomain_problem(lower(host))) {
    hint = "host names are written in lower case: " + quoted(lower(text));
  }
  fail(problem.offset, "has an invalid host name: " + problem.reason, hint);
}

void Validator::check_ingress(const Located<std::string>& netloc_value, const Netloc& netloc) {
  if (!netloc.ip) return;
  error(netloc_value.span, "ingress-host",
        "[optic.ingress] needs a host name, but netloc " + quoted(netloc_value.value) +
            " is an IP address",
        "an Ingress rule matches a DNS name: give Optic's host name as netloc, or remove "
        "[optic.ingress] and expose Optic another way");
}

void Validator::check_network(ResolvedEnvironment& out) {
  const Located<std::string>& network = env_.service(ServiceKind::aha).network;
  out.network = network.given ? network.value : out.name + ".synapse";
  // Without a valid name the default network says nothing; the name has its own error.
  if (!network.given && (!env_.name.given || label_problem(env_.name.value))) return;
  if (network.given) {
    NameProblem problem = subdomain_problem(network.value);
    if (problem || network.value.find('.') == std::string::npos) {
      std::string reason = problem ? problem.reason : "it has only one part";
      // A one-part network most likely lacks the environment: "synapse" -> "staging.synapse".
      std::string better = suggest_name(network.value, true);
      if (better.empty() && !problem) better = network.value;
      if (!better.empty() && better.find('.') == std::string::npos && env_.name.given &&
          !label_problem(env_.name.value)) {
        better = env_.name.value + "." + better;
      }
      std::string example = better.find('.') == std::string::npos || subdomain_problem(better)
                                ? "'prod.synapse'"
                                : quoted(better);
      error(char_span(network, problem ? problem.offset : 0), "aha-network",
            "AHA network " + quoted(network.value) + " is not a dotted DNS name: " + reason,
            "use at least two dot-separated parts of lower-case letters, digits and '-', "
            "such as " +
                example);
      return;
    }
  }

  // Every certificate is 00.<service>.<network>; the longest service name decides.
  std::string longest;
  for (const ResolvedService& service : out.services) {
    if (!service.enabled) continue;
    std::string cert = "00." + std::string(service_name(service.kind)) + "." + out.network;
    if (cert.size() > longest.size()) longest = cert;
  }
  if (longest.size() <= kMaxCertificateName) return;
  std::size_t room = kMaxCertificateName - (longest.size() - out.network.size());
  std::string message = "certificate name " + quoted(longest) + " has " +
                        std::to_string(longest.size()) + " characters; Synapse allows at most " +
                        std::to_string(kMaxCertificateName);
  if (network.given) {
    error(network.span, "certificate-name-length", message,
          "shorten the AHA network to at most " + std::to_string(room) + " characters");
  } else {
    error(env_.name.span, "certificate-name-length",
          message + " (the AHA network defaults to '<name>.synapse')",
          "set a shorter network under [aha], such as network = \"prod.synapse\", or shorten "
          "the name to at most " +
              std::to_string(room - 8) + " characters");
  }
}

void Validator::check_aha_dns_name(const ResolvedEnvironment& out) {
  if (out.aha_dns_name.size() <= kMaxCertificateName) return;
  bool blame_namespace =
      env_.namespace_.given && !(env_.cluster_domain.given &&
                                 env_.cluster_domain.value.size() > env_.namespace_.value.size());
  const Located<std::string>& culprit = blame_namespace ? env_.namespace_ : env_.cluster_domain;
  std::size_t rest = out.aha_dns_name.size() - culprit.value.size();
  std::string hint = "the name is aha.<namespace>.svc.<cluster_domain>; ";
  if (rest < kMaxCertificateName) {
    hint += "shorten the " + std::string(blame_namespace ? "namespace" : "cluster_domain") +
            " to at most " + std::to_string(kMaxCertificateName - rest) + " characters";
  } else {
    hint += "shorten the namespace and the cluster_domain to at most " +
            std::to_string(kMaxCertificateName - 9) + " characters together";
  }
  error(culprit.span, "certificate-name-length",
        "AHA's DNS name " + quoted(out.aha_dns_name) + " has " +
            std::to_string(out.aha_dns_name.size()) +
            " characters; it goes into AHA's certificate, which allows at most " +
            std::to_string(kMaxCertificateName),
        hint);
}

// Offset of the first character no image reference may contain, else 0.
std::size_t first_foreign_char(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok =
        is_lower_alnum(c) || c == '.' || c == '-' || c == '_' || c == '/' || c == ':' || c == '@';
    if (!ok) return i;
  }
  return 0;
}

void Validator::check_registry(const Located<std::string>& value) {
  if (is_image_repository(value.value)) return;
  const std::string form =
      "host[:port]/path in lower case, such as "
      "'mirror.example.com/vertexproject'";
  std::size_t colon = value.value.rfind(':');
  bool tagged = colon != std::string::npos && value.value.find('/') < colon;
  std::string hint =
      tagged ? "give only the repository prefix, without a tag: " + form : "expected " + form;
  error(char_span(value, first_foreign_char(value.value)), "image-reference",
        "registry " + quoted(value.value) + " is not an image repository prefix", hint);
}

void Validator::check_image(const Located<std::string>& value, std::string_view key) {
  const std::string& image = value.value;
  if (is_image_reference(image)) return;
  std::size_t slash = image.rfind('/');
  bool pinned = image.find('@') != std::string::npos ||
                image.find(':', slash == std::string::npos ? 0 : slash) != std::string::npos;
  std::string example = "'" + std::string(kDefaultProvisioningImage) + "'";
  if (!pinned) {
    error(
        char_span(value, image.size()), "image-reference",
        std::string(key) + " " + quoted(image) + " has no tag or digest",
        "pin the image: add a tag such as ':v1.32.4' or a digest '@sha256:...', as in " + example);
    return;
  }
  error(char_span(value, first_foreign_char(image)), "image-reference",
        std::string(key) + " " + quoted(image) + " is not a valid image reference",
        "expected repository:tag or repository@sha256:<digest> in lower case, such as " + example);
}

std::string synapse_env_name(ServiceKind kind, std::string_view option) {
  std::string out = "SYN_";
  for (char c : service_name(kind)) out += char(c - 'a' + 'A');
  out += '_';
  for (char c : option) {
    if (c == ':') {
      out += '_';
    } else if (c >= 'a' && c <= 'z') {
      out += char(c - 'a' + 'A');
    } else {
      out += c;
    }
  }
  return out;
}

// Why synoverlay refuses to pass `option` through for `kind`, or empty. The schema's
// propertyNames for each [<service>.config] table lists the same options.
std::string reserved_reason(ServiceKind kind, std::string_view option) {
  if (option == "aha:network") return "set it with 'network' under [aha]";
  if (option.starts_with("aha:") || option == "dns:name") {
    return "synoverlay sets AHA names and provisioning itself";
  }
  if (option == "dmon:listen" || option == "provision:listen" || option == "https:port") {
    return "synoverlay sets the listeners itself; provisioning chooses the telepath listener";
  }
  if (kind == ServiceKind::cortex && (option == "axon" || option == "jsonstor")) {
    return "synoverlay points cortex at its axon and jsonstor through AHA";
  }
  if (kind == ServiceKind::optic && (option == "axon" || option == "cortex")) {
    return "synoverlay points optic at its axon and cortex through AHA";
  }
  if (kind == ServiceKind::optic && option == "netloc") return "set it with 'netloc' under [optic]";
  return {};
}

void Validator::check_config(const ServiceSpec& spec, ResolvedService& out) {
  std::map<std::string, std::string> seen;  // variable -> option that produced it
  const std::string table = "[" + std::string(service_name(spec.kind)) + ".config]";
  for (const ConfigOption& option : spec.config) {
    const std::string& name = option.name.value;
    if (!is_option_name(name)) {
      std::string hint = "option names are lower-case words joined by ':', such as 'storm:log'";
      if (is_option_name(lower(name))) {
        hint = "Synapse option names are lower case: " + quoted(lower(name));
      }
      error(option.name.span, "config-option",
            quoted(name) + " in " + table + " is not a Synapse option name", hint);
      continue;
    }
    // Synapse maps ':' and '_' to the same variable, so "https_port" is "https:port".
    std::string spelled = name;
    std::replace(spelled.begin(), spelled.end(), '_', ':');
    if (std::string reason = reserved_reason(spec.kind, spelled); !reason.empty()) {
      error(option.name.span, "config-reserved",
            "option " + quoted(name) + " cannot be set in " + table, reason);
      continue;
    }
    std::string variable = synapse_env_name(spec.kind, name);
    if (auto [it, fresh] = seen.emplace(variable, name); !fresh) {
      error(option.name.span, "config-duplicate",
            "option " + quoted(name) + " sets " + variable + ", as " + quoted(it->second) +
                " already does",
            "':' and '_' both become '_' in the variable name; keep one of them");
      continue;
    }
    if (option.value.value.find_first_of("\r\n") != std::string::npos) {
      error(option.value.span, "config-value", "option " + quoted(name) + " has a multi-line value",
            "environment variables carry one line; write lists and maps as inline YAML");
      continue;
    }
    check_characters(option.value, name);
    out.env.push_back({variable, option.value.value, name});
  }
  std::sort(out.env.begin(), out.env.end());
}

std::optional<Quantity> Validator::quantity(const Located<std::string>& value,
                                            std::string_view fallback, std::string_view key,
                                            bool bytes) {
  if (!value.given) {
    QuantityError ignored;
    return parse_quantity(fallback, ignored);
  }
  QuantityError problem;
  std::optional<Quantity> parsed = parse_quantity(value.value, problem);
  if (!parsed) {
    error(char_span(value, problem.offset), "quantity-syntax",
          std::string(key) + ": " + problem.message, problem.hint);
    return std::nullopt;
  }

  std::string name = std::string(key) + " " + quoted(value.value);
  std::string keep_default =
      fallback.empty() ? "" : "; leave it out to keep the default " + quoted(fallback);
  if (parsed->negative()) {
    error(char_span(value, 0), "quantity-range", name + " is negative",
          "sizes and CPU amounts must be greater than zero: write " +
              quoted(value.value.substr(1)) + keep_default);
    return std::nullopt;
  }
  if (parsed->zero()) {
    error(value.span, "quantity-range", name + " must be greater than zero",
          (bytes ? "expected a size such as '512Mi'" : "expected a CPU amount such as '250m'") +
              keep_default);
    return std::nullopt;
  }

  std::string_view suffix = suffix_of(value.value);
  std::size_t unit = value.value.size() - suffix.size();
  if (!bytes && suffix.size() == 2 && suffix[1] == 'i') {
    error(char_span(value, unit), "quantity-unit",
          name + " uses the byte unit " + quoted(suffix) + "; CPU is counted in cores",
          "write whole cores such as '2' or millicores such as '500m'");
    return std::nullopt;
  }
  if (bytes && parsed->fractional()) {
    std::string hint = "write a whole number of bytes, or a unit such as 'Mi' or 'Gi'";
    if (suffix == "m") {
      hint = "'m' means milli (1/1000): for mebibytes write " +
             quoted(value.value.substr(0, unit) + "Mi");
    }
    warning(value.span, "quantity-fraction", name + " is not a whole number of bytes", hint);
  }
  return parsed;
}

// "'1.5' (1500m)" when the user's spelling differs from the canonical one.
std::string show_quantity(const Located<std::string>& written, const Quantity& value) {
  if (!written.given || written.value == value.canonical) return quoted(value.canonical);
  return quoted(written.value) + " (" + value.canonical + ")";
}

std::string int128_text(Int128 value) {
  std::string digits;
  bool negative = value < 0;
  do {
    int digit = static_cast<int>(value % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + (negative ? -digit : digit)));
    value /= 10;
  } while (value != 0);
  return negative ? "-" + digits : digits;
}

// " ('2Gi' is 2048Mi)" when a request and a limit are written in different units, so that a
// reader sees the comparison at once: the request in the limit's unit when that is exact,
// else both in base units when they are whole; otherwise empty.
std::string in_same_unit(const Located<std::string>& request, const Quantity& request_q,
                         const Located<std::string>& limit, const Quantity& limit_q) {
  std::string_view unit = suffix_of(limit.value);
  if (!request.given || !limit.given || unit == suffix_of(request.value)) return {};
  QuantityError ignored;
  std::optional<Quantity> one = parse_quantity("1" + std::string(unit), ignored);
  bool exponent =
      !unit.empty() && (unit[0] == 'e' || unit[0] == 'E') && unit.size() > 1 && unit != "Ei";
  if (one && !exponent && request_q.nanos % one->nanos == 0) {
    return " (" + quoted(request.value) + " is " + int128_text(request_q.nanos / one->nanos) +
           std::string(unit) + ")";
  }
  constexpr Int128 kUnit = 1'000'000'000;
  if (request_q.nanos % kUnit != 0 || limit_q.nanos % kUnit != 0) return {};
  return " (" + quoted(request.value) + " is " + int128_text(request_q.nanos / kUnit) + " and " +
         quoted(limit.value) + " is " + int128_text(limit_q.nanos / kUnit) + ")";
}

void Validator::compare_request_limit(const Located<std::string>& request,
                                      const Quantity& request_q, const Located<std::string>& limit,
                                      const Quantity& limit_q, std::string_view owner,
                                      std::string_view resource) {
  if (compare(request_q, limit_q) <= 0) return;
  std::string owner_text(owner);
  std::string default_note = " (the default for " + owner_text + ")";
  std::string request_text = "requests." + std::string(resource) + " " +
                             show_quantity(request, request_q) +
                             (request.given ? "" : default_note);
  std::string limit_text = "limits." + std::string(resource) + " " + show_quantity(limit, limit_q) +
                           (limit.given ? "" : default_note);
  if (request.given) {
    error(request.span, "request-exceeds-limit",
          owner_text + " " + request_text + " is above " + limit_text,
          "a request may not exceed its limit" + in_same_unit(request, request_q, limit, limit_q) +
              (limit.given ? "; lower the request or raise the limit"
                           : "; lower the request or set limits = { " + std::string(resource) +
                                 " = \"...\" } under [" + owner_text + "]"));
  } else {
    error(limit.span, "request-exceeds-limit",
          owner_text + " " + limit_text + " is below " + request_text,
          "a limit may not be below its request; raise the limit or set requests = { " +
              std::string(resource) + " = \"...\" } under [" + owner_text + "]");
  }
}

void Validator::resolve_resources(const ResourceValues& requests, const ResourceValues& limits,
                                  const ResourceDefaults& defaults, std::string_view owner,
                                  ResolvedResources& out_requests, ResolvedResources& out_limits) {
  std::string prefix = std::string(owner) + ".";
  auto req_cpu = quantity(requests.cpu, defaults.request_cpu, prefix + "requests.cpu", false);
  auto req_mem =
      quantity(requests.memory, defaults.request_memory, prefix + "requests.memory", true);
  auto lim_cpu = quantity(limits.cpu, defaults.limit_cpu, prefix + "limits.cpu", false);
  auto lim_mem = quantity(limits.memory, defaults.limit_memory, prefix + "limits.memory", true);
  if (req_cpu) out_requests.cpu = req_cpu->canonical;
  if (req_mem) out_requests.memory = req_mem->canonical;
  if (lim_cpu) out_limits.cpu = lim_cpu->canonical;
  if (lim_mem) out_limits.memory = lim_mem->canonical;

  if (req_cpu && lim_cpu) {
    compare_request_limit(requests.cpu, *req_cpu, limits.cpu, *lim_cpu, owner, "cpu");
  }
  if (req_mem && lim_mem) {
    compare_request_limit(requests.memory, *req_mem, limits.memory, *lim_mem, owner, "memory");
  }
}

void Validator::check_provisioning(ResolvedEnvironment& out) {
  const ProvisioningSpec& spec = env_.provisioning;
  out.provisioning_image =
      spec.image.given ? spec.image.value : std::string(kDefaultProvisioningImage);
  if (spec.image.given) check_image(spec.image, "provisioning.image");
  if (spec.timeout.given) {
    out.provisioning_timeout = spec.timeout.value;
    if (spec.timeout.value < 30 || spec.timeout.value > 86400) {
      error(spec.timeout.span, "provisioning-range",
            "provisioning.timeout " + std::to_string(spec.timeout.value) + " is out of range",
            "give the seconds to wait for aha-0, from 30 to 86400 (default " +
                std::to_string(kDefaultProvisioningTimeout) + ")");
    }
  }
  if (spec.retries.given) {
    out.provisioning_retries = spec.retries.value;
    if (spec.retries.value < 0 || spec.retries.value > 100) {
      error(spec.retries.span, "provisioning-range",
            "provisioning.retries " + std::to_string(spec.retries.value) + " is out of range",
            "give the number of retries of the Job, from 0 to 100 (default " +
                std::to_string(kDefaultProvisioningRetries) + ")");
    }
  }
  static constexpr ResourceDefaults kJobDefaults{"50m", "64Mi", "500m", "256Mi", ""};
  resolve_resources(spec.requests, spec.limits, kJobDefaults, "provisioning",
                    out.provisioning_requests, out.provisioning_limits);
}

void Validator::check_repo_url(const Located<std::string>& value, bool flux) {
  const std::string& url = value.value;
  std::string hint =
      "expected an https:// or ssh:// URL such as "
      "'ssh://git@git.example.com/platform/gitops.git'";
  for (std::string_view scheme : {"https://", "http://", "ssh://"}) {
    if (!url.starts_with(scheme)) continue;
    std::size_t host = scheme.size();
    std::size_t authority_end = std::min(url.find('/', host), url.size());
    std::size_t at = url.rfind('@', authority_end);
    bool password = at != std::string::npos && at > host &&
                    url.substr(host, at - host).find(':') != std::string::npos;
    if (password || (at != std::string::npos && at > host && scheme != "ssh://")) {
      // The URL is committed into clusters/<name>/: credentials would land in git.
      error(char_span(value, host), "gitops-value",
            "gitops.repo_url " + quoted(url.substr(0, host)) + "... carries credentials",
            "give the URL without a user name or password, " +
                std::string(flux ? "and a secretRef on the GitRepository for the credentials"
                                 : "and register the credentials with Argo CD"));
      return;
    }
    if (url.size() > host && url[host] != '/') return;
    error(char_span(value, host), "gitops-value",
          "gitops.repo_url " + quoted(url) + " has no host after " + quoted(scheme), hint);
    return;
  }

  // Argo CD also takes git's short form user@host:path; Flux needs a URL.
  std::size_t at = url.find('@');
  std::size_t colon = url.find(':');
  bool scp_like = at != std::string::npos && at != 0 && colon != std::string::npos &&
                  colon > at + 1 && colon + 1 < url.size() && url.find('/') > colon;
  if (scp_like && !flux) return;
  if (scp_like) {
    std::string as_url = "ssh://" + url.substr(0, colon) + "/" + url.substr(colon + 1);
    error(value.span, "gitops-value",
          "gitops.repo_url " + quoted(url) + " is git's short form, which Flux does not read",
          "write it as a URL: " + quoted(as_url));
    return;
  }
  error(value.span, "gitops-value", "gitops.repo_url " + quoted(url) + " is not a Git URL", hint);
}

void Validator::check_gitops(ResolvedEnvironment& out) {
  const GitOpsSpec& spec = env_.gitops;
  if (!spec.present) return;
  out.gitops = true;
  out.gitops_engine = spec.engine.value;
  out.gitops_repo_url = spec.repo_url.value;
  out.gitops_revision = spec.revision.given ? spec.revision.value : "main";
  out.gitops_path = spec.path.value;
  out.argocd_namespace = spec.argocd_namespace.given ? spec.argocd_namespace.value : "argocd";
  out.argocd_project = spec.project.given ? spec.project.value : "default";
  out.flux_namespace = spec.flux_namespace.given ? spec.flux_namespace.value : "flux-system";
  out.flux_interval = spec.interval.given ? spec.interval.value : "5m";

  if (spec.engine.given && spec.engine.value != "argocd" && spec.engine.value != "flux") {
    static constexpr std::string_view kEngines[] = {"argocd", "flux"};
    std::string_view match = closest_match(spec.engine.value, kEngines);
    error(spec.engine.span, "gitops-engine",
          "gitops.engine " + quoted(spec.engine.value) + " is not a known engine",
          match.empty() ? "expected 'argocd' or 'flux'"
                        : "did you mean '" + std::string(match) + "'?");
  }

  const std::pair<const Located<std::string>*, std::string_view> kFreeForm[] = {
      {&spec.repo_url, "gitops.repo_url"},
      {&spec.revision, "gitops.revision"},
      {&spec.path, "gitops.path"}};
  bool clean_url = true;
  for (const auto& [value, key] : kFreeForm) {
    if (!value->given) continue;
    bool clean = check_free_form(*value, key);
    if (value == &spec.repo_url) clean_url = clean;
  }
  if (spec.repo_url.given && clean_url) check_repo_url(spec.repo_url, out.gitops_engine == "flux");

  if (spec.path.given &&
      (spec.path.value.starts_with('/') || spec.path.value.find("..") != std::string::npos)) {
    error(spec.path.span, "gitops-value",
          "gitops.path " + quoted(spec.path.value) + " must be a relative folder without '..'",
          "give the folder of the GitOps repository that holds base/ and overlays/, or leave "
          "it out for the repository's root");
  }
  if (spec.argocd_namespace.given) check_label(spec.argocd_namespace, "gitops.argocd_namespace");
  if (spec.flux_namespace.given) check_label(spec.flux_namespace, "gitops.flux_namespace");
  if (spec.project.given) check_subdomain(spec.project, "gitops.project");
  if (spec.interval.given && !is_interval(spec.interval.value)) {
    error(spec.interval.span, "gitops-value",
          "gitops.interval " + quoted(spec.interval.value) + " is not a duration",
          "expected a duration such as '5m', '1h30m' or '30s' (units ms, s, m, h)");
  }
}

std::optional<ResolvedEnvironment> Validator::run(const std::string& source) {
  ResolvedEnvironment out;
  out.source = source;
  out.name = env_.name.value;
  out.namespace_ = env_.namespace_.given ? env_.namespace_.value : std::string(kDefaultNamespace);
  out.version = env_.version.value;
  out.cluster_domain =
      env_.cluster_domain.given ? env_.cluster_domain.value : std::string(kDefaultClusterDomain);
  out.storage_class = env_.storage_class.value;
  out.registry = env_.registry.value;
  out.pull_secret = env_.pull_secret.value;
  out.aha_dns_name = "aha." + out.namespace_ + ".svc." + out.cluster_domain;

  if (env_.name.given) check_label(env_.name, "name");
  if (env_.namespace_.given) check_label(env_.namespace_, "namespace");
  if (env_.cluster_domain.given) check_subdomain(env_.cluster_domain, "cluster_domain");
  if (env_.storage_class.given) check_subdomain(env_.storage_class, "storage_class");
  if (env_.pull_secret.given) check_subdomain(env_.pull_secret, "pull_secret");
  if (env_.registry.given) check_registry(env_.registry);
  if (env_.version.given) check_version(env_.version, "version", true);
  auto release = parse_release(out.version);
  out.floating_version = !release.has_value();
  // Probes: the health check module moved in v2.225.0; a floating tag gets the newest one.
  out.legacy_healthcheck = release && *release < ReleaseVersion{2, 225, 0};

  const ServiceSpec& optic = env_.service(ServiceKind::optic);
  for (ServiceKind kind : kAllServices) {
    const ServiceSpec& spec = env_.service(kind);
    ResolvedService& service = out.services[static_cast<int>(kind)];
    service.kind = kind;
    service.enabled = kind != ServiceKind::optic ||
                      (optic.present && !(optic.enabled.given && !optic.enabled.value));
    service.tag = kind == ServiceKind::optic ? optic.version.value : out.version;
    service.digest = spec.digest.value;
    if (spec.digest.given) {
      check_digest(spec.digest, std::string(service_name(kind)) + ".digest");
    }
    const ResourceDefaults& defaults = service_defaults(kind);
    std::string owner(service_name(kind));
    auto storage = quantity(spec.storage, defaults.storage, owner + ".storage", true);
    if (storage) service.storage = storage->canonical;
    resolve_resources(spec.requests, spec.limits, defaults, owner, service.requests,
                      service.limits);
    check_config(spec, service);
  }

  if (optic.version.given) check_version(optic.version, "optic.version", false);
  if (optic.netloc.given) {
    std::optional<Netloc> netloc = check_netloc(optic.netloc);
    if (netloc && optic.ingress.present) check_ingress(optic.netloc, *netloc);
  }
  out.optic_netloc = optic.netloc.value;
  out.optic_pull_secret = optic.pull_secret.given ? optic.pull_secret.value : out.pull_secret;
  if (optic.pull_secret.given) check_subdomain(optic.pull_secret, "optic.pull_secret");
  if (optic.ingress.present) {
    out.ingress = true;
    out.ingress_class = optic.ingress.class_name.value;
    out.ingress_tls_secret = optic.ingress.tls_secret.value;
    if (optic.ingress.class_name.given) {
      check_subdomain(optic.ingress.class_name, "optic.ingress.class");
    }
    if (optic.ingress.tls_secret.given) {
      check_subdomain(optic.ingress.tls_secret, "optic.ingress.tls_secret");
    }
  }

  check_network(out);
  check_aha_dns_name(out);
  check_provisioning(out);
  check_gitops(out);
  return out;
}

constexpr RuleInfo kRules[] = {
    {"toml-syntax", "the file is not valid TOML; the parser's message and position"},
    {"file-read", "the file cannot be read (missing, no regular file, no permission)"},
    {"file-too-large", "the file is larger than 1 MiB"},
    {"toml-depth", "the file nests deeper than 32 levels, which no environment file needs"},
    {"wrong-type", "a value has the wrong TOML type (a number where a string belongs)"},
    {"unknown-key", "a key synoverlay does not know, with the closest known key"},
    {"missing-key",
     "a required key is absent (name, version, Optic's version and netloc, "
     "the GitOps engine and repo_url)"},
    {"duplicate-name", "two files in one run have the same environment name"},
    {"duplicate-namespace",
     "two environments (in one run, or one built and one committed) share a namespace"},
    {"dns-label", "name, namespace and GitOps namespaces are DNS-1123 labels"},
    {"dns-subdomain",
     "storage_class, cluster_domain, secret names, the ingress class and the "
     "Argo CD project are DNS-1123 subdomains"},
    {"aha-network", "the AHA network is a DNS name of at least two parts"},
    {"certificate-name-length",
     "00.<service>.<network> and aha.<namespace>.svc.<domain> fit "
     "in 64 characters"},
    {"netloc", "Optic's netloc is host[:port]: no scheme, path, user or space"},
    {"ingress-host", "with [optic.ingress] the netloc's host is a DNS name, not an IP address"},
    {"version-format", "a version is an exact vMAJOR.MINOR.PATCH tag"},
    {"version-floating", "warning: a floating tag such as v2.x.x"},
    {"version-unsupported", "Synapse's version is a v2 release (v3 is not supported yet)"},
    {"digest-format", "a digest is 'sha256:' and 64 lower-case hex digits"},
    {"quantity-syntax", "a size or CPU amount follows the Kubernetes quantity grammar"},
    {"quantity-range", "sizes and CPU amounts are greater than zero"},
    {"quantity-unit", "a CPU amount has no byte unit (Ki, Mi, Gi, ...)"},
    {"quantity-fraction", "warning: a memory or storage size that is not a whole number of bytes"},
    {"request-exceeds-limit",
     "a request is at most its limit, after defaults and unit "
     "conversion"},
    {"config-option", "a [<service>.config] key is a Synapse option name"},
    {"config-reserved", "options synoverlay sets itself cannot be set in a config table"},
    {"config-duplicate", "two options that give the same SYN_* variable"},
    {"config-value", "a config value Synapse cannot read from one environment variable"},
    {"control-character", "a free-form value contains a control character"},
    {"image-reference",
     "registry is a repository prefix; provisioning.image is a pinned "
     "image reference"},
    {"provisioning-range", "provisioning.timeout and retries lie within their ranges"},
    {"gitops-engine", "gitops.engine is 'argocd' or 'flux'"},
    {"gitops-value", "repo_url is a Git URL; revision, path and interval are well-formed"},
};

}  // namespace

std::span<const RuleInfo> diagnostic_rules() { return kRules; }

const ResourceDefaults& service_defaults(ServiceKind kind) {
  static constexpr std::array<ResourceDefaults, kAllServices.size()> kDefaults = {{
      {"100m", "256Mi", "500m", "512Mi", "2Gi"},  // aha
      {"250m", "512Mi", "1", "2Gi", "50Gi"},      // axon
      {"100m", "256Mi", "500m", "1Gi", "10Gi"},   // jsonstor
      {"500m", "1Gi", "2", "4Gi", "50Gi"},        // cortex
      {"250m", "512Mi", "1", "2Gi", "2Gi"},       // optic
  }};
  return kDefaults[static_cast<int>(kind)];
}

std::optional<ReleaseVersion> parse_release(std::string_view tag) {
  if (tag.size() < 6 || tag[0] != 'v') return std::nullopt;
  ReleaseVersion version;
  int* parts[] = {&version.major, &version.minor, &version.patch};
  const char* cursor = tag.data() + 1;
  const char* end = tag.data() + tag.size();
  for (int i = 0; i < 3; ++i) {
    if (cursor == end || !is_digit(*cursor)) return std::nullopt;
    if (*cursor == '0' && cursor + 1 != end && is_digit(cursor[1])) return std::nullopt;
    auto [next, ec] = std::from_chars(cursor, end, *parts[i]);
    if (ec != std::errc()) return std::nullopt;
    cursor = next;
    if (i < 2) {
      if (cursor == end || *cursor != '.') return std::nullopt;
      ++cursor;
    }
  }
  if (cursor != end) return std::nullopt;
  return version;
}

std::optional<ResolvedEnvironment> validate_environment(const Environment& env,
                                                        const std::string& source,
                                                        DiagnosticSink& sink) {
  std::size_t errors_before = sink.error_count();
  Validator validator(env, sink);
  std::optional<ResolvedEnvironment> out = validator.run(source);
  if (sink.error_count() != errors_before) return std::nullopt;
  return out;
}

}  // namespace synoverlay
