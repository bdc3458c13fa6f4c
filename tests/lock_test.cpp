// The clone's build lock: taking, waiting, timing out, recognising a dead holder; removing
// the git lock files a killed build left; and the repair before the next build.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "repo_lock.h"
#include "test_support.h"

namespace synoverlay {
namespace {

using testing::read_file;
using testing::shell_quote;
using testing::TempDir;
using testing::write_file;

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A process that took the lock and died without letting go, as SIGKILL leaves it: the file
// stays, the kernel drops the flock. Returns the dead process's pid.
long die_holding_the_lock(const std::string& gitdir) {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::ostringstream ignored;
    try {
      RepoLock lock = RepoLock::acquire(gitdir, milliseconds(1000), ignored);
      _exit(0);  // no destructor runs: the lock file is left behind
    } catch (...) {
      _exit(1);
    }
  }
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return child;
}

LockHolder holder(long pid, const std::string& host, unsigned long long start = 0) {
  return LockHolder{pid, host, "synoverlay build envs/prod.toml", 1700000000, start};
}

TEST_CASE("lock: the holder's record survives the round trip through the file") {
  LockHolder original = holder(4242, "ci-runner-7", 123456);
  std::optional<LockHolder> read = parse_lock_holder(format_lock_holder(original));
  REQUIRE(read);
  CHECK(read->pid == 4242);
  CHECK(read->host == "ci-runner-7");
  CHECK(read->command == "synoverlay build envs/prod.toml");
  CHECK(read->since == 1700000000);
  CHECK(read->start_ticks == 123456);
  CHECK(describe_lock_holder(original) ==
        "pid 4242 on host 'ci-runner-7' ('synoverlay build envs/prod.toml', since 2023-11-14 "
        "22:13:20 UTC)");
  CHECK_FALSE(parse_lock_holder(""));
  CHECK_FALSE(parse_lock_holder("pid 12\n"));
}

TEST_CASE("lock: taken with a record of this process, removed when released") {
  TempDir gitdir;
  std::ostringstream notes;
  {
    RepoLock lock = RepoLock::acquire(gitdir.path(), milliseconds(0), notes);
    CHECK(lock.path() == gitdir / "synoverlay.lock");
    std::optional<LockHolder> recorded = parse_lock_holder(read_file(lock.path()));
    REQUIRE(recorded);
    CHECK(recorded->pid == static_cast<long>(getpid()));
    CHECK(recorded->host == host_name());
    CHECK_FALSE(recorded->command.empty());
    CHECK(recorded->since > 0);
    CHECK_FALSE(lock.removed_stale());
  }
  CHECK_FALSE(fs::exists(gitdir / "synoverlay.lock"));
  CHECK(notes.str().empty());
  // Nothing but the lock itself was left in the folder.
  CHECK(fs::is_empty(gitdir.path()));
}

TEST_CASE("lock: a second taker waits, then gives up naming the holder") {
  TempDir gitdir;
  std::ostringstream notes;
  RepoLock first = RepoLock::acquire(gitdir.path(), milliseconds(0), notes);
  std::string error;
  std::optional<LockHolder> named;
  try {
    RepoLock::acquire(gitdir.path(), milliseconds(300), notes);
  } catch (const LockError& e) {
    error = e.what();
    named = e.holder();
  }
  REQUIRE(named);
  CHECK(named->pid == static_cast<long>(getpid()));
  CHECK(error ==
        "another build holds the lock '" + first.path() + "': " + describe_lock_holder(*named));
  CHECK(notes.str() == "synoverlay: waiting for the build of " + describe_lock_holder(*named) +
                           ", which holds '" + first.path() + "'\n");
  CHECK(fs::exists(first.path()));
}

TEST_CASE("lock: the second taker gets the lock once the first lets go") {
  TempDir gitdir;
  std::ostringstream notes;
  auto first = std::make_unique<RepoLock>(RepoLock::acquire(gitdir.path(), milliseconds(0), notes));
  std::thread release([&first] {
    std::this_thread::sleep_for(milliseconds(300));
    first.reset();
  });
  RepoLock second = RepoLock::acquire(gitdir.path(), milliseconds(30000), notes);
  release.join();
  CHECK_FALSE(second.removed_stale());
  std::optional<LockHolder> recorded = parse_lock_holder(read_file(second.path()));
  REQUIRE(recorded);
  CHECK(recorded->pid == static_cast<long>(getpid()));
}

TEST_CASE("lock: a lock whose process is gone is removed, and the note says so") {
  TempDir gitdir;
  long dead = die_holding_the_lock(gitdir.path());
  REQUIRE(fs::exists(gitdir / "synoverlay.lock"));
  std::optional<LockHolder> left = parse_lock_holder(read_file(gitdir / "synoverlay.lock"));
  REQUIRE(left);

  std::ostringstream notes;
  RepoLock lock = RepoLock::acquire(gitdir.path(), milliseconds(0), notes);
  REQUIRE(lock.removed_stale());
  CHECK(lock.removed_stale()->pid == dead);
  CHECK(notes.str() == "synoverlay: removed the stale lock '" + lock.path() + "': synoverlay " +
                           describe_lock_holder(*left) + " is no longer running\n");
}

TEST_CASE("lock: what makes a lock without a flock stale, and what does not") {
  TempDir gitdir;
  std::string path = gitdir / "synoverlay.lock";
  std::ostringstream notes;

  SUBCASE("a pid that runs again, for another process, does not keep it alive") {
    write_file(path, format_lock_holder(holder(getpid(), host_name(), 1)));
    RepoLock lock = RepoLock::acquire(gitdir.path(), milliseconds(0), notes);
    CHECK(lock.removed_stale());
  }
  SUBCASE("a file that names no process") {
    write_file(path, "left by something else\n");
    RepoLock lock = RepoLock::acquire(gitdir.path(), milliseconds(0), notes);
    CHECK(notes.str() == "synoverlay: removed the stale lock '" + path +
                             "': it names no process and none holds it\n");
  }
  SUBCASE("a live process of this host is waited for") {
    write_file(path, format_lock_holder(holder(getppid(), host_name())));
    CHECK_THROWS_AS(RepoLock::acquire(gitdir.path(), milliseconds(200), notes), LockError);
    CHECK(fs::exists(path));
  }
  SUBCASE("a process on another host cannot be checked, so it is waited for") {
    write_file(path, format_lock_holder(holder(99999999, "elsewhere.invalid")));
    std::string error;
    try {
      RepoLock::acquire(gitdir.path(), milliseconds(200), notes);
    } catch (const LockError& e) {
      error = e.what();
    }
    CHECK(contains(error, "pid 99999999 on host 'elsewhere.invalid'"));
    CHECK(fs::exists(path));
  }
}

// --- git lock files a killed build left ---------------------------------------------------

void set_mtime(const std::string& path, std::time_t seconds) {
  timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

TEST_CASE("lock: git lock files left since a time, and open by nobody, are removed") {
  TempDir gitdir;
  std::time_t since = std::time(nullptr) - 10;
  for (const char* name :
       {"index.lock", "HEAD.lock", "refs/heads/main.lock", "refs/remotes/origin/main.lock",
        "refs/heads/old.lock", "refs/heads/open.lock", "refs/heads/main", "config.lock",
        "objects/tmp_object_git2_a1B2c3", "objects/pack/pack_git2_0123abcd",
        "objects/pack/pack_git2_0123idx.lock", "objects/pack/pack-0123.pack",
        "objects/pack/pack_git2_old"}) {
    write_file(gitdir / name, "");
  }
  set_mtime(gitdir / "refs/heads/old.lock", since - 60);
  set_mtime(gitdir / "objects/pack/pack_git2_old", since - 60);
  int open_fd = open((gitdir / "refs/heads/open.lock").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(open_fd >= 0);

  std::vector<std::string> removed = remove_abandoned_git_locks(gitdir.path(), since);
  close(open_fd);
  std::sort(removed.begin(), removed.end());
  CHECK(removed == std::vector<std::string>{gitdir / "HEAD.lock", gitdir / "index.lock",
                                            gitdir / "objects/pack/pack_git2_0123abcd",
                                            gitdir / "objects/pack/pack_git2_0123idx.lock",
                                            gitdir / "objects/tmp_object_git2_a1B2c3",
                                            gitdir / "refs/heads/main.lock",
                                            gitdir / "refs/remotes/origin/main.lock"});
  CHECK(fs::exists(gitdir / "objects/pack/pack-0123.pack"));  // a finished pack
  CHECK(fs::exists(gitdir / "objects/pack/pack_git2_old"));   // older than the dead build
  CHECK(fs::exists(gitdir / "refs/heads/old.lock"));          // older than the dead build
  CHECK(fs::exists(gitdir / "refs/heads/open.lock"));         // a live process has it open
  CHECK(fs::exists(gitdir / "refs/heads/main"));              // not a lock file
  CHECK(fs::exists(gitdir / "config.lock"));                  // synoverlay never writes config
}

TEST_CASE("lock: temporary files a killed build left in owned folders are removed") {
  TempDir root;
  std::time_t since = std::time(nullptr) - 10;
  for (const char* name :
       {"overlays/prod/cortex.yaml.synoverlay-tmp", "base/aha/service.yaml.synoverlay-tmp",
        "clusters/prod/application.yaml.synoverlay-tmp", "overlays/prod/cortex.yaml",
        "overlays/prod/old.yaml.synoverlay-tmp", "docs/notes.synoverlay-tmp"}) {
    write_file(root / name, "");
  }
  set_mtime(root / "overlays/prod/old.yaml.synoverlay-tmp", since - 60);
  CHECK(remove_abandoned_temporaries(root.path(), since) == 3);
  CHECK_FALSE(fs::exists(root / "overlays/prod/cortex.yaml.synoverlay-tmp"));
  CHECK_FALSE(fs::exists(root / "base/aha/service.yaml.synoverlay-tmp"));
  CHECK_FALSE(fs::exists(root / "clusters/prod/application.yaml.synoverlay-tmp"));
  CHECK(fs::exists(root / "overlays/prod/cortex.yaml"));
  CHECK(fs::exists(root / "overlays/prod/old.yaml.synoverlay-tmp"));  // older than the build
  CHECK(fs::exists(root / "docs/notes.synoverlay-tmp"));              // outside the folders it owns
}

// --- the repair before a build -------------------------------------------------------------

std::string run_git(const std::string& dir, const std::string& args) {
  std::string command = "git -C '" + dir + "' " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char chunk[4096];
  while (std::size_t n = fread(chunk, 1, sizeof chunk, pipe)) output.append(chunk, n);
  int status = pclose(pipe);
  bool succeeded = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  REQUIRE_MESSAGE(succeeded, "git " << args << " failed:\n" << output);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

TEST_CASE("lock: the next build repairs what a build killed after its commit left") {
  TempDir tmp;
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);
  Signature who{"Test Person", "test@example.org", 1700000000, 0};
  std::vector<std::string> owned = {"overlays/prod/"};
  repo.commit_owned(owned, {{"overlays/prod/a.yaml", "a: 1\n"}}, who, who, "One");
  write_file(root + "/overlays/prod/a.yaml", "a: 1\n");
  repo.clear_pending_checkout();

  // The killed build: it held the lock, moved the branch, and died while git's index.lock
  // existed, before it wrote the work tree.
  long dead = die_holding_the_lock(repo.gitdir());
  CommitResult second =
      repo.commit_owned(owned, {{"overlays/prod/a.yaml", "a: 2\n"}}, who, who, "Two");
  write_file(repo.gitdir() + "/index.lock", "");

  std::ostringstream notes;
  RepoLock lock = RepoLock::acquire(repo.gitdir(), milliseconds(0), notes);
  repair_interrupted_build(repo, lock, notes);
  std::string text = notes.str();
  CHECK(contains(text, "synoverlay: removed the stale lock '" + lock.path() + "': synoverlay pid " +
                           std::to_string(dead) + " on host "));
  CHECK(contains(text, "synoverlay: removed '" + repo.gitdir() +
                           "/index.lock', left behind by the interrupted build\n"));
  CHECK(contains(text, "synoverlay: an earlier build (pid " + std::to_string(getpid()) +
                           ") was interrupted after it moved the branch to " +
                           second.commit_id.substr(0, 12) +
                           "; brought 1 file of the work tree up to it\n"));
  CHECK(read_file(root + "/overlays/prod/a.yaml") == "a: 2\n");
  CHECK(run_git(root, "status --porcelain").empty());
  CHECK(repo.unusable_state().empty());
  CHECK_FALSE(repo.pending_checkout());
}

TEST_CASE("lock: no repair while the repository is in a state the build refuses") {
  TempDir tmp;
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);
  Signature who{"Test Person", "test@example.org", 1700000000, 0};
  repo.commit_owned({"overlays/prod/"}, {{"overlays/prod/a.yaml", "a: 1\n"}}, who, who, "One");
  write_file(repo.gitdir() + "/index.lock", "");  // another program's, older than any lock

  std::ostringstream notes;
  RepoLock lock = RepoLock::acquire(repo.gitdir(), milliseconds(0), notes);
  repair_interrupted_build(repo, lock, notes);
  CHECK(notes.str().empty());
  CHECK(repo.pending_checkout());  // kept for when the state is dealt with
  CHECK(fs::exists(repo.gitdir() + "/index.lock"));
  CHECK_FALSE(fs::exists(root + "/overlays/prod/a.yaml"));
}

}  // namespace
}  // namespace synoverlay
