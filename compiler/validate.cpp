#include "validate.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "quantity.h"

namespace synoverlay {
namespace {

constexpr std::string_view kLabelHint =
    "use lower-case letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters";
constexpr std::string_view kSubdomainHint =
    "use lower-case letters, digits, '-' and '.', each dot-separated part starting and "
    "ending with a letter or digit, at most 253 characters";

// Longest certificate name Synapse accepts for `<name>.<network>` and AHA's DNS name.
constexpr std::size_t kMaxCertificateName = 64;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

// Offset of the first character that breaks the DNS-1123 label rules, or npos.
std::size_t label_problem(std::string_view text) {
  if (text.empty()) return 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_lower_alnum(c)) continue;
    if (c == '-' && i != 0 && i + 1 != text.size()) continue;
    return i;
  }
  return text.size() > 63 ? 63 : std::string_view::npos;
}

// Offset of the first character that breaks the DNS-1123 subdomain rules, or npos.
std::size_t subdomain_problem(std::string_view text) {
  if (text.empty()) return 0;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = text.find('.', start);
    std::string_view label = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    std::size_t bad = label_problem(label);
    if (bad != std::string_view::npos) return start + bad;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return text.size() > 253 ? 253 : std::string_view::npos;
}

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
  // written without escapes (so offsets in the value are offsets in the file).
  SourceSpan char_span(const Located<std::string>& value, std::size_t offset) const;

  void check_characters(const Located<std::string>& value, std::string_view key);
  void check_label(const Located<std::string>& value, std::string_view key);
  void check_subdomain(const Located<std::string>& value, std::string_view key);
  void check_version(const Located<std::string>& value, std::string_view key, bool synapse);
  void check_digest(const Located<std::string>& value, std::string_view key);
  void check_netloc(const Located<std::string>& value);
  void check_network(ResolvedEnvironment& out);
  void check_aha_dns_name(const ResolvedEnvironment& out);
  void check_registry(const Located<std::string>& value);
  void check_image(const Located<std::string>& value, std::string_view key);
  void check_config(const ServiceSpec& spec, ResolvedService& out);
  void check_provisioning(ResolvedEnvironment& out);
  void check_gitops(ResolvedEnvironment& out);

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

void Validator::check_characters(const Located<std::string>& value, std::string_view key) {
  for (std::size_t i = 0; i < value.value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value.value[i]);
    if (c >= 0x20 && c != 0x7f) continue;
    error(char_span(value, i), "control-character",
          "'" + std::string(key) + "' contains a control character (byte " + std::to_string(c) +
              ")",
          "newlines, tabs and other control characters are not allowed here");
    return;
  }
}

void Validator::check_label(const Located<std::string>& value, std::string_view key) {
  std::size_t bad = label_problem(value.value);
  if (bad == std::string_view::npos) return;
  error(char_span(value, bad), "dns-label",
        std::string(key) + " '" + value.value + "' is not a DNS-1123 label", std::string(kLabelHint));
}

void Validator::check_subdomain(const Located<std::string>& value, std::string_view key) {
  std::size_t bad = subdomain_problem(value.value);
  if (bad == std::string_view::npos) return;
  error(char_span(value, bad), "dns-subdomain",
        std::string(key) + " '" + value.value + "' is not a DNS-1123 subdomain",
        std::string(kSubdomainHint));
}

void Validator::check_version(const Located<std::string>& value, std::string_view key,
                              bool synapse) {
  const std::string& tag = value.value;
  if (parse_release(tag)) {
    if (synapse && parse_release(tag)->major != 2) {
      bool newer = parse_release(tag)->major > 2;
      error(value.span, "version-unsupported",
            std::string(key) + " '" + tag + "' is not a Synapse v2 release",
            newer ? "Synapse v3 provisions differently (one shared secret, a new image registry "
                    "and new names) and is not supported yet; use a v2 release"
                  : "synoverlay deploys Synapse v2; use a v2 release such as 'v2.233.0'");
    }
    return;
  }
  bool floating = tag.size() >= 6 && tag[0] == 'v' && tag.ends_with(".x.x") &&
                  std::all_of(tag.begin() + 1, tag.end() - 4, is_digit) && tag.size() > 5;
  if (floating) {
    if (synapse && tag != "v2.x.x") {
      error(value.span, "version-unsupported",
            std::string(key) + " '" + tag + "' is not a Synapse v2 tag",
            "synoverlay deploys Synapse v2; use a v2 release such as 'v2.233.0'");
      return;
    }
    warning(value.span, "version-floating",
            std::string(key) + " '" + tag + "' is a floating tag: pods can run different builds",
            "pin an exact release such as 'v2.233.0'; with a floating tag the probes assume the "
            "newest release and the downgrade guard cannot apply");
    return;
  }
  error(value.span, "version-format",
        std::string(key) + " '" + tag + "' is not a release tag",
        "expected an exact tag such as '" + std::string(synapse ? "v2.233.0" : "v2.19.3") +
            "' (a 'v', then MAJOR.MINOR.PATCH)");
}

void Validator::check_digest(const Located<std::string>& value, std::string_view key) {
  const std::string& digest = value.value;
  constexpr std::string_view kPrefix = "sha256:";
  bool ok = digest.starts_with(kPrefix) && digest.size() == kPrefix.size() + 64 &&
            std::all_of(digest.begin() + kPrefix.size(), digest.end(), is_hex);
  if (ok) return;
  std::size_t bad = 0;
  if (digest.starts_with(kPrefix)) {
    bad = kPrefix.size();
    while (bad < digest.size() && is_hex(digest[bad])) ++bad;
    if (bad == digest.size() && digest.size() < kPrefix.size() + 64) bad = digest.size() - 1;
  }
  error(char_span(value, std::min(bad, digest.empty() ? 0 : digest.size() - 1)), "digest-format",
        std::string(key) + " '" + digest + "' is not an image digest",
        "expected 'sha256:' followed by 64 lower-case hex digits");
}

bool valid_ipv4(std::string_view host) {
  int parts = 0;
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t dot = host.find('.', start);
    std::string_view part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), is_digit)) {
      return false;
    }
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

bool looks_like_ipv4(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return is_digit(c) || c == '.';
  });
}

bool valid_ipv6(std::string_view host) {
  if (host.size() < 2) return false;
  int colons = 0;
  for (char c : host) {
    if (c == ':') {
      ++colons;
    } else if (!is_hex(c) && !(c >= 'A' && c <= 'F') && c != '.') {
      return false;
    }
  }
  return colons >= 2 && colons <= 7;
}

void Validator::check_netloc(const Located<std::string>& value) {
  const std::string& netloc = value.value;
  auto fail = [&](std::size_t offset, const std::string& what, const std::string& right) {
    std::string hint = "expected host[:port] such as 'optic.example.com' or "
                       "'optic.example.com:8443'";
    if (!right.empty()) hint = "write only the host and port: '" + right + "'";
    error(char_span(value, offset), "netloc", "netloc '" + netloc + "' " + what, hint);
  };

  if (std::size_t space = netloc.find_first_of(" \t"); space != std::string::npos) {
    std::string right = netloc;
    std::erase_if(right, [](char c) { return c == ' ' || c == '\t'; });
    return fail(space, "contains a space", right);
  }
  std::string_view rest = netloc;
  std::size_t base = 0;
  if (std::size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    std::string_view after = rest.substr(scheme + 3);
    std::string right(after.substr(0, after.find('/')));
    return fail(0, "has a scheme ('" + std::string(rest.substr(0, scheme)) + "://')", right);
  }
  if (std::size_t slash = rest.find_first_of("/?#"); slash != std::string_view::npos) {
    return fail(slash, "has a path", std::string(rest.substr(0, slash)));
  }
  if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
    return fail(0, "has a user name", std::string(rest.substr(at + 1)));
  }

  std::string_view host = rest;
  std::string_view port;
  if (!host.empty() && host[0] == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos || !valid_ipv6(host.substr(1, close - 1))) {
      return fail(0, "has an invalid IPv6 address", "");
    }
    port = host.substr(close + 1);
    if (!port.empty() && port[0] != ':') return fail(close + 1, "has text after the address", "");
    if (!port.empty()) port.remove_prefix(1);
    base = close + 2;
    host = {};
  } else if (std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    base = colon + 1;
  }
  if (!host.empty() || rest.empty()) {
    if (looks_like_ipv4(host)) {
      if (!valid_ipv4(host)) return fail(0, "has an invalid IPv4 address", "");
    } else if (std::size_t bad = subdomain_problem(host); bad != std::string_view::npos) {
      std::string lower = netloc;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
      return fail(bad, "is not a valid host name", lower != netloc ? lower : "");
    }
  }
  if (base != 0 || !port.empty()) {
    int number = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number < 1 ||
        number > 65535) {
      return fail(base, "has an invalid port '" + std::string(port) + "'",
                  std::string(rest.substr(0, base == 0 ? rest.size() : base - 1)));
    }
  }
}

void Validator::check_network(ResolvedEnvironment& out) {
  const Located<std::string>& network = env_.service(ServiceKind::aha).network;
  out.network = network.given ? network.value : out.name + ".synapse";
  SourceSpan where = network.given ? network.span : env_.name.span;
  if (network.given) {
    std::size_t bad = subdomain_problem(network.value);
    if (bad != std::string_view::npos || network.value.find('.') == std::string::npos) {
      error(char_span(network, bad == std::string_view::npos ? 0 : bad), "aha-network",
            "AHA network '" + network.value + "' is not a dotted DNS name",
            "use at least two dot-separated parts of lower-case letters, digits and '-', "
            "such as 'prod.synapse'");
      return;
    }
  }
  for (const ResolvedService& service : out.services) {
    if (!service.enabled) continue;
    std::string cert = "00." + std::string(service_name(service.kind)) + "." + out.network;
    if (cert.size() <= kMaxCertificateName) continue;
    error(where, "certificate-name-length",
          "certificate name '" + cert + "' has " + std::to_string(cert.size()) +
              " characters; Synapse allows at most " + std::to_string(kMaxCertificateName),
          network.given ? "shorten the AHA network"
                        : "set a shorter [aha] network; the default is '<name>.synapse'");
    return;
  }
}

void Validator::check_aha_dns_name(const ResolvedEnvironment& out) {
  if (out.aha_dns_name.size() <= kMaxCertificateName) return;
  SourceSpan where = env_.namespace_.given ? env_.namespace_.span : env_.cluster_domain.span;
  error(where, "certificate-name-length",
        "AHA's DNS name '" + out.aha_dns_name + "' has " +
            std::to_string(out.aha_dns_name.size()) + " characters; Synapse allows at most " +
            std::to_string(kMaxCertificateName),
        "it is aha.<namespace>.svc.<cluster_domain>; use a shorter namespace");
}

// Offset of the first character that cannot appear in an image repository path, or npos.
std::size_t repository_problem(std::string_view text) {
  if (text.empty()) return 0;
  std::size_t colon_port = std::string_view::npos;
  std::size_t first_slash = text.find('/');
  if (std::size_t colon = text.find(':'); colon != std::string_view::npos && colon < first_slash) {
    colon_port = colon;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool separator = c == '.' || c == '-' || c == '_' || c == '/';
    if (is_lower_alnum(c)) continue;
    if (i == colon_port) continue;
    if (colon_port != std::string_view::npos && i > colon_port && i < first_slash) {
      if (is_digit(c)) continue;
      return i;
    }
    if (separator && i != 0 && i + 1 != text.size() && !(text[i - 1] == '/' && c == '/')) continue;
    return i;
  }
  return std::string_view::npos;
}

void Validator::check_registry(const Located<std::string>& value) {
  std::size_t bad = repository_problem(value.value);
  if (bad == std::string_view::npos) return;
  error(char_span(value, bad), "image-reference",
        "registry '" + value.value + "' is not an image repository prefix",
        "expected host[:port]/path in lower case, such as 'mirror.example.com/vertexproject'");
}

void Validator::check_image(const Located<std::string>& value, std::string_view key) {
  std::string_view image = value.value;
  std::string_view digest;
  if (std::size_t at = image.find('@'); at != std::string_view::npos) {
    digest = image.substr(at + 1);
    image = image.substr(0, at);
  }
  std::string_view tag;
  std::size_t slash = image.rfind('/');
  if (std::size_t colon = image.rfind(':');
      colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag = image.substr(colon + 1);
    image = image.substr(0, colon);
  }
  bool tag_ok = std::all_of(tag.begin(), tag.end(), [](char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_';
  });
  bool digest_ok = digest.empty() ||
                   (digest.starts_with("sha256:") && digest.size() == 71 &&
                    std::all_of(digest.begin() + 7, digest.end(), is_hex));
  std::size_t bad = repository_problem(image);
  if (bad == std::string_view::npos && tag_ok && digest_ok && (!tag.empty() || !digest.empty())) {
    return;
  }
  error(char_span(value, bad == std::string_view::npos ? 0 : bad), "image-reference",
        std::string(key) + " '" + value.value + "' is not a pinned image reference",
        "expected repository:tag or repository@sha256:<digest>, such as '" +
            std::string(kDefaultProvisioningImage) + "'");
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

// Why synoverlay refuses to pass `option` through for `kind`, or empty.
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
  for (const ConfigOption& option : spec.config) {
    const std::string& name = option.name.value;
    bool ok = !name.empty() && name[0] >= 'a' && name[0] <= 'z' && name.back() != ':' &&
              std::all_of(name.begin(), name.end(), [](char c) {
                return is_lower_alnum(c) || c == ':' || c == '_';
              }) && name.find("::") == std::string::npos;
    if (!ok) {
      error(option.name.span, "config-option",
            "'" + name + "' is not a Synapse option name",
            "option names are lower-case words joined by ':' or '_', such as 'storm:log'");
      continue;
    }
    if (std::string reason = reserved_reason(spec.kind, name); !reason.empty()) {
      error(option.name.span, "config-reserved",
            "option '" + name + "' cannot be set in [" + std::string(service_name(spec.kind)) +
                ".config]",
            reason);
      continue;
    }
    std::string variable = synapse_env_name(spec.kind, name);
    if (auto [it, fresh] = seen.emplace(variable, name); !fresh) {
      error(option.name.span, "config-duplicate",
            "option '" + name + "' sets " + variable + ", as '" + it->second + "' already does",
            "keep one of them");
      continue;
    }
    if (option.value.value.find_first_of("\r\n") != std::string::npos) {
      error(option.value.span, "config-value",
            "option '" + name + "' has a multi-line value",
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
  if (parsed->negative() || parsed->zero()) {
    error(value.span, "quantity-range",
          std::string(key) + " '" + value.value + "' must be greater than zero",
          bytes ? "expected a size such as '512Mi'" : "expected a CPU amount such as '250m'");
    return std::nullopt;
  }
  if (bytes && parsed->fractional()) {
    warning(value.span, "quantity-fraction",
            std::string(key) + " '" + value.value + "' is a fraction of a byte",
            "'m' means milli (1/1000); for mebibytes write 'Mi'");
  }
  return parsed;
}

void Validator::compare_request_limit(const Located<std::string>& request,
                                      const Quantity& request_q,
                                      const Located<std::string>& limit, const Quantity& limit_q,
                                      std::string_view owner, std::string_view resource) {
  if (compare(request_q, limit_q) <= 0) return;
  std::string owner_text(owner);
  std::string request_text = "requests." + std::string(resource) + " '" + request_q.canonical +
                             "'" + (request.given ? "" : " (the default for " + owner_text + ")");
  std::string limit_text = "limits." + std::string(resource) + " '" + limit_q.canonical + "'" +
                           (limit.given ? "" : " (the default for " + owner_text + ")");
  if (request.given) {
    error(request.span, "request-exceeds-limit",
          owner_text + " " + request_text + " is above " + limit_text,
          "a request may not exceed its limit; lower the request or raise the limit");
  } else {
    error(limit.span, "request-exceeds-limit",
          owner_text + " " + limit_text + " is below " + request_text,
          "a limit may not be below its request; set both under [" + owner_text + "]");
  }
}

void Validator::resolve_resources(const ResourceValues& requests, const ResourceValues& limits,
                                  const ResourceDefaults& defaults, std::string_view owner,
                                  ResolvedResources& out_requests,
                                  ResolvedResources& out_limits) {
  std::string prefix = std::string(owner) + ".";
  auto req_cpu = quantity(requests.cpu, defaults.request_cpu, prefix + "requests.cpu", false);
  auto req_mem = quantity(requests.memory, defaults.request_memory, prefix + "requests.memory",
                          true);
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
  out.provisioning_image = spec.image.given ? spec.image.value
                                            : std::string(kDefaultProvisioningImage);
  if (spec.image.given) check_image(spec.image, "provisioning.image");
  if (spec.timeout.given) {
    out.provisioning_timeout = spec.timeout.value;
    if (spec.timeout.value < 30 || spec.timeout.value > 86400) {
      error(spec.timeout.span, "provisioning-range",
            "provisioning.timeout " + std::to_string(spec.timeout.value) +
                " is out of range",
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
          "gitops.engine '" + spec.engine.value + "' is not a known engine",
          match.empty() ? "expected 'argocd' or 'flux'"
                        : "did you mean '" + std::string(match) + "'?");
  }
  for (const Located<std::string>* value : {&spec.repo_url, &spec.revision, &spec.path}) {
    if (!value->given) continue;
    check_characters(*value, "gitops");
    if (std::size_t bad = value->value.find_first_of(" \"'\\`$"); bad != std::string::npos) {
      error(char_span(*value, bad), "gitops-value",
            "'" + value->value + "' contains a character not allowed here",
            "URLs, revisions and paths take no spaces, quotes, backslashes or '$'");
    }
  }
  if (spec.path.given && (spec.path.value.starts_with('/') ||
                          spec.path.value.find("..") != std::string::npos)) {
    error(spec.path.span, "gitops-value",
          "gitops.path '" + spec.path.value + "' must be a relative folder without '..'",
          "give the folder of the GitOps repository that holds base/ and overlays/, or leave "
          "it out for the repository's root");
  }
  if (spec.argocd_namespace.given) check_label(spec.argocd_namespace, "gitops.argocd_namespace");
  if (spec.flux_namespace.given) check_label(spec.flux_namespace, "gitops.flux_namespace");
  if (spec.project.given) check_subdomain(spec.project, "gitops.project");
  if (spec.interval.given) {
    const std::string& interval = spec.interval.value;
    bool ok = !interval.empty() && is_digit(interval[0]) &&
              std::all_of(interval.begin(), interval.end(), [](char c) {
                return is_digit(c) || c == 'h' || c == 'm' || c == 's';
              }) && !is_digit(interval.back());
    if (!ok) {
      error(spec.interval.span, "gitops-value",
            "gitops.interval '" + interval + "' is not a duration",
            "expected a duration such as '5m', '1h' or '30s'");
    }
  }
}

std::optional<ResolvedEnvironment> Validator::run(const std::string& source) {
  ResolvedEnvironment out;
  out.source = source;
  out.name = env_.name.value;
  out.namespace_ = env_.namespace_.given ? env_.namespace_.value : std::string(kDefaultNamespace);
  out.version = env_.version.value;
  out.cluster_domain = env_.cluster_domain.given ? env_.cluster_domain.value
                                                 : std::string(kDefaultClusterDomain);
  out.storage_class = env_.storage_class.value;
  out.registry = env_.registry.value;
  out.pull_secret = env_.pull_secret.value;
  out.aha_dns_name = "aha." + out.namespace_ + ".svc." + out.cluster_domain;

  for (const Located<std::string>* value :
       {&env_.name, &env_.namespace_, &env_.version, &env_.cluster_domain, &env_.storage_class,
        &env_.registry, &env_.pull_secret}) {
    if (value->given) check_characters(*value, "value");
  }
  if (env_.name.given) check_label(env_.name, "name");
  if (env_.namespace_.given) check_label(env_.namespace_, "namespace");
  if (env_.cluster_domain.given) check_subdomain(env_.cluster_domain, "cluster_domain");
  if (env_.storage_class.given) check_subdomain(env_.storage_class, "storage_class");
  if (env_.pull_secret.given) check_subdomain(env_.pull_secret, "pull_secret");
  if (env_.registry.given) check_registry(env_.registry);
  if (env_.version.given) check_version(env_.version, "version", true);
  auto release = parse_release(out.version);
  out.floating_version = !release.has_value();
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
    check_characters(optic.netloc, "optic.netloc");
    check_netloc(optic.netloc);
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

  if (env_.name.given && label_problem(env_.name.value) == std::string_view::npos) {
    check_network(out);
  }
  check_aha_dns_name(out);
  check_provisioning(out);
  check_gitops(out);

  return out;
}

}  // namespace

const ResourceDefaults& service_defaults(ServiceKind kind) {
  static constexpr std::array<ResourceDefaults, kAllServices.size()> kDefaults = {{
      {"100m", "256Mi", "500m", "512Mi", "2Gi"},  // aha
      {"250m", "512Mi", "1", "2Gi", "50Gi"},     // axon
      {"100m", "256Mi", "500m", "1Gi", "10Gi"},  // jsonstor
      {"500m", "1Gi", "2", "4Gi", "50Gi"},       // cortex
      {"250m", "512Mi", "1", "2Gi", "2Gi"},      // optic
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
