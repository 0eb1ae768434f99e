#!/usr/bin/env bash
# The transfer benchmark of issue 10, by the method of ../shared/PEERS.md:
#  (a) upload of one large file through the author's API (PUT /api/v1/assets/{path}, curl -T)
#      vs `cp` of the same file to the same file system; the author's RSS sampled throughout;
#  (b) download of that file from the portal (after `portico publish PATH --wait --json`) vs
#      Debian's nginx-light serving the same file with sendfile, fetched by the same curl.
# Servers pinned to core 0, clients to core 1, nice -20; runs interleaved peer/Portico; the page
# cache dropped before every run when root may (else everything stays cached, and the summary says
# so). See bench/README.md. Raw output and the summary: bench/out/<stamp>-transfer/.
#
#   bench/transfer.sh
#
# Settings (environment): BENCH_FILE_MB (2048), BENCH_RUNS (3), BENCH_WARM (1: also runs with
# the file in the page cache), BENCH_PERF (1: a perf profile of one extra upload and download),
# BENCH_QUIET_WAIT (600), BENCH_NICE (-20), BENCH_PORTICO_BIN / BENCH_PORTICO_LABEL,
# BENCH_DOWNLOAD (1; 0: the upload only, no publish and no download).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
name=transfer
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
FILE_MB=${BENCH_FILE_MB:-2048}
RUNS=${BENCH_RUNS:-3}
WARM=${BENCH_WARM:-1}
PERF=${BENCH_PERF:-1}
DOWNLOAD=${BENCH_DOWNLOAD:-1}
bench_init

# ---------------------------------------------------------------------------------------------
# 1. Tools, the Release build, the machine.
build_portico
record_machine
echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //') ($(dpkg-query -W -f='${Package} ${Version}' nginx-light 2>/dev/null))" >>"$out/machine.txt"
cache_modes=()
if can_drop_caches; then
  cache_modes+=(cold)
  echo "page_cache=dropped before every cold run (sync; echo 3 > /proc/sys/vm/drop_caches)" >>"$out/machine.txt"
else
  WARM=1
  log "cannot drop the page cache (not root): every run has the file cached"
  echo "page_cache=cannot drop (not root): the file stays cached for every run, both peers" >>"$out/machine.txt"
fi
[[ $WARM == 1 ]] && cache_modes+=(warm)

# ---------------------------------------------------------------------------------------------
# 2. The file: FILE_MB MiB of pseudo-random bytes (AES-CTR keystream of a fixed seed, so it is the
# same file on every machine and nothing along the way can compress it). Made once, kept.
data_dir="$here/out/data"
mkdir -p "$data_dir"
src="$data_dir/transfer-${FILE_MB}MiB.bin"
bytes=$((FILE_MB * 1024 * 1024))
if [[ ! -f $src || $(stat -c %s "$src") -ne $bytes ]]; then
  log "making $src"
  # (openssl ends on SIGPIPE once head has enough: that status is not an error)
  { openssl enc -aes-128-ctr -nosalt -pass pass:portico-bench-transfer -pbkdf2 </dev/zero 2>/dev/null || true; } |
    head -c "$bytes" >"$src.tmp"
  mv "$src.tmp" "$src"
fi
need_kb=$((bytes / 1024 * 4 + 1048576))  # cp's copy, the author's blob, the portal's blob, slack
avail_kb=$(df -k --output=avail "$here/out" | tail -1)
((avail_kb > need_kb)) || die "bench/out has $((avail_kb / 1024)) MiB free, needs $((need_kb / 1024)) MiB (try BENCH_FILE_MB)"
echo "file=$src ($bytes bytes)" >>"$out/machine.txt"

# ---------------------------------------------------------------------------------------------
# 3. Portico: `portico up` once on a fresh folder (org, admin, tenant, author connected), then each
# service alone so the author's and the portal's own RSS and CPU are measured (with `up` all three
# share one process). The peer's copy goes to the same file system (bench/out).
pdata="$out/portico"
bootstrap_portico "$pdata"
start_service ims "$SERVER_CPU" --data "$pdata/ims" --port "$ims_port"
ims_pid=$svc_pid
start_service portal "$SERVER_CPU" --data "$pdata/portal" --port "$portal_port" --ims "$ims_url"
portal_pid=$svc_pid
start_service author "$SERVER_CPU" --data "$pdata/author" --port "$author_port" --ims "$ims_url" --org "$org"
author_pid=$svc_pid
token=$(login "$ims_url" "$admin_login" "$admin_password")
[[ -n $token && $token != null ]] || die "cannot log in to $ims_url"
auth=(-H "Authorization: Bearer $token")
curl -sf -X POST "${auth[@]}" -H 'content-type: application/json' -d '{}' \
  "$author_url/api/v1/folders/content/dam/bench" >/dev/null || true
asset_path=/content/dam/bench/transfer.bin
log "portico: ims $ims_url, author $author_url (pid $author_pid), portal $portal_url/t/$tenant (pid $portal_pid)"

# results.tsv: one line per run: phase peer cache run seconds bytes_per_s extra
printf 'phase\tpeer\tcache\trun\tseconds\tbytes_per_s\textra\n' >"$out/runs.tsv"
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$out/runs.tsv"; }

# prepare CACHE: the page-cache state of a run: cold (dirty pages written back, the cache emptied,
# so the file is read from the disk) or warm (the file read once, so it is in the cache).
prepare() {
  if [[ $1 == cold ]]; then drop_caches; else cat "$src" >/dev/null; sync; fi
}

# ---------------------------------------------------------------------------------------------
# 4. Upload. cp: `cp SRC DST` on core 0 (where the server runs), timed to its exit; the same copy
# followed by `sync DST` is recorded beside it, because the author fsyncs every blob before it
# answers (the target compares with plain cp). Portico: `curl -T` on core 1 to the author on core 0,
# timed by curl to the last byte of the answer, which the author sends after the blob is hashed,
# written, fsynced and renamed into place. RSS of the author sampled every 50 ms, and its CPU time
# (utime + stime, /proc/PID/stat) over each upload: a figure a busy machine disturbs much less
# than the wall time.
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
upload_cp() {
  local cache=$1 run=$2 dst="$out/cp-dest.bin" t0 t1 t2 s s_sync
  rm -f "$dst"; prepare "$cache"
  t0=$(date +%s.%N)
  "${hi[@]}" taskset -c "$SERVER_CPU" cp "$src" "$dst"
  t1=$(date +%s.%N)
  sync "$dst"
  t2=$(date +%s.%N)
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  s_sync=$(awk -v a="$t0" -v b="$t2" 'BEGIN {printf "%.3f", b - a}')
  record upload cp "$cache" "$run" "$s" "$(awk -v n="$bytes" -v s="$s" 'BEGIN {printf "%.0f", n / s}')" "cp+sync ${s_sync}s"
  record upload cp+sync "$cache" "$run" "$s_sync" "$(awk -v n="$bytes" -v s="$s_sync" 'BEGIN {printf "%.0f", n / s}')" ""
  log "upload cp $cache #$run: ${s} s ($(awk -v n="$bytes" -v s="$s" 'BEGIN {printf "%.0f", n / s / 1048576}') MiB/s), with sync ${s_sync} s"
  rm -f "$dst"
}
upload_portico() {
  local cache=$1 run=$2 rss="$out/runs/rss-upload-$cache-$run.txt" sampler w code s peak hwm t0 cpu
  prepare "$cache"
  t0=$(cpu_ticks "$author_pid")
  sample_rss "$author_pid" "$rss" &
  sampler=$!
  pids+=("$sampler")
  w=$("${hi[@]}" taskset -c "$CLIENT_CPU" curl -s -o "$out/runs/upload-$cache-$run.json" -T "$src" "${auth[@]}" \
    -H 'content-type: application/octet-stream' -w '%{http_code} %{time_total}' "$author_url/api/v1/assets$asset_path")
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  cpu=$(awk -v a="$t0" -v b="$(cpu_ticks "$author_pid")" -v t="$clk_tck" 'BEGIN {printf "%.2f", (b - a) / t}')
  read -r code s <<<"$w"
  [[ $code == 201 || $code == 200 ]] || die "upload answered $code: $(cat "$out/runs/upload-$cache-$run.json")"
  [[ $(jq -r .size "$out/runs/upload-$cache-$run.json") == "$bytes" ]] || die "upload stored a different size"
  peak=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$rss")
  hwm=$(proc_kb "$author_pid" VmHWM)
  record upload portico "$cache" "$run" "$s" "$(awk -v n="$bytes" -v s="$s" 'BEGIN {printf "%.0f", n / s}')" "rss_peak_kb=$peak hwm_kb=$hwm samples=$(wc -l <"$rss") cpu_s=$cpu"
  log "upload portico $cache #$run: ${s} s ($(awk -v n="$bytes" -v s="$s" 'BEGIN {printf "%.0f", n / s / 1048576}') MiB/s), author CPU ${cpu} s, RSS peak $((peak / 1024)) MB, VmHWM $((hwm / 1024)) MB"
}

wait_quiet
echo "loadavg_before_upload=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
for cache in "${cache_modes[@]}"; do
  for ((run = 1; run <= RUNS; run++)); do
    upload_cp "$cache" "$run"
    upload_portico "$cache" "$run"
  done
done
if [[ $PERF == 1 && $have_perf == 1 ]]; then
  # One more upload (not counted), warm, with the author sampled by perf for its first seconds.
  perf_profile_start "$author_pid" "$out/perf-upload" 5
  upload_portico warm perf
  perf_profile_finish "$out/perf-upload"
  sed -i '$d' "$out/runs.tsv"  # the profiled run is not a result
fi

# ---------------------------------------------------------------------------------------------
# 5. Download. Publish the asset with the CLI contract of SPEC §7; then nginx-light (sendfile on,
# one worker process, core 0) serving the same source file, and the portal (core 0), each fetched
# by `curl -o /dev/null` on core 1; speed = curl's %{speed_download}.
download_ok=1
if [[ $DOWNLOAD != 1 ]]; then
  download_ok=0
  log "download: skipped (BENCH_DOWNLOAD=$DOWNLOAD)"
  echo "download=skipped (BENCH_DOWNLOAD=$DOWNLOAD)" >>"$out/machine.txt"
else
  log "publish: portico publish $asset_path --wait --json"
  # Timed, with the portal's CPU, for the record (no target): the portal receives the 2 GiB blob.
  pub_t0=$(date +%s.%N); pub_cpu0=$(cpu_ticks "$portal_pid")
  if ! publish_wait "$out/publish.json" "$out/publish.err" "$asset_path" ||
    [[ $(jq -r '[(.items // [])[] | select(.state != "delivered")] | length' "$out/publish.json") != 0 ]]; then
    download_ok=0
    log "publish failed or is not available: $(head -c 300 "$out/publish.err") $(head -c 300 "$out/publish.json" 2>/dev/null)"
  else
    echo "publish_via=$publish_via" >>"$out/machine.txt"
    pub_s=$(awk -v a="$pub_t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
    pub_cpu=$(awk -v a="$pub_cpu0" -v b="$(cpu_ticks "$portal_pid")" -v t="$clk_tck" 'BEGIN {printf "%.2f", (b - a) / t}')
    echo "publish_seconds=$pub_s portal_cpu_seconds=$pub_cpu" >>"$out/machine.txt"
    log "publish: ${pub_s} s, portal CPU ${pub_cpu} s"
  fi
fi

if [[ $download_ok == 1 ]]; then
  # nginx: an unprivileged process (user nobody when this runs as root) with its prefix, pid, logs
  # and temp paths under the run's folder, on a free loopback port, not daemonized.
  nginx_dir="$out/nginx"
  mkdir -p "$nginx_dir/logs" "$nginx_dir/tmp"
  nginx_port=$(free_port)
  sed -e "s|@PORT@|$nginx_port|g" -e "s|@ROOT@|$data_dir|g" -e "s|@DIR@|$nginx_dir|g" \
    "$here/nginx-transfer.conf" >"$nginx_dir/nginx.conf"
  as_user=()
  if [[ $(id -u) -eq 0 ]]; then
    chown -R nobody:nogroup "$nginx_dir"
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  fi
  "${hi[@]}" taskset -c "$SERVER_CPU" "${as_user[@]}" nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" \
    -e "$nginx_dir/logs/error.log" >"$nginx_dir/stdout" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
  nginx_url="http://127.0.0.1:$nginx_port/$(basename "$src")"
  wait_http "$nginx_url" "$nginx_pid" || die "nginx did not start: $(cat "$nginx_dir/logs/error.log" "$nginx_dir/stdout")"
  portal_dl_url="$portal_url/t/$tenant/api/v1/download${asset_path}"

  # fetch PEER CACHE RUN URL [AUTH...]: one download by curl on core 1.
  fetch() {
    local peer=$1 cache=$2 run=$3 url=$4 w code size speed s
    shift 4
    prepare "$cache"
    w=$("${hi[@]}" taskset -c "$CLIENT_CPU" curl -s -o /dev/null "$@" \
      -w '%{http_code} %{size_download} %{speed_download} %{time_total}' "$url")
    read -r code size speed s <<<"$w"
    [[ $code == 200 && $size == "$bytes" ]] || die "download from $peer answered $code with $size bytes"
    record download "$peer" "$cache" "$run" "$s" "$speed" ""
    log "download $peer $cache #$run: ${s} s ($(awk -v b="$speed" 'BEGIN {printf "%.0f", b / 1048576}') MiB/s)"
  }
  # The portal must answer the whole published file before it is measured.
  code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -r 0-0 "$portal_dl_url")
  [[ $code == 206 || $code == 200 ]] || die "the portal answers $code for $portal_dl_url"

  wait_quiet
  echo "loadavg_before_download=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
  for cache in "${cache_modes[@]}"; do
    for ((run = 1; run <= RUNS; run++)); do
      fetch nginx "$cache" "$run" "$nginx_url"
      fetch portico "$cache" "$run" "$portal_dl_url" "${auth[@]}"
    done
  done
  if [[ $PERF == 1 && $have_perf == 1 ]]; then
    perf_profile_start "$portal_pid" "$out/perf-download" 3
    fetch portico warm perf "$portal_dl_url" "${auth[@]}"
    perf_profile_finish "$out/perf-download"
    sed -i '$d' "$out/runs.tsv"
  fi
  echo "portal_rss_after_downloads_kb=$(proc_kb "$portal_pid" VmRSS) hwm_kb=$(proc_kb "$portal_pid" VmHWM)" >>"$out/machine.txt"
fi
echo "loadavg_at_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

# ---------------------------------------------------------------------------------------------
# 6. The summary: medians, min-max, ratios against the targets (summary.txt, summary.json).
python_free_summary() {
  local phase peer cache
  {
    echo "# transfer benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), file $FILE_MB MiB, $RUNS runs each"
    cat "$out/machine.txt"
    echo
  } >"$out/summary.txt"
  local json='{"file_bytes": '"$bytes"', "runs": '"$RUNS"', "results": []}'
  for phase in upload download; do
    for cache in "${cache_modes[@]}"; do
      for peer in cp cp+sync nginx portico; do
        mapfile -t v < <(awk -F'\t' -v p="$phase" -v q="$peer" -v c="$cache" '$1 == p && $2 == q && $3 == c {print $6}' "$out/runs.tsv")
        ((${#v[@]})) || continue
        read -r med lo hi_ <<<"$(stats "${v[@]}")"
        printf '%-8s %-5s %-8s median %7.1f MiB/s  (min %.1f, max %.1f; %d runs)\n' "$phase" "$cache" "$peer" \
          "$(awk -v x="$med" 'BEGIN {print x / 1048576}')" "$(awk -v x="$lo" 'BEGIN {print x / 1048576}')" \
          "$(awk -v x="$hi_" 'BEGIN {print x / 1048576}')" "${#v[@]}" >>"$out/summary.txt"
        json=$(jq -c --arg ph "$phase" --arg pe "$peer" --arg ca "$cache" --argjson m "$med" --argjson l "$lo" --argjson h "$hi_" \
          --argjson all "$(printf '%s\n' "${v[@]}" | jq -s -c .)" \
          '.results += [{phase: $ph, peer: $pe, cache: $ca, median_bytes_per_s: $m, min: $l, max: $h, runs: $all}]' <<<"$json")
      done
    done
  done
  # Ratios against the targets: upload >= 70 % of cp, download >= 90 % of nginx.
  local ratios='[]' m_p m_q r
  for cache in "${cache_modes[@]}"; do
    for pair in "upload cp 0.70" "upload cp+sync -" "download nginx 0.90"; do
      read -r phase peer target <<<"$pair"
      m_p=$(jq -r --arg ph "$phase" --arg ca "$cache" '.results[] | select(.phase == $ph and .peer == "portico" and .cache == $ca) | .median_bytes_per_s' <<<"$json")
      m_q=$(jq -r --arg ph "$phase" --arg pe "$peer" --arg ca "$cache" '.results[] | select(.phase == $ph and .peer == $pe and .cache == $ca) | .median_bytes_per_s' <<<"$json")
      [[ -n $m_p && -n $m_q ]] || continue
      r=$(awk -v a="$m_p" -v b="$m_q" 'BEGIN {printf "%.3f", a / b}')
      met=$([[ $target == - ]] && echo "-" || awk -v r="$r" -v t="$target" 'BEGIN {print (r >= t) ? "met" : "MISSED"}')
      printf 'ratio %-8s %-5s portico/%-8s %5.1f %%  target %s  %s\n' "$phase" "$cache" "$peer" \
        "$(awk -v r="$r" 'BEGIN {print r * 100}')" "$target" "$met" >>"$out/summary.txt"
      ratios=$(jq -c --arg ph "$phase" --arg pe "$peer" --arg ca "$cache" --argjson r "$r" --arg t "$target" --arg met "$met" \
        '. + [{phase: $ph, peer: $pe, cache: $ca, ratio: $r, target: $t, verdict: $met}]' <<<"$ratios")
    done
  done
  # The author's RSS over every counted upload (target < 100 MB throughout).
  local peak hwm
  peak=$(awk -F'\t' '$1 == "upload" && $2 == "portico" {split($7, a, /[= ]/); if (a[2] > m) m = a[2]} END {print m + 0}' "$out/runs.tsv")
  hwm=$(awk -F'\t' '$1 == "upload" && $2 == "portico" {split($7, a, /[= ]/); if (a[4] > m) m = a[4]} END {print m + 0}' "$out/runs.tsv")
  printf 'author RSS during uploads: peak VmRSS %d MB, VmHWM %d MB (target < 100 MB: %s)\n' $((peak / 1024)) $((hwm / 1024)) \
    "$( ((hwm < 100 * 1024)) && echo met || echo MISSED)" >>"$out/summary.txt"
  # The author's CPU seconds per upload (utime + stime), by cache state.
  local cpus
  for cache in "${cache_modes[@]}"; do
    mapfile -t cpus < <(awk -F'\t' -v c="$cache" '$1 == "upload" && $2 == "portico" && $3 == c {
      if (match($7, /cpu_s=[0-9.]+/)) print substr($7, RSTART + 6, RLENGTH - 6)}' "$out/runs.tsv")
    ((${#cpus[@]})) || continue
    read -r med lo hi_ <<<"$(stats "${cpus[@]}")"
    printf 'author CPU per upload %-5s median %.2f s (min %.2f, max %.2f; %d runs)\n' "$cache" "$med" "$lo" "$hi_" "${#cpus[@]}" >>"$out/summary.txt"
  done
  if [[ $download_ok != 1 && $DOWNLOAD == 1 ]]; then
    echo "download: not measured (portico publish failed or is missing: see publish.err)" >>"$out/summary.txt"
  elif [[ $download_ok != 1 ]]; then
    echo "download: not measured (BENCH_DOWNLOAD=$DOWNLOAD)" >>"$out/summary.txt"
  fi
  jq --argjson r "$ratios" --argjson peak "$peak" --argjson hwm "$hwm" --arg machine "$(cat "$out/machine.txt")" --argjson dl "$download_ok" \
    '. + {ratios: $r, author_rss_peak_kb: $peak, author_vmhwm_kb: $hwm, download_measured: ($dl == 1), machine: $machine}' \
    <<<"$json" >"$out/summary.json"
}
python_free_summary
cat "$out/summary.txt"
# The services' data (the author's and the portal's copies of the file) is not needed once
# measured; the source file stays in bench/out/data/ for the next run.
for p in "$author_pid" "$portal_pid" "$ims_pid"; do stop_pid "$p"; done
rm -rf "$pdata"
log "done in $(($(date +%s) - started_at)) s; raw output in $out"
