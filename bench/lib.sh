# Shared helpers of bench/transfer.sh and bench/publish.sh (sourced, not run). The conventions are
# those of bench/token_endpoint.sh and ../shared/PEERS.md: the Release binary in build/release,
# servers pinned to core 0 and clients to core 1 at nice -20, a bounded wait for a quiet machine,
# every process this script starts ended by its id on exit, raw output under bench/out/.
#
# The caller sets: here (bench/), root (the repository), name (the benchmark's name), then calls
# bench_init.

SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
NICE=${BENCH_NICE:--20}

# bench_init: output folder bench/out/<UTC stamp>-<name>/ (bench/out/latest-<name> points at it),
# the log, the exit trap.
bench_init() {
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  out="$here/out/$stamp-$name"
  mkdir -p "$out/runs"
  ln -sfn "$stamp-$name" "$here/out/latest-$name"
  started_at=$(date +%s)
  hi=(nice -n "$NICE")
  [[ $(id -u) -eq 0 || $NICE -ge 0 ]] || hi=(sudo nice -n "$NICE")
  quiet_deadline=$(($(date +%s) + ${BENCH_QUIET_WAIT:-600}))
  trap cleanup EXIT
}

log() { printf '[%s] %s\n' "$(date +%T)" "$*" | tee -a "$out/bench.log" >&2; }
die() { log "error: $*"; exit 1; }

# Every process this script starts is remembered and ended by its id on exit.
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}

# stop_pid PID: ends one process this script started and waits for it.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_http URL PID: waits (60 s at most) until URL answers at all (any HTTP status), or PID died.
wait_http() {
  local i
  for ((i = 0; i < 600; i++)); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# build_portico: the Release binary (build/release, idempotent), or BENCH_PORTICO_BIN. Sets bin.
build_portico() {
  log "setup: scripts/setup --bench"
  "$root/scripts/setup" --bench
  if [[ -n ${BENCH_PORTICO_BIN:-} ]]; then
    bin=$BENCH_PORTICO_BIN
    [[ -x $bin ]] || die "BENCH_PORTICO_BIN=$bin is not an executable"
    log "using $bin (no build)"
    return 0
  fi
  build="$root/build/release"
  if [[ ! -f $build/build.ninja ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPORTICO_TESTS=OFF >"$out/cmake.log"
  fi
  log "build: ninja -C build/release portico"
  ninja -j2 -C "$build" portico >"$out/ninja.log" 2>&1 || die "build failed, see $out/ninja.log"
  bin="$build/portico"
}

# record_machine: the machine, the load, the file system of bench/out, the versions (machine.txt).
record_machine() {
  {
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel=$(uname -r)"
    echo "memory_total=$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
    echo "loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "bench_out_fs=$(df -T "$here/out" | awk 'NR == 2 {print $2, $1, "avail", $5 " kB"}')"
    echo "curl=$(curl --version | head -1 | awk '{print $1, $2}')"
    echo "coreutils_cp=$(cp --version | head -1)"
    if [[ -n ${BENCH_PORTICO_BIN:-} ]]; then
      echo "portico=${BENCH_PORTICO_LABEL:-given binary} ($bin, sha256 $(sha256sum "$bin" | cut -c1-12))"
    else
      echo "portico_commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo '+local-changes')"
      echo "build_type=$(grep -m1 CMAKE_BUILD_TYPE: "$root/build/release/CMakeCache.txt" | cut -d= -f2)"
    fi
  } >"$out/machine.txt"
  log "machine: $(tr '\n' ' ' <"$out/machine.txt")"
}

# cpu_busy_ticks: busy and total jiffies of the whole machine, from /proc/stat.
cpu_busy_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }

# wait_quiet: other work on a shared machine (a build, tests) disturbs the figures. Waits until the
# cores are under 10 % busy over 3 s; BENCH_QUIET_WAIT seconds (600) in all, over every call, then
# measures anyway and says so (machine.txt, the log, and the run's record of the load).
wait_quiet() {
  local a b busy
  while :; do
    a=$(cpu_busy_ticks); sleep 3; b=$(cpu_busy_ticks)
    busy=$(awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2])}')
    ((busy < 10)) && return 0
    if (($(date +%s) > quiet_deadline)); then
      log "WARNING: the machine is ${busy}% busy with other work; measuring anyway"
      echo "busy_before_runs=${busy}% at $(date +%T)" >>"$out/machine.txt"
      return 0
    fi
    log "waiting for a quiet machine (${busy}% busy: $(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | awk '{printf "%s %s%%; ", $2, $1}'))"
    sleep 10
  done
}

# drop_caches: writes back dirty pages and empties the page cache, so every run reads its input
# from the disk (root only; otherwise the caller keeps everything cached and says so).
can_drop_caches() { [[ -w /proc/sys/vm/drop_caches ]] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# proc_kb PID KEY: VmRSS/VmHWM of a process in kB.
proc_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }

# sample_rss PID FILE: appends "<ms since epoch> <VmRSS kB>" every 50 ms until killed.
sample_rss() {
  local pid=$1 file=$2 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(proc_kb "$pid" VmRSS) || break
    echo "$(date +%s%3N) $v" >>"$file"
    sleep 0.05
  done
}

# stats V...: "median min max" of numbers.
stats() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR]}'; }

# login IMS LOGIN PASSWORD: an access token of the admin (POST /api/v1/login).
login() {
  curl -sf -X POST "$1/api/v1/login" -H 'content-type: application/json' \
    -d "$(jq -cn --arg l "$2" --arg p "$3" '{login: $l, password: $p}')" | jq -r .access_token
}

# bootstrap_portico DIR: `portico up` on fixed free ports once (org, admin, tenant, the author
# connected to the portal), then stops it: the services are started one by one afterwards so each
# can be pinned and measured alone. Sets ims_url, author_url, portal_url, org, tenant, admin_login,
# admin_password, ims_port, author_port, portal_port.
bootstrap_portico() {
  local dir=$1 up_pid
  ims_port=$(free_port); author_port=$(free_port); portal_port=$(free_port)
  mkdir -p "$dir"
  "$bin" up --data "$dir" --ims-port "$ims_port" --author-port "$author_port" --portal-port "$portal_port" \
    >"$out/up.log" 2>&1 &
  up_pid=$!
  pids+=("$up_pid")
  local i
  for ((i = 0; i < 600; i++)); do
    grep -q '^Portico is up' "$out/up.log" 2>/dev/null && break
    kill -0 "$up_pid" 2>/dev/null || die "portico up failed: $(tail -5 "$out/up.log")"
    sleep 0.1
  done
  grep -q '^Portico is up' "$out/up.log" || die "portico up did not come up: $(tail -5 "$out/up.log")"
  stop_pid "$up_pid"
  ims_url=$(jq -r .ims "$dir/portico.json")
  author_url=$(jq -r .author "$dir/portico.json")
  portal_url=$(jq -r .portal "$dir/portico.json")
  org=$(jq -r .org "$dir/portico.json")
  tenant=$(jq -r .tenant "$dir/portico.json")
  admin_login=$(jq -r .admin.login "$dir/portico.json")
  admin_password=$(jq -r .admin.password "$dir/portico.json")
}

# start_service NAME CPUS ARGS...: `portico serve NAME ARGS...` pinned to CPUS at nice -20, logging
# to a file; waits until it answers. Sets svc_pid.
start_service() {
  local svc=$1 cpus=$2 url
  shift 2
  # The file may hold an earlier start's line: remove it first (the child truncates it only once
  # it runs, which may be after the check below).
  rm -f "$out/$svc.stdout"
  "${hi[@]}" taskset -c "$cpus" "$bin" serve "$svc" "$@" --log-file "$out/$svc.log" \
    >"$out/$svc.stdout" 2>"$out/$svc.stderr" &
  svc_pid=$!
  pids+=("$svc_pid")
  for ((i = 0; i < 600; i++)); do
    grep -q '"url"' "$out/$svc.stdout" 2>/dev/null && break
    kill -0 "$svc_pid" 2>/dev/null || die "serve $svc failed: $(tail -5 "$out/$svc.stderr")"
    sleep 0.1
  done
  url=$(head -1 "$out/$svc.stdout" | jq -r .url)
  wait_http "$url/" "$svc_pid" || die "serve $svc does not answer at $url"
}

# perf_profile PID SECONDS FILE: a sampled call-graph profile of a running process (if perf
# works here), summarised by symbol into FILE.
have_perf=0
if command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1; then have_perf=1; fi
perf_profile_start() {
  [[ $have_perf == 1 ]] || return 0
  perf record -e cpu-clock -F 999 -g -p "$1" -o "$2.data" -- sleep "$3" >"$2.log" 2>&1 &
  perf_pid=$!
  pids+=("$perf_pid")
}
perf_profile_finish() {
  [[ $have_perf == 1 ]] || return 0
  wait "$perf_pid" 2>/dev/null || true
  # By library first (libcrypto has no symbols here: its addresses would scatter), then by symbol.
  { perf report -i "$1.data" --stdio --no-children --sort dso -g none --percent-limit 0.5 2>/dev/null
    perf report -i "$1.data" --stdio --no-children --sort dso,symbol -g none --percent-limit 1 2>/dev/null
  } | grep -v '^#' | grep -v '^$' | cut -c1-160 >"$1.txt" || true
  [[ ${BENCH_PERF_KEEP:-0} == 1 ]] || rm -f "$1.data"  # BENCH_PERF_KEEP=1: keep it for perf report
}

# publish_wait OUT ERR PATH: publishes PATH and waits until every item is delivered, parked or
# failed, leaving in OUT the JSON of SPEC §7 ({"items": [...], "blobs_sent": N, "bytes_sent": N}).
# With `portico publish PATH --wait --json` (the contract the benchmark measures); while a binary
# has no publish command yet, through the author's API it calls (POST /api/v1/publish, then
# GET /api/v1/publish/{id} every 100 ms until "done"), and publish_via says which.
# Needs: bin, ims_url, author_url, admin_login, admin_password, org.
publish_wait() {
  local o=$1 e=$2 path=$3 tok id i
  if "$bin" publish --help >/dev/null 2>&1; then
    publish_via=cli
    "${hi[@]}" "$bin" --json --ims "$ims_url" --login "$admin_login" --password "$admin_password" --org "$org" \
      --author "$author_url" publish "$path" --wait >"$o" 2>"$e"
    return
  fi
  publish_via=api
  tok=$(login "$ims_url" "$admin_login" "$admin_password")
  id=$(curl -sf -X POST -H "Authorization: Bearer $tok" -H 'content-type: application/json' \
    -d "$(jq -cn --arg p "$path" '{paths: [$p]}')" "$author_url/api/v1/publish" 2>"$e" | jq -r .id) || return 1
  [[ -n $id && $id != null ]] || return 1
  for ((i = 0; i < 36000; i++)); do
    curl -sf -H "Authorization: Bearer $tok" "$author_url/api/v1/publish/$id" >"$o" 2>>"$e" || return 1
    [[ $(jq -r .done "$o") == true ]] && return 0
    sleep 0.1
  done
  return 1
}
