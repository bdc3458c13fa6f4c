#pragma once
// One options struct and one run function per command. Each returns the process exit code:
// 0 success, 1 input or change rejected, 2 usage error, 3 repository or system failure.

#include <ostream>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "guards.h"

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
  GuardOptions guards;  // which changes a running cluster rejects are let through
  bool push = false;              // push the branch after the commit (see push.h)
  std::string remote = "origin";  // the remote --push pushes to
  int push_retries = 5;           // pushes in all before --push gives up
  double lock_timeout = 60;       // seconds to wait for another build in the same clone
};

// synoverlay check: compares HEAD with what the files give; writes nothing.
struct CheckOptions {
  CommonOptions common;
  std::vector<std::string> files;
  std::string repo;  // empty: the repository holding the current directory
};

// synoverlay remove: deletes overlays/<name>/ and clusters/<name>/ in one commit.
struct RemoveOptions {
  std::vector<std::string> names;
  std::string repo;     // empty: the repository holding the current directory
  std::string author;   // "Name <email>"
  std::string message;  // replaces the summary line
  bool verbose = false;
};

// The streams a command writes to: results on `out`, diagnostics and progress on `err`.
struct Streams {
  std::ostream& out;
  std::ostream& err;
};

int run_validate(const ValidateOptions& options, Streams streams);
int run_build(const BuildOptions& options, Streams streams);
int run_schema(Streams streams);
// Exit 0 when HEAD holds exactly what the files give, 1 on drift or invalid input.
int run_check(const CheckOptions& options, Streams streams);
// Exit 1 when a name has no folder at HEAD; nothing is removed then.
int run_remove(const RemoveOptions& options, Streams streams);

}  // namespace synoverlay
