// GitRepo against real repositories in fresh folders under /tmp, checked with the git CLI.

#include "git_repo.h"

#include <doctest/doctest.h>
#include <git2.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.h"

namespace synoverlay {
namespace {

using testing::read_file;
using testing::shell_quote;
using testing::TempDir;
using testing::write_file;

namespace fs = std::filesystem;

// Points HOME, the git CLI and libgit2 at a private configuration, once per process, so the
// machine's own configuration (and a GIT_DIR inherited from a hook) cannot leak in.
const std::string& test_home() {
  static TempDir home;
  static TempDir empty;
  static const bool ready = [] {
    for (const char* name :
         {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
          "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE",
          "GIT_CEILING_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
          "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
          "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE"}) {
      unsetenv(name);
    }
    setenv("HOME", home.path().c_str(), 1);
    setenv("XDG_CONFIG_HOME", (home / ".config").c_str(), 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("LC_ALL", "C", 1);
    write_file(home / ".gitconfig",
               "[user]\n\tname = Test Person\n\temail = test@example.org\n"
               "[init]\n\tdefaultBranch = main\n"
               "[advice]\n\tdetachedHead = false\n");

    // libgit2 reads HOME once, when it is first initialised; naming the folders
    // explicitly works whichever test ran first.
    git_libgit2_init();
    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, home.path().c_str());
    for (git_config_level_t level :
         {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_PROGRAMDATA}) {
      git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, empty.path().c_str());
    }
    return true;
  }();
  (void)ready;
  return home.path();
}

struct RunResult {
  int status = -1;
  std::string output;
};

// Runs a shell command and collects its standard output.
RunResult run(const std::string& command) {
  test_home();
  RunResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  char chunk[4096];
  while (std::size_t n = fread(chunk, 1, sizeof chunk, pipe)) result.output.append(chunk, n);
  int raw = pclose(pipe);
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return result;
}

// Runs `git <args>` in `dir`, requires it to succeed and returns its standard output.
std::string git(const std::string& dir, const std::string& args) {
  RunResult result = run("git -C " + shell_quote(dir) + " " + args);
  REQUIRE_MESSAGE(result.status == 0, "git " << args << " failed:\n" << result.output);
  return result.output;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const GitError& error) {
    return error.what();
  }
  return "(no GitError was thrown)";
}

Signature fixed_signature() { return Signature{"Test Person", "test@example.org", 1700000000, 60}; }

const std::vector<std::string> kProd = {"overlays/prod/"};

CommitResult commit(GitRepo& repo, const FileMap& files,
                    const std::vector<std::string>& prefixes = kProd,
                    const std::string& message = "Build overlay prod") {
  return repo.commit_owned(prefixes, files, fixed_signature(), fixed_signature(), message);
}

// What the caller of commit_owned does: put the committed bytes into the work tree.
void write_work_tree(const std::string& root, const FileMap& files) {
  for (const auto& [path, content] : files) write_file(root + "/" + path, content);
}

// Commits whatever the work tree holds with the git CLI, as a person would.
void cli_commit(const std::string& root, const std::string& message) {
  git(root, "add -A");
  git(root, "commit -q -m " + shell_quote(message));
}

using Paths = std::vector<std::string>;

// Every test case runs in its own temporary folder, after the private configuration is set.
struct Sandbox {
  Sandbox() { test_home(); }
  TempDir tmp;
};

const FileMap kTwoFiles = {
    {"overlays/prod/kustomization.yaml", "resources:\n  - ../../base\n"},
    {"overlays/prod/patches/cortex.yaml", "kind: StatefulSet\nmetadata:\n  name: cortex\n"},
};

TEST_CASE_FIXTURE(Sandbox, "git_repo: init, then the first commit onto the unborn branch") {
  std::string root = tmp / "nested/repo";
  GitRepo repo = GitRepo::init(root);

  CHECK(repo.workdir() == fs::canonical(root).string());
  CHECK(repo.gitdir() == fs::canonical(root).string() + "/.git");
  CHECK(repo.head_unborn());
  CHECK(repo.head_id().empty());
  CHECK(repo.unusable_state().empty());
  CHECK(repo.current_branch() == "main");
  CHECK(repo.current_branch() == trim(git(root, "symbolic-ref --short HEAD")));
  CHECK(repo.read_head_tree("").empty());
  CHECK_FALSE(repo.read_head_file("overlays/prod/kustomization.yaml"));

  CommitResult result =
      commit(repo, kTwoFiles, kProd, "Build overlay prod\n\nGenerated from env/prod.toml.\n");

  CHECK(result.committed);
  CHECK(result.commit_id == trim(git(root, "rev-parse HEAD")));
  CHECK(result.added ==
        Paths{"overlays/prod/kustomization.yaml", "overlays/prod/patches/cortex.yaml"});
  CHECK(result.modified.empty());
  CHECK(result.removed.empty());
  CHECK(trim(git(root, "log --format=%s")) == "Build overlay prod");
  CHECK(trim(git(root, "log -1 --format=%b")) == "Generated from env/prod.toml.");
  CHECK(trim(git(root, "rev-list --count HEAD")) == "1");
  CHECK(trim(git(root, "reflog -1 --format=%gs main")) == "synoverlay: Build overlay prod");
  CHECK(trim(git(root, "reflog -1 --format='%gs|%gn <%ge>' HEAD")) ==
        "synoverlay: Build overlay prod|Test Person <test@example.org>");

  std::string stat = git(root, "show --stat --format= HEAD");
  CHECK(stat.find("overlays/prod/kustomization.yaml") != std::string::npos);
  CHECK(stat.find("overlays/prod/patches/cortex.yaml") != std::string::npos);

  RunResult fsck = run("git -C " + shell_quote(root) + " fsck --strict 2>&1");
  CHECK_MESSAGE(fsck.status == 0, fsck.output);
  CHECK_MESSAGE(fsck.output.find("error") == std::string::npos, fsck.output);
  CHECK_MESSAGE(fsck.output.find("warning") == std::string::npos, fsck.output);

  CHECK_FALSE(repo.head_unborn());
  CHECK(repo.head_id() == result.commit_id);
  CHECK(repo.read_head_tree("overlays/prod/") == kTwoFiles);
  CHECK(repo.read_head_tree("overlays/prod/patches") ==
        FileMap{*kTwoFiles.find("overlays/prod/patches/cortex.yaml")});
  CHECK(repo.read_head_tree("overlays/pro").empty());
  CHECK(repo.read_head_file("overlays/prod/kustomization.yaml") ==
        kTwoFiles.at("overlays/prod/kustomization.yaml"));
  CHECK_FALSE(repo.read_head_file("overlays/prod/missing.yaml"));
  CHECK_FALSE(repo.read_head_file("overlays/prod/patches"));
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: the same files again make no commit") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);

  SUBCASE("nothing to commit on an unborn branch") {
    CommitResult result = commit(repo, {});
    CHECK_FALSE(result.committed);
    CHECK(result.commit_id.empty());
    CHECK(repo.head_unborn());
  }

  SUBCASE("a second build with the same bytes") {
    CommitResult first = commit(repo, kTwoFiles);
    CommitResult second = commit(repo, kTwoFiles, kProd, "Build overlay prod again");

    CHECK_FALSE(second.committed);
    CHECK(second.commit_id == first.commit_id);
    CHECK(second.added.empty());
    CHECK(second.modified.empty());
    CHECK(second.removed.empty());
    CHECK(trim(git(root, "rev-parse HEAD")) == first.commit_id);
    CHECK(trim(git(root, "rev-list --count HEAD")) == "1");
  }
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: changes outside the owned folders survive a commit") {
  std::string root = tmp / "repo";
  GitRepo::init(root);
  write_file(root + "/README.md", "original\n");
  cli_commit(root, "Add the readme");
  write_file(root + "/other.txt", "staged by a person\n");
  git(root, "add other.txt");
  write_file(root + "/README.md", "edited, not staged\n");

  GitRepo repo = GitRepo::open(root);
  CommitResult result = commit(repo, kTwoFiles);
  REQUIRE(result.committed);

  CHECK(trim(git(root, "show --name-only --format= HEAD")) ==
        "overlays/prod/kustomization.yaml\noverlays/prod/patches/cortex.yaml");
  CHECK(git(root, "ls-tree -r --name-only HEAD").find("other.txt") == std::string::npos);
  CHECK(git(root, "show HEAD:README.md") == "original\n");

  write_work_tree(root, kTwoFiles);
  CHECK(git(root, "diff --cached --name-only") == "other.txt\n");
  CHECK(git(root, "diff --name-only") == "README.md\n");
  CHECK(read_file(root + "/README.md") == "edited, not staged\n");
  CHECK(read_file(root + "/other.txt") == "staged by a person\n");
  CHECK(git(root, "status --porcelain") == " M README.md\nA  other.txt\n");
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: owned paths left out are deleted, the rest of HEAD stays") {
  std::string root = tmp / "repo";
  GitRepo::init(root);
  write_file(root + "/notes/keep.txt", "kept\n");
  write_file(root + "/overlays/prod-eu/kustomization.yaml", "resources: []\n");
  write_file(root + "/tools/run.sh", "#!/bin/sh\n");
  fs::permissions(root + "/tools/run.sh", fs::perms::owner_exec, fs::perm_options::add);
  cli_commit(root, "Hand-written files");

  GitRepo repo = GitRepo::open(root);
  FileMap first = {{"overlays/prod/a.yaml", "a: 1\n"}, {"overlays/prod/b.yaml", "b: 1\n"}};
  REQUIRE(commit(repo, first).committed);
  write_work_tree(root, first);

  // A file a person staged inside an owned folder is not part of what synoverlay builds.
  write_file(root + "/overlays/prod/stray.yaml", "stray: 1\n");
  git(root, "add overlays/prod/stray.yaml");

  // Without the trailing slash the prefix still names the folder, not "overlays/prod-eu".
  FileMap second = {{"overlays/prod/a.yaml", "a: 2\n"}};
  CommitResult result = commit(repo, second, {"overlays/prod"}, "Drop b");

  REQUIRE(result.committed);
  CHECK(result.added.empty());
  CHECK(result.modified == Paths{"overlays/prod/a.yaml"});
  CHECK(result.removed == Paths{"overlays/prod/b.yaml"});
  CHECK(git(root, "ls-tree -r --name-only HEAD") ==
        "notes/keep.txt\noverlays/prod-eu/kustomization.yaml\noverlays/prod/a.yaml\n"
        "tools/run.sh\n");
  CHECK(git(root, "ls-tree HEAD tools/run.sh").starts_with("100755 blob "));
  CHECK(git(root, "show HEAD:overlays/prod/a.yaml") == "a: 2\n");
  CHECK(git(root, "ls-files") ==
        "notes/keep.txt\noverlays/prod-eu/kustomization.yaml\noverlays/prod/a.yaml\n"
        "tools/run.sh\n");

  fs::remove(root + "/overlays/prod/b.yaml");
  write_work_tree(root, second);
  CHECK(git(root, "status --porcelain") == "?? overlays/prod/stray.yaml\n");
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: git status is clean once the caller writes the bytes") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);

  REQUIRE(commit(repo, kTwoFiles).committed);
  // The index holds the committed files before the work tree does.
  CHECK(git(root, "status --porcelain") ==
        " D overlays/prod/kustomization.yaml\n D overlays/prod/patches/cortex.yaml\n");
  write_work_tree(root, kTwoFiles);
  CHECK(git(root, "status --porcelain").empty());

  FileMap changed = kTwoFiles;
  changed["overlays/prod/kustomization.yaml"] = "resources:\n  - ../../base\n  - extra.yaml\n";
  changed["overlays/prod/extra.yaml"] = "kind: ConfigMap\n";
  CommitResult result = commit(repo, changed);
  REQUIRE(result.committed);
  CHECK(result.added == Paths{"overlays/prod/extra.yaml"});
  CHECK(result.modified == Paths{"overlays/prod/kustomization.yaml"});
  write_work_tree(root, changed);
  CHECK(git(root, "status --porcelain").empty());
  CHECK(git(root, "diff --cached --name-only").empty());
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: author, committer and time come from the signatures") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);

  SUBCASE("fixed times and offsets") {
    Signature author{"Ada Author", "ada@example.org", 1700000000, 120};
    Signature committer{"Cy Committer", "cy@example.org", 1700000100, -300};
    REQUIRE(repo.commit_owned(kProd, kTwoFiles, author, committer, "Build").committed);

    CHECK(trim(git(root, "log -1 --format='%an <%ae>|%cn <%ce>'")) ==
          "Ada Author <ada@example.org>|Cy Committer <cy@example.org>");
    CHECK(trim(git(root, "log -1 --format=%at")) == "1700000000");
    CHECK(trim(git(root, "log -1 --format=%ct")) == "1700000100");
    CHECK(trim(git(root, "log -1 --format=%ad --date=raw")) == "1700000000 +0200");
    CHECK(trim(git(root, "log -1 --format=%cd --date=raw")) == "1700000100 -0500");
  }

  SUBCASE("no time means now") {
    Signature now{"Nina Now", "nina@example.org", std::nullopt, 600};
    REQUIRE(repo.commit_owned(kProd, kTwoFiles, now, now, "Build").committed);

    CHECK(trim(git(root, "log -1 --format='%an <%ae>|%cn <%ce>'")) ==
          "Nina Now <nina@example.org>|Nina Now <nina@example.org>");
    std::string seconds = trim(git(root, "log -1 --format=%at"));
    CHECK(!seconds.empty());
    CHECK(seconds.find_first_not_of("0123456789") == std::string::npos);
    CHECK(seconds != "0");
  }

  SUBCASE("an empty name is refused before anything is written") {
    Signature nameless{"", "x@example.org", 1700000000, 0};
    CHECK(error_of([&] {
            repo.commit_owned(kProd, kTwoFiles, nameless, nameless, "Build");
          }).starts_with("making the signature '"));
    CHECK(repo.head_unborn());
  }
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: configured_signature reads user.name and user.email") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);

  std::optional<Signature> global = repo.configured_signature();
  REQUIRE(global);
  CHECK(global->name == "Test Person");
  CHECK(global->email == "test@example.org");
  CHECK_FALSE(global->when);

  git(root, "config user.name 'Local Name'");
  std::optional<Signature> local = GitRepo::open(root).configured_signature();
  REQUIRE(local);
  CHECK(local->name == "Local Name");
  CHECK(local->email == "test@example.org");

  SUBCASE("nothing when the email is missing") {
    TempDir no_config;
    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, no_config.path().c_str());
    std::optional<Signature> missing = GitRepo::open(root).configured_signature();
    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, test_home().c_str());
    CHECK_FALSE(missing);
  }
}

// Three commits where main and "other" change the same line of c.txt differently.
void make_conflicting_branches(const std::string& root) {
  write_file(root + "/c.txt", "base\n");
  cli_commit(root, "Base");
  git(root, "checkout -q -b other");
  write_file(root + "/c.txt", "theirs\n");
  cli_commit(root, "Theirs");
  git(root, "checkout -q main");
  write_file(root + "/c.txt", "ours\n");
  cli_commit(root, "Ours");
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: detached HEAD and unfinished operations are unusable") {
  std::string root = tmp / "repo";
  GitRepo::init(root);
  make_conflicting_branches(root);
  GitRepo repo = GitRepo::open(root);
  std::string head = trim(git(root, "rev-parse HEAD"));
  CHECK(repo.unusable_state().empty());

  std::string expected;
  SUBCASE("detached HEAD") {
    git(root, "checkout -q --detach");
    expected = "HEAD is detached; check out a branch first, e.g. 'git switch main'";
  }
  SUBCASE("merge with a conflict") {
    CHECK(run("git -C " + shell_quote(root) + " merge other >/dev/null 2>&1").status == 1);
    expected = "a merge is in progress; finish or abort it first ('git merge --abort')";
  }
  SUBCASE("cherry-pick with a conflict") {
    CHECK(run("git -C " + shell_quote(root) + " cherry-pick other >/dev/null 2>&1").status != 0);
    expected = "a cherry-pick is in progress; finish or abort it first ('git cherry-pick --abort')";
  }
  SUBCASE("revert with a conflict") {
    CHECK(run("git -C " + shell_quote(root) + " revert --no-edit HEAD~1 >/dev/null 2>&1").status !=
          0);
    expected = "a revert is in progress; finish or abort it first ('git revert --abort')";
  }

  CHECK(repo.unusable_state() == expected);
  CHECK(error_of([&] { commit(repo, kTwoFiles); }) == expected);
  CHECK(trim(git(root, "rev-parse HEAD")) == head);
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: open searches upwards and refuses bare repositories") {
  SUBCASE("not a repository") {
    std::string error = error_of([&] { GitRepo::open(tmp.path()); });
    CHECK_MESSAGE(error.starts_with("not a git repository: '" + tmp.path() + "'"), error);
  }

  SUBCASE("a bare repository") {
    git(tmp.path(), "init -q --bare bare.git");
    std::string error = error_of([&] { GitRepo::open(tmp / "bare.git"); });
    CHECK_MESSAGE(error.find("is a bare repository") != std::string::npos, error);
  }

  SUBCASE("a folder inside the work tree") {
    GitRepo::init(tmp / "repo");
    fs::create_directories(tmp / "repo/overlays/prod");
    GitRepo repo = GitRepo::open(tmp / "repo/overlays/prod");
    CHECK(repo.workdir() == fs::canonical(tmp / "repo").string());
  }
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: a held lock stops the commit before the branch moves") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);
  REQUIRE(commit(repo, kTwoFiles).committed);
  std::string head = trim(git(root, "rev-parse HEAD"));
  std::string index_before = git(root, "ls-files --stage");
  FileMap changed = {{"overlays/prod/kustomization.yaml", "resources: []\n"}};

  SUBCASE("index.lock") {
    write_file(root + "/.git/index.lock", "");
    std::string error = error_of([&] { commit(repo, changed); });
    CHECK_MESSAGE(error.find("/.git/index.lock'") != std::string::npos, error);
    CHECK_MESSAGE(error.find("another git process") != std::string::npos, error);
    fs::remove(root + "/.git/index.lock");
  }

  SUBCASE("the branch's lock") {
    write_file(root + "/.git/refs/heads/main.lock", "");
    std::string error = error_of([&] { commit(repo, changed); });
    CHECK_MESSAGE(error.starts_with("moving the branch 'main' to "), error);
    CHECK_MESSAGE(error.find("refs/heads/main.lock") != std::string::npos, error);
    fs::remove(root + "/.git/refs/heads/main.lock");
  }

  CHECK(trim(git(root, "rev-parse HEAD")) == head);
  CHECK(git(root, "ls-files --stage") == index_before);
  CommitResult retry = commit(repo, changed);
  CHECK(retry.committed);
  CHECK(trim(git(root, "rev-parse HEAD^")) == head);
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: a GitRepo opened earlier builds on a newer commit") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);
  REQUIRE(commit(repo, kTwoFiles).committed);
  write_work_tree(root, kTwoFiles);

  write_file(root + "/docs/runbook.md", "# Runbook\n");
  cli_commit(root, "Add a runbook");
  std::string theirs = trim(git(root, "rev-parse HEAD"));

  FileMap changed = {{"overlays/prod/kustomization.yaml", "resources: []\n"}};
  CommitResult result = commit(repo, changed);
  REQUIRE(result.committed);
  CHECK(trim(git(root, "rev-parse HEAD^")) == theirs);
  CHECK(git(root, "show HEAD:docs/runbook.md") == "# Runbook\n");
  CHECK(result.removed == Paths{"overlays/prod/patches/cortex.yaml"});
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: a symbolic branch moves the branch it points to") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);
  REQUIRE(commit(repo, kTwoFiles).committed);
  git(root, "symbolic-ref refs/heads/alias refs/heads/main");
  git(root, "symbolic-ref HEAD refs/heads/alias");
  CHECK(repo.current_branch() == "alias");

  CommitResult result = commit(repo, {{"overlays/prod/kustomization.yaml", "resources: []\n"}});
  REQUIRE(result.committed);
  CHECK(trim(git(root, "rev-parse refs/heads/main")) == result.commit_id);
  CHECK(trim(git(root, "symbolic-ref refs/heads/alias")) == "refs/heads/main");
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: bad paths and paths outside the owned folders are refused") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);

  for (const char* path :
       {"overlays/prod/../escape.yaml", "overlays/prod/.git/config", "overlays/prod/.GIT/x",
        "overlays/prod//double.yaml", "overlays/prod/", "overlays/prod/./a.yaml"}) {
    CAPTURE(path);
    CHECK(error_of([&] { commit(repo, {{path, "x"}}); }).starts_with("cannot commit '"));
  }
  CHECK(error_of([&] {
          commit(repo, {{"base/kustomization.yaml", "x"}});
        }) == "cannot commit 'base/kustomization.yaml': it is not under any owned folder");
  CHECK(repo.head_unborn());
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: blob_id equals git hash-object") {
  std::string big;
  for (int i = 0; i < 70000; ++i) big += static_cast<char>('a' + i % 26);

  for (const std::string& content :
       {std::string(), std::string("hello\n"), std::string("nul\0and\r\ncrlf", 13), big}) {
    write_file(tmp / "content", content);
    RunResult expected = run("git hash-object --stdin < " + shell_quote(tmp / "content"));
    REQUIRE(expected.status == 0);
    CHECK(GitRepo::blob_id(content) == trim(expected.output));
    CHECK(GitRepo::blob_id(content).size() == 40);
  }
  CHECK(GitRepo::blob_id("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

// Loose objects and pack files below the git folder of `root`.
struct ObjectFiles {
  std::size_t loose = 0;
  std::size_t packs = 0;
};

ObjectFiles object_files(const std::string& root) {
  ObjectFiles count;
  for (const auto& entry : fs::recursive_directory_iterator(root + "/.git/objects")) {
    std::string name = entry.path().filename().string();
    std::string folder = entry.path().parent_path().filename().string();
    if (entry.is_regular_file() && folder.size() == 2 && name.size() == 38) ++count.loose;
    if (entry.is_regular_file() && entry.path().extension() == ".pack") ++count.packs;
  }
  return count;
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: a few new objects are written loose, many as one pack") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);

  // Two blobs, four trees (root, overlays, prod, patches) and a commit.
  commit(repo, kTwoFiles);
  CHECK(object_files(root).loose == 7);
  CHECK(object_files(root).packs == 0);

  FileMap many;
  for (int i = 0; i < 40; ++i) {
    many["overlays/prod/file-" + std::to_string(i) + ".yaml"] = "n: " + std::to_string(i) + "\n";
  }
  CommitResult result = commit(repo, many);
  CHECK(result.committed);
  // The 40 blobs, three trees (root, overlays, prod) and the commit are packed.
  CHECK(object_files(root).loose == 7);
  CHECK(object_files(root).packs == 1);
  CHECK(git(root, "count-objects -v").find("in-pack: 44\n") != std::string::npos);
  CHECK(repo.read_head_tree("overlays/prod/") == many);
  RunResult fsck = run("git -C " + shell_quote(root) + " fsck --strict 2>&1");
  CHECK_MESSAGE(fsck.status == 0, fsck.output);
  CHECK(trim(git(root, "show HEAD:overlays/prod/file-39.yaml")) == "n: 39");

  SUBCASE("a commit that changes nothing writes no object") {
    ObjectFiles before = object_files(root);
    CHECK_FALSE(commit(repo, many).committed);
    CHECK(object_files(root).loose == before.loose);
    CHECK(object_files(root).packs == before.packs);
  }
}

TEST_CASE_FIXTURE(Sandbox, "git_repo: blob ids of HEAD's files, and HEAD read again after a move") {
  std::string root = tmp / "repo";
  GitRepo repo = GitRepo::init(root);
  CHECK(repo.head_blob_ids("").empty());
  commit(repo, kTwoFiles);
  IdMap ids = repo.head_blob_ids("overlays/prod/");
  REQUIRE(ids.size() == 2);
  for (const auto& [path, id] : ids) {
    CHECK(id == trim(git(root, "rev-parse HEAD:" + path)));
    CHECK(id == GitRepo::blob_id(kTwoFiles.at(path)));
  }
  CHECK(repo.head_blob_ids("overlays/pro").empty());
  CHECK(repo.head_blob_ids("overlays/prod/patches").size() == 1);

  // This GitRepo listed HEAD above; its own commit makes it list HEAD again.
  FileMap changed = kTwoFiles;
  changed["overlays/prod/kustomization.yaml"] = "resources: []\n";
  commit(repo, changed);
  CHECK(repo.read_head_file("overlays/prod/kustomization.yaml") == "resources: []\n");
  CHECK(repo.head_blob_ids("overlays/prod/").at("overlays/prod/kustomization.yaml") ==
        GitRepo::blob_id("resources: []\n"));

  // A commit made by someone else after the listing is built on, never lost.
  write_work_tree(root, {{"README.md", "hello\n"}});
  cli_commit(root, "a person's commit");
  CHECK(commit(repo, kTwoFiles).committed);
  CHECK(trim(git(root, "show HEAD:README.md")) == "hello");
  CHECK(trim(git(root, "log -2 --format=%s")) == "Build overlay prod\na person's commit");
}

}  // namespace
}  // namespace synoverlay
