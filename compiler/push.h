#pragma once
// `build --push`: build on top of what the remote holds, push, and when another pipeline
// pushed first, rebuild on top of its commit and push again. Nothing is ever forced, and
// commits the remote does not have are never pushed along unasked.

#include <chrono>
#include <functional>
#include <random>
#include <string>

#include "commands.h"
#include "git_repo.h"

namespace synoverlay {

struct PushSettings {
  std::string remote = "origin";
  int tries = 5;                                // pushes in all before giving up
  std::chrono::milliseconds first_delay{2000};  // longest pause before the second try
  std::chrono::milliseconds max_delay{16000};   // longest pause before any try
  bool verbose = false;                         // say what is being done, on stderr
};

// Credentials from the environment: SYNOVERLAY_SSH_KEY (a private key file; unset: the SSH
// agent), SYNOVERLAY_SSH_KEY_PASSPHRASE, SYNOVERLAY_GIT_TOKEN (HTTPS) and SYNOVERLAY_GIT_USER
// (default "x-access-token"), read through `lookup` (std::getenv in the tool).
Credentials credentials_from_environment(const std::function<const char*(const char*)>& lookup);

// `text` with the token, the passphrase and any password written into a URL replaced by
// '***', for messages.
std::string redact(std::string text, const Credentials& credentials);

// The pause before try `attempt` (2 for the first retry): `first_delay`, doubled for every
// further try and at most `max_delay`, times a random factor in [0, 1) drawn from `random`,
// so pipelines that collided spread out instead of colliding again in step.
std::chrono::milliseconds backoff_delay(int attempt, const PushSettings& settings,
                                        std::mt19937& random);

// The whole of `build --push` after the lock is taken. Fetches the current branch from the
// remote and refuses (exit 3, listing them) when the local branch holds commits the remote
// lacks; brings the branch up to the remote's tip; runs `build`, which commits on the
// current branch and returns an exit code; pushes. When the push is rejected because the
// remote moved on, the branch is reset to the remote's new tip and `build` runs again on top
// of it, for at most `settings.tries` pushes. Returns the exit code: 0 when the remote holds
// the build (also when it already did), 3 when the push gave up or failed.
int build_and_push(GitRepo& repo, const PushSettings& settings, const std::function<int()>& build,
                   Streams streams);

}  // namespace synoverlay
