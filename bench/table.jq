# bench/run.sh's table: bench/results/summary.json as Markdown.

def row: "| " + (map(tostring) | join(" | ")) + " |";
def shown: if . == null then "n/a" else tostring end;

"## synoverlay benchmarks" + (if .quick then " (QUICK RUN: not figures to quote)" else "" end),
"",
"```", .machine, "```",
"",
"### Whole processes (hyperfine)",
"",
"| scenario | median ms | mean ± sd ms | min ms | runs | peak RSS KiB |",
"|---|---:|---:|---:|---:|---:|",
(.scenarios | to_entries[] | .value as $v |
  [.key, $v.median_ms, "\($v.mean_ms) ± \($v.stddev_ms)", $v.min_ms, $v.runs,
   ($v.peak_rss_kib | shown)] | row),
"",
"### Targets",
"",
"| target | measured | goal | verdict |",
"|---|---:|---:|---|",
(.targets[] | [.target, (.measured | shown), .goal, .verdict] | row),
"",
"### Growth with the number of environments (one call each)",
"",
"| environments | build ms | per environment | check ms | per environment | build peak RSS KiB |",
"|---:|---:|---:|---:|---:|---:|",
(.growth[] | [.environments, .build_ms, .build_ms_per_environment, (.check_ms | shown),
              (.check_ms_per_environment | shown), .build_peak_rss_kib] | row),
"",
"### Stages in process (Google Benchmark, ns per call)",
"",
"| benchmark | ns |",
"|---|---:|",
(.stages_ns | to_entries[] | [.key, .value] | row)
