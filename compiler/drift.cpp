#include "drift.h"

#include <algorithm>
#include <set>
#include <utility>

#include "guards.h"
#include "overlay.h"

namespace synoverlay {
namespace {

// ---- the line diff ---------------------------------------------------------------------

// Beyond this many differences in one part of a file the search stops and the part is
// shown as removed and added as a whole: two large unrelated files would otherwise take
// time quadratic in their length.
constexpr long kMaxSearch = 4096;

// The lines of `text`, each with its '\n' when it has one, so that a last line without a
// line break differs from the same line with one.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t newline = text.find('\n', start);
    std::size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

// Myers' shortest edit script in linear space: each call finds where a forward and a
// backward search of the edit graph meet, then solves both halves. Marks the lines of `a`
// that are removed and the lines of `b` that are added.
class LineDiff {
 public:
  LineDiff(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b)
      : a_(a), b_(b), removed_(a.size(), false), added_(b.size(), false) {
    compare(0, static_cast<long>(a.size()), 0, static_cast<long>(b.size()));
  }

  const std::vector<bool>& removed() const { return removed_; }
  const std::vector<bool>& added() const { return added_; }

 private:
  void compare(long a0, long a1, long b0, long b1) {
    while (a0 < a1 && b0 < b1 && a_[a0] == b_[b0]) ++a0, ++b0;
    while (a0 < a1 && b0 < b1 && a_[a1 - 1] == b_[b1 - 1]) --a1, --b1;
    if (a0 == a1) {
      for (long j = b0; j < b1; ++j) added_[j] = true;
      return;
    }
    if (b0 == b1) {
      for (long i = a0; i < a1; ++i) removed_[i] = true;
      return;
    }
    bisect(a0, a1, b0, b1);
  }

  // The two searches advance one edit at a time; as soon as a forward path reaches or
  // passes a backward path on the same diagonal, that point lies on a shortest script.
  void bisect(long a0, long a1, long b0, long b1) {
    const long n = a1 - a0, m = b1 - b0;
    const long max_d = (n + m + 1) / 2;
    const long offset = max_d;
    const long length = 2 * max_d + 2;
    std::vector<long> forward(length, -1), backward(length, -1);
    forward[offset + 1] = 0;
    backward[offset + 1] = 0;
    const long delta = n - m;
    // With an odd delta the paths meet during a forward step, with an even one backward.
    const bool meet_forward = delta % 2 != 0;
    long k1_start = 0, k1_end = 0, k2_start = 0, k2_end = 0;
    for (long d = 0; d < std::min(max_d, kMaxSearch); ++d) {
      for (long k1 = -d + k1_start; k1 <= d - k1_end; k1 += 2) {
        long i1 = offset + k1;
        long x1 = (k1 == -d || (k1 != d && forward[i1 - 1] < forward[i1 + 1]))
                      ? forward[i1 + 1]
                      : forward[i1 - 1] + 1;
        long y1 = x1 - k1;
        while (x1 < n && y1 < m && a_[a0 + x1] == b_[b0 + y1]) ++x1, ++y1;
        forward[i1] = x1;
        if (x1 > n) {
          k1_end += 2;  // ran off the right of the graph
        } else if (y1 > m) {
          k1_start += 2;  // ran off the bottom
        } else if (meet_forward) {
          long i2 = offset + delta - k1;
          if (i2 >= 0 && i2 < length && backward[i2] != -1 && x1 >= n - backward[i2]) {
            return split(a0, a1, b0, b1, x1, y1);
          }
        }
      }
      for (long k2 = -d + k2_start; k2 <= d - k2_end; k2 += 2) {
        long i2 = offset + k2;
        long x2 = (k2 == -d || (k2 != d && backward[i2 - 1] < backward[i2 + 1]))
                      ? backward[i2 + 1]
                      : backward[i2 - 1] + 1;
        long y2 = x2 - k2;
        while (x2 < n && y2 < m && a_[a0 + n - x2 - 1] == b_[b0 + m - y2 - 1]) ++x2, ++y2;
        backward[i2] = x2;
        if (x2 > n) {
          k2_end += 2;
        } else if (y2 > m) {
          k2_start += 2;
        } else if (!meet_forward) {
          long i1 = offset + delta - k2;
          if (i1 >= 0 && i1 < length && forward[i1] != -1) {
            long x1 = forward[i1];
            long y1 = offset + x1 - i1;
            if (x1 >= n - x2) return split(a0, a1, b0, b1, x1, y1);
          }
        }
      }
    }
    // Reached when nothing is common, or the search gave up: every line goes.
    for (long i = a0; i < a1; ++i) removed_[i] = true;
    for (long j = b0; j < b1; ++j) added_[j] = true;
  }

  void split(long a0, long a1, long b0, long b1, long x, long y) {
    compare(a0, a0 + x, b0, b0 + y);
    compare(a0 + x, a1, b0 + y, b1);
  }

  const std::vector<std::string_view>& a_;
  const std::vector<std::string_view>& b_;
  std::vector<bool> removed_, added_;
};

struct Op {
  char kind;      // ' ', '-' or '+'
  long old_line;  // index into the old lines (next one, for '+')
  long new_line;  // index into the new lines (next one, for '-')
};

std::vector<Op> edit_script(const std::vector<std::string_view>& a,
                            const std::vector<std::string_view>& b) {
  LineDiff diff(a, b);
  std::vector<Op> ops;
  long i = 0, j = 0;
  const long n = static_cast<long>(a.size()), m = static_cast<long>(b.size());
  while (i < n || j < m) {
    if (i < n && diff.removed()[i]) {
      ops.push_back({'-', i++, j});
    } else if (j < m && diff.added()[j]) {
      ops.push_back({'+', i, j++});
    } else {
      ops.push_back({' ', i++, j++});
    }
  }
  return ops;
}

// A hunk header's range as diff writes it: "start,count", the count left out when it is 1,
// and the line before the hunk as start when the count is 0.
std::string hunk_range(long first, long count) {
  if (count == 0) return std::to_string(first) + ",0";
  if (count == 1) return std::to_string(first + 1);
  return std::to_string(first + 1) + "," + std::to_string(count);
}

void append_line(std::string& out, char kind, std::string_view line) {
  out += kind;
  out += line;
  if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

void append_hunk(std::string& out, const std::vector<Op>& ops, std::size_t begin, std::size_t end,
                 const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  long old_count = 0, new_count = 0;
  for (std::size_t k = begin; k < end; ++k) {
    if (ops[k].kind != '+') ++old_count;
    if (ops[k].kind != '-') ++new_count;
  }
  out += "@@ -" + hunk_range(ops[begin].old_line, old_count) + " +" +
         hunk_range(ops[begin].new_line, new_count) + " @@\n";
  for (std::size_t k = begin; k < end; ++k) {
    const Op& op = ops[k];
    append_line(out, op.kind, op.kind == '+' ? b[op.new_line] : a[op.old_line]);
  }
}

// ---- what differs ----------------------------------------------------------------------

// Every path of either map whose content differs or that one of them lacks.
std::vector<std::string> differing_paths(const FileMap& committed, const FileMap& expected) {
  std::set<std::string> paths;
  for (const auto& [path, content] : committed) {
    auto it = expected.find(path);
    if (it == expected.end() || it->second != content) paths.insert(path);
  }
  for (const auto& [path, content] : expected) {
    if (!committed.contains(path)) paths.insert(path);
  }
  return {paths.begin(), paths.end()};
}

std::optional<std::string> lookup(const FileMap& files, const std::string& path) {
  auto it = files.find(path);
  if (it == files.end()) return std::nullopt;
  return it->second;
}

// The committed files of environment `name`: its overlay and its clusters/ folder.
FileMap head_environment(const GitRepo& repo, const std::string& name) {
  FileMap files = repo.read_head_tree("overlays/" + name + "/");
  files.merge(repo.read_head_tree("clusters/" + name + "/"));
  return files;
}

// The same files' blob ids, which is all a comparison needs until something differs.
IdMap head_environment_ids(const GitRepo& repo, const std::string& name) {
  IdMap ids = repo.head_blob_ids("overlays/" + name + "/");
  ids.merge(repo.head_blob_ids("clusters/" + name + "/"));
  return ids;
}

// True when `committed` holds exactly the files of `expected`, by blob id.
bool same_ids(const IdMap& committed, const FileMap& expected) {
  if (committed.size() != expected.size()) return false;
  auto it = committed.begin();
  for (const auto& [path, content] : expected) {
    if (it->first != path || it->second != GitRepo::blob_id(content)) return false;
    ++it;
  }
  return true;
}

// Why the files of `env` differ: its record at HEAD names another environment (or there is
// none), or it names this one and the files were edited.
DriftReason environment_reason(const FileMap& committed, const ResolvedEnvironment& env) {
  std::string path = record_path(env.name);
  std::optional<std::string> text = lookup(committed, path);
  if (!text) return DriftReason::environment_changed;
  std::optional<ResolvedEnvironment> before = read_record(path, *text);
  // Both sides are written by this synoverlay, so an older one's layout of the record
  // does not count as a change; the environment file's name does.
  if (!before || render_record(*before) != render_record(env)) {
    return DriftReason::environment_changed;
  }
  return DriftReason::hand_edit;
}

void add_base_drift(const GitRepo& repo, DriftReport& report) {
  FileMap expected = render_base();
  if (same_ids(repo.head_blob_ids("base/"), expected)) return;
  FileMap committed = repo.read_head_tree("base/");
  std::vector<std::string> paths = differing_paths(committed, expected);
  if (paths.empty()) return;
  std::vector<std::string> edits = base_hand_edits(committed);
  std::set<std::string> edited(edits.begin(), edits.end());
  std::string version = base_record_version(committed);
  for (const std::string& path : paths) {
    DriftedFile file{path,
                     lookup(committed, path),
                     lookup(expected, path),
                     DriftReason::base_other_version,
                     "",
                     version};
    if (file.committed && edited.contains(path)) file.reason = DriftReason::base_hand_edit;
    report.files.push_back(std::move(file));
  }
}

// The environments with folders at HEAD, each with its overlays/<x> folder, or its
// clusters/<x> folder when that is all there is.
std::map<std::string, std::string> head_environment_folders(const GitRepo& repo) {
  std::map<std::string, std::string> folders;
  for (std::string_view top : {"overlays/", "clusters/"}) {
    for (const auto& [path, id] : repo.head_blob_ids(top)) {
      std::string_view rest = std::string_view(path).substr(top.size());
      std::size_t slash = rest.find('/');
      if (slash == std::string_view::npos) continue;
      std::string name(rest.substr(0, slash));
      folders.emplace(name, std::string(top) + name);
    }
  }
  return folders;
}

std::string where_it_differs(const DriftedFile& file) {
  if (!file.committed) return file.path + " is not at HEAD";
  if (!file.expected) return file.path + " is at HEAD but no longer generated";
  return file.path + " differs from HEAD";
}

}  // namespace

std::string unified_diff(std::string_view before, std::string_view after,
                         const std::string& before_name, const std::string& after_name,
                         int context) {
  if (before == after) return {};
  std::vector<std::string_view> a = split_lines(before);
  std::vector<std::string_view> b = split_lines(after);
  std::vector<Op> ops = edit_script(a, b);
  const std::size_t reach = context < 0 ? 0 : static_cast<std::size_t>(context);

  std::string out = "--- " + before_name + "\n+++ " + after_name + "\n";
  std::size_t k = 0;
  while (k < ops.size()) {
    while (k < ops.size() && ops[k].kind == ' ') ++k;
    if (k == ops.size()) break;
    std::size_t begin = k > reach ? k - reach : 0;
    // A hunk goes on while the next change is at most two contexts away.
    std::size_t last_change = k;
    std::size_t scan = k + 1;
    while (scan < ops.size()) {
      if (ops[scan].kind != ' ') {
        last_change = scan;
      } else if (scan - last_change > 2 * reach) {
        break;
      }
      ++scan;
    }
    std::size_t end = std::min(ops.size(), last_change + 1 + reach);
    append_hunk(out, ops, begin, end, a, b);
    k = end;
  }
  return out;
}

std::vector<std::string> base_hand_edits_by_id(const IdMap& head_base, std::string_view record) {
  std::map<std::string, std::string, std::less<>> recorded;
  for (std::string_view line : split_lines(record)) {
    // Entries read '"aha/service.yaml" = "<40 hex digits>"'; paths never hold '"'.
    if (line.empty() || line[0] != '"') continue;
    std::size_t close = line.find('"', 1);
    if (close == std::string_view::npos) continue;
    std::size_t value = line.find('"', close + 1);
    if (value == std::string_view::npos) continue;
    recorded["base/" + std::string(line.substr(1, close - 1))] =
        std::string(line.substr(value + 1, 40));
  }
  std::vector<std::string> edited;
  for (const auto& [path, id] : head_base) {
    if (path == kBaseRecordFile) continue;
    auto it = recorded.find(path);
    if (it == recorded.end() || it->second != id) edited.push_back(path);
  }
  return edited;
}

std::vector<std::string> base_hand_edits(const FileMap& head_base) {
  IdMap ids;
  for (const auto& [path, content] : head_base) ids.emplace(path, GitRepo::blob_id(content));
  return base_hand_edits_by_id(ids, lookup(head_base, std::string(kBaseRecordFile)).value_or(""));
}

std::string record_version(std::string_view record) {
  for (std::string_view line : split_lines(record)) {
    constexpr std::string_view kKey = "synoverlay = \"";
    if (!line.starts_with(kKey)) continue;
    std::string_view rest = line.substr(kKey.size());
    return std::string(rest.substr(0, rest.find('"')));
  }
  return {};
}

std::string base_record_version(const FileMap& head_base) {
  return record_version(lookup(head_base, std::string(kBaseRecordFile)).value_or(""));
}

DriftReport find_drift(const GitRepo& repo, const std::vector<ResolvedEnvironment>& environments) {
  DriftReport report;
  add_base_drift(repo, report);

  std::set<std::string> produced;
  for (const ResolvedEnvironment& env : environments) {
    produced.insert(env.name);
    FileMap expected = render_environment(env);
    if (same_ids(head_environment_ids(repo, env.name), expected)) continue;
    FileMap committed = head_environment(repo, env.name);
    std::vector<std::string> paths = differing_paths(committed, expected);
    if (paths.empty()) continue;
    DriftReason reason = environment_reason(committed, env);
    for (const std::string& path : paths) {
      report.files.push_back(
          {path, lookup(committed, path), lookup(expected, path), reason, env.name, ""});
    }
  }
  std::sort(report.files.begin(), report.files.end(),
            [](const DriftedFile& x, const DriftedFile& y) { return x.path < y.path; });

  for (const auto& [name, folder] : head_environment_folders(repo)) {
    if (!produced.contains(name)) report.orphans.push_back(folder);
  }
  return report;
}

void report_drift(const DriftReport& report, const std::map<std::string, std::string>& file_of,
                  const std::string& base_file, DiagnosticSink& sink) {
  const SourceSpan first_line{{1, 0}, {}};
  for (const std::string& folder : report.orphans) {
    std::string name = folder.substr(folder.find('/') + 1);
    sink.warning({}, {}, "overlay-orphaned",
                 folder +
                     " has no environment file in this run; remove it with "
                     "'synoverlay remove " +
                     name + "'",
                 "this is only meaningful when every environment file of the repository is "
                 "given to synoverlay check");
  }
  for (const DriftedFile& file : report.files) {
    auto owner = file_of.find(file.environment);
    const std::string& env_file = owner == file_of.end() ? base_file : owner->second;
    std::string where = where_it_differs(file);
    switch (file.reason) {
      case DriftReason::environment_changed:
        sink.error(env_file, first_line, "drift-environment",
                   where + ": environment file changed without a build",
                   "run 'synoverlay build " + env_file + "' and commit its result with the change");
        break;
      case DriftReason::hand_edit:
        sink.error(env_file, first_line, "drift-hand-edit",
                   where + ": hand edit (the committed record matches " + env_file +
                       ", the file does not)",
                   "move the change into " + env_file +
                       " and build, or restore the file with "
                       "'synoverlay build --force " +
                       env_file + "'");
        break;
      case DriftReason::base_hand_edit:
        sink.error(base_file, first_line, "drift-base",
                   where +
                       ": base/ differs from this synoverlay's: hand edit (the file is not "
                       "the one base/synoverlay-record.toml lists)",
                   "synoverlay owns base/: move the change into an environment file, or "
                   "restore base/ with 'synoverlay build --force'");
        break;
      case DriftReason::base_other_version: {
        std::string by = "written by synoverlay " + file.detail;
        if (file.detail.empty()) by = file.committed ? "base/ has no record" : "never built";
        sink.error(base_file, first_line, "drift-base",
                   where + ": base/ differs from this synoverlay's (" SYNOVERLAY_VERSION "): " + by,
                   "run 'synoverlay build' with this synoverlay, or check with the one that "
                   "wrote base/");
        break;
      }
    }
  }
}

}  // namespace synoverlay
