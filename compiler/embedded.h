#pragma once
// Files compiled into the binary: the Synapse base manifests and the JSON Schema.

#include <span>
#include <string_view>

namespace synoverlay {

struct EmbeddedFile {
  std::string_view path;  // relative to the project root, e.g. "base/aha/statefulset.yaml"
  std::string_view content;
};

// The files of the project's base/ folder, sorted by path.
std::span<const EmbeddedFile> embedded_base_files();

// The text of schema/env.schema.json.
std::string_view embedded_schema();

}  // namespace synoverlay
