#include "output_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <utility>

namespace synoverlay {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw OutputError(what + " '" + path + "': " + std::strerror(errno));
}

// Walks paths below `root` refusing symbolic links on the way (synoverlay never writes
// through one). Folders found to be real are remembered, so that many files in one folder
// cost one look at it.
class PathGuard {
 public:
  explicit PathGuard(fs::path root) : root_(std::move(root)) {}

  // Checks the folders leading to `relative` and, with `file`, that a file can be put at
  // `relative`: no file stands where a folder goes, no folder where the file goes. What does
  // not exist yet is fine: the build makes it.
  void check(const std::string& relative, bool file) {
    std::string seen;
    std::size_t begin = 0;
    while (begin < relative.size()) {
      std::size_t slash = relative.find('/', begin);
      bool last = slash == std::string::npos || slash + 1 == relative.size();
      seen.append(relative, begin, slash == std::string::npos ? std::string::npos : slash - begin);
      begin = slash == std::string::npos ? relative.size() : slash + 1;
      if (!last && real_folders_.contains(seen)) {
        seen += '/';
        continue;
      }
      struct stat info {};
      if (::lstat((root_ / seen).c_str(), &info) != 0) return;
      if (S_ISLNK(info.st_mode)) {
        throw OutputError("refusing to use '" + seen +
                          "': it is a symbolic link, and synoverlay writes only real folders "
                          "inside the repository");
      }
      if (S_ISDIR(info.st_mode)) {
        real_folders_.insert(seen);
        if (last && file) {
          throw OutputError("cannot write '" + relative +
                            "': a folder of that name is in the way; move it away, nothing "
                            "was written or committed");
        }
      } else if (!last && file) {
        throw OutputError("cannot write '" + relative + "': '" + seen +
                          "' is a file, not a folder; move it away, nothing was written or "
                          "committed");
      } else if (!last) {
        return;  // a file where a folder would be: there is nothing below it to read
      }
      seen += '/';
    }
  }

 private:
  fs::path root_;
  std::set<std::string, std::less<>> real_folders_;  // relative, without a trailing '/'
};

std::string read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read", path.string());
  std::string text;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0)
    text.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      errno = error;
      fail("cannot read", path.string());
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// Writes `content` to the temporary file `temp`; flush() or flush_all() puts it on the disk.
// Returns false with errno set on failure (`temp` is then removed).
bool write_temporary(const std::string& temp, const std::string& content) {
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<std::size_t>(n);
  }
  bool ok = done == content.size();
  int error = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(temp.c_str());
    errno = error;
  }
  return ok;
}

// Above this many files one file system flush is cheaper than a flush per file.
constexpr std::size_t kFilesPerFlush = 16;

// Opens `path` read-only and calls `sync` (fsync, syncfs) on it; false with errno set on
// failure.
bool sync_through(const char* path, int flags, int (*sync)(int)) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return false;
  bool ok = sync(fd) == 0;
  int error = errno;
  ::close(fd);
  errno = error;
  return ok;
}

// Waits until the bytes of every file of the file system holding `root` are on the disk.
bool flush_all(const fs::path& root) { return sync_through(root.c_str(), O_DIRECTORY, ::syncfs); }

// Waits until the bytes of `temp` are on the disk.
bool flush(const std::string& temp) { return sync_through(temp.c_str(), 0, ::fsync); }

// Removes empty folders from `dir` up to (not including) `stop`.
void prune_empty(fs::path dir, const fs::path& stop) {
  std::error_code ec;
  while (dir != stop && dir.string().size() > stop.string().size() && fs::is_empty(dir, ec) &&
         !ec) {
    fs::remove(dir, ec);
    dir = dir.parent_path();
  }
}

// Adds every regular file below the folder `relative` (ending in '/') to `files`.
void read_folder(const fs::path& root, const std::string& relative, FileMap& files) {
  fs::path dir = root / relative;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return;
    fail("cannot list", dir.string());
  }
  std::unique_ptr<DIR, int (*)(DIR*)> owner(handle, ::closedir);
  std::vector<std::pair<std::string, bool>> entries;  // name, is a folder
  errno = 0;
  while (const dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    unsigned char type = entry->d_type;
    if (type == DT_UNKNOWN) {
      struct stat info {};
      if (::lstat((dir / name).c_str(), &info) != 0) fail("cannot read", (dir / name).string());
      type = S_ISLNK(info.st_mode)   ? DT_LNK
             : S_ISDIR(info.st_mode) ? DT_DIR
             : S_ISREG(info.st_mode) ? DT_REG
                                     : DT_UNKNOWN;
    }
    if (type == DT_LNK) {
      throw OutputError("refusing to use '" + relative + name +
                        "': it is a symbolic link inside a folder synoverlay owns");
    }
    if (type == DT_DIR || type == DT_REG) entries.emplace_back(std::move(name), type == DT_DIR);
  }
  if (errno != 0) fail("cannot list", dir.string());
  for (const auto& [name, folder] : entries) {
    if (folder) {
      read_folder(root, relative + name + "/", files);
    } else if (!name.ends_with(".synoverlay-tmp")) {
      files[relative + name] = read_file(dir / name);
    }
  }
}

}  // namespace

FileMap read_owned_files(const std::string& root, const std::vector<std::string>& prefixes) {
  FileMap files;
  fs::path base(root);
  PathGuard guard(base);
  for (const std::string& prefix : prefixes) {
    guard.check(prefix, false);
    read_folder(base, prefix.empty() || prefix.back() == '/' ? prefix : prefix + "/", files);
  }
  return files;
}

void check_writable(const std::string& root, const FileMap& files) {
  PathGuard guard{fs::path(root)};
  for (const auto& [path, content] : files) guard.check(path, true);
}

WriteSummary write_owned_files(const std::string& root, const std::vector<std::string>& prefixes,
                               const FileMap& files, const FileMap& current) {
  WriteSummary summary;
  fs::path base(root);
  PathGuard guard(base);
  // Every new file is written beside its place and flushed before the first one replaces
  // anything: a failure leaves the work tree as it was, a crash leaves each file old or new.
  std::vector<std::pair<std::string, fs::path>> staged;  // temporary file, destination
  auto discard = [&] {
    for (const auto& [temp, path] : staged) ::unlink(temp.c_str());
  };
  for (const auto& [path, content] : files) {
    auto it = current.find(path);
    if (it != current.end() && it->second == content) continue;
    guard.check(path.substr(0, path.rfind('/') + 1), false);  // its folders
    fs::path full = base / path;
    std::error_code ec;
    fs::create_directories(full.parent_path(), ec);
    if (ec) {
      discard();
      throw OutputError("cannot create folder '" + full.parent_path().string() +
                        "': " + ec.message());
    }
    std::string temp = full.string() + ".synoverlay-tmp";
    if (!write_temporary(temp, content)) {
      int error = errno;
      discard();
      errno = error;
      fail("cannot write", temp);
    }
    staged.emplace_back(std::move(temp), std::move(full));
    summary.written.push_back(path);
  }
  // Many files wait for one flush of the file system, a few for one flush each.
  bool flushed = staged.size() > kFilesPerFlush && flush_all(base);
  for (std::size_t i = 0; !flushed && i < staged.size(); ++i) {
    if (!flush(staged[i].first)) {
      int error = errno;
      discard();
      errno = error;
      fail("cannot write", staged[i].first);
    }
  }
  for (const auto& [temp, path] : staged) {
    if (::rename(temp.c_str(), path.c_str()) != 0) fail("cannot rename onto", path.string());
  }
  for (const auto& [path, content] : current) {
    if (files.contains(path)) continue;
    fs::path full = base / path;
    if (::unlink(full.c_str()) != 0 && errno != ENOENT) fail("cannot remove", full.string());
    summary.removed.push_back(path);
    prune_empty(full.parent_path(), base);
  }
  // Temporary files of a build that was killed half-way.
  std::vector<fs::path> leftovers;
  for (const std::string& prefix : prefixes) {
    std::error_code ec;
    fs::path dir = base / prefix;
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->path().string().ends_with(".synoverlay-tmp")) leftovers.push_back(it->path());
    }
  }
  for (const fs::path& path : leftovers) {
    std::error_code ec;
    fs::remove(path, ec);
  }
  return summary;
}

}  // namespace synoverlay
