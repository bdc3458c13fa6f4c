#pragma once
// What the fuzz targets share: a failed invariant prints what broke and aborts, which
// libFuzzer reports as a crash and saves the input for.

#include <cstdio>
#include <cstdlib>
#include <string>

namespace synoverlay::fuzz {

[[noreturn]] inline void invariant_failed(const char* target, const std::string& what) {
  std::fprintf(stderr, "%s: invariant broken: %s\n", target, what.c_str());
  std::abort();
}

}  // namespace synoverlay::fuzz

// Checks an invariant of the code under test; on failure names the target and the check.
#define FUZZ_REQUIRE(target, condition, what)                            \
  do {                                                                   \
    if (!(condition)) ::synoverlay::fuzz::invariant_failed(target, what); \
  } while (false)
