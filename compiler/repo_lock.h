#pragma once
// One build at a time in a clone. A lock file in the git directory records the process that
// holds it; a second build waits for it, and a lock whose process is gone is recognised and
// removed. After such a lock, the repair of what the killed build left behind.

#include <chrono>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "git_repo.h"

namespace synoverlay {

// The process a lock file names.
struct LockHolder {
  long pid = 0;
  std::string host;
  std::string command;                 // its command line, shortened
  long long since = 0;                 // seconds since the epoch when it took the lock
  unsigned long long start_ticks = 0;  // when the process started, to tell a reused pid apart
};

// The lock could not be taken: the time ran out (holder() names who has it), or the lock
// file could not be written.
class LockError : public std::runtime_error {
 public:
  LockError(const std::string& what, std::optional<LockHolder> holder)
      : std::runtime_error(what), holder_(std::move(holder)) {}
  const std::optional<LockHolder>& holder() const { return holder_; }

 private:
  std::optional<LockHolder> holder_;
};

class RepoLock {
 public:
  // Takes `<gitdir>/synoverlay.lock`, waiting up to `timeout` while a live process holds it
  // (and saying once on `notes` whom it waits for). A lock whose process on this host is gone
  // is removed, with a note saying so. Throws LockError when the time runs out.
  static RepoLock acquire(const std::string& gitdir, std::chrono::milliseconds timeout,
                          std::ostream& notes);

  RepoLock(RepoLock&& other) noexcept;
  RepoLock& operator=(RepoLock&& other) noexcept;
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;
  // Releases the lock: removes the file.
  ~RepoLock();

  const std::string& path() const { return path_; }
  // The holder of a lock that acquire removed because its process was gone, if it did.
  const std::optional<LockHolder>& removed_stale() const { return stale_; }

 private:
  RepoLock(std::string path, int fd, std::optional<LockHolder> stale);
  void release() noexcept;

  std::string path_;
  int fd_ = -1;
  std::optional<LockHolder> stale_;
};

// The text a lock file holds for `holder`, and back; nothing when the text names no holder.
std::string format_lock_holder(const LockHolder& holder);
std::optional<LockHolder> parse_lock_holder(const std::string& text);
// "pid 123 on host 'ci-4' ('synoverlay build envs/prod.toml --push', since 2024-05-01 10:00:00
// UTC)", for messages.
std::string describe_lock_holder(const LockHolder& holder);

// Removes the lock files git and libgit2 leave in `gitdir` (index.lock, HEAD.lock,
// packed-refs.lock, refs/**/*.lock) and libgit2's temporary object and pack files
// (objects/tmp_object_git2_*, objects/pack/pack_git2_*) that were written at or after
// `since` (seconds since the epoch) and that no process on this host has open: what a
// killed build left. Returns the paths removed.
std::vector<std::string> remove_abandoned_git_locks(const std::string& gitdir, long long since);

// Removes the temporary files (*.synoverlay-tmp) written at or after `since` under base/,
// overlays/ and clusters/ of `workdir`: the work tree files a killed build had not renamed
// into place yet. Returns how many.
std::size_t remove_abandoned_temporaries(const std::string& workdir, long long since);

// Run under the lock before a build: removes the git lock files a killed build left (when
// `lock` removed a stale lock) and finishes the work tree update a killed build began (see
// GitRepo::finish_checkout), saying what it did on `notes`.
void repair_interrupted_build(GitRepo& repo, const RepoLock& lock, std::ostream& notes);

}  // namespace synoverlay
