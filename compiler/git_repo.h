#pragma once
// A git repository seen through libgit2: every handle is owned by an RAII type, and this
// header with git_repo.cpp is the only place that calls git_*_free. Errors are thrown as
// GitError, whose message names the operation and libgit2's own explanation.

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace synoverlay {

class GitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Signature {
  std::string name;
  std::string email;
  std::optional<long long> when;  // seconds since the epoch; now when empty
  int offset_minutes = 0;          // time zone offset, used only with `when`
};

// One file of a commit: repository-relative path with '/' separators, and its bytes.
using FileMap = std::map<std::string, std::string, std::less<>>;

struct CommitResult {
  bool committed = false;      // false: the tree equalled HEAD's, nothing was made
  std::string commit_id;       // full hex id of the new commit, or of HEAD when unchanged
  std::vector<std::string> added, modified, removed;  // paths, sorted
};

class GitRepo {
 public:
  // Opens the repository whose work tree holds `path` (searching upwards like git).
  // Throws GitError when there is none. Bare repositories are refused.
  static GitRepo open(const std::string& path);
  // Creates a new non-bare repository at `path` (the folder may exist) and opens it.
  static GitRepo init(const std::string& path);

  GitRepo(GitRepo&&) noexcept;
  GitRepo& operator=(GitRepo&&) noexcept;
  ~GitRepo();

  // Absolute path of the work tree, ending without a slash.
  std::string workdir() const;
  // Absolute path of the git directory (".git" or a linked worktree's gitdir).
  std::string gitdir() const;

  // Why the repository cannot take a commit now, or empty: HEAD detached, a merge, rebase,
  // cherry-pick, revert or bisect in progress. The text says what to do.
  std::string unusable_state() const;
  // Name of the branch HEAD points to (e.g. "main"), also when it has no commit yet.
  std::string current_branch() const;
  // True when HEAD's branch has no commit yet.
  bool head_unborn() const;
  // Full hex id of HEAD's commit, or empty when unborn.
  std::string head_id() const;

  // Every file under `prefix` ("base/", "overlays/prod/") in HEAD's tree, by full path.
  FileMap read_head_tree(std::string_view prefix) const;
  // One file from HEAD's tree, or nothing.
  std::optional<std::string> read_head_file(std::string_view path) const;

  // Commits a tree that is HEAD's tree with every path under `owned_prefixes` replaced by
  // `files` (paths missing from `files` are deleted). Nothing else from HEAD, the index or
  // the work tree enters the commit. The branch is moved only if it still points at the
  // commit read at the start (compare-and-swap). No commit when the tree is unchanged.
  // Afterwards the index entries of those paths (only those) match the new tree.
  CommitResult commit_owned(const std::vector<std::string>& owned_prefixes, const FileMap& files,
                            const Signature& author, const Signature& committer,
                            const std::string& message);

  // The author identity as git would choose it from this repository's configuration
  // (user.name / user.email), or nothing when unset.
  std::optional<Signature> configured_signature() const;

  // Git's blob id (40 hex digits) of `content`, as `git hash-object` prints it.
  static std::string blob_id(std::string_view content);

 private:
  struct Impl;
  explicit GitRepo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace synoverlay
