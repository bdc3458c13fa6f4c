// The clone's build lock and the repair after a killed build.
//
// The lock file is written under a temporary name, locked with flock and then hard-linked to
// its real name, so it never exists without its full text and without a kernel lock on it.
// The kernel drops the flock when the process dies however it dies, which makes a lock whose
// flock can be taken a lock nobody holds; the pid recorded in it only names the process in
// messages and confirms the verdict.

#include "repo_lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

namespace synoverlay {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kLockName = "synoverlay.lock";
constexpr const char* kHeader = "synoverlay lock";
constexpr std::size_t kMaxCommand = 300;

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot.
unsigned long long start_ticks_of(long pid) {
  std::string stat = read_whole("/proc/" + std::to_string(pid) + "/stat");
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int index = 3; index <= 22 && fields >> field; ++index) {
    if (index == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

std::string this_command() {
  std::string raw = read_whole("/proc/self/cmdline");
  std::string command;
  for (char c : raw) command += (c == '\0' || c == '\n' || c == '\r') ? ' ' : c;
  while (!command.empty() && command.back() == ' ') command.pop_back();
  if (command.empty()) command = "synoverlay";
  if (command.size() > kMaxCommand) command = command.substr(0, kMaxCommand - 3) + "...";
  return command;
}

// True while the process `pid` runs and is the one that started at `start_ticks` (a pid
// can be given to a new process once the old one is gone).
bool process_alive(long pid, unsigned long long start_ticks) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  unsigned long long now = start_ticks_of(pid);
  return start_ticks == 0 || now == 0 || now == start_ticks;
}

std::string utc_time(long long seconds) {
  std::time_t time = static_cast<std::time_t>(seconds);
  std::tm parts{};
  if (::gmtime_r(&time, &parts) == nullptr) return std::to_string(seconds);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
  return text;
}

bool same_file(int fd, const std::string& path) {
  struct stat open_file {
  }, named{};
  return ::fstat(fd, &open_file) == 0 && ::stat(path.c_str(), &named) == 0 &&
         open_file.st_dev == named.st_dev && open_file.st_ino == named.st_ino;
}

bool write_all(int fd, const std::string& text) {
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// "synoverlay.lock.<pid>.tmp": a lock being created. One whose process is gone was cut short.
std::string temporary_name(long pid) {
  return std::string(kLockName) + "." + std::to_string(pid) + ".tmp";
}

void remove_dead_temporaries(const std::string& gitdir) {
  std::error_code ec;
  std::string prefix = std::string(kLockName) + ".";
  for (const fs::directory_entry& entry : fs::directory_iterator(gitdir, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(".tmp")) continue;
    long pid = std::atol(name.substr(prefix.size()).c_str());
    if (pid > 0 && !process_alive(pid, 0)) fs::remove(entry.path(), ec);
  }
}

// What looking at an existing lock file found.
enum class Verdict { gone, stale_removed, held };

struct Inspection {
  Verdict verdict = Verdict::held;
  std::optional<LockHolder> holder;
};

// Looks at the lock file at `path`; removes it when nobody holds it and its process on this
// host is gone.
Inspection inspect(const std::string& path, const std::string& host) {
  Inspection seen;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    seen.verdict = errno == ENOENT ? Verdict::gone : Verdict::held;
    return seen;
  }
  seen.holder = parse_lock_holder(read_whole(path));
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    bool here = !seen.holder || seen.holder->host == host;
    bool alive = seen.holder && process_alive(seen.holder->pid, seen.holder->start_ticks);
    // Holding the flock, nobody else can remove this file; it is removed only if the name
    // still points at it.
    if (here && !alive && same_file(fd, path) && ::unlink(path.c_str()) == 0) {
      seen.verdict = Verdict::stale_removed;
    }
  }
  ::close(fd);
  return seen;
}

// A pause of about 100 ms, varied so that waiting builds do not retry in step.
std::chrono::milliseconds poll_interval() {
  static std::mt19937 random(std::random_device{}());
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(60, 140)(random));
}

// True when some process on this host has `path` open. Processes of other users are not
// visible to an ordinary user, so this can miss one of theirs.
bool open_by_any_process(const std::string& path) {
  struct stat target {};
  if (::stat(path.c_str(), &target) != 0) return false;
  std::error_code ec;
  for (const fs::directory_entry& process : fs::directory_iterator("/proc", ec)) {
    std::string name = process.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::error_code fd_ec;
    for (const fs::directory_entry& fd : fs::directory_iterator(process.path() / "fd", fd_ec)) {
      struct stat info {};
      if (::stat(fd.path().c_str(), &info) == 0 && info.st_dev == target.st_dev &&
          info.st_ino == target.st_ino) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::string format_lock_holder(const LockHolder& holder) {
  return std::string(kHeader) + "\npid " + std::to_string(holder.pid) + "\nhost " + holder.host +
         "\nsince " + std::to_string(holder.since) + "\nstart " +
         std::to_string(holder.start_ticks) + "\ncommand " + holder.command + "\n";
}

std::optional<LockHolder> parse_lock_holder(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) return std::nullopt;
  LockHolder holder;
  while (std::getline(in, line)) {
    std::size_t space = line.find(' ');
    std::string key = line.substr(0, space);
    std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "pid") holder.pid = std::atol(value.c_str());
    if (key == "host") holder.host = value;
    if (key == "since") holder.since = std::atoll(value.c_str());
    if (key == "start") holder.start_ticks = std::strtoull(value.c_str(), nullptr, 10);
    if (key == "command") holder.command = value;
  }
  if (holder.pid <= 0) return std::nullopt;
  return holder;
}

std::string describe_lock_holder(const LockHolder& holder) {
  return "pid " + std::to_string(holder.pid) + " on host '" + holder.host + "' ('" +
         holder.command + "', since " + utc_time(holder.since) + ")";
}

RepoLock::RepoLock(std::string path, int fd, std::optional<LockHolder> stale)
    : path_(std::move(path)), fd_(fd), stale_(std::move(stale)) {}

RepoLock::RepoLock(RepoLock&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), stale_(std::move(other.stale_)) {
  other.fd_ = -1;
}

RepoLock& RepoLock::operator=(RepoLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    stale_ = std::move(other.stale_);
    other.fd_ = -1;
  }
  return *this;
}

RepoLock::~RepoLock() { release(); }

void RepoLock::release() noexcept {
  if (fd_ < 0) return;
  // Removed before the flock goes, and only while the name is still this lock's file.
  if (same_file(fd_, path_)) ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

RepoLock RepoLock::acquire(const std::string& gitdir, std::chrono::milliseconds timeout,
                           std::ostream& notes) {
  std::string path = gitdir + "/" + kLockName;
  LockHolder me{static_cast<long>(::getpid()), this_host(), this_command(),
                static_cast<long long>(std::time(nullptr)), start_ticks_of(::getpid())};
  std::string temp = gitdir + "/" + temporary_name(me.pid);
  Clock::time_point deadline = Clock::now() + timeout;
  std::optional<LockHolder> stale;
  bool told = false;
  remove_dead_temporaries(gitdir);

  for (;;) {
    me.since = static_cast<long long>(std::time(nullptr));
    int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ready =
        fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0 && write_all(fd, format_lock_holder(me));
    if (ready && ::link(temp.c_str(), path.c_str()) == 0) {
      ::unlink(temp.c_str());
      return RepoLock(path, fd, stale);
    }
    int error = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    if (!ready || error != EEXIST) {
      throw LockError("cannot create the lock file '" + path + "': " + std::strerror(error),
                      std::nullopt);
    }

    Inspection seen = inspect(path, me.host);
    if (seen.verdict == Verdict::gone) continue;
    if (seen.verdict == Verdict::stale_removed) {
      stale = seen.holder.value_or(LockHolder{});
      notes << "synoverlay: removed the stale lock '" << path << "': "
            << (seen.holder
                    ? "synoverlay " + describe_lock_holder(*seen.holder) + " is no longer running"
                    : std::string("it names no process and none holds it"))
            << "\n";
      continue;
    }

    std::string holder = seen.holder ? describe_lock_holder(*seen.holder) : "another process";
    Clock::time_point now = Clock::now();
    if (now >= deadline) {
      throw LockError("another build holds the lock '" + path + "': " + holder, seen.holder);
    }
    if (!told) {
      notes << "synoverlay: waiting for the build of " << holder << ", which holds '" << path
            << "'\n";
      told = true;
    }
    std::chrono::milliseconds left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    std::this_thread::sleep_for(std::min(poll_interval(), left + std::chrono::milliseconds(1)));
  }
}

std::vector<std::string> remove_abandoned_git_locks(const std::string& gitdir, long long since) {
  std::vector<std::string> candidates;
  for (const char* name : {"index.lock", "HEAD.lock", "packed-refs.lock"}) {
    candidates.push_back(gitdir + "/" + name);
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(gitdir + "/refs", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".lock") candidates.push_back(it->path().string());
  }
  // libgit2's temporary object files and packs being written, which git never removes.
  for (const auto& [folder, prefix] :
       {std::pair{"/objects", "tmp_object_git2_"}, std::pair{"/objects/pack", "pack_git2_"}}) {
    for (auto it = fs::directory_iterator(gitdir + folder, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (it->path().filename().string().starts_with(prefix)) {
        candidates.push_back(it->path().string());
      }
    }
  }

  std::vector<std::string> removed;
  for (const std::string& path : candidates) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    if (static_cast<long long>(info.st_mtim.tv_sec) < since) continue;
    if (open_by_any_process(path)) continue;
    if (::unlink(path.c_str()) == 0) removed.push_back(path);
  }
  return removed;
}

std::size_t remove_abandoned_temporaries(const std::string& workdir, long long since) {
  std::size_t removed = 0;
  for (const char* top : {"base", "overlays", "clusters"}) {
    std::error_code ec;
    // Symbolic links are not followed: synoverlay never writes through one.
    for (auto it = fs::recursive_directory_iterator(workdir + "/" + top, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::string path = it->path().string();
      struct stat info {};
      if (!path.ends_with(".synoverlay-tmp") || ::lstat(path.c_str(), &info) != 0 ||
          !S_ISREG(info.st_mode) || static_cast<long long>(info.st_mtim.tv_sec) < since) {
        continue;
      }
      if (::unlink(path.c_str()) == 0) ++removed;
    }
  }
  return removed;
}

void repair_interrupted_build(GitRepo& repo, const RepoLock& lock, std::ostream& notes) {
  if (const std::optional<LockHolder>& stale = lock.removed_stale()) {
    for (const std::string& path : remove_abandoned_git_locks(repo.gitdir(), stale->since)) {
      notes << "synoverlay: removed '" << path << "', left behind by the interrupted build\n";
    }
    // Removed here, before anything can refuse the build, so that no 'git add -A' picks
    // them up meanwhile.
    if (std::size_t count = remove_abandoned_temporaries(repo.workdir(), stale->since)) {
      notes << "synoverlay: removed " << count << " temporary file" << (count == 1 ? "" : "s")
            << " the interrupted build left in the work tree\n";
    }
  }

  std::optional<PendingCheckout> pending = repo.pending_checkout();
  // In a state the build refuses anyway, the note waits until the user has dealt with it.
  if (!pending || !repo.unusable_state().empty()) return;
  std::string head = repo.head_id();
  std::vector<std::string> written = repo.finish_checkout(*pending);
  std::string who = "an earlier build (pid " + std::to_string(pending->pid) + ")";
  if (head == pending->to) {
    notes << "synoverlay: " << who << " was interrupted after it moved the branch to "
          << pending->to.substr(0, 12) << "; ";
    if (written.empty()) {
      notes << "the work tree already matched it\n";
    } else {
      notes << "brought " << written.size() << " file" << (written.size() == 1 ? "" : "s")
            << " of the work tree up to it\n";
    }
  } else if (head == pending->from) {
    notes << "synoverlay: " << who << " was interrupted before it moved the branch; the "
          << "repository is as it was before that build\n";
  }
}

}  // namespace synoverlay
