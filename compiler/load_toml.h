#pragma once
// Stage 1: TOML text -> Environment. Checks the shape of the file (syntax, known keys,
// types, required keys); the meaning of the values is checked by validate.h.

#include <optional>
#include <string>
#include <string_view>

#include "diagnostics.h"
#include "env_model.h"

namespace synoverlay {

// Largest environment file accepted; real files are a few kilobytes.
inline constexpr std::size_t kMaxEnvironmentBytes = 1 << 20;

// Parses `text`, read from `path`. A syntax error stops the file: one diagnostic and no
// result. Otherwise every shape problem is reported to `sink` and an Environment is
// returned (the caller checks sink.has_errors()).
std::optional<Environment> load_environment(const std::string& path, std::string_view text,
                                            DiagnosticSink& sink);

}  // namespace synoverlay
