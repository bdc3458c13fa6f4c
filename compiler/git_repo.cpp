// The libgit2 layer: RAII handles, error translation, and the owned-paths commit.

#include "git_repo.h"

#include <git2.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
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
using TreeEntryPtr = std::unique_ptr<git_tree_entry, FreeWith<git_tree_entry_free>>;
using CommitPtr = std::unique_ptr<git_commit, FreeWith<git_commit_free>>;
using BlobPtr = std::unique_ptr<git_blob, FreeWith<git_blob_free>>;
using RefPtr = std::unique_ptr<git_reference, FreeWith<git_reference_free>>;
using ConfigPtr = std::unique_ptr<git_config, FreeWith<git_config_free>>;
using SignaturePtr = std::unique_ptr<git_signature, FreeWith<git_signature_free>>;

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

void ensure_libgit2() {
  // libgit2 is initialised once and never shut down: handles may live until exit.
  static const int rc = git_libgit2_init();
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

bool owned(std::string_view path, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& prefix) { return under_prefix(path, prefix); });
}

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

// Removes every entry under `prefixes` from `index` and returns what they were.
std::map<std::string, EntryState> take_owned(git_index* index,
                                             const std::vector<std::string>& prefixes) {
  std::map<std::string, EntryState> taken;
  for (std::size_t i = 0; i < git_index_entrycount(index); ++i) {
    const git_index_entry* entry = git_index_get_byindex(index, i);
    if (owned(entry->path, prefixes)) taken[entry->path] = {entry->id, entry->mode};
  }
  for (const auto& [path, state] : taken) {
    check(git_index_remove(index, path.c_str(), 0), "dropping '" + path + "' from the tree");
  }
  return taken;
}

git_index_entry blob_entry(const std::string& path, const git_oid& id, std::size_t size) {
  git_index_entry entry{};
  entry.path = path.c_str();
  entry.id = id;
  entry.mode = kBlobMode;
  entry.file_size = static_cast<std::uint32_t>(size);
  return entry;
}

// Writes every file as a blob and adds it to `index`; returns each path's blob id.
std::map<std::string, git_oid> add_files(git_repository* repo, git_index* index,
                                         const FileMap& files) {
  std::map<std::string, git_oid> ids;
  for (const auto& [path, content] : files) {
    git_oid id;
    check(git_blob_create_from_buffer(&id, repo, content.data(), content.size()),
          "writing the blob for '" + path + "'");
    git_index_entry entry = blob_entry(path, id, content.size());
    check(git_index_add(index, &entry), "adding '" + path + "' to the tree");
    ids.emplace(path, id);
  }
  return ids;
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

}  // namespace

struct GitRepo::Impl {
  RepoPtr repo_;

  // The parent's tree in an in-memory index with the entries under the owned prefixes
  // replaced by `files`; `before` and `after` are the owned entries on either side.
  struct StagedTree {
    IndexPtr index;
    std::map<std::string, EntryState> before;
    std::map<std::string, git_oid> after;
  };
  StagedTree stage_tree(const git_commit* parent, const std::vector<std::string>& prefixes,
                        const FileMap& files);

  git_oid create_commit(const git_oid& tree_id, const git_commit* parent, const Signature& author,
                        const Signature& committer, const std::string& message);
  void move_branch(const BranchTip& branch, const git_oid& new_id, const Signature& committer);
  void update_index(git_index* index, const std::vector<std::string>& prefixes,
                    const FileMap& files, const std::map<std::string, git_oid>& ids,
                    const git_oid& commit_id);
  IndexPtr open_index_for_update();
};

GitRepo::Impl::StagedTree GitRepo::Impl::stage_tree(const git_commit* parent,
                                                    const std::vector<std::string>& prefixes,
                                                    const FileMap& files) {
  StagedTree staged;
  TreePtr tree = parent ? commit_tree(parent) : nullptr;
  staged.index = index_of_tree(tree.get());
  staged.before = take_owned(staged.index.get(), prefixes);
  staged.after = add_files(repo_.get(), staged.index.get(), files);
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
  const char* name = branch.ref.c_str();
  git_reference* raw = nullptr;
  int rc = branch.commit
               ? git_reference_create_matching(&raw, repo_.get(), name, &new_id, 1, &*branch.commit,
                                               reflog.c_str())
               : git_reference_create(&raw, repo_.get(), name, &new_id, 0, reflog.c_str());
  RefPtr ref(raw);
  if (rc == GIT_EMODIFIED || (!branch.commit && rc == GIT_EEXISTS)) {
    throw GitError("the branch '" + short_branch(branch.ref) +
                   "' moved while synoverlay was committing; run the build again");
  }
  check(rc, "moving the branch '" + short_branch(branch.ref) + "' to " + to_hex(new_id));
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
  std::vector<std::string> stale;
  for (std::size_t i = 0; i < git_index_entrycount(index); ++i) {
    const git_index_entry* entry = git_index_get_byindex(index, i);
    if (owned(entry->path, prefixes) && !files.contains(std::string_view(entry->path))) {
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

GitRepo GitRepo::open(const std::string& path) {
  ensure_libgit2();
  git_repository* raw = nullptr;
  int rc = git_repository_open_ext(&raw, path.c_str(), 0, nullptr);
  RepoPtr repo(raw);
  if (rc == GIT_ENOTFOUND) {
    throw GitError("not a git repository: '" + path + "' (nor any folder above it)");
  }
  check(rc, "opening the repository at '" + path + "'");
  if (git_repository_is_bare(repo.get())) {
    throw GitError("'" + strip_trailing_slash(git_repository_path(repo.get())) +
                   "' is a bare repository; synoverlay needs one with a work tree");
  }
  return GitRepo(std::make_unique<Impl>(Impl{std::move(repo)}));
}

GitRepo GitRepo::init(const std::string& path) {
  ensure_libgit2();
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) throw GitError("creating the folder '" + path + "': " + error.message());

  git_repository* raw = nullptr;
  check(git_repository_init(&raw, path.c_str(), 0), "creating a repository at '" + path + "'");
  return GitRepo(std::make_unique<Impl>(Impl{RepoPtr(raw)}));
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
  TreePtr tree = head_tree(repo);
  FileMap files;
  if (!tree) return files;

  IndexPtr index = index_of_tree(tree.get());
  for (std::size_t i = 0; i < git_index_entrycount(index.get()); ++i) {
    const git_index_entry* entry = git_index_get_byindex(index.get(), i);
    // Submodules (gitlinks) name a commit in another repository, not a blob here.
    if (entry->mode == GIT_FILEMODE_COMMIT || !under_prefix(entry->path, prefix)) continue;
    files.emplace(entry->path, read_blob(repo, entry->id));
  }
  return files;
}

std::optional<std::string> GitRepo::read_head_file(std::string_view path) const {
  git_repository* repo = impl_->repo_.get();
  TreePtr tree = head_tree(repo);
  if (!tree) return std::nullopt;

  git_tree_entry* raw = nullptr;
  std::string wanted(path);
  int rc = git_tree_entry_bypath(&raw, tree.get(), wanted.c_str());
  TreeEntryPtr entry(raw);
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  check(rc, "looking up '" + wanted + "' in HEAD");
  if (git_tree_entry_type(entry.get()) != GIT_OBJECT_BLOB) return std::nullopt;
  return read_blob(repo, *git_tree_entry_id(entry.get()));
}

CommitResult GitRepo::commit_owned(const std::vector<std::string>& owned_prefixes,
                                   const FileMap& files, const Signature& author,
                                   const Signature& committer, const std::string& message) {
  if (std::string problem = unusable_state(); !problem.empty()) throw GitError(problem);
  for (const auto& [path, content] : files) {
    validate_path(path);
    if (!owned(path, owned_prefixes)) {
      throw GitError("cannot commit '" + path + "': it is not under any owned folder");
    }
  }

  // HEAD is read once, here; the branch moves later only if it still points at this commit.
  git_repository* repo = impl_->repo_.get();
  BranchTip branch = read_branch(repo, head_branch_ref(repo));
  CommitPtr parent = branch.commit ? lookup_commit(repo, *branch.commit) : nullptr;

  Impl::StagedTree staged = impl_->stage_tree(parent.get(), owned_prefixes, files);
  CommitResult result;
  describe_changes(staged.before, staged.after, result);

  git_oid tree_id;
  check(git_index_write_tree_to(&tree_id, staged.index.get(), repo), "writing the new tree");
  bool unchanged = parent ? git_oid_equal(&tree_id, git_commit_tree_id(parent.get()))
                          : git_index_entrycount(staged.index.get()) == 0;
  if (unchanged) {
    result.commit_id = branch.commit ? to_hex(*branch.commit) : std::string();
    return result;
  }

  git_oid commit_id = impl_->create_commit(tree_id, parent.get(), author, committer, message);
  IndexPtr index = impl_->open_index_for_update();
  impl_->move_branch(branch, commit_id, committer);
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

}  // namespace synoverlay
