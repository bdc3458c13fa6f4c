#include "output_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace synoverlay {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw OutputError(what + " '" + path + "': " + std::strerror(errno));
}

// Refuses a path whose folders below `root` include a symbolic link.
void check_no_symlink(const fs::path& root, const std::string& relative) {
  fs::path current = root;
  fs::path rel(relative);
  for (auto it = rel.begin(); it != rel.end(); ++it) {
    current /= *it;
    struct stat info {};
    if (::lstat(current.c_str(), &info) != 0) return;  // the rest does not exist yet
    if (S_ISLNK(info.st_mode)) {
      throw OutputError("refusing to use '" + current.lexically_relative(root).string() +
                        "': it is a symbolic link, and synoverlay writes only real folders "
                        "inside the repository");
    }
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_atomically(const fs::path& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    throw OutputError("cannot create folder '" + path.parent_path().string() +
                      "': " + ec.message());
  std::string temp = path.string() + ".synoverlay-tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create", temp);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      ::unlink(temp.c_str());
      fail("cannot write", temp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail("cannot write", temp);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("cannot rename onto", path.string());
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
  for (const std::string& prefix : prefixes) {
    check_no_symlink(base, prefix);
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
  for (const auto& [path, content] : files) {
    check_no_symlink(base, path);
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
                               const FileMap& files) {
  WriteSummary summary;
  fs::path base(root);
  FileMap current = read_owned_files(root, prefixes);
  for (const auto& [path, content] : files) {
    check_no_symlink(base, path);
    auto it = current.find(path);
    if (it != current.end() && it->second == content) continue;
    write_atomically(base / path, content);
    summary.written.push_back(path);
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
