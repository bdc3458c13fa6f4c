// The libgit2 layer: RAII handles, error translation, and the owned-paths commit.

#include "git_repo.h"

#include <fcntl.h>
#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

namespace synoverlay {

namespace {

// A deleter that calls libgit2's own free function for one handle type.
template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* handle) const noexcept {
    Free(handle);
  }
};

using RepoPtr = std::unique_ptr<git_repository, FreeWith<git_repository_free>>;
using IndexPtr = std::unique_ptr<git_index, FreeWith<git_index_free>>;
using TreePtr = std::unique_ptr<git_tree, FreeWith<git_tree_free>>;
using CommitPtr = std::unique_ptr<git_commit, FreeWith<git_commit_free>>;
using BlobPtr = std::unique_ptr<git_blob, FreeWith<git_blob_free>>;
using RefPtr = std::unique_ptr<git_reference, FreeWith<git_reference_free>>;
using ConfigPtr = std::unique_ptr<git_config, FreeWith<git_config_free>>;
using SignaturePtr = std::unique_ptr<git_signature, FreeWith<git_signature_free>>;
using RemotePtr = std::unique_ptr<git_remote, FreeWith<git_remote_free>>;
using RevwalkPtr = std::unique_ptr<git_revwalk, FreeWith<git_revwalk_free>>;
using PackbuilderPtr = std::unique_ptr<git_packbuilder, FreeWith<git_packbuilder_free>>;
using OdbPtr = std::unique_ptr<git_odb, FreeWith<git_odb_free>>;

// A pack being written into an object database frees itself through its own function pointer.
struct WritepackFree {
  void operator()(git_odb_writepack* pack) const noexcept { pack->free(pack); }
};
using WritepackPtr = std::unique_ptr<git_odb_writepack, WritepackFree>;

// git_strarray as libgit2 fills it in (remote names), owned until disposed.
class StrArray {
 public:
  StrArray() = default;
  StrArray(const StrArray&) = delete;
  StrArray& operator=(const StrArray&) = delete;
  ~StrArray() { git_strarray_dispose(&array_); }

  git_strarray* get() { return &array_; }
  std::vector<std::string> strings() const {
    return std::vector<std::string>(array_.strings, array_.strings + array_.count);
  }

 private:
  git_strarray array_{nullptr, 0};
};

// A git_strarray view of strings the caller keeps alive, for passing lists into libgit2.
class StrList {
 public:
  explicit StrList(const std::vector<std::string>& strings) {
    for (const std::string& text : strings) pointers_.push_back(const_cast<char*>(text.c_str()));
    array_ = {pointers_.data(), pointers_.size()};
  }
  const git_strarray* get() const { return &array_; }
  git_strarray value() const { return array_; }

 private:
  std::vector<char*> pointers_;
  git_strarray array_{nullptr, 0};
};

// git_buf is a value, not a handle, so it gets its own owner.
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { git_buf_dispose(&buf_); }

  git_buf* get() { return &buf_; }
  std::string str() const { return std::string(buf_.ptr ? buf_.ptr : "", buf_.size); }

 private:
  git_buf buf_ = GIT_BUF_INIT;
};

constexpr unsigned kBlobMode = GIT_FILEMODE_BLOB;  // 100644
constexpr std::string_view kBranchPrefix = "refs/heads/";

// libgit2's initialisation, under way or done. It reads the system's CA certificates, which
// costs several milliseconds, so a Libgit2Warmup lets it run beside loading and validation.
std::future<int>& libgit2_ready() {
  static std::future<int> ready;
  return ready;
}

int initialise_libgit2() {
  int rc = git_libgit2_init();
  // Trees are made only from ids synoverlay listed from a tree or wrote itself; checking
  // that each object exists would read every blob of the repository once more.
  if (rc >= 0) git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
  return rc;
}

void start_libgit2() {
  static std::once_flag started;
  std::call_once(started,
                 [] { libgit2_ready() = std::async(std::launch::async, initialise_libgit2); });
}

void ensure_libgit2() {
  // libgit2 is initialised once and never shut down: handles may live until exit.
  static const int rc = [] {
    start_libgit2();
    return libgit2_ready().get();
  }();
  if (rc < 0) throw GitError("initialising libgit2 failed");
}

std::string last_error_message() {
  const git_error* error = git_error_last();
  return error && error->message ? error->message : "unknown libgit2 error";
}

[[noreturn]] void fail(const std::string& what) {
  throw GitError(what + ": " + last_error_message());
}

int check(int rc, const std::string& what) {
  if (rc < 0) fail(what);
  return rc;
}

std::string to_hex(const git_oid& id) {
  char text[GIT_OID_HEXSZ + 1];
  git_oid_tostr(text, sizeof text, &id);
  return text;
}

std::string strip_trailing_slash(const char* path) {
  std::string text = path ? path : "";
  if (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

// A prefix names a folder: "base/" and "base" both own "base/x" but not "baseline/x".
// The empty prefix owns everything.
bool under_prefix(std::string_view path, std::string_view prefix) {
  if (prefix.empty()) return true;
  if (prefix.back() == '/') return path.starts_with(prefix);
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

// Folders (and single files) a commit owns, built once so that testing a path costs one
// lookup per folder level of the path, however many environments a build holds.
class OwnedSet {
 public:
  explicit OwnedSet(const std::vector<std::string>& prefixes) {
    for (const std::string& prefix : prefixes) {
      if (prefix.empty()) {
        all_ = true;
      } else if (prefix.back() == '/') {
        folders_.insert(prefix);
      } else {
        exact_.insert(prefix);
        folders_.insert(prefix + "/");
      }
    }
  }

  // As under_prefix() for any of the prefixes.
  bool contains(std::string_view path) const {
    if (all_ || exact_.contains(path)) return true;
    for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      if (folders_.contains(path.substr(0, slash + 1))) return true;
    }
    return false;
  }

 private:
  bool all_ = false;
  std::set<std::string, std::less<>> folders_;  // each ending in '/'
  std::set<std::string, std::less<>> exact_;
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Refuses paths that would make a tree git fsck rejects, or that escape the work tree.
void validate_path(std::string_view path) {
  auto refuse = [&](std::string_view why) {
    throw GitError("cannot commit '" + std::string(path) + "': " + std::string(why));
  };
  if (path.empty()) refuse("the path is empty");
  if (path.find('\0') != std::string_view::npos) refuse("the path contains a NUL byte");
  if (path.front() == '/' || path.back() == '/') refuse("expected a relative file path");

  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = std::min(path.find('/', begin), path.size());
    std::string_view part = path.substr(begin, end - begin);
    if (part.empty() || part == "." || part == "..") refuse("empty, '.' or '..' path component");
    if (equals_ignoring_case(part, ".git")) refuse("'.git' cannot be part of a path");
    begin = end + 1;
  }
}

SignaturePtr make_signature(const Signature& who) {
  git_signature* raw = nullptr;
  std::string what = "making the signature '" + who.name + " <" + who.email + ">'";
  if (who.when) {
    check(
        git_signature_new(&raw, who.name.c_str(), who.email.c_str(), *who.when, who.offset_minutes),
        what);
  } else {
    check(git_signature_now(&raw, who.name.c_str(), who.email.c_str()), what);
  }
  return SignaturePtr(raw);
}

// Full name of the branch HEAD points to ("refs/heads/main"), or empty when detached.
std::string head_branch_ref(git_repository* repo) {
  git_reference* raw = nullptr;
  check(git_reference_lookup(&raw, repo, "HEAD"), "reading HEAD");
  RefPtr head(raw);
  if (git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) return {};
  return git_reference_symbolic_target(head.get());
}

std::string short_branch(std::string_view ref) {
  if (ref.starts_with(kBranchPrefix)) ref.remove_prefix(kBranchPrefix.size());
  return std::string(ref);
}

// A branch and the commit it points to, read at one moment.
struct BranchTip {
  std::string ref;                // the ref that holds the id, e.g. "refs/heads/main"
  std::optional<git_oid> commit;  // nothing while the branch has no commit (unborn)
};

// Follows symbolic refs from `ref_name` (refs/heads/a -> refs/heads/b) to the one that holds
// the id, because that is the ref git moves when it commits.
BranchTip read_branch(git_repository* repo, std::string ref_name) {
  for (int depth = 0; depth < 10; ++depth) {
    git_reference* raw = nullptr;
    int rc = git_reference_lookup(&raw, repo, ref_name.c_str());
    RefPtr ref(raw);
    if (rc == GIT_ENOTFOUND) return {ref_name, std::nullopt};
    check(rc, "reading '" + ref_name + "'");
    if (git_reference_type(ref.get()) == GIT_REFERENCE_DIRECT) {
      return {ref_name, *git_reference_target(ref.get())};
    }
    ref_name = git_reference_symbolic_target(ref.get());
  }
  throw GitError("reading the branch: symbolic references nested too deeply at '" + ref_name + "'");
}

// Sets the identity libgit2 writes into reflog entries, for as long as the object lives: git
// names the committer there, while libgit2 would otherwise take user.name or "unknown".
class ReflogIdentity {
 public:
  ReflogIdentity(git_repository* repo, const Signature& who) : repo_(repo) {
    check(git_repository_set_ident(repo, who.name.c_str(), who.email.c_str()),
          "setting the reflog identity");
  }
  ReflogIdentity(const ReflogIdentity&) = delete;
  ReflogIdentity& operator=(const ReflogIdentity&) = delete;
  ~ReflogIdentity() { git_repository_set_ident(repo_, nullptr, nullptr); }

 private:
  git_repository* repo_;
};

// The commit `ref_name` points to, or nothing when it does not exist yet (unborn).
std::optional<git_oid> ref_target(git_repository* repo, const std::string& ref_name) {
  git_oid id;
  int rc = git_reference_name_to_id(&id, repo, ref_name.c_str());
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  check(rc, "resolving '" + ref_name + "'");
  return id;
}

CommitPtr lookup_commit(git_repository* repo, const git_oid& id) {
  git_commit* raw = nullptr;
  check(git_commit_lookup(&raw, repo, &id), "reading commit " + to_hex(id));
  return CommitPtr(raw);
}

TreePtr commit_tree(const git_commit* commit) {
  git_tree* raw = nullptr;
  check(git_commit_tree(&raw, commit),
        "reading the tree of commit " + to_hex(*git_commit_id(commit)));
  return TreePtr(raw);
}

// HEAD's tree, or null when HEAD's branch has no commit yet.
TreePtr head_tree(git_repository* repo) {
  std::optional<git_oid> head = ref_target(repo, "HEAD");
  if (!head) return nullptr;
  return commit_tree(lookup_commit(repo, *head).get());
}

// An index that lives only in memory, holding `tree` (or nothing when `tree` is null).
IndexPtr index_of_tree(const git_tree* tree) {
  git_index* raw = nullptr;
  check(git_index_new(&raw), "creating an in-memory index");
  IndexPtr index(raw);
  if (tree) check(git_index_read_tree(index.get(), tree), "reading a tree into an index");
  return index;
}

std::string read_blob(git_repository* repo, const git_oid& id) {
  git_blob* raw = nullptr;
  check(git_blob_lookup(&raw, repo, &id), "reading blob " + to_hex(id));
  BlobPtr blob(raw);
  const char* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
  return std::string(data, static_cast<std::size_t>(git_blob_rawsize(blob.get())));
}

struct EntryState {
  git_oid id;
  unsigned mode = 0;
};

// The files of one commit's tree by path, sorted: blobs (symbolic links included) and
// gitlinks, with id and mode. Listing a tree once replaces a lookup per path or per folder.
struct TreeFiles {
  std::optional<git_oid> commit;  // nothing for an unborn branch: no files
  std::map<std::string, EntryState, std::less<>> files;
};

int add_tree_file(const char* root, const git_tree_entry* entry, void* payload) {
  git_object_t type = git_tree_entry_type(entry);
  if (type != GIT_OBJECT_BLOB && type != GIT_OBJECT_COMMIT) return 0;  // folders: walked into
  auto& files = *static_cast<std::map<std::string, EntryState, std::less<>>*>(payload);
  files.emplace(
      std::string(root) + git_tree_entry_name(entry),
      EntryState{*git_tree_entry_id(entry), static_cast<unsigned>(git_tree_entry_filemode(entry))});
  return 0;
}

TreeFiles list_tree_files(git_repository* repo, const std::optional<git_oid>& commit) {
  TreeFiles listing{commit, {}};
  if (!commit) return listing;
  TreePtr tree = commit_tree(lookup_commit(repo, *commit).get());
  check(git_tree_walk(tree.get(), GIT_TREEWALK_PRE, add_tree_file, &listing.files),
        "listing the files of commit " + to_hex(*commit));
  return listing;
}

// Calls `visit(path, state)` for every file of `listing` under `prefix` (as under_prefix()),
// gitlinks left out.
template <typename Visit>
void for_each_under(const TreeFiles& listing, std::string_view prefix, Visit visit) {
  for (auto it = listing.files.lower_bound(prefix);
       it != listing.files.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    if (it->second.mode == GIT_FILEMODE_COMMIT || !under_prefix(it->first, prefix)) continue;
    visit(it->first, it->second);
  }
}

git_index_entry blob_entry(const std::string& path, const git_oid& id, std::size_t size) {
  git_index_entry entry{};
  entry.path = path.c_str();
  entry.id = id;
  entry.mode = kBlobMode;
  entry.file_size = static_cast<std::uint32_t>(size);
  return entry;
}

std::string prettified_message(const std::string& message) {
  Buffer pretty;
  check(git_message_prettify(pretty.get(), message.c_str(), 0, '#'),
        "cleaning up the commit message");
  if (pretty.str().empty()) throw GitError("the commit message is empty");
  return pretty.str();
}

std::string lock_problem(const std::string& index_path) {
  return "the lock file '" + index_path + ".lock' exists: another git process is running " +
         "in this repository, or one crashed and left the file behind (delete it if no git " +
         "process is running)";
}

bool file_exists(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::exists(path, ignored);
}

// Fills the added, modified and removed lists of `result` (std::map keeps them sorted).
void describe_changes(const std::map<std::string, EntryState>& before,
                      const std::map<std::string, git_oid>& after, CommitResult& result) {
  for (const auto& [path, id] : after) {
    auto old = before.find(path);
    if (old == before.end()) {
      result.added.push_back(path);
    } else if (!git_oid_equal(&old->second.id, &id) || old->second.mode != kBlobMode) {
      result.modified.push_back(path);
    }
  }
  for (const auto& [path, state] : before) {
    if (!after.contains(path)) result.removed.push_back(path);
  }
}

struct StateText {
  git_repository_state_t state;
  const char* text;
};

// What to tell the user for each operation git can leave unfinished.
constexpr StateText kStateTexts[] = {
    {GIT_REPOSITORY_STATE_MERGE,
     "a merge is in progress; finish or abort it first ('git merge --abort')"},
    {GIT_REPOSITORY_STATE_REVERT,
     "a revert is in progress; finish or abort it first ('git revert --abort')"},
    {GIT_REPOSITORY_STATE_REVERT_SEQUENCE,
     "a revert is in progress; finish or abort it first ('git revert --abort')"},
    {GIT_REPOSITORY_STATE_CHERRYPICK,
     "a cherry-pick is in progress; finish or abort it first ('git cherry-pick --abort')"},
    {GIT_REPOSITORY_STATE_CHERRYPICK_SEQUENCE,
     "a cherry-pick is in progress; finish or abort it first ('git cherry-pick --abort')"},
    // Bisect has no --abort; reset is what ends it.
    {GIT_REPOSITORY_STATE_BISECT,
     "a bisect is in progress; finish or abort it first ('git bisect reset')"},
    {GIT_REPOSITORY_STATE_REBASE,
     "a rebase is in progress; finish or abort it first ('git rebase --abort')"},
    {GIT_REPOSITORY_STATE_REBASE_INTERACTIVE,
     "a rebase is in progress; finish or abort it first ('git rebase --abort')"},
    {GIT_REPOSITORY_STATE_REBASE_MERGE,
     "a rebase is in progress; finish or abort it first ('git rebase --abort')"},
    {GIT_REPOSITORY_STATE_APPLY_MAILBOX,
     "an am is in progress; finish or abort it first ('git am --abort')"},
    {GIT_REPOSITORY_STATE_APPLY_MAILBOX_OR_REBASE,
     "a rebase or am is in progress; finish or abort it first ('git rebase --abort' or "
     "'git am --abort')"},
};

// The id that 40 hex digits name.
git_oid parse_id(const std::string& hex) {
  git_oid id;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&id, hex.c_str()) < 0) {
    throw GitError("'" + hex + "' is not a commit id");
  }
  return id;
}

// Points `branch` at `new_id` only if it still points where it did when it was read, the
// compare-and-swap that keeps a concurrent commit from being lost.
void swap_branch(git_repository* repo, const BranchTip& branch, const git_oid& new_id,
                 const std::string& reflog) {
  const char* name = branch.ref.c_str();
  git_reference* raw = nullptr;
  int rc = branch.commit ? git_reference_create_matching(&raw, repo, name, &new_id, 1,
                                                         &*branch.commit, reflog.c_str())
                         : git_reference_create(&raw, repo, name, &new_id, 0, reflog.c_str());
  RefPtr ref(raw);
  if (rc == GIT_EMODIFIED || (!branch.commit && rc == GIT_EEXISTS)) {
    throw GitError("the branch '" + short_branch(branch.ref) +
                   "' moved while synoverlay was committing; run the build again");
  }
  check(rc, "moving the branch '" + short_branch(branch.ref) + "' to " + to_hex(new_id));
}

TreePtr empty_tree(git_repository* repo) {
  IndexPtr index = index_of_tree(nullptr);
  git_oid id;
  check(git_index_write_tree_to(&id, index.get(), repo), "writing the empty tree");
  git_tree* raw = nullptr;
  check(git_tree_lookup(&raw, repo, &id), "reading the empty tree");
  return TreePtr(raw);
}

// The tree of commit `hex`, or null when the commit is not in the repository.
TreePtr tree_of_commit_if_present(git_repository* repo, const std::string& hex) {
  git_oid id = parse_id(hex);
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, repo, &id) < 0) return nullptr;
  CommitPtr commit(raw);
  return commit_tree(commit.get());
}

// Every file of `tree` under `prefixes`, with its id and mode.
std::map<std::string, EntryState> tree_entries(const git_tree* tree,
                                               const std::vector<std::string>& prefixes) {
  IndexPtr index = index_of_tree(tree);
  OwnedSet owned(prefixes);
  std::map<std::string, EntryState> entries;
  for (std::size_t i = 0; i < git_index_entrycount(index.get()); ++i) {
    const git_index_entry* entry = git_index_get_byindex(index.get(), i);
    if (owned.contains(entry->path)) entries[entry->path] = {entry->id, entry->mode};
  }
  return entries;
}

bool same_entry(const EntryState& a, const EntryState& b) {
  return a.mode == b.mode && git_oid_equal(&a.id, &b.id);
}

// Paths under `prefixes` whose id or mode differs between the trees, or that only one has.
std::vector<std::string> changed_paths(const git_tree* from, const git_tree* to,
                                       const std::vector<std::string>& prefixes) {
  std::map<std::string, EntryState> before = tree_entries(from, prefixes);
  std::map<std::string, EntryState> after = tree_entries(to, prefixes);
  std::vector<std::string> changed;
  for (const auto& [path, state] : after) {
    auto old = before.find(path);
    if (old == before.end() || !same_entry(old->second, state)) changed.push_back(path);
  }
  for (const auto& [path, state] : before) {
    if (!after.contains(path)) changed.push_back(path);
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

enum class CheckoutMode {
  dry_run,  // change nothing; report the files that block the update
  safe,     // update, refusing everything when a file the user changed is in the way
  repair,   // update what can be updated, leave files the user changed as they are
};

int collect_path(git_checkout_notify_t, const char* path, const git_diff_file*,
                 const git_diff_file*, const git_diff_file*, void* payload) {
  static_cast<std::vector<std::string>*>(payload)->emplace_back(path);
  return 0;
}

// Updates the work tree and index from `from` to `to` the way git does when it moves a
// branch: only files that still hold `from`'s content are touched. `paths` limits the update
// to those files (all when empty). Returns the blocking files for a dry run, else the files
// written.
std::vector<std::string> checkout(git_repository* repo, git_tree* from, const git_tree* to,
                                  const std::vector<std::string>& paths, CheckoutMode mode) {
  std::vector<std::string> reported;
  git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
  options.checkout_strategy = GIT_CHECKOUT_SAFE;
  options.notify_flags = GIT_CHECKOUT_NOTIFY_UPDATED;
  if (mode == CheckoutMode::dry_run) {
    options.checkout_strategy |= GIT_CHECKOUT_DRY_RUN;
    options.notify_flags = GIT_CHECKOUT_NOTIFY_CONFLICT;
  }
  if (mode == CheckoutMode::repair) options.checkout_strategy |= GIT_CHECKOUT_ALLOW_CONFLICTS;
  options.notify_cb = collect_path;
  options.notify_payload = &reported;
  options.baseline = from;
  StrList list(paths);
  if (!paths.empty()) {
    options.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
    options.paths = list.value();
  }
  int rc = git_checkout_tree(repo, reinterpret_cast<const git_object*>(to), &options);
  if (mode == CheckoutMode::dry_run) {
    if (rc == GIT_ECONFLICT) return reported;
    check(rc, "checking which files a checkout would change");
    return {};
  }
  check(rc, "updating the work tree");
  return reported;
}

// Index entries among `paths` that still hold `from`'s version get `to`'s: a checkout leaves
// the entry of a file alone when the work tree already held the new bytes.
void repair_index(git_repository* repo, const git_tree* from, const git_tree* to,
                  const std::vector<std::string>& paths) {
  std::map<std::string, EntryState> before = tree_entries(from, paths);
  std::map<std::string, EntryState> after = tree_entries(to, paths);
  git_index* raw = nullptr;
  check(git_repository_index(&raw, repo), "opening the repository's index");
  IndexPtr index(raw);
  check(git_index_read(index.get(), 0), "reading the repository's index");

  bool changed = false;
  for (const std::string& path : paths) {
    const git_index_entry* current = git_index_get_bypath(index.get(), path.c_str(), 0);
    auto old = before.find(path);
    bool holds_old =
        old == before.end()
            ? current == nullptr
            : current != nullptr && same_entry({current->id, current->mode}, old->second);
    if (!holds_old) continue;
    auto now = after.find(path);
    if (now == after.end()) {
      check(git_index_remove_bypath(index.get(), path.c_str()), "removing '" + path + "'");
    } else {
      git_index_entry entry{};
      entry.path = path.c_str();
      entry.id = now->second.id;
      entry.mode = now->second.mode;
      check(git_index_add(index.get(), &entry), "setting '" + path + "' in the index");
    }
    changed = true;
  }
  if (changed) check(git_index_write(index.get()), "writing the repository's index");
}

constexpr const char* kPendingNote = "synoverlay-checkout";

std::string git_path(git_repository* repo, std::string_view name) {
  return strip_trailing_slash(git_repository_path(repo)) + "/" + std::string(name);
}

// Writes `text` to `path` through a temporary file and a rename, flushed to disk first, so
// the file is either the old one or the whole new one.
void write_file_atomically(const std::string& path, const std::string& text) {
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0;
  for (std::size_t done = 0; ok && done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  if (fd >= 0) ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    throw GitError("writing '" + path + "': " + reason);
  }
}

void note_pending(git_repository* repo, const PendingCheckout& pending) {
  std::string text = "synoverlay pending checkout\npid " + std::to_string(pending.pid) + "\nfrom " +
                     pending.from + "\nto " + pending.to + "\n";
  for (const std::string& prefix : pending.prefixes) text += "prefix " + prefix + "\n";
  write_file_atomically(git_path(repo, kPendingNote), text);
}

// The folder holding the repository at or above `path`, for messages.
std::string repository_folder(const std::string& path) {
  std::error_code ec;
  std::filesystem::path current = std::filesystem::absolute(path, ec).lexically_normal();
  if (!current.has_filename()) current = current.parent_path();  // "/repo/." became "/repo/"
  while (!current.empty()) {
    if (std::filesystem::exists(current / ".git", ec)) return current.string();
    if (std::filesystem::exists(current / "HEAD", ec) &&
        std::filesystem::is_directory(current / "objects", ec)) {
      return current.string();
    }
    if (current == current.parent_path()) break;
    current = current.parent_path();
  }
  return path;
}

std::string owner_problem(const std::string& path) {
  std::string folder = repository_folder(path);
  std::string owner = "another user";
  struct stat info {};
  if (::stat(folder.c_str(), &info) == 0) {
    const passwd* user = ::getpwuid(info.st_uid);
    owner = (user ? "user '" + std::string(user->pw_name) + "'" : std::string("another user")) +
            " (uid " + std::to_string(info.st_uid) + ")";
  }
  return "the repository '" + folder + "' belongs to " + owner +
         ", and git refuses to work in another user's repository because its configuration " +
         "could run that user's commands; run synoverlay as that user, or, if you trust it, " +
         "run 'git config --global --add safe.directory " + folder + "'";
}

// --- remotes ---

// The folder a remote URL names when git reaches it as a local path (file://, an absolute or
// a relative path), or empty for network URLs (scheme://, or scp-like host:path). A relative
// path counts from `base`, the work tree, as it does for git.
std::string local_remote_path(const std::string& url, const std::string& base) {
  std::string path;
  if (url.starts_with("file://")) {
    path = url.substr(7);
  } else if (url.find("://") != std::string::npos) {
    return {};
  } else {
    std::size_t colon = url.find(':');
    if (colon != std::string::npos && url.find('/') > colon) return {};
    path = url;
  }
  if (path.empty()) return {};
  std::filesystem::path full(path);
  if (full.is_relative()) full = std::filesystem::path(base) / full;
  return strip_trailing_slash(full.lexically_normal().c_str());
}

RemotePtr lookup_remote(git_repository* repo, const std::string& name) {
  git_remote* raw = nullptr;
  int rc = git_remote_lookup(&raw, repo, name.c_str());
  RemotePtr remote(raw);
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) {
    StrArray names;
    check(git_remote_list(names.get(), repo), "listing the remotes");
    std::string known;
    for (const std::string& each : names.strings()) known += (known.empty() ? "" : ", ") + each;
    throw GitError("the repository has no remote '" + name + "' (" +
                   (known.empty() ? std::string("it has none") : "it has: " + known) +
                   "); add it with 'git remote add " + name + " URL', or name one with --remote");
  }
  check(rc, "reading the remote '" + name + "'");
  return remote;
}

// What the credential callback has offered so far: libgit2 asks again after a refusal, and
// offering the same thing twice would go on forever.
struct CredentialState {
  const Credentials* given = nullptr;
  bool offered_key = false;
  bool offered_token = false;
  bool offered_name = false;
};

int offer_credential(git_credential** out, const char* /*url*/, const char* user_from_url,
                     unsigned int allowed, void* payload) {
  CredentialState& state = *static_cast<CredentialState*>(payload);
  const Credentials& given = *state.given;
  std::string ssh_user = user_from_url && *user_from_url ? user_from_url : "git";

  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !state.offered_key) {
    state.offered_key = true;
    if (given.ssh_key.empty()) return git_credential_ssh_key_from_agent(out, ssh_user.c_str());
    std::string public_key = given.ssh_key + ".pub";
    bool has_public = ::access(public_key.c_str(), R_OK) == 0;
    return git_credential_ssh_key_new(
        out, ssh_user.c_str(), has_public ? public_key.c_str() : nullptr, given.ssh_key.c_str(),
        given.ssh_passphrase.empty() ? nullptr : given.ssh_passphrase.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !given.token.empty() &&
      !state.offered_token) {
    state.offered_token = true;
    return git_credential_userpass_plaintext_new(out, given.user.c_str(), given.token.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERNAME) && !state.offered_name) {
    state.offered_name = true;
    return git_credential_username_new(out, ssh_user.c_str());
  }

  std::string why;
  if (state.offered_key) {
    why = given.ssh_key.empty() ? "the remote refused the SSH agent's keys (is SSH_AUTH_SOCK set?)"
                                : "the remote refused the SSH key '" + given.ssh_key + "'";
  } else if (state.offered_token) {
    why = "the remote refused the token from SYNOVERLAY_GIT_TOKEN for user '" + given.user + "'";
  } else if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
    why = "the remote asks for a user name and password; set SYNOVERLAY_GIT_TOKEN";
  } else {
    why = "the remote asks for credentials synoverlay cannot give";
  }
  git_error_set_str(GIT_ERROR_NET, ("authentication failed: " + why).c_str());
  return GIT_EAUTH;
}

// What a push learns through libgit2's callbacks.
struct PushState {
  CredentialState credentials;
  std::string ref;       // "refs/heads/<branch>" on the remote
  git_oid expected{};    // zero when the branch must not exist yet
  std::string moved_to;  // set when the remote's branch was not where it was expected
  std::string refused;   // the remote's reason, when it refused the update
};

int check_remote_value(const git_push_update** updates, std::size_t count, void* payload) {
  PushState& state = *static_cast<PushState*>(payload);
  for (std::size_t i = 0; i < count; ++i) {
    if (state.ref != updates[i]->dst_refname) continue;
    if (git_oid_equal(&updates[i]->src, &state.expected)) continue;
    state.moved_to = to_hex(updates[i]->src);
    git_error_set_str(GIT_ERROR_REFERENCE, "the remote branch moved");
    return GIT_EUSER;
  }
  return 0;
}

int record_refusal(const char* refname, const char* status, void* payload) {
  PushState& state = *static_cast<PushState*>(payload);
  if (status != nullptr && state.ref == refname) state.refused = status;
  return 0;
}

int append_to_pack(void* data, std::size_t size, void* payload) {
  auto* sink = static_cast<std::pair<git_odb_writepack*, git_indexer_progress*>*>(payload);
  return sink->first->append(sink->first, data, size, sink->second);
}

// Writes the objects of `tip` that `known` (the remote's tip, may be null) does not reach into
// the object database of `remote`.
void copy_objects(git_repository* local, git_repository* remote, const git_oid& tip,
                  const git_oid* known) {
  git_revwalk* raw_walk = nullptr;
  check(git_revwalk_new(&raw_walk, local), "walking the commits to push");
  RevwalkPtr walk(raw_walk);
  check(git_revwalk_push(walk.get(), &tip), "walking the commits to push");
  if (known) check(git_revwalk_hide(walk.get(), known), "walking the commits to push");

  git_packbuilder* raw_pack = nullptr;
  check(git_packbuilder_new(&raw_pack, local), "packing the objects to push");
  PackbuilderPtr pack(raw_pack);
  check(git_packbuilder_insert_walk(pack.get(), walk.get()), "packing the objects to push");
  if (git_packbuilder_object_count(pack.get()) == 0) return;

  git_odb* raw_odb = nullptr;
  check(git_repository_odb(&raw_odb, remote), "opening the remote's object database");
  OdbPtr odb(raw_odb);
  git_odb_writepack* raw_writer = nullptr;
  check(git_odb_write_pack(&raw_writer, odb.get(), nullptr, nullptr),
        "writing objects into the remote");
  WritepackPtr writer(raw_writer);
  git_indexer_progress progress{};
  std::pair<git_odb_writepack*, git_indexer_progress*> sink{writer.get(), &progress};
  check(git_packbuilder_foreach(pack.get(), append_to_pack, &sink),
        "writing objects into the remote");
  check(writer->commit(writer.get(), &progress), "writing objects into the remote");
}

// A push to a repository on this machine. libgit2's local transport would write the remote
// reference without comparing its old value, so two pushes at once could lose one; here the
// objects are copied first and the reference is then compared and swapped under its lock
// file, which git itself honours too.
PushResult push_to_path(git_repository* local, const std::string& path, const std::string& ref,
                        const git_oid& tip, const std::string& expected) {
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) < 0) {
    RepoPtr ignored(raw);
    return {PushOutcome::failed,
            "cannot open the remote repository '" + path + "': " + last_error_message()};
  }
  RepoPtr remote(raw);
  if (!git_repository_is_bare(remote.get()) && head_branch_ref(remote.get()) == ref) {
    return {PushOutcome::failed, "'" + path + "' is not a bare repository and has '" +
                                     short_branch(ref) +
                                     "' checked out; git refuses to update a checked-out "
                                     "branch, and so does synoverlay: push to a bare repository"};
  }

  std::optional<git_oid> known;
  if (!expected.empty()) known = parse_id(expected);
  if (known && !git_oid_equal(&*known, &tip) &&
      git_graph_descendant_of(local, &tip, &*known) != 1) {
    return {PushOutcome::rejected, "not a fast-forward of the remote branch"};
  }
  copy_objects(local, remote.get(), tip, known ? &*known : nullptr);

  git_reference* raw_ref = nullptr;
  std::string reflog = "synoverlay: push";
  int rc = known
               ? git_reference_create_matching(&raw_ref, remote.get(), ref.c_str(), &tip, 1,
                                               &*known, reflog.c_str())
               : git_reference_create(&raw_ref, remote.get(), ref.c_str(), &tip, 0, reflog.c_str());
  RefPtr updated(raw_ref);
  if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
    return {PushOutcome::rejected, "the remote branch moved since synoverlay fetched it"};
  }
  if (rc == GIT_ELOCKED || (rc < 0 && last_error_message().find(".lock") != std::string::npos)) {
    return {PushOutcome::rejected,
            "the remote branch is locked by another push: " + last_error_message()};
  }
  if (rc < 0) return {PushOutcome::failed, "updating the remote branch: " + last_error_message()};
  return {PushOutcome::pushed, {}};
}

// A push over the network (git://, ssh, https): git's receive-pack compares the branch's old
// value itself, and push_negotiation stops the push before any upload when the branch is no
// longer where synoverlay fetched it.
PushResult push_to_network(git_remote* remote, const std::string& local_ref, const std::string& ref,
                           const std::string& expected, const Credentials& credentials) {
  PushState state;
  state.credentials.given = &credentials;
  state.ref = ref;
  if (!expected.empty()) state.expected = parse_id(expected);

  git_push_options options = GIT_PUSH_OPTIONS_INIT;
  options.callbacks.credentials = offer_credential;
  options.callbacks.push_negotiation = check_remote_value;
  options.callbacks.push_update_reference = record_refusal;
  options.callbacks.payload = &state;
  std::vector<std::string> refspecs = {local_ref + ":" + ref};
  StrList specs(refspecs);
  int rc = git_remote_push(remote, specs.get(), &options);

  if (!state.moved_to.empty()) {
    return {PushOutcome::rejected, "the remote branch moved since synoverlay fetched it (to " +
                                       state.moved_to.substr(0, 12) + ")"};
  }
  if (rc == GIT_ENONFASTFORWARD) {
    return {PushOutcome::rejected, "not a fast-forward: the remote branch moved"};
  }
  if (rc < 0) return {PushOutcome::failed, last_error_message()};
  if (!state.refused.empty()) return {PushOutcome::rejected, "the remote said: " + state.refused};
  return {PushOutcome::pushed, {}};
}

}  // namespace

// New objects (blobs, trees, the commit) wait in memory until a commit is complete and then
// reach the disk in one go: a few as loose objects, many as one pack, whose two files cost
// far less to create than one file per object; nothing at all when the build changes
// nothing. The store is a backend in front of the repository's object database, so libgit2
// reads the new objects back (its tree writer does) as if they were stored already.
class PendingObjects {
 public:
  // Gives `repo`'s object database the store; the database owns it from then on.
  static PendingObjects* attach(git_repository* repo);

  void add(const git_oid& id, git_object_t type, const void* data, std::size_t size) {
    objects_.try_emplace(id, Object{type, std::string(static_cast<const char*>(data), size)});
  }
  // Writes every object into `repo`'s object folder, then forgets them.
  void store(git_repository* repo);
  void discard() { objects_.clear(); }

 private:
  struct Object {
    git_object_t type;
    std::string data;
  };
  struct OidLess {
    bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_cmp(&a, &b) < 0; }
  };
  // What libgit2 holds: its backend structure, with the way back to the store.
  struct Backend {
    git_odb_backend parent;
    PendingObjects* owner;
  };

  static PendingObjects& of(git_odb_backend* backend) {
    return *reinterpret_cast<Backend*>(backend)->owner;
  }
  static int read(void** data, std::size_t* size, git_object_t* type, git_odb_backend* backend,
                  const git_oid* id);
  static int read_header(std::size_t* size, git_object_t* type, git_odb_backend* backend,
                         const git_oid* id);
  static int write(git_odb_backend* backend, const git_oid* id, const void* data, std::size_t size,
                   git_object_t type);
  static int exists(git_odb_backend* backend, const git_oid* id);
  static void release(git_odb_backend* backend);

  // Up to this many objects are written loose, more as a pack.
  static constexpr std::size_t kLooseLimit = 32;

  std::map<git_oid, Object, OidLess> objects_;
};

PendingObjects* PendingObjects::attach(git_repository* repo) {
  git_odb* raw_odb = nullptr;
  check(git_repository_odb(&raw_odb, repo), "opening the object database");
  OdbPtr odb(raw_odb);
  auto backend = std::make_unique<Backend>();
  check(git_odb_init_backend(&backend->parent, GIT_ODB_BACKEND_VERSION),
        "preparing the object store");
  backend->parent.read = read;
  backend->parent.read_header = read_header;
  backend->parent.write = write;
  backend->parent.exists = exists;
  backend->parent.free = release;
  auto store = std::make_unique<PendingObjects>();
  backend->owner = store.get();
  // The highest priority: new objects go here, and are looked for here first.
  check(git_odb_add_backend(odb.get(), &backend->parent, 999), "preparing the object store");
  backend.release();  // the object database frees both through release()
  return store.release();
}

int PendingObjects::read(void** data, std::size_t* size, git_object_t* type,
                         git_odb_backend* backend, const git_oid* id) {
  const auto& objects = of(backend).objects_;
  auto it = objects.find(*id);
  if (it == objects.end()) return GIT_ENOTFOUND;
  void* copy = git_odb_backend_data_alloc(backend, it->second.data.size());
  if (copy == nullptr) return -1;
  std::memcpy(copy, it->second.data.data(), it->second.data.size());
  *data = copy;
  *size = it->second.data.size();
  *type = it->second.type;
  return 0;
}

int PendingObjects::read_header(std::size_t* size, git_object_t* type, git_odb_backend* backend,
                                const git_oid* id) {
  const auto& objects = of(backend).objects_;
  auto it = objects.find(*id);
  if (it == objects.end()) return GIT_ENOTFOUND;
  *size = it->second.data.size();
  *type = it->second.type;
  return 0;
}

int PendingObjects::write(git_odb_backend* backend, const git_oid* id, const void* data,
                          std::size_t size, git_object_t type) {
  of(backend).add(*id, type, data, size);
  return 0;
}

int PendingObjects::exists(git_odb_backend* backend, const git_oid* id) {
  return of(backend).objects_.contains(*id) ? 1 : 0;
}

void PendingObjects::release(git_odb_backend* backend) {
  auto* wrapper = reinterpret_cast<Backend*>(backend);
  delete wrapper->owner;
  delete wrapper;
}

void PendingObjects::store(git_repository* repo) {
  if (objects_.empty()) return;
  if (objects_.size() <= kLooseLimit) {
    // The repository's own backends alone, without this store in front of them.
    std::string objects_dir = strip_trailing_slash(git_repository_path(repo)) + "/objects";
    git_odb* raw_odb = nullptr;
    check(git_odb_open(&raw_odb, objects_dir.c_str()), "opening the object database");
    OdbPtr odb(raw_odb);
    for (const auto& [id, object] : objects_) {
      git_oid written;
      check(git_odb_write(&written, odb.get(), object.data.data(), object.data.size(), object.type),
            "writing object " + to_hex(id));
    }
  } else {
    git_packbuilder* raw_pack = nullptr;
    check(git_packbuilder_new(&raw_pack, repo), "packing the new objects");
    PackbuilderPtr pack(raw_pack);
    for (const auto& [id, object] : objects_) {
      check(git_packbuilder_insert(pack.get(), &id, nullptr), "packing the new objects");
    }
    check(git_packbuilder_write(pack.get(), nullptr, 0, nullptr, nullptr),
          "writing the pack of new objects");
  }
  objects_.clear();
}

Libgit2Warmup::Libgit2Warmup() { start_libgit2(); }

Libgit2Warmup::~Libgit2Warmup() {
  if (libgit2_ready().valid()) libgit2_ready().wait();
}

struct GitRepo::Impl {
  RepoPtr repo_;

  // The parent's tree in an in-memory index with the entries under the owned prefixes
  // replaced by `files`; `before` and `after` are the owned entries on either side.
  struct StagedTree {
    IndexPtr index;
    std::map<std::string, EntryState> before;
    std::map<std::string, git_oid> after;
  };
  StagedTree stage_tree(const std::optional<git_oid>& parent, const OwnedSet& owned,
                        const FileMap& files);

  // The files of HEAD's tree, listed on first use and kept until synoverlay moves the branch
  // itself, so that one run reads one HEAD however often it asks.
  const TreeFiles& head_files();
  // The files of `commit`: HEAD's listing when it is that commit, else a new listing, kept.
  const TreeFiles& files_of(const std::optional<git_oid>& commit);
  std::optional<TreeFiles> listing_;

  // New objects wait here until a commit is complete; owned by the object database.
  PendingObjects* new_objects_ = nullptr;

  git_oid create_commit(const git_oid& tree_id, const git_commit* parent, const Signature& author,
                        const Signature& committer, const std::string& message);
  void move_branch(const BranchTip& branch, const git_oid& new_id, const Signature& committer);
  void update_index(git_index* index, const std::vector<std::string>& prefixes,
                    const FileMap& files, const std::map<std::string, git_oid>& ids,
                    const git_oid& commit_id);
  IndexPtr open_index_for_update();
};

const TreeFiles& GitRepo::Impl::head_files() {
  if (!listing_) listing_ = list_tree_files(repo_.get(), ref_target(repo_.get(), "HEAD"));
  return *listing_;
}

const TreeFiles& GitRepo::Impl::files_of(const std::optional<git_oid>& commit) {
  bool same = listing_ && listing_->commit.has_value() == commit.has_value() &&
              (!commit || git_oid_equal(&*listing_->commit, &*commit));
  if (!same) listing_ = list_tree_files(repo_.get(), commit);
  return *listing_;
}

GitRepo::Impl::StagedTree GitRepo::Impl::stage_tree(const std::optional<git_oid>& parent,
                                                    const OwnedSet& owned, const FileMap& files) {
  StagedTree staged;
  git_index* raw_index = nullptr;
  check(git_index_new(&raw_index), "creating an in-memory index");
  staged.index = IndexPtr(raw_index);
  const TreeFiles& parent_files = files_of(parent);
  // Entries go in in path order, which the index keeps: each one is appended.
  for (const auto& [path, state] : parent_files.files) {
    if (owned.contains(path)) {
      staged.before.emplace(path, state);
      continue;
    }
    git_index_entry entry{};
    entry.path = path.c_str();
    entry.id = state.id;
    entry.mode = state.mode;
    check(git_index_add(staged.index.get(), &entry), "keeping '" + path + "' in the tree");
  }

  for (const auto& [path, content] : files) {
    git_oid id;
    check(git_odb_hash(&id, content.data(), content.size(), GIT_OBJECT_BLOB),
          "hashing '" + path + "'");
    // A blob the parent holds at this path is stored already. Other bytes go straight to
    // the new objects: asking the whole database first would cost more than a copy of an
    // object that happens to exist elsewhere, which a pack may hold without harm.
    auto known = staged.before.find(path);
    if (known == staged.before.end() || !git_oid_equal(&known->second.id, &id)) {
      new_objects_->add(id, GIT_OBJECT_BLOB, content.data(), content.size());
    }
    git_index_entry entry = blob_entry(path, id, content.size());
    check(git_index_add(staged.index.get(), &entry), "adding '" + path + "' to the tree");
    staged.after.emplace(path, id);
  }
  return staged;
}

git_oid GitRepo::Impl::create_commit(const git_oid& tree_id, const git_commit* parent,
                                     const Signature& author, const Signature& committer,
                                     const std::string& message) {
  git_tree* raw_tree = nullptr;
  check(git_tree_lookup(&raw_tree, repo_.get(), &tree_id), "reading the new tree");
  TreePtr tree(raw_tree);
  SignaturePtr author_sig = make_signature(author);
  SignaturePtr committer_sig = make_signature(committer);
  std::string text = prettified_message(message);

  // No ref is named here: the branch moves afterwards, under compare-and-swap.
  git_oid id;
  const git_commit* parents[] = {parent};
  check(git_commit_create(&id, repo_.get(), nullptr, author_sig.get(), committer_sig.get(), nullptr,
                          text.c_str(), tree.get(), parent ? 1 : 0, parents),
        "creating the commit");
  return id;
}

void GitRepo::Impl::move_branch(const BranchTip& branch, const git_oid& new_id,
                                const Signature& committer) {
  std::string reflog =
      "synoverlay: " + std::string(git_commit_summary(lookup_commit(repo_.get(), new_id).get()));
  ReflogIdentity identity(repo_.get(), committer);
  swap_branch(repo_.get(), branch, new_id, reflog);
}

IndexPtr GitRepo::Impl::open_index_for_update() {
  git_index* raw = nullptr;
  check(git_repository_index(&raw, repo_.get()), "opening the repository's index");
  IndexPtr index(raw);
  check(git_index_read(index.get(), 0), "reading the repository's index");

  // Checked before the branch moves, so a held lock leaves the repository as it was.
  std::string path = git_index_path(index.get());
  if (file_exists(path + ".lock")) throw GitError("updating the index: " + lock_problem(path));
  return index;
}

void GitRepo::Impl::update_index(git_index* index, const std::vector<std::string>& prefixes,
                                 const FileMap& files, const std::map<std::string, git_oid>& ids,
                                 const git_oid& commit_id) {
  OwnedSet owned(prefixes);
  std::vector<std::string> stale;
  for (std::size_t i = 0; i < git_index_entrycount(index); ++i) {
    const git_index_entry* entry = git_index_get_byindex(index, i);
    if (owned.contains(entry->path) && !files.contains(std::string_view(entry->path))) {
      stale.emplace_back(entry->path);
    }
  }
  for (const std::string& path : stale) {
    check(git_index_remove_bypath(index, path.c_str()), "removing '" + path + "' from the index");
  }

  for (const auto& [path, content] : files) {
    const git_oid& id = ids.at(path);
    // An entry that already matches keeps its stat data, so git need not hash the file again.
    const git_index_entry* current = git_index_get_bypath(index, path.c_str(), 0);
    if (current && current->mode == kBlobMode && git_oid_equal(&current->id, &id)) continue;
    check(git_index_remove_bypath(index, path.c_str()), "replacing '" + path + "' in the index");
    git_index_entry entry = blob_entry(path, id, content.size());
    check(git_index_add(index, &entry), "setting '" + path + "' in the index");
  }

  // The index is locked only while it is written, so a change another program makes to it
  // between the read in open_index_for_update and this write is lost.
  if (git_index_write(index) < 0) {
    std::string folders;
    for (const std::string& prefix : prefixes) folders += " " + (prefix.empty() ? "." : prefix);
    std::string after_commit = "updating the index after commit " + to_hex(commit_id) +
                               " (the commit was made; 'git reset -q --" + folders +
                               "' repairs the index)";
    std::string path = git_index_path(index);
    if (file_exists(path + ".lock")) throw GitError(after_commit + ": " + lock_problem(path));
    fail(after_commit);
  }
}

GitRepo::GitRepo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GitRepo::GitRepo(GitRepo&&) noexcept = default;
GitRepo& GitRepo::operator=(GitRepo&&) noexcept = default;
GitRepo::~GitRepo() = default;

GitRepo GitRepo::open(const std::string& path, bool search_upwards) {
  ensure_libgit2();
  git_repository* raw = nullptr;
  unsigned flags = search_upwards ? 0 : GIT_REPOSITORY_OPEN_NO_SEARCH;
  int rc = git_repository_open_ext(&raw, path.c_str(), flags, nullptr);
  RepoPtr repo(raw);
  // libgit2 1.5.1 reports a repository of another user as "config value 'safe.directory' was
  // not found" with GIT_ENOTFOUND; later releases say GIT_EOWNER.
  if (rc == GIT_EOWNER ||
      (rc == GIT_ENOTFOUND && last_error_message().find("safe.directory") != std::string::npos)) {
    throw GitRefused(owner_problem(path));
  }
  if (rc == GIT_ENOTFOUND) {
    throw GitError("not a git repository: '" + path + "'" +
                   (search_upwards ? " (nor any folder above it)" : ""));
  }
  check(rc, "opening the repository at '" + path + "'");
  if (git_repository_is_bare(repo.get())) {
    throw GitRefused("'" + strip_trailing_slash(git_repository_path(repo.get())) +
                     "' is a bare repository; synoverlay needs one with a work tree");
  }
  PendingObjects* store = PendingObjects::attach(repo.get());
  return GitRepo(std::make_unique<Impl>(Impl{std::move(repo), std::nullopt, store}));
}

GitRepo GitRepo::init(const std::string& path) {
  ensure_libgit2();
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) throw GitError("creating the folder '" + path + "': " + error.message());

  git_repository* raw = nullptr;
  check(git_repository_init(&raw, path.c_str(), 0), "creating a repository at '" + path + "'");
  RepoPtr repo(raw);
  PendingObjects* store = PendingObjects::attach(repo.get());
  return GitRepo(std::make_unique<Impl>(Impl{std::move(repo), std::nullopt, store}));
}

std::string GitRepo::workdir() const {
  return strip_trailing_slash(git_repository_workdir(impl_->repo_.get()));
}

std::string GitRepo::gitdir() const {
  return strip_trailing_slash(git_repository_path(impl_->repo_.get()));
}

std::string GitRepo::unusable_state() const {
  // An unfinished operation is checked first: rebase and bisect detach HEAD too, and the
  // operation is what the user has to deal with.
  int state = git_repository_state(impl_->repo_.get());
  for (const StateText& known : kStateTexts) {
    if (known.state == state) return known.text;
  }
  if (state != GIT_REPOSITORY_STATE_NONE) {
    return "an unfinished git operation is in progress; finish or abort it first";
  }

  int detached = check(git_repository_head_detached(impl_->repo_.get()), "reading HEAD");
  if (detached == 1) return "HEAD is detached; check out a branch first, e.g. 'git switch main'";

  // Checked here too, so a build refuses before it writes anything, not at its last step.
  std::string index = git_path(impl_->repo_.get(), "index");
  if (file_exists(index + ".lock")) return lock_problem(index);
  return {};
}

std::string GitRepo::current_branch() const {
  return short_branch(head_branch_ref(impl_->repo_.get()));
}

bool GitRepo::head_unborn() const {
  return check(git_repository_head_unborn(impl_->repo_.get()), "reading HEAD") == 1;
}

std::string GitRepo::head_id() const {
  std::optional<git_oid> id = ref_target(impl_->repo_.get(), "HEAD");
  return id ? to_hex(*id) : std::string();
}

FileMap GitRepo::read_head_tree(std::string_view prefix) const {
  git_repository* repo = impl_->repo_.get();
  FileMap files;
  for_each_under(impl_->head_files(), prefix,
                 [&](const std::string& path, const EntryState& state) {
                   files.emplace(path, read_blob(repo, state.id));
                 });
  return files;
}

IdMap GitRepo::head_blob_ids(std::string_view prefix) const {
  IdMap ids;
  for_each_under(impl_->head_files(), prefix,
                 [&](const std::string& path, const EntryState& state) {
                   ids.emplace(path, to_hex(state.id));
                 });
  return ids;
}

std::optional<std::string> GitRepo::read_head_file(std::string_view path) const {
  const TreeFiles& listing = impl_->head_files();
  auto it = listing.files.find(path);
  if (it == listing.files.end() || it->second.mode == GIT_FILEMODE_COMMIT) return std::nullopt;
  return read_blob(impl_->repo_.get(), it->second.id);
}

CommitResult GitRepo::commit_owned(const std::vector<std::string>& owned_prefixes,
                                   const FileMap& files, const Signature& author,
                                   const Signature& committer, const std::string& message) {
  if (std::string problem = unusable_state(); !problem.empty()) throw GitError(problem);
  OwnedSet owned(owned_prefixes);
  for (const auto& [path, content] : files) {
    validate_path(path);
    if (!owned.contains(path)) {
      throw GitError("cannot commit '" + path + "': it is not under any owned folder");
    }
  }

  // HEAD is read once, here; the branch moves later only if it still points at this commit.
  git_repository* repo = impl_->repo_.get();
  BranchTip branch = read_branch(repo, head_branch_ref(repo));
  CommitPtr parent = branch.commit ? lookup_commit(repo, *branch.commit) : nullptr;

  Impl::StagedTree staged = impl_->stage_tree(branch.commit, owned, files);
  CommitResult result;
  describe_changes(staged.before, staged.after, result);

  git_oid tree_id;
  check(git_index_write_tree_to(&tree_id, staged.index.get(), repo), "writing the new tree");
  bool unchanged = parent ? git_oid_equal(&tree_id, git_commit_tree_id(parent.get()))
                          : git_index_entrycount(staged.index.get()) == 0;
  if (unchanged) {
    impl_->new_objects_->discard();
    result.commit_id = branch.commit ? to_hex(*branch.commit) : std::string();
    return result;
  }

  git_oid commit_id = impl_->create_commit(tree_id, parent.get(), author, committer, message);
  impl_->new_objects_->store(repo);  // on disk before anything names the commit
  IndexPtr index = impl_->open_index_for_update();
  // Noted before the branch moves: a build killed between here and the written work tree
  // leaves HEAD ahead of the index and the files, and the next build finishes the update.
  PendingCheckout pending{branch.commit ? to_hex(*branch.commit) : std::string(), to_hex(commit_id),
                          owned_prefixes, static_cast<long>(::getpid())};
  note_pending(repo, pending);
  try {
    impl_->listing_.reset();  // HEAD is about to move; whether it did or not, list it again
    impl_->move_branch(branch, commit_id, committer);
  } catch (const GitError&) {
    clear_pending_checkout();
    throw;
  }
  impl_->update_index(index.get(), owned_prefixes, files, staged.after, commit_id);
  result.committed = true;
  result.commit_id = to_hex(commit_id);
  return result;
}

std::optional<Signature> GitRepo::configured_signature() const {
  git_config* raw = nullptr;
  check(git_repository_config_snapshot(&raw, impl_->repo_.get()),
        "reading the repository's configuration");
  ConfigPtr config(raw);

  const char* name = nullptr;
  const char* email = nullptr;
  int rc = git_config_get_string(&name, config.get(), "user.name");
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  check(rc, "reading user.name");
  rc = git_config_get_string(&email, config.get(), "user.email");
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  check(rc, "reading user.email");

  // git refuses to commit with an empty identity, so an empty value counts as unset.
  if (*name == '\0' || *email == '\0') return std::nullopt;
  Signature signature;
  signature.name = name;
  signature.email = email;
  return signature;
}

std::string GitRepo::blob_id(std::string_view content) {
  ensure_libgit2();
  git_oid id;
  check(git_odb_hash(&id, content.data(), content.size(), GIT_OBJECT_BLOB), "hashing a blob");
  return to_hex(id);
}

std::string GitRepo::remote_url(const std::string& name) const {
  RemotePtr remote = lookup_remote(impl_->repo_.get(), name);
  const char* url = git_remote_pushurl(remote.get());
  if (url == nullptr) url = git_remote_url(remote.get());
  return url ? url : "";
}

std::string GitRepo::fetch_branch(const std::string& name, const std::string& branch,
                                  const Credentials& credentials) {
  git_repository* repo = impl_->repo_.get();
  RemotePtr remote = lookup_remote(repo, name);
  const char* url = git_remote_url(remote.get());
  // libgit2 would take a relative path from the current folder; git takes it from the work
  // tree, so the remote is reached through an anonymous one at the absolute path.
  std::string local = local_remote_path(url ? url : "", workdir());
  if (!local.empty()) {
    git_remote* raw = nullptr;
    check(git_remote_create_anonymous(&raw, repo, local.c_str()),
          "reaching the remote '" + name + "' at '" + local + "'");
    remote.reset(raw);
  }

  CredentialState state;
  state.given = &credentials;
  git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
  options.callbacks.credentials = offer_credential;
  options.callbacks.payload = &state;
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  options.update_fetchhead = 0;
  std::vector<std::string> refspecs = {"+refs/heads/" + branch + ":refs/remotes/" + name + "/" +
                                       branch};
  StrList specs(refspecs);
  std::string reflog = "synoverlay: fetch " + name;
  check(git_remote_fetch(remote.get(), specs.get(), &options, reflog.c_str()),
        "fetching '" + branch + "' from '" + name + "'");

  // The advertisement, not the tracking branch, says what the remote holds: a tracking branch
  // outlives a branch deleted on the remote.
  const git_remote_head** heads = nullptr;
  std::size_t count = 0;
  check(git_remote_ls(&heads, &count, remote.get()), "listing the branches of '" + name + "'");
  std::string wanted = "refs/heads/" + branch;
  for (std::size_t i = 0; i < count; ++i) {
    if (wanted == heads[i]->name) return to_hex(heads[i]->oid);
  }
  return {};
}

MissingCommits GitRepo::commits_not_in(const std::string& base, std::size_t limit) const {
  git_repository* repo = impl_->repo_.get();
  MissingCommits missing;
  std::optional<git_oid> head = ref_target(repo, "HEAD");
  if (!head) return missing;

  git_revwalk* raw = nullptr;
  check(git_revwalk_new(&raw, repo), "walking the history");
  RevwalkPtr walk(raw);
  check(git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME),
        "walking the history");
  check(git_revwalk_push(walk.get(), &*head), "walking the history");
  if (!base.empty()) {
    git_oid hidden = parse_id(base);
    check(git_revwalk_hide(walk.get(), &hidden), "walking the history");
  }
  git_oid id;
  int rc = 0;
  while ((rc = git_revwalk_next(&id, walk.get())) == 0) {
    ++missing.total;
    if (missing.listed.size() >= limit) continue;
    CommitPtr commit = lookup_commit(repo, id);
    const char* summary = git_commit_summary(commit.get());
    missing.listed.push_back(to_hex(id).substr(0, 12) + " " + (summary ? summary : ""));
  }
  if (rc != GIT_ITEROVER) check(rc, "walking the history");
  return missing;
}

void GitRepo::move_branch_keeping_changes(const std::string& target) {
  git_repository* repo = impl_->repo_.get();
  std::string head_ref = head_branch_ref(repo);
  if (head_ref.empty()) throw GitError("HEAD is detached; check out a branch first");
  BranchTip branch = read_branch(repo, head_ref);
  git_oid target_id = parse_id(target);
  if (branch.commit && git_oid_equal(&*branch.commit, &target_id)) return;

  TreePtr from =
      branch.commit ? commit_tree(lookup_commit(repo, *branch.commit).get()) : empty_tree(repo);
  TreePtr to = commit_tree(lookup_commit(repo, target_id).get());
  std::vector<std::string> blocking =
      checkout(repo, from.get(), to.get(), {}, CheckoutMode::dry_run);
  if (!blocking.empty()) {
    std::string list;
    for (const std::string& path : blocking) list += (list.empty() ? "'" : ", '") + path + "'";
    throw GitError("moving '" + short_branch(branch.ref) + "' to " + target.substr(0, 12) +
                   " would overwrite changes nobody committed in " + list +
                   "; commit or discard them ('git stash'), then run again");
  }

  PendingCheckout pending{branch.commit ? to_hex(*branch.commit) : std::string(),
                          target,
                          {""},
                          static_cast<long>(::getpid())};
  note_pending(repo, pending);
  impl_->listing_.reset();
  swap_branch(repo, branch, target_id, "synoverlay: reset to " + target);
  checkout(repo, from.get(), to.get(), {}, CheckoutMode::safe);
  repair_index(repo, from.get(), to.get(), changed_paths(from.get(), to.get(), {""}));
  clear_pending_checkout();
}

PushResult GitRepo::push_head(const std::string& name, const std::string& branch,
                              const std::string& expected, const Credentials& credentials) {
  git_repository* repo = impl_->repo_.get();
  std::string head_ref = head_branch_ref(repo);
  if (head_ref.empty()) throw GitError("HEAD is detached; check out a branch first");
  BranchTip tip = read_branch(repo, head_ref);
  if (!tip.commit) throw GitError("the branch '" + short_branch(tip.ref) + "' has no commit yet");
  std::string ref = "refs/heads/" + branch;

  RemotePtr remote = lookup_remote(repo, name);
  const char* push_url = git_remote_pushurl(remote.get());
  if (push_url == nullptr) push_url = git_remote_url(remote.get());
  std::string local = local_remote_path(push_url ? push_url : "", workdir());
  if (local.empty()) return push_to_network(remote.get(), tip.ref, ref, expected, credentials);

  PushResult result = push_to_path(repo, local, ref, *tip.commit, expected);
  if (result.outcome == PushOutcome::pushed) {
    // git_remote_push updates the tracking branch itself; this path has to.
    std::string tracking = "refs/remotes/" + name + "/" + branch;
    git_reference* raw = nullptr;
    check(git_reference_create(&raw, repo, tracking.c_str(), &*tip.commit, 1, "synoverlay: push"),
          "updating '" + tracking + "'");
    RefPtr ignored(raw);
  }
  return result;
}

std::optional<PendingCheckout> GitRepo::pending_checkout() const {
  std::ifstream in(git_path(impl_->repo_.get(), kPendingNote));
  if (!in) return std::nullopt;
  std::string line;
  if (!std::getline(in, line) || line != "synoverlay pending checkout") return std::nullopt;
  PendingCheckout pending;
  while (std::getline(in, line)) {
    std::size_t space = line.find(' ');
    std::string key = line.substr(0, space);
    std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "pid") pending.pid = std::atol(value.c_str());
    if (key == "from") pending.from = value;
    if (key == "to") pending.to = value;
    if (key == "prefix") pending.prefixes.push_back(value);
  }
  // A note cut short is no note: it is written through a rename, so this is someone else's.
  if (pending.to.size() != GIT_OID_HEXSZ || pending.prefixes.empty()) return std::nullopt;
  return pending;
}

std::vector<std::string> GitRepo::finish_checkout(const PendingCheckout& pending) {
  git_repository* repo = impl_->repo_.get();
  std::vector<std::string> written;
  std::optional<git_oid> head = ref_target(repo, "HEAD");
  if (head && to_hex(*head) == pending.to) {
    TreePtr to = head_tree(repo);
    TreePtr from =
        pending.from.empty() ? empty_tree(repo) : tree_of_commit_if_present(repo, pending.from);
    if (from) {
      std::vector<std::string> changed = changed_paths(from.get(), to.get(), pending.prefixes);
      if (!changed.empty()) {
        written = checkout(repo, from.get(), to.get(), changed, CheckoutMode::repair);
        repair_index(repo, from.get(), to.get(), changed);
      }
    }
  }
  clear_pending_checkout();
  return written;
}

void GitRepo::refresh_index_stat(const std::vector<std::string>& paths) {
  if (paths.empty()) return;
  git_index* raw = nullptr;
  check(git_repository_index(&raw, impl_->repo_.get()), "opening the repository's index");
  IndexPtr index(raw);
  check(git_index_read(index.get(), 0), "reading the repository's index");
  std::string root = workdir() + "/";
  bool changed = false;
  for (const std::string& path : paths) {
    const git_index_entry* entry = git_index_get_bypath(index.get(), path.c_str(), 0);
    if (entry == nullptr) continue;
    std::string full = root + path;
    struct stat info {};
    if (::lstat(full.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    git_oid on_disk;
    if (git_odb_hashfile(&on_disk, full.c_str(), GIT_OBJECT_BLOB) != 0) continue;
    if (!git_oid_equal(&on_disk, &entry->id)) continue;
    // The bytes are the entry's: only the stat data changes, as git's own refresh does.
    git_index_entry refreshed = *entry;
    refreshed.path = path.c_str();
    refreshed.ctime = {static_cast<std::int32_t>(info.st_ctim.tv_sec),
                       static_cast<std::uint32_t>(info.st_ctim.tv_nsec)};
    refreshed.mtime = {static_cast<std::int32_t>(info.st_mtim.tv_sec),
                       static_cast<std::uint32_t>(info.st_mtim.tv_nsec)};
    refreshed.dev = static_cast<std::uint32_t>(info.st_dev);
    refreshed.ino = static_cast<std::uint32_t>(info.st_ino);
    refreshed.uid = static_cast<std::uint32_t>(info.st_uid);
    refreshed.gid = static_cast<std::uint32_t>(info.st_gid);
    refreshed.file_size = static_cast<std::uint32_t>(info.st_size);
    check(git_index_add(index.get(), &refreshed), "refreshing '" + path + "'");
    changed = true;
  }
  if (changed) check(git_index_write(index.get()), "writing the repository's index");
}

void GitRepo::clear_pending_checkout() {
  std::string path = git_path(impl_->repo_.get(), kPendingNote);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw GitError("removing '" + path + "': " + std::strerror(errno));
  }
}

}  // namespace synoverlay
