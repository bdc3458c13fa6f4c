#include "output_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

namespace synoverlay {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw OutputError(what + " '" + path + "': " + std::strerror(errno));
}

// Refuses paths whose folders below `root` include a symbolic link. Folders found to be real
// are remembered, so that many files in one folder cost one look at it.
class SymlinkGuard {
 public:
  explicit SymlinkGuard(fs::path root) : root_(std::move(root)) {}

  void check(const std::string& relative) {
    fs::path current = root_;
    fs::path rel(relative);
    std::string seen;
    for (auto it = rel.begin(); it != rel.end(); ++it) {
      current /= *it;
      seen += it->string();
      seen += '/';
      if (real_folders_.contains(seen)) continue;
      struct stat info {};
      if (::lstat(current.c_str(), &info) != 0) return;  // the rest does not exist yet
      if (S_ISLNK(info.st_mode)) {
        throw OutputError("refusing to use '" + current.lexically_relative(root_).string() +
                          "': it is a symbolic link, and synoverlay writes only real folders "
                          "inside the repository");
      }
      if (S_ISDIR(info.st_mode)) real_folders_.insert(seen);
    }
  }

 private:
  fs::path root_;
  std::set<std::string> real_folders_;  // relative, each ending in '/'
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

// Writes `content` to the temporary file `temp` and starts writing it out to the disk without
// waiting; flush() waits. Returns false with errno set on failure (`temp` is then removed).
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
  // Starting the write-out of every file before waiting for any lets the disk take them in
  // one go; each fsync() afterwards then finds little left to do.
  if (ok) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  int error = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(temp.c_str());
    errno = error;
  }
  return ok;
}

// Waits until the bytes of `temp` are on the disk.
bool flush(const std::string& temp) {
  int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  int error = errno;
  ::close(fd);
  errno = error;
  return ok;
}

// Removes empty folders from `dir` up to (not including) `stop`.
void prune_empty(fs::path dir, const fs::path& stop) {
  std::error_code ec;
  while (dir != stop && dir.string().size() > stop.string().size() && fs::is_empty(dir, ec) &&
         !ec) {
    fs::remove(dir, ec);
    dir = dir.parent_path();
  }
}

}  // namespace

FileMap read_owned_files(const std::string& root, const std::vector<std::string>& prefixes) {
  FileMap files;
  fs::path base(root);
  SymlinkGuard guard(base);
  for (const std::string& prefix : prefixes) {
    guard.check(prefix);
    fs::path dir = base / prefix;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_symlink()) {
        throw OutputError("refusing to use '" + it->path().lexically_relative(base).string() +
                          "': it is a symbolic link inside a folder synoverlay owns");
      }
      if (!it->is_regular_file()) continue;
      std::string relative = it->path().lexically_relative(base).generic_string();
      if (relative.ends_with(".synoverlay-tmp")) continue;
      files[relative] = read_file(it->path());
    }
    if (ec) throw OutputError("cannot list '" + dir.string() + "': " + ec.message());
  }
  return files;
}

void check_writable(const std::string& root, const FileMap& files) {
  fs::path base(root);
  SymlinkGuard guard(base);
  for (const auto& [path, content] : files) {
    guard.check(path);
    fs::path current = base;
    fs::path rel(path);
    for (auto it = rel.begin(); it != rel.end(); ++it) {
      current /= *it;
      bool last = std::next(it) == rel.end();
      std::error_code ec;
      fs::file_status status = fs::symlink_status(current, ec);
      if (ec || !fs::exists(status)) break;  // the rest is made by the build
      if (last && fs::is_directory(status)) {
        throw OutputError("cannot write '" + path + "': a folder of that name is in the way; " +
                          "move it away, nothing was written or committed");
      }
      if (!last && !fs::is_directory(status)) {
        throw OutputError("cannot write '" + path + "': '" +
                          current.lexically_relative(base).generic_string() +
                          "' is a file, not a folder; move it away, nothing was written or "
                          "committed");
      }
    }
  }
}

WriteSummary write_owned_files(const std::string& root, const std::vector<std::string>& prefixes,
                               const FileMap& files, const FileMap& current) {
  WriteSummary summary;
  fs::path base(root);
  SymlinkGuard guard(base);
  // Every new file is written beside its place and flushed before the first one replaces
  // anything: a failure leaves the work tree as it was, a crash leaves each file old or new.
  std::vector<std::pair<std::string, fs::path>> staged;  // temporary file, destination
  auto discard = [&] {
    for (const auto& [temp, path] : staged) ::unlink(temp.c_str());
  };
  for (const auto& [path, content] : files) {
    guard.check(path);
    auto it = current.find(path);
    if (it != current.end() && it->second == content) continue;
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
  for (const auto& [temp, path] : staged) {
    if (!flush(temp)) {
      int error = errno;
      discard();
      errno = error;
      fail("cannot write", temp);
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
