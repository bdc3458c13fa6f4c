// Fetch, check, build, push, and the retry loop of `build --push`.

#include "push.h"

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

namespace synoverlay {
namespace {

constexpr std::size_t kListedCommits = 10;

std::string short_id(const std::string& id) { return id.substr(0, 12); }

std::string trim_line_end(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

void replace_all(std::string& text, const std::string& secret) {
  if (secret.empty()) return;
  for (std::size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
}

// Everything one push run needs to say things and reach the remote.
class PushRun {
 public:
  PushRun(GitRepo& repo, const PushSettings& settings, Streams streams)
      : repo_(repo),
        settings_(settings),
        streams_(streams),
        credentials_(credentials_from_environment(std::getenv)) {}

  int run(const std::function<int()>& build);

 private:
  int error(const std::string& text, const std::string& hint = {}) {
    streams_.err << "synoverlay: error: " << redact(text, credentials_) << "\n";
    if (!hint.empty()) streams_.err << "  hint: " << redact(hint, credentials_) << "\n";
    return kExitSystem;
  }
  void say(const std::string& text) {
    if (settings_.verbose) streams_.err << "synoverlay: " << redact(text, credentials_) << "\n";
  }
  // Fetches the branch; false (after saying why) when the remote cannot be reached.
  bool fetch();
  int refuse_local_commits(const MissingCommits& ahead);
  // Moves the branch to the remote's tip; false (after saying why) when that would
  // overwrite changes of the user's.
  bool follow_remote();
  std::string unpushed_hint(const std::string& head) const;

  GitRepo& repo_;
  const PushSettings& settings_;
  Streams streams_;
  Credentials credentials_;
  std::string branch_;
  std::string url_;
  std::string tracking_;  // "origin/main", for messages
  std::string tip_;       // the remote branch's commit when last fetched; empty: none
};

bool PushRun::fetch() {
  say("fetching '" + branch_ + "' from '" + settings_.remote + "' (" + url_ + ")");
  try {
    tip_ = repo_.fetch_branch(settings_.remote, branch_, credentials_);
    return true;
  } catch (const GitError& failure) {
    error("cannot fetch '" + branch_ + "' from '" + settings_.remote + "' (" + url_ +
              "): " + failure.what(),
          "check the remote's URL ('git remote -v') and the credentials (SYNOVERLAY_SSH_KEY, "
          "the SSH agent, or SYNOVERLAY_GIT_TOKEN)");
    return false;
  }
}

int PushRun::refuse_local_commits(const MissingCommits& ahead) {
  std::string count = std::to_string(ahead.total) + (ahead.total == 1 ? " commit" : " commits");
  if (tip_.empty()) {
    streams_.err << "synoverlay: error: the remote '" << settings_.remote << "' has no branch '"
                 << branch_ << "' yet, and the local branch holds " << count << ":\n";
  } else {
    streams_.err << "synoverlay: error: the branch '" << branch_ << "' holds " << count << " that "
                 << tracking_ << " does not have:\n";
  }
  for (const std::string& line : ahead.listed) streams_.err << "  " << line << "\n";
  if (ahead.total > ahead.listed.size()) {
    streams_.err << "  ... and " << ahead.total - ahead.listed.size() << " more\n";
  }
  streams_.err << "  synoverlay pushes only the commit it makes; it never pushes other work "
                  "along, and never drops it.\n";
  if (tip_.empty()) {
    streams_.err << "  hint: push the branch first ('git push -u " << settings_.remote << " "
                 << branch_ << "'), then run the build again\n";
  } else {
    streams_.err << "  hint: push them first ('git push " << settings_.remote << " " << branch_
                 << "'), or drop them ('git reset --keep " << tracking_
                 << "'), then run the build again\n";
  }
  return kExitSystem;
}

bool PushRun::follow_remote() {
  say("moving '" + branch_ + "' to " + tracking_ + " (" + short_id(tip_) + ")");
  try {
    repo_.move_branch_keeping_changes(tip_);
    return true;
  } catch (const GitError& failure) {
    error(std::string("cannot bring '") + branch_ + "' up to " + tracking_ + ": " + failure.what());
    return false;
  }
}

std::string PushRun::unpushed_hint(const std::string& head) const {
  return "the commit " + short_id(head) + " stays on the local branch '" + branch_ +
         "'; 'git push " + settings_.remote + " " + branch_ +
         "' sends it once the remote takes "
         "it, or 'git reset --keep " +
         tracking_ + "' drops it and the next build makes it again";
}

int PushRun::run(const std::function<int()>& build) {
  if (std::string state = repo_.unusable_state(); !state.empty()) {
    return error("cannot build in " + repo_.workdir() + ": " + state);
  }
  branch_ = repo_.current_branch();
  tracking_ = settings_.remote + "/" + branch_;
  try {
    url_ = repo_.remote_url(settings_.remote);
  } catch (const GitError& failure) {
    return error(failure.what());
  }
  if (!fetch()) return kExitSystem;

  MissingCommits ahead = repo_.commits_not_in(tip_, kListedCommits);
  if (ahead.total != 0) return refuse_local_commits(ahead);
  if (!tip_.empty() && repo_.head_id() != tip_ && !follow_remote()) return kExitSystem;

  std::mt19937 random(std::random_device{}());
  bool rebuild = true;
  std::string last_reason;
  for (int attempt = 1;; ++attempt) {
    if (rebuild) {
      if (int code = build(); code != kExitOk) return code;
      rebuild = false;
    }
    std::string head = repo_.head_id();
    if (head == tip_) {
      streams_.out << tracking_ << " already holds this build (" << short_id(head)
                   << "); nothing to push\n";
      return kExitOk;
    }

    say("pushing " + short_id(head) + " to " + tracking_ + " (try " + std::to_string(attempt) +
        " of " + std::to_string(settings_.tries) + ")");
    PushResult result = repo_.push_head(settings_.remote, branch_, tip_, credentials_);
    if (result.outcome == PushOutcome::pushed) {
      streams_.out << "pushed " << short_id(head) << " to " << tracking_ << " ("
                   << redact(url_, credentials_) << ")"
                   << (attempt > 1 ? " on try " + std::to_string(attempt) : std::string()) << "\n";
      return kExitOk;
    }
    if (result.outcome == PushOutcome::failed) {
      return error("pushing to '" + settings_.remote + "' (" + url_ + ") failed: " + result.reason,
                   unpushed_hint(head));
    }

    last_reason = result.reason;
    if (attempt >= settings_.tries) {
      return error("gave up pushing to " + tracking_ + " after " + std::to_string(attempt) +
                       (attempt == 1 ? " try" : " tries") +
                       "; the last was rejected: " + last_reason,
                   unpushed_hint(head) + "; more tries: --push-retries N");
    }
    std::chrono::milliseconds pause = backoff_delay(attempt + 1, settings_, random);
    streams_.err << "synoverlay: the push to " << tracking_ << " was rejected ("
                 << redact(last_reason, credentials_) << "); trying again in " << pause.count()
                 << " ms (try " << attempt + 1 << " of " << settings_.tries << ")\n";
    std::this_thread::sleep_for(pause);

    std::string previous = tip_;
    if (!fetch()) return kExitSystem;
    if (tip_ == previous) continue;  // the branch did not move: the same commit is pushed again
    // Never a merge: the overlays are built again from the environment files on the new tip.
    streams_.err << "synoverlay: " << tracking_ << " moved to " << short_id(tip_)
                 << "; building again on top of it\n";
    if (!follow_remote()) return kExitSystem;
    rebuild = true;
  }
}

}  // namespace

Credentials credentials_from_environment(const std::function<const char*(const char*)>& lookup) {
  auto get = [&](const char* name) {
    const char* value = lookup(name);
    // A secret pasted from a file often ends with a newline that is no part of it.
    return value ? trim_line_end(value) : std::string();
  };
  Credentials credentials;
  credentials.ssh_key = get("SYNOVERLAY_SSH_KEY");
  credentials.ssh_passphrase = get("SYNOVERLAY_SSH_KEY_PASSPHRASE");
  credentials.token = get("SYNOVERLAY_GIT_TOKEN");
  if (std::string user = get("SYNOVERLAY_GIT_USER"); !user.empty()) credentials.user = user;
  return credentials;
}

std::string redact(std::string text, const Credentials& credentials) {
  replace_all(text, credentials.token);
  replace_all(text, credentials.ssh_passphrase);
  // scheme://user:password@host: the password goes, the user name stays.
  for (std::size_t scheme = text.find("://"); scheme != std::string::npos;
       scheme = text.find("://", scheme + 3)) {
    std::size_t start = scheme + 3;
    std::size_t end = text.find_first_of("/ \t\n'\")", start);
    std::size_t at = text.rfind('@', end == std::string::npos ? std::string::npos : end - 1);
    if (at == std::string::npos || at < start) continue;
    std::size_t colon = text.find(':', start);
    if (colon == std::string::npos || colon > at) continue;
    text.replace(colon + 1, at - colon - 1, "***");
  }
  return text;
}

std::chrono::milliseconds backoff_delay(int attempt, const PushSettings& settings,
                                        std::mt19937& random) {
  double delay = static_cast<double>(settings.first_delay.count());
  for (int i = 2; i < attempt && delay < settings.max_delay.count(); ++i) delay *= 2;
  delay = std::min(delay, static_cast<double>(settings.max_delay.count()));
  double factor = std::uniform_real_distribution<double>(0.0, 1.0)(random);
  return std::chrono::milliseconds(static_cast<long long>(delay * factor));
}

int build_and_push(GitRepo& repo, const PushSettings& settings, const std::function<int()>& build,
                   Streams streams) {
  PushRun run(repo, settings, streams);
  try {
    return run.run(build);
  } catch (const GitError& failure) {
    // Said here rather than by the caller, so a URL with a password in it is redacted.
    Credentials credentials = credentials_from_environment(std::getenv);
    streams.err << "synoverlay: error: " << redact(failure.what(), credentials) << "\n";
    return kExitSystem;
  }
}

}  // namespace synoverlay
