#pragma once
// One options struct and one run function per command. Each returns the process exit code:
// 0 success, 1 input or change rejected, 2 usage error, 3 repository or system failure.

#include <ostream>
#include <string>
#include <vector>

#include "diagnostics.h"

namespace synoverlay {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSystem = 3;

struct CommonOptions {
  OutputFormat format = OutputFormat::human;
  bool werror = false;   // warnings count as errors
  bool verbose = false;  // say what is being done, on stderr
  bool color = false;    // colour in human diagnostics
};

struct ValidateOptions {
  CommonOptions common;
  std::vector<std::string> files;
};

struct BuildOptions {
  CommonOptions common;
  std::vector<std::string> files;
  std::string repo;   // empty: the repository holding the current directory
  bool init = false;  // create the repository when missing
  bool no_commit = false;
  bool dry_run = false;
  bool force = false;   // overwrite hand edits in files synoverlay owns
  std::string author;   // "Name <email>"
  std::string message;  // replaces the summary line
};

// The streams a command writes to: results on `out`, diagnostics and progress on `err`.
struct Streams {
  std::ostream& out;
  std::ostream& err;
};

int run_validate(const ValidateOptions& options, Streams streams);
int run_build(const BuildOptions& options, Streams streams);
int run_schema(Streams streams);

}  // namespace synoverlay
