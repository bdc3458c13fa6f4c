# bench/run.sh's summary: reads nothing from stdin (run with jq -n) and takes
#   $head    [{machine, quick, sizes}]            from run.sh
#   $s       [{scenario: {median_ms, ...}}]       one entry per hyperfine scenario
#   $stages  [Google Benchmark JSON]
# and writes the summary object: scenarios, the targets with their verdicts, the growth
# with the number of environments, and the in-process stages.

$head[0] as $h | $s[0] as $s |

def med($k): $s[$k].median_ms;
def round2: . * 100 | round / 100;
def round3: . * 1000 | round / 1000;
def verdict(ok): if ok == null then "not measured" elif ok then "met" else "MISSED" end;
def target($what; $value; $goal; $ok):
  {target: $what, measured: $value, goal: $goal, verdict: verdict($ok)};
# The ratio of two scenarios' medians, or null when either was not measured.
def ratio($a; $b): if $s[$a] and $s[$b] then med($a) / med($b) | round2 else null end;
def at_most($k; $limit): if $s[$k] then med($k) <= $limit else null end;

{
  machine: $h.machine,
  quick: $h.quick,
  scenarios: $s,
  stages_ns: ([$stages[0].benchmarks[] | {(.name): (.real_time | round)}] | add),
  targets: [
    target("one environment build + commit, median ms"; med("one_build"); "<= 15";
           at_most("one_build"; 15)),
    target("shell pipeline with kubectl kustomize / synoverlay, ratio of medians";
           ratio("shell_kustomize"; "one_build"); ">= 20";
           (ratio("shell_kustomize"; "one_build") | if . == null then null else . >= 20 end)),
    target("shell pipeline without kustomize / synoverlay, ratio of medians";
           ratio("shell_plain"; "one_build"); ">= 1";
           (ratio("shell_plain"; "one_build") | if . == null then null else . >= 1 end)),
    target("fleet of 1,000: build + commit, median ms"; $s["fleet_build_1000"].median_ms;
           "<= 2000"; at_most("fleet_build_1000"; 2000)),
    target("fleet of 1,000: check, median ms"; $s["fleet_check_1000"].median_ms; "<= 1000";
           at_most("fleet_check_1000"; 1000)),
    target("one environment build + commit, peak memory KiB"; $s["one_build"].peak_rss_kib;
           "<= 32768"; ($s["one_build"].peak_rss_kib <= 32768))
  ],
  growth: [
    $h.sizes[] as $n | ($n | tonumber) as $count | select($s["fleet_build_" + $n]) |
    $s["fleet_build_" + $n] as $build | $s["fleet_check_" + $n] as $check |
    {
      environments: $count,
      build_ms: $build.median_ms,
      build_ms_per_environment: ($build.median_ms / $count | round3),
      check_ms: $check.median_ms,
      check_ms_per_environment: (if $check then $check.median_ms / $count | round3 else null end),
      build_peak_rss_kib: $build.peak_rss_kib
    }
  ]
}
