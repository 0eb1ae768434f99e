#!/usr/bin/env bash
# The publish benchmark of issue 10, by the method of ../shared/PEERS.md: `portico publish
# /content/dam/bench --wait --json` of BENCH_FILES (10,000) files of about 200 KB in nested folders,
# end to end (author -> portal over the publish protocol, every blob hashed on the portal and made
# durable before the commit that names it), vs `cp -r` of the same files to a folder on the same
# disk, for 1, 2, 4 and 8 agents;
# then the same folder republished unchanged (target < 5 s, blobs_sent 0). See bench/README.md.
# Raw output and the summary: bench/out/<stamp>-publish/.
#
#   bench/publish.sh
#
# Settings (environment): BENCH_FILES (10000), BENCH_AGENTS ("1 2 4 8"), BENCH_QUIET_WAIT (600),
# BENCH_NICE (-20), BENCH_PORTICO_BIN / BENCH_PORTICO_LABEL, BENCH_PERF (0; 1: perf profiles of
# the author and the portal over the first 8 s of the first publish, perf-publish-{author,portal}.txt).
#
# How the agent count is set: `portico serve author` reads the config key `agents` (a --config
# file's {"agents": N}, or PORTICO_AGENTS=N); the cloud service creates that many agents when it is
# made, so every agent count gets a fresh author (a copy of one uploaded once) and a fresh portal.
# `portico up` has no way to set it (always 4).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
name=publish
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
FILES=${BENCH_FILES:-10000}
PERF=${BENCH_PERF:-0}
read -r -a AGENTS <<<"${BENCH_AGENTS:-1 2 4 8}"
bench_init

# ---------------------------------------------------------------------------------------------
# 1. Tools, the Release build, the machine.
build_portico
record_machine
if can_drop_caches; then
  cache=cold
  echo "page_cache=dropped before every timed run (sync; echo 3 > /proc/sys/vm/drop_caches)" >>"$out/machine.txt"
else
  cache=warm
  echo "page_cache=cannot drop (not root): files stay cached for every run, both peers" >>"$out/machine.txt"
fi

# ---------------------------------------------------------------------------------------------
# 2. The corpus (gen_files.mjs: fixed seed, 100-300 KB each, d00..d09/e00..e09/), made once.
corpus="$here/out/data/publish-$FILES"
if [[ ! -f $corpus.json ]]; then
  log "making $FILES files under $corpus"
  rm -rf "$corpus"
  node "$here/gen_files.mjs" "$corpus" "$FILES" >"$corpus.json.tmp"
  mv "$corpus.json.tmp" "$corpus.json"
fi
corpus_bytes=$(jq .bytes "$corpus.json")
need_kb=$((corpus_bytes / 1024 * 4 + 1048576))  # the author's blobs, one portal's, cp's copy, slack
avail_kb=$(df -k --output=avail "$here/out" | tail -1)
((avail_kb > need_kb)) || die "bench/out has $((avail_kb / 1024)) MiB free, needs $((need_kb / 1024)) MiB (try BENCH_FILES)"
echo "corpus=$corpus ($FILES files, $corpus_bytes bytes)" >>"$out/machine.txt"
log "corpus: $FILES files, $((corpus_bytes / 1048576)) MiB"

# ---------------------------------------------------------------------------------------------
# 3. Portico: `portico up` once (org, admin, tenant), then the identity service alone on the same
# port. The corpus is uploaded once to an author that is not connected yet (timed and reported,
# not part of the publish figure); its data folder is the template of every agent count's author.
# The servers run at nice -20 and unpinned: a publish is a pipeline of three processes (CLI,
# author, portal) and cp -r is unpinned too.
pdata="$out/portico"
bootstrap_portico "$pdata"
all_cpus=0-$(($(nproc) - 1))
start_service ims "$all_cpus" --data "$pdata/ims" --port "$ims_port"
ims_pid=$svc_pid
cli=("$bin" --data "$pdata")  # portico.json there names the ims, author and portal URLs and the admin

template="$out/author-template"
start_service author "$all_cpus" --data "$template" --port "$author_port" --ims "$ims_url" --org "$org"
author_pid=$svc_pid
wait_quiet
log "upload: portico author upload $corpus --to /content/dam/bench"
t0=$(date +%s.%N)
"${cli[@]}" --json author upload "$corpus" --to /content/dam/bench >"$out/upload.json" 2>"$out/upload.err" ||
  die "upload failed: $(tail -3 "$out/upload.err")"
t1=$(date +%s.%N)
upload_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
log "upload: $upload_s s ($(awk -v n="$corpus_bytes" -v s="$upload_s" 'BEGIN {printf "%.1f", n / s / 1048576}') MiB/s, $(awk -v n="$FILES" -v s="$upload_s" 'BEGIN {printf "%.0f", n / s}') files/s)"
stop_pid "$author_pid"
publish_root=/content/dam/bench/$(basename "$corpus")

# results.tsv: one line per measured run.
printf 'what\tagents\tseconds\tbytes_per_s\tblobs_sent\tbytes_sent\titems\n' >"$out/runs.tsv"
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$out/runs.tsv"; }
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
clk_tck=$(getconf CLK_TCK)
rate() { awk -v n="$corpus_bytes" -v s="$1" 'BEGIN {printf "%.0f", n / s}'; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}'; }

# cp_run AGENTS: `cp -r` of the corpus to a fresh folder on the same disk, cold cache, timed to its
# exit (and with `sync` after it, recorded beside: the portal fsyncs every blob it stores).
cp_run() {
  local dst="$out/cp-dest" t s s_sync
  rm -rf "$dst"; drop_or_sync
  t=$(date +%s.%N)
  "${hi[@]}" cp -r "$corpus" "$dst"
  s=$(elapsed "$t")
  sync
  s_sync=$(elapsed "$t")
  record cp "$1" "$s" "$(rate "$s")" - - "$FILES"
  record cp+sync "$1" "$s_sync" "$(rate "$s_sync")" - - "$FILES"
  log "cp -r: $s s ($(awk -v n="$corpus_bytes" -v s="$s" 'BEGIN {printf "%.1f", n / s / 1048576}') MiB/s), with sync $s_sync s"
  rm -rf "$dst"
  # ext4 without a journal (these VMs' root) skips inodes freed in the last dirty_expire seconds
  # when it allocates one (fs/ext4/ialloc.c recently_deleted), scanning past each: the 10,000
  # files just deleted would tax every blob the portal creates next (~13 % of its CPU in a
  # profile) and nothing cp -r did. Both peers start with no recent deletions.
  sleep $(($(cat /proc/sys/vm/dirty_expire_centisecs 2>/dev/null || echo 3000) / 100 + 2))
  sync
}
drop_or_sync() { if [[ $cache == cold ]]; then drop_caches; else sync; fi; }

# publish_run LABEL AGENTS: `portico publish PATH --wait --json`, timed end to end (the CLI returns
# when every item is delivered, parked or failed).
publish_run() {
  local label=$1 agents=$2 t s blobs bytes_sent items undelivered
  drop_or_sync
  # CPU of the author and the portal over the run (utime+stime of /proc/PID/stat), and of the
  # whole machine: where the time goes on a machine with few cores.
  local a0 p0 m0 a1 p1 m1
  a0=$(cpu_ticks "$author_pid"); p0=$(cpu_ticks "$portal_pid"); m0=$(cpu_busy_ticks)
  local profile=0 author_perf portal_perf
  if [[ $PERF == 1 && $have_perf == 1 && $label == publish-* && ! -e $out/perf-publish-author.txt ]]; then
    profile=1
    perf_profile_start "$author_pid" "$out/perf-publish-author" 8
    author_perf=$perf_pid
    perf_profile_start "$portal_pid" "$out/perf-publish-portal" 8
    portal_perf=$perf_pid
  fi
  t=$(date +%s.%N)
  publish_wait "$out/runs/$label.json" "$out/runs/$label.err" "$publish_root" ||
    die "publish failed: $(tail -c 400 "$out/runs/$label.err") $(tail -c 400 "$out/runs/$label.json")"
  s=$(elapsed "$t")
  if ((profile)); then
    perf_pid=$author_perf perf_profile_finish "$out/perf-publish-author"
    perf_pid=$portal_perf perf_profile_finish "$out/perf-publish-portal"
  fi
  a1=$(cpu_ticks "$author_pid"); p1=$(cpu_ticks "$portal_pid"); m1=$(cpu_busy_ticks)
  echo "$label cpu_seconds author=$(awk -v d=$((a1 - a0)) -v t="$clk_tck" 'BEGIN {printf "%.1f", d / t}') portal=$(awk -v d=$((p1 - p0)) -v t="$clk_tck" 'BEGIN {printf "%.1f", d / t}') machine_busy=$(awk -v a="$m0" -v b="$m1" -v t="$clk_tck" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.1f", (y[1] - x[1]) / t}') wall=$s" >>"$out/cpu.txt"
  blobs=$(jq -r '.blobs_sent // "?"' "$out/runs/$label.json")
  bytes_sent=$(jq -r '.bytes_sent // "?"' "$out/runs/$label.json")
  items=$(jq -r '(.items // []) | length' "$out/runs/$label.json")
  undelivered=$(jq -r '[(.items // [])[] | select((.state // "delivered") != "delivered")] | length' "$out/runs/$label.json")
  ((undelivered == 0)) || log "WARNING: $undelivered items of $label not delivered"
  echo "$label via $publish_via" >>"$out/machine.txt"
  record "$label" "$agents" "$s" "$(rate "$s")" "$blobs" "$bytes_sent" "$items"
  log "$label ($agents agents): $s s ($(awk -v n="$corpus_bytes" -v s="$s" 'BEGIN {printf "%.1f", n / s / 1048576}') MiB/s), $items items, blobs_sent $blobs, bytes_sent $bytes_sent"
}

# ---------------------------------------------------------------------------------------------
# 4. Per agent count: a fresh portal and a copy of the uploaded author (its blobs hard-linked:
# they are immutable), started with PORTICO_AGENTS=N, connected with `portico connect` (which
# makes the tenant, the IMS configuration, the credential and N agents); then cp -r, the publish,
# and the unchanged republish.
for n in "${AGENTS[@]}"; do
  adir="$out/author-$n"; pdir="$out/portal-$n"
  rm -rf "$adir" "$pdir"
  mkdir -p "$adir"
  for f in "$template"/*; do
    if [[ $(basename "$f") == blobs ]]; then cp -al "$f" "$adir/"; else cp -a "$f" "$adir/"; fi
  done
  start_service portal "$all_cpus" --data "$pdir" --port "$portal_port" --ims "$ims_url"
  portal_pid=$svc_pid
  PORTICO_AGENTS=$n start_service author "$all_cpus" --data "$adir" --port "$author_port" --ims "$ims_url" --org "$org"
  author_pid=$svc_pid
  "${cli[@]}" --json connect >"$out/connect-$n.json" 2>"$out/connect-$n.err" ||
    die "connect with $n agents failed: $(tail -c 400 "$out/connect-$n.err")"
  agents_made=$(jq '.agents | length' "$out/connect-$n.json")
  [[ $agents_made == "$n" ]] || log "WARNING: asked for $n agents, the cloud service has $agents_made"
  wait_quiet
  echo "loadavg_before_agents_$n=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
  cp_run "$n"
  publish_run "publish-$n" "$n"
  publish_run "republish-$n" "$n"
  echo "rss_after_agents_$n author_kb=$(proc_kb "$author_pid" VmHWM) portal_kb=$(proc_kb "$portal_pid" VmHWM) (VmHWM)" >>"$out/machine.txt"
  stop_pid "$author_pid"; stop_pid "$portal_pid"
  rm -rf "$adir" "$pdir"
done
echo "loadavg_at_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

# ---------------------------------------------------------------------------------------------
# 5. The summary: per agent count the publish time and rate against cp -r of the same run (target
# >= 50 %), the republish (target < 5 s and blobs_sent 0); cp's median over the runs.
{
  echo "# publish benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ): $FILES files, $corpus_bytes bytes, page cache $cache"
  cat "$out/machine.txt"
  echo "upload (portico author upload, not part of the publish figure): $upload_s s"
  echo
  mapfile -t cps < <(awk -F'\t' '$1 == "cp" {print $4}' "$out/runs.tsv")
  read -r cp_med cp_lo cp_hi <<<"$(stats "${cps[@]}")"
  printf 'cp -r: median %.1f MiB/s (min %.1f, max %.1f; %d runs)\n' "$(awk -v x="$cp_med" 'BEGIN {print x / 1048576}')" \
    "$(awk -v x="$cp_lo" 'BEGIN {print x / 1048576}')" "$(awk -v x="$cp_hi" 'BEGIN {print x / 1048576}')" "${#cps[@]}"
  for n in "${AGENTS[@]}"; do
    awk -F'\t' -v n="$n" '
      $2 == n && $1 == "cp" {cp = $4}
      $2 == n && $1 == "cp+sync" {cps = $4}
      $2 == n && $1 ~ /^publish-/ {p = $4; ps = $3; pb = $5}
      $2 == n && $1 ~ /^republish-/ {rs = $3; rb = $5}
      END {
        printf "agents %d: publish %.1f s = %.1f MiB/s = %.1f %% of cp -r in the same run (target 50 %%: %s), %.1f %% of cp -r + sync; blobs_sent %s; republish %.2f s (target < 5 s: %s), blobs_sent %s (target 0: %s)\n",
          n, ps, p / 1048576, 100 * p / cp, (p / cp >= 0.5 ? "met" : "MISSED"), 100 * p / cps, pb,
          rs, (rs < 5 ? "met" : "MISSED"), rb, (rb == "0" ? "met" : "MISSED")
      }' "$out/runs.tsv"
  done
  echo
  echo "CPU seconds per run (utime+stime; the machine has $(nproc) cores):"
  cat "$out/cpu.txt"
} >"$out/summary.txt"
jq -R -s --arg machine "$(cat "$out/machine.txt")" --argjson files "$FILES" --argjson bytes "$corpus_bytes" \
  --arg upload_s "$upload_s" --arg cache "$cache" '
  split("\n") | map(select(length > 0) | split("\t")) | .[0] as $h | .[1:] |
  map([$h, .] | transpose | map({(.[0]): .[1]}) | add) |
  {files: $files, bytes: $bytes, page_cache: $cache, upload_seconds: ($upload_s | tonumber), runs: ., machine: $machine}' \
  "$out/runs.tsv" >"$out/summary.json"
cat "$out/summary.txt"
# The services' data (the uploaded author: as large as the corpus) is not needed once measured;
# the corpus itself stays in bench/out/data/ for the next run.
stop_pid "$ims_pid"
rm -rf "$template" "$pdata"
log "done in $(($(date +%s) - started_at)) s; raw output in $out"
