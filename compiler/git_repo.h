#pragma once
// A git repository seen through libgit2: every handle is owned by an RAII type, and this
// header with git_repo.cpp is the only place that calls git_*_free. Errors are thrown as
// GitError, whose message names the operation and libgit2's own explanation.

#include <cstddef>
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

// A repository that exists but must not be used as it is: owned by another user, or bare. The
// message says what to do; creating a repository there is no remedy.
class GitRefused : public GitError {
 public:
  using GitError::GitError;
};

struct Signature {
  std::string name;
  std::string email;
  std::optional<long long> when;  // seconds since the epoch; now when empty
  int offset_minutes = 0;         // time zone offset, used only with `when`
};

// One file of a commit: repository-relative path with '/' separators, and its bytes.
using FileMap = std::map<std::string, std::string, std::less<>>;
// Git's blob id (40 hex digits) of each file, by the same paths.
using IdMap = std::map<std::string, std::string, std::less<>>;

struct CommitResult {
  bool committed = false;  // false: the tree equalled HEAD's, nothing was made
  std::string commit_id;   // full hex id of the new commit, or of HEAD when unchanged
  std::vector<std::string> added, modified, removed;  // paths, sorted
};

// How a CI job proves who it is to a remote. Only what is set is offered.
struct Credentials {
  std::string ssh_key;                  // private key file for SSH; empty: the SSH agent's keys
  std::string ssh_passphrase;           // passphrase of ssh_key, if it has one
  std::string token;                    // HTTPS password or access token
  std::string user = "x-access-token";  // HTTPS user name sent with the token
};

enum class PushOutcome {
  pushed,    // the remote branch now points at the commit
  rejected,  // the remote branch moved or is locked, or the remote refused the update
  failed,    // the remote could not be reached, or did not accept the credentials
};

struct PushResult {
  PushOutcome outcome = PushOutcome::failed;
  std::string reason;  // why, for rejected and failed, in the remote's or libgit2's words
};

// The commits of a branch that another one lacks, for a message: the newest first.
struct MissingCommits {
  std::vector<std::string> listed;  // "<12 hex digits> <summary>", at most the limit asked for
  std::size_t total = 0;            // how many there are in all
};

// A move of the branch whose work tree and index update may not have finished. It is noted in
// the git directory before the branch moves and forgotten once the work tree is written, so the
// next build can finish the update of a build that was killed half-way.
struct PendingCheckout {
  std::string from;                   // the commit before; empty when the branch was unborn
  std::string to;                     // the commit after
  std::vector<std::string> prefixes;  // folders whose files follow the move; "" means all
  long pid = 0;                       // the process that noted it
};

// Initialises libgit2 on a thread of its own for as long as it lives, so that a command can
// load and validate its input meanwhile; the first GitRepo::open or init waits for it, and so
// does the destructor: the process must not exit while libgit2 (and the crypto libraries it
// loads, which clean up at exit) is half initialised. Using it is optional.
class Libgit2Warmup {
 public:
  Libgit2Warmup();
  Libgit2Warmup(const Libgit2Warmup&) = delete;
  Libgit2Warmup& operator=(const Libgit2Warmup&) = delete;
  ~Libgit2Warmup();
};

class GitRepo {
 public:
  // Opens the repository whose work tree holds `path`, searching upwards like git when
  // `search_upwards` is set; otherwise `path` must be the work tree's top folder (so that
  // `--repo sub` never writes into a repository that merely encloses `sub`).
  // Throws GitError when there is none. Bare repositories are refused.
  static GitRepo open(const std::string& path, bool search_upwards = true);
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
  // cherry-pick, revert or bisect in progress, the index locked by another program. The text
  // says what to do.
  std::string unusable_state() const;
  // Name of the branch HEAD points to (e.g. "main"), also when it has no commit yet.
  std::string current_branch() const;
  // True when HEAD's branch has no commit yet.
  bool head_unborn() const;
  // Full hex id of HEAD's commit, or empty when unborn.
  std::string head_id() const;

  // Every file under `prefix` ("base/", "overlays/prod/") in HEAD's tree, by full path.
  FileMap read_head_tree(std::string_view prefix) const;
  // The blob ids of the same files, without reading them: comparing ids is how a run tells
  // which of many committed files it would change.
  IdMap head_blob_ids(std::string_view prefix) const;
  // One file from HEAD's tree, or nothing.
  std::optional<std::string> read_head_file(std::string_view path) const;
  // HEAD's tree is listed once per run and listed again only after synoverlay itself moves the
  // branch (a commit, or a reset after a fetch): a run reads one HEAD throughout.

  // Commits a tree that is HEAD's tree with every path under `owned_prefixes` replaced by
  // `files` (paths missing from `files` are deleted). Nothing else from HEAD, the index or
  // the work tree enters the commit. The branch is moved only if it still points at the
  // commit read at the start (compare-and-swap). No commit when the tree is unchanged.
  // Afterwards the index entries of those paths (only those) match the new tree. A commit is
  // noted as a PendingCheckout before the branch moves; the caller forgets the note with
  // clear_pending_checkout() once it has written the files.
  CommitResult commit_owned(const std::vector<std::string>& owned_prefixes, const FileMap& files,
                            const Signature& author, const Signature& committer,
                            const std::string& message);

  // The author identity as git would choose it from this repository's configuration
  // (user.name / user.email), or nothing when unset.
  std::optional<Signature> configured_signature() const;

  // Git's blob id (40 hex digits) of `content`, as `git hash-object` prints it.
  static std::string blob_id(std::string_view content);

  // The URL pushes to remote `name` go to (its pushurl when set). Throws GitError naming the
  // remotes that exist when there is no such remote.
  std::string remote_url(const std::string& name) const;
  // Fetches `branch` of remote `name` into refs/remotes/<name>/<branch> and returns the id of
  // the commit the remote's branch points to, or empty when the remote has no such branch.
  std::string fetch_branch(const std::string& name, const std::string& branch,
                           const Credentials& credentials);
  // The commits reachable from HEAD but not from `base` (empty: from nothing), at most `limit`
  // of them listed.
  MissingCommits commits_not_in(const std::string& base, std::size_t limit) const;
  // Moves the current branch from HEAD to the commit `target` the way 'git reset --keep' does:
  // files that differ between the two commits are updated in the work tree and the index,
  // other changes of the user's stay. When a file the user changed would be overwritten,
  // throws GitError naming the files before anything moves.
  void move_branch_keeping_changes(const std::string& target);
  // Makes `branch` of remote `name` point at HEAD's commit, provided it still points at
  // `expected` (empty: it must not exist yet); never forces. For a remote given as a path
  // the reference is compared and swapped under its lock in the remote repository, since
  // libgit2's local transport would overwrite it unchecked.
  PushResult push_head(const std::string& name, const std::string& branch,
                       const std::string& expected, const Credentials& credentials);

  // The note of a branch move whose work tree update may not have finished, or nothing.
  std::optional<PendingCheckout> pending_checkout() const;
  // Finishes the update the note describes when HEAD is still where the move went: files and
  // index entries under its prefixes that hold the old commit's content get HEAD's, anything
  // the user changed stays. Forgets the note in any case; returns the files rewritten.
  std::vector<std::string> finish_checkout(const PendingCheckout& pending);
  // Forgets the note of the last move: its work tree is written.
  void clear_pending_checkout();

  // Records the work tree's file times and sizes in the index entries of `paths` whose
  // bytes on disk equal the entry (as `git update-index --refresh` does), so git needs no
  // rehash and commands such as `git reset --keep` see those files as up to date. Entries
  // whose files differ are left alone.
  void refresh_index_stat(const std::vector<std::string>& paths);

 private:
  struct Impl;
  explicit GitRepo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace synoverlay
