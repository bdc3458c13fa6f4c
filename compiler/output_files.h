#pragma once
// The work tree side of a build: read what synoverlay owns from disk, and write it back
// changing only files whose bytes differ, each through a temporary file and a rename, so a
// reader never sees half a file.

#include <stdexcept>
#include <string>
#include <vector>

#include "git_repo.h"

namespace synoverlay {

class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every regular file under `prefixes` ("base/", "overlays/prod/") below `root`, by
// repository-relative path. Missing folders are simply empty. Throws OutputError when a
// folder on the way is a symbolic link (synoverlay never writes through one).
FileMap read_owned_files(const std::string& root, const std::vector<std::string>& prefixes);

// Throws OutputError when a file of `files` could not be written below `root`: a folder on
// its way is a file or a symbolic link, or a folder stands where the file goes. A build
// checks this before it commits, so that it never commits what it cannot write.
void check_writable(const std::string& root, const FileMap& files);

struct WriteSummary {
  std::vector<std::string> written, removed;
};

// Makes the files under `prefixes` equal `files`: writes what differs from `current` (what
// read_owned_files() returned for the same prefixes, under the same lock), removes what is no
// longer generated (and folders left empty). New bytes reach the disk before any file is
// replaced. Throws OutputError on an I/O failure.
WriteSummary write_owned_files(const std::string& root, const std::vector<std::string>& prefixes,
                               const FileMap& files, const FileMap& current);

}  // namespace synoverlay
