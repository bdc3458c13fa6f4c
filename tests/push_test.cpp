// Pushing: credentials, redaction and backoff; GitRepo's fetch, push, branch move and crash
// repair against real repositories in temporary folders (the remote a bare repository given
// as a path); and the retry loop of build_and_push with a build that races another pipeline.

#include "push.h"

#include <doctest/doctest.h>
#include <git2.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "git_repo.h"
#include "test_support.h"

namespace synoverlay {
namespace {

using testing::read_file;
using testing::shell_quote;
using testing::TempDir;
using testing::write_file;

namespace fs = std::filesystem;

// A private git configuration for the git CLI and libgit2, set once per process.
void private_git_config() {
  static TempDir home;
  static const bool ready = [] {
    for (const char* name :
         {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
          "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
          "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE", "SYNOVERLAY_GIT_TOKEN", "SYNOVERLAY_SSH_KEY"}) {
      unsetenv(name);
    }
    setenv("HOME", home.path().c_str(), 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("LC_ALL", "C", 1);
    write_file(home / ".gitconfig",
               "[user]\n\tname = Test Person\n\temail = test@example.org\n"
               "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n");
    git_libgit2_init();
    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, home.path().c_str());
    return true;
  }();
  (void)ready;
}

// Runs `git <args>` in `dir` (output and errors collected); requires success.
std::string git(const std::string& dir, const std::string& args) {
  private_git_config();
  std::string command = "git -C " + shell_quote(dir) + " " + args + " 2>&1";
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

Signature someone() { return Signature{"Test Person", "test@example.org", 1700000000, 0}; }

// A bare remote with one commit, and clones of it made with the git CLI.
struct Remote : TempDir {
  Remote() {
    private_git_config();
    git(path(), "init -q --bare remote.git");
    git(path(), "clone -q remote.git seed");
    write_file(*this / "seed/README.md", "# GitOps\n");
    write_file(*this / "seed/docs.md", "docs\n");
    git(*this / "seed", "add README.md docs.md");
    git(*this / "seed", "commit -q -m Start");
    git(*this / "seed", "push -q origin main");
  }
  std::string bare() const { return *this / "remote.git"; }
  std::string tip() const { return git(bare(), "rev-parse main"); }
  std::string clone(const std::string& name) const {
    git(path(), "clone -q remote.git " + name);
    return *this / name;
  }
  // Someone else's commit lands on the remote, changing `file`.
  std::string push_from_elsewhere(const std::string& file, const std::string& text) {
    std::string other = *this / ("elsewhere" + std::to_string(++others_));
    git(path(), "clone -q remote.git " + shell_quote(other));
    write_file(other + "/" + file, text);
    git(other, "add " + shell_quote(file));
    git(other, "commit -q -m " + shell_quote("Change " + file));
    git(other, "push -q origin main");
    return git(other, "rev-parse HEAD");
  }
  int others_ = 0;
};

// What build_in does with a repository, in small: commit owned files and write them.
CommitResult commit_and_write(GitRepo& repo, const FileMap& files) {
  std::vector<std::string> owned = {"overlays/prod/"};
  CommitResult result = repo.commit_owned(owned, files, someone(), someone(), "Build prod");
  for (const auto& [path, content] : files) write_file(repo.workdir() + "/" + path, content);
  repo.clear_pending_checkout();
  return result;
}

const Credentials kNoCredentials;

TEST_CASE("push: credentials come from the SYNOVERLAY_* variables") {
  std::map<std::string, std::string> env;
  auto lookup = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  Credentials none = credentials_from_environment(lookup);
  CHECK(none.ssh_key.empty());
  CHECK(none.token.empty());
  CHECK(none.user == "x-access-token");

  env = {{"SYNOVERLAY_SSH_KEY", "/keys/deploy"},
         {"SYNOVERLAY_SSH_KEY_PASSPHRASE", "open sesame"},
         {"SYNOVERLAY_GIT_TOKEN", "ghs_abc123\n"},
         {"SYNOVERLAY_GIT_USER", "ci-bot"}};
  Credentials all = credentials_from_environment(lookup);
  CHECK(all.ssh_key == "/keys/deploy");
  CHECK(all.ssh_passphrase == "open sesame");
  CHECK(all.token == "ghs_abc123");  // the newline a secret file ends with is no part of it
  CHECK(all.user == "ci-bot");
}

TEST_CASE("push: redact hides the token, the passphrase and passwords in URLs") {
  Credentials credentials;
  credentials.token = "ghs_secret";
  credentials.ssh_passphrase = "open sesame";
  CHECK(redact("bad credentials ghs_secret for x", credentials) == "bad credentials *** for x");
  CHECK(redact("key 'open sesame' refused", credentials) == "key '***' refused");
  CHECK(redact("https://bot:hunter2@git.example.org/ops.git", credentials) ==
        "https://bot:***@git.example.org/ops.git");
  CHECK(redact("from 'https://bot:pw@h/a' and https://h/b", credentials) ==
        "from 'https://bot:***@h/a' and https://h/b");
  CHECK(redact("ssh://git@host:22/ops.git", credentials) == "ssh://git@host:22/ops.git");
  CHECK(redact("git@host:ops.git", credentials) == "git@host:ops.git");
  CHECK(redact("nothing secret", Credentials{}) == "nothing secret");
}

TEST_CASE("push: the backoff doubles up to its cap, with jitter below the bound") {
  PushSettings settings;
  std::mt19937 random(42);
  std::map<int, long long> bound = {{2, 2000}, {3, 4000}, {4, 8000}, {5, 16000}, {9, 16000}};
  for (const auto& [attempt, limit] : bound) {
    long long smallest = limit, largest = 0;
    for (int i = 0; i < 200; ++i) {
      long long delay = backoff_delay(attempt, settings, random).count();
      CHECK(delay >= 0);
      CHECK(delay < limit);
      smallest = std::min(smallest, delay);
      largest = std::max(largest, delay);
    }
    CHECK_MESSAGE(largest - smallest > limit / 4, "the pauses spread over the range");
  }
}

TEST_CASE_FIXTURE(Remote, "push: fetch_branch returns the remote's tip, or nothing") {
  GitRepo repo = GitRepo::open(clone("a"));
  CHECK(repo.remote_url("origin") == bare());
  CHECK(repo.fetch_branch("origin", "main", kNoCredentials) == tip());
  CHECK(repo.fetch_branch("origin", "no-such-branch", kNoCredentials).empty());

  std::string theirs = push_from_elsewhere("docs.md", "new docs\n");
  CHECK(repo.fetch_branch("origin", "main", kNoCredentials) == theirs);
  CHECK(git(repo.workdir(), "rev-parse origin/main") == theirs);

  std::string error;
  try {
    repo.remote_url("upstream");
  } catch (const GitError& e) {
    error = e.what();
  }
  CHECK(error ==
        "the repository has no remote 'upstream' (it has: origin); add it with 'git remote add "
        "upstream URL', or name one with --remote");
}

TEST_CASE_FIXTURE(Remote, "push: commits_not_in lists what the remote lacks, newest first") {
  std::string a = clone("a");
  GitRepo repo = GitRepo::open(a);
  std::string base = tip();
  CHECK(repo.commits_not_in(base, 10).total == 0);
  for (const char* subject : {"One", "Two", "Three"}) {
    git(a, std::string("commit -q --allow-empty -m ") + subject);
  }
  MissingCommits missing = repo.commits_not_in(base, 2);
  CHECK(missing.total == 3);
  REQUIRE(missing.listed.size() == 2);
  CHECK(missing.listed[0] == git(a, "rev-parse --short=12 HEAD") + " Three");
  CHECK(missing.listed[1] == git(a, "rev-parse --short=12 HEAD~1") + " Two");
  CHECK(repo.commits_not_in("", 100).total == 4);  // no remote branch: all of them
}

TEST_CASE_FIXTURE(Remote, "push: push_head to a path compares and swaps the remote branch") {
  GitRepo first = GitRepo::open(clone("a"));
  GitRepo second = GitRepo::open(clone("b"));
  std::string start = tip();
  CHECK(first.fetch_branch("origin", "main", kNoCredentials) == start);
  CHECK(second.fetch_branch("origin", "main", kNoCredentials) == start);
  FileMap ours = {{"overlays/prod/a.yaml", "a: 1\n"}};
  FileMap theirs = {{"overlays/prod/a.yaml", "a: 2\n"}};
  commit_and_write(first, ours);
  commit_and_write(second, theirs);

  // Both built on the same tip; the first push wins.
  PushResult won = first.push_head("origin", "main", start, kNoCredentials);
  CHECK(won.outcome == PushOutcome::pushed);
  CHECK(tip() == first.head_id());
  CHECK(git(first.workdir(), "rev-parse origin/main") == first.head_id());

  // The second still expects the old tip: libgit2's local transport would overwrite the
  // first push here; push_head refuses and the first commit stays.
  PushResult lost = second.push_head("origin", "main", start, kNoCredentials);
  CHECK(lost.outcome == PushOutcome::rejected);
  CHECK(lost.reason == "the remote branch moved since synoverlay fetched it");
  CHECK(tip() == first.head_id());

  // Creating a branch that exists by now is refused the same way.
  PushResult create = second.push_head("origin", "main", "", kNoCredentials);
  CHECK(create.outcome == PushOutcome::rejected);
  CHECK(tip() == first.head_id());
  CHECK_NOTHROW(git(bare(), "fsck --strict --no-dangling"));
}

TEST_CASE_FIXTURE(Remote, "push: a locked remote branch rejects the push and stays as it was") {
  GitRepo repo = GitRepo::open(clone("a"));
  std::string start = repo.fetch_branch("origin", "main", kNoCredentials);
  commit_and_write(repo, {{"overlays/prod/a.yaml", "a: 1\n"}});
  write_file(bare() + "/refs/heads/main.lock", "");

  PushResult locked = repo.push_head("origin", "main", start, kNoCredentials);
  CHECK(locked.outcome == PushOutcome::rejected);
  CHECK_MESSAGE(locked.reason.starts_with("the remote branch is locked by another push: "),
                locked.reason);
  CHECK(tip() == start);

  fs::remove(bare() + "/refs/heads/main.lock");
  CHECK(repo.push_head("origin", "main", start, kNoCredentials).outcome == PushOutcome::pushed);
  CHECK(tip() == repo.head_id());
}

TEST_CASE_FIXTURE(Remote, "push: a non-bare path remote with the branch checked out is refused") {
  std::string target = clone("target");
  GitRepo repo = GitRepo::open(clone("a"));
  git(repo.workdir(), "remote set-url origin " + shell_quote(target));
  std::string start = repo.fetch_branch("origin", "main", kNoCredentials);
  commit_and_write(repo, {{"overlays/prod/a.yaml", "a: 1\n"}});
  PushResult refused = repo.push_head("origin", "main", start, kNoCredentials);
  CHECK(refused.outcome == PushOutcome::failed);
  CHECK(refused.reason == "'" + target +
                              "' is not a bare repository and has 'main' checked out; git "
                              "refuses to update a checked-out branch, and so does synoverlay: "
                              "push to a bare repository");
  CHECK(git(target, "rev-parse main") == start);
}

TEST_CASE_FIXTURE(Remote, "push: moving the branch keeps the user's own changes") {
  std::string a = clone("a");
  GitRepo repo = GitRepo::open(a);
  std::string theirs = push_from_elsewhere("docs.md", "their docs\n");
  REQUIRE(repo.fetch_branch("origin", "main", kNoCredentials) == theirs);
  write_file(a + "/README.md", "# GitOps, edited here\n");
  write_file(a + "/staged.md", "staged\n");
  git(a, "add staged.md");

  repo.move_branch_keeping_changes(theirs);
  CHECK(repo.head_id() == theirs);
  CHECK(read_file(a + "/docs.md") == "their docs\n");
  CHECK(git(a, "status --porcelain") == " M README.md\nA  staged.md");
  CHECK(read_file(a + "/README.md") == "# GitOps, edited here\n");
  CHECK_FALSE(repo.pending_checkout());
}

TEST_CASE_FIXTURE(Remote, "push: moving the branch over a file the user changed refuses") {
  std::string a = clone("a");
  GitRepo repo = GitRepo::open(a);
  std::string start = repo.head_id();
  std::string theirs = push_from_elsewhere("docs.md", "their docs\n");
  REQUIRE(repo.fetch_branch("origin", "main", kNoCredentials) == theirs);
  write_file(a + "/docs.md", "my docs\n");

  std::string error;
  try {
    repo.move_branch_keeping_changes(theirs);
  } catch (const GitError& e) {
    error = e.what();
  }
  CHECK(error == "moving 'main' to " + theirs.substr(0, 12) +
                     " would overwrite changes nobody committed in 'docs.md'; commit or discard "
                     "them ('git stash'), then run again");
  CHECK(repo.head_id() == start);
  CHECK(read_file(a + "/docs.md") == "my docs\n");
  CHECK_FALSE(repo.pending_checkout());
}

// --- crash repair ------------------------------------------------------------------------

const FileMap kOld = {{"overlays/prod/a.yaml", "a: 1\n"},
                      {"overlays/prod/b.yaml", "b: 1\n"},
                      {"overlays/prod/gone.yaml", "gone: 1\n"}};
const FileMap kNew = {{"overlays/prod/a.yaml", "a: 2\n"},
                      {"overlays/prod/b.yaml", "b: 2\n"},
                      {"overlays/prod/new.yaml", "new: 2\n"}};

TEST_CASE_FIXTURE(Remote, "push: a commit is noted until its work tree is written") {
  GitRepo repo = GitRepo::open(clone("a"));
  std::string before = repo.head_id();
  CommitResult result =
      repo.commit_owned({"overlays/prod/"}, kOld, someone(), someone(), "Build prod");
  std::optional<PendingCheckout> pending = repo.pending_checkout();
  REQUIRE(pending);
  CHECK(pending->from == before);
  CHECK(pending->to == result.commit_id);
  CHECK(pending->prefixes == std::vector<std::string>{"overlays/prod/"});
  CHECK(pending->pid == static_cast<long>(::getpid()));
  repo.clear_pending_checkout();
  CHECK_FALSE(repo.pending_checkout());
}

// A build killed after the branch moved: the index and the files still hold the old commit.
TEST_CASE_FIXTURE(Remote, "push: finish_checkout brings files and index up to the commit") {
  std::string a = clone("a");
  GitRepo repo = GitRepo::open(a);
  commit_and_write(repo, kOld);
  repo.commit_owned({"overlays/prod/"}, kNew, someone(), someone(), "Build prod again");
  std::optional<PendingCheckout> pending = repo.pending_checkout();
  REQUIRE(pending);

  SUBCASE("killed before the index was written") { git(a, "reset -q HEAD~1 -- overlays/prod"); }
  SUBCASE("killed while the files were written") {
    write_file(a + "/overlays/prod/a.yaml", "a: 2\n");
  }
  SUBCASE("killed after the branch moved, with a file edited by hand meanwhile") {
    write_file(a + "/overlays/prod/b.yaml", "b: edited by hand\n");
  }
  REQUIRE_FALSE(git(a, "status --porcelain -- overlays").empty());

  std::string edited = read_file(a + "/overlays/prod/b.yaml");
  std::vector<std::string> written = repo.finish_checkout(*pending);
  CHECK_FALSE(written.empty());
  CHECK_FALSE(repo.pending_checkout());
  CHECK(read_file(a + "/overlays/prod/a.yaml") == "a: 2\n");
  CHECK(read_file(a + "/overlays/prod/new.yaml") == "new: 2\n");
  CHECK_FALSE(fs::exists(a + "/overlays/prod/gone.yaml"));
  if (edited == "b: edited by hand\n") {
    CHECK(read_file(a + "/overlays/prod/b.yaml") == "b: edited by hand\n");
    CHECK(git(a, "status --porcelain -- overlays") == " M overlays/prod/b.yaml");
  } else {
    CHECK(read_file(a + "/overlays/prod/b.yaml") == "b: 2\n");
    CHECK(git(a, "status --porcelain -- overlays").empty());
  }
  CHECK_NOTHROW(git(a, "fsck --strict --no-dangling"));
}

TEST_CASE_FIXTURE(Remote, "push: finish_checkout changes nothing when HEAD is not the commit") {
  std::string a = clone("a");
  GitRepo repo = GitRepo::open(a);
  commit_and_write(repo, kOld);
  std::string old_head = repo.head_id();

  SUBCASE("killed before the branch moved") {
    PendingCheckout before{old_head, std::string(40, 'a'), {"overlays/prod/"}, 1};
    CHECK(repo.finish_checkout(before).empty());
  }
  SUBCASE("the branch moved on since") {
    repo.commit_owned({"overlays/prod/"}, kNew, someone(), someone(), "Build prod again");
    std::optional<PendingCheckout> pending = repo.pending_checkout();
    REQUIRE(pending);
    git(a, "reset -q --hard " + old_head);
    git(a, "commit -q --allow-empty -m Elsewhere");
    CHECK(repo.finish_checkout(*pending).empty());
  }
  CHECK_FALSE(repo.pending_checkout());
  CHECK(read_file(a + "/overlays/prod/a.yaml") == "a: 1\n");
  CHECK(git(a, "status --porcelain -- overlays").empty());
}

// --- the retry loop ----------------------------------------------------------------------

struct Loop : Remote {
  std::ostringstream out, err;
  Streams streams{out, err};
  PushSettings settings;
  Loop() {
    settings.first_delay = std::chrono::milliseconds(1);
    settings.max_delay = std::chrono::milliseconds(2);
  }
};

TEST_CASE_FIXTURE(Loop, "push: another push in between: build again on its tip, push again") {
  GitRepo repo = GitRepo::open(clone("a"));
  int builds = 0;
  std::string competitor;
  auto build = [&] {
    // The first time, another pipeline pushes while this one builds.
    if (++builds == 1) competitor = push_from_elsewhere("docs.md", "their docs\n");
    commit_and_write(repo, {{"overlays/prod/a.yaml", "a: 1\n"}});
    return kExitOk;
  };
  CHECK(build_and_push(repo, settings, build, streams) == kExitOk);
  CHECK(builds == 2);
  CHECK(tip() == repo.head_id());
  CHECK(git(bare(), "rev-parse main~1") == competitor);
  CHECK(git(bare(), "show main:docs.md") == "their docs");
  CHECK(git(bare(), "show main:overlays/prod/a.yaml") == "a: 1");
  CHECK(git(bare(), "rev-list --count main") == "3");
  CHECK_MESSAGE(err.str().find("origin/main moved to " + competitor.substr(0, 12) +
                               "; building again on top of it") != std::string::npos,
                err.str());
  CHECK(out.str().ends_with(" on try 2\n"));
}

TEST_CASE_FIXTURE(Loop, "push: the remote already holding the build is success, no commit") {
  std::string a = clone("a");
  GitRepo first = GitRepo::open(a);
  FileMap files = {{"overlays/prod/a.yaml", "a: 1\n"}};
  commit_and_write(first, files);
  git(a, "push -q origin main");
  std::string pushed = tip();

  GitRepo second = GitRepo::open(clone("b"));
  git(second.workdir(), "reset -q --hard HEAD");
  auto build = [&] {
    CHECK_FALSE(commit_and_write(second, files).committed);
    return kExitOk;
  };
  CHECK(build_and_push(second, settings, build, streams) == kExitOk);
  CHECK(out.str() ==
        "origin/main already holds this build (" + pushed.substr(0, 12) + "); nothing to push\n");
  CHECK(tip() == pushed);
}

TEST_CASE_FIXTURE(Loop, "push: a remote that keeps moving: a bounded number of tries, exit 3") {
  GitRepo repo = GitRepo::open(clone("a"));
  settings.tries = 3;
  int builds = 0;
  auto build = [&] {
    push_from_elsewhere("docs.md", "docs " + std::to_string(++builds) + "\n");
    commit_and_write(repo, {{"overlays/prod/a.yaml", "a: 1\n"}});
    return kExitOk;
  };
  CHECK(build_and_push(repo, settings, build, streams) == kExitSystem);
  CHECK(builds == 3);
  CHECK_MESSAGE(err.str().find("synoverlay: error: gave up pushing to origin/main after 3 "
                               "tries; the last was rejected: the remote branch moved since "
                               "synoverlay fetched it\n") != std::string::npos,
                err.str());
  CHECK(git(bare(), "rev-list --count main") == "4");  // the start and the three others
  CHECK(git(bare(), "log -1 --format=%s main") == "Change docs.md");
}

TEST_CASE_FIXTURE(Loop, "push: local commits the remote lacks stop the run before the build") {
  std::string a = clone("a");
  GitRepo repo = GitRepo::open(a);
  git(a, "commit -q --allow-empty -m " + shell_quote("Work in progress"));
  int builds = 0;
  auto build = [&] {
    ++builds;
    return kExitOk;
  };
  CHECK(build_and_push(repo, settings, build, streams) == kExitSystem);
  CHECK(builds == 0);
  CHECK(err.str() ==
        "synoverlay: error: the branch 'main' holds 1 commit that origin/main does not have:\n"
        "  " +
            git(a, "rev-parse --short=12 HEAD") +
            " Work in progress\n"
            "  synoverlay pushes only the commit it makes; it never pushes other work along, and "
            "never drops it.\n"
            "  hint: push them first ('git push origin main'), or drop them ('git reset --keep "
            "origin/main'), then run the build again\n");
  CHECK(git(bare(), "rev-list --count main") == "1");
}

TEST_CASE_FIXTURE(Loop, "push: a remote that cannot be reached: exit 3 before the build") {
  std::string a = clone("a");
  GitRepo repo = GitRepo::open(a);
  git(a, "remote set-url origin " + shell_quote(*this / "nowhere.git"));
  int builds = 0;
  auto build = [&] {
    ++builds;
    return kExitOk;
  };
  CHECK(build_and_push(repo, settings, build, streams) == kExitSystem);
  CHECK(builds == 0);
  CHECK_MESSAGE(err.str().starts_with("synoverlay: error: cannot fetch 'main' from 'origin' (" +
                                      *this / "nowhere.git" + "): "),
                err.str());
}

}  // namespace
}  // namespace synoverlay
