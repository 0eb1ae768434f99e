#!/usr/bin/env bash
# The token-endpoint benchmark of issue 9, by the method of ../shared/PEERS.md: Portico's identity
# service and the npm package oidc-provider (the peer) pinned to core 0, wrk pinned to core 1,
# fresh assertions for every request, interleaved runs, beside the crypto limit of one exchange
# from `openssl speed` on core 0. See bench/README.md. Raw output goes to bench/out/<stamp>/
# (bench/out/latest points at the newest); summary.md there holds the table for docs/BENCHMARKS.md.
#
#   bench/token_endpoint.sh
#
# Settings (environment): BENCH_DURATION (15 s), BENCH_WARMUP (5 s), BENCH_RUNS (3),
# BENCH_CONNECTIONS (16), BENCH_HALF_SECONDS (15 s, the run at half of peak),
# BENCH_PROFILE_EXCHANGES (3000, under callgrind; 0 skips), BENCH_ACCESS_LOG_OFF (1: also measure
# Portico with PORTICO_ACCESS_LOG=false), BENCH_UNPINNED (1: also one unpinned run), BENCH_NICE
# (-20: the servers, wrk and openssl speed run at this nice value), BENCH_QUIET_WAIT (600: seconds
# to wait in all for an idle machine), BENCH_PORTICO_BIN / BENCH_PORTICO_LABEL (see README.md).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-5}
RUNS=${BENCH_RUNS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
HALF_SECONDS=${BENCH_HALF_SECONDS:-15}
PROFILE_EXCHANGES=${BENCH_PROFILE_EXCHANGES:-3000}
ACCESS_LOG_OFF=${BENCH_ACCESS_LOG_OFF:-1}
UNPINNED=${BENCH_UNPINNED:-1}
SERVER_CPU=0
CLIENT_CPU=1
# The machine may be shared (another session's build or tests): at nice -20 the measured processes
# get about 98 % of a core that a nice-0 process also wants (CFS weights 88761 : 1024), so such
# work mostly moves to the other core and runs on what is left. Every run records the CPU used by
# anything else (machine_busy_cores - server - wrk), and the summary lists runs where it exceeded
# 0.1 core.
NICE=${BENCH_NICE:--20}
hi=(nice -n "$NICE")
[[ $(id -u) -eq 0 || $NICE -ge 0 ]] || hi=(sudo nice -n "$NICE")

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$here/out/$stamp"
mkdir -p "$out/runs" "$out/pools"
ln -sfn "$stamp" "$here/out/latest"
started_at=$(date +%s)

log() { printf '[%s] %s\n' "$(date +%T)" "$*" | tee -a "$out/bench.log" >&2; }
die() { log "error: $*"; exit 1; }

# Every process this script starts is remembered and ended by its id on exit.
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# jget FILE PATH: one value of a JSON file (node is already a dependency; jq is not).
jget() {
  node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
let v=j; for (const k of process.argv[2].split(".")) v = v == null ? v : v[k];
process.stdout.write(v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_line FILE PID: waits (60 s at most) until FILE has a line, or PID died.
wait_line() {
  local i
  for ((i = 0; i < 600; i++)); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# cpu_busy_ticks: busy and total jiffies of the whole machine, from /proc/stat.
cpu_busy_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
# core_ticks N: busy, irq+softirq and total jiffies of core N (the server's core when pinned).
core_ticks() { awk -v c="cpu$1" '$1 == c {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, $7 + $8, t}' /proc/stat; }

# wait_quiet: the machine may be shared; other work on it (a build, tests) disturbs the figures.
# Waits until the cores are idle (under 10 % busy over 3 s); BENCH_QUIET_WAIT seconds in all, over
# every call, then measures anyway (the runs record the disturbance).
quiet_deadline=$(($(date +%s) + ${BENCH_QUIET_WAIT:-600}))
wait_quiet() {
  local deadline=$quiet_deadline a b busy
  while :; do
    a=$(cpu_busy_ticks); sleep 3; b=$(cpu_busy_ticks)
    busy=$(awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2])}')
    ((busy < 10)) && return 0
    if (($(date +%s) > deadline)); then
      log "WARNING: the machine is still ${busy}% busy with other work; measuring anyway"
      echo "busy_before_runs=${busy}%" >>"$out/machine.txt"
      return 0
    fi
    log "waiting for a quiet machine (${busy}% busy: $(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | awk '{printf "%s %s%%; ", $2, $1}'))"
    sleep 10
  done
}

# ---------------------------------------------------------------------------------------------
# 1. Tools, the Release build, the node packages.
log "setup: scripts/setup --bench"
"$root/scripts/setup" --bench
build="$root/build/release"
if [[ -n ${BENCH_PORTICO_BIN:-} ]]; then
  # A binary built elsewhere (e.g. from a clean checkout while the work tree is being edited).
  bin=$BENCH_PORTICO_BIN
  [[ -x $bin ]] || die "BENCH_PORTICO_BIN=$bin is not an executable"
  log "using $bin (no build)"
else
  if [[ ! -f $build/build.ninja ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPORTICO_TESTS=OFF >"$out/cmake.log"
  fi
  log "build: ninja -C build/release portico"
  ninja -j2 -C "$build" portico >"$out/ninja.log" || die "build failed, see $out/ninja.log"
  bin="$build/portico"
fi
if [[ ! -f $here/node_modules/oidc-provider/package.json || ! -f $here/node_modules/jsonwebtoken/package.json ]]; then
  log "npm ci in bench/"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >"$out/npm.log" 2>&1 || die "npm ci failed, see $out/npm.log"
fi
have_valgrind=1
if ! command -v valgrind >/dev/null; then
  log "installing valgrind for the profile"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends valgrind >/dev/null 2>&1 || have_valgrind=0
fi
have_perf=0
if command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1; then have_perf=1; fi

# ---------------------------------------------------------------------------------------------
# 2. The machine and the versions.
{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cpu_flags_sha_ni=$(grep -m1 -o -w 'sha_ni' /proc/cpuinfo || echo no)"
  echo "kernel=$(uname -r)"
  echo "memory_total=$(grep MemTotal /proc/meminfo | awk '{print $2 " kB"}')"
  echo "openssl=$(openssl version)"
  echo "node=$(node --version)"
  echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
  echo "oidc_provider=$(jget "$here/node_modules/oidc-provider/package.json" version)"
  echo "jsonwebtoken=$(jget "$here/node_modules/jsonwebtoken/package.json" version)"
  if [[ -n ${BENCH_PORTICO_BIN:-} ]]; then
    echo "portico_commit=${BENCH_PORTICO_LABEL:-given binary} ($bin, sha256 $(sha256sum "$bin" | cut -c1-12))"
  else
    echo "portico_commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo '+local-changes')"
  fi
  echo "compiler=$(grep -m1 CMAKE_CXX_COMPILER: "$build/CMakeCache.txt" | cut -d= -f2) $(c++ -dumpfullversion 2>/dev/null)"
  echo "build_type=$(grep -m1 CMAKE_BUILD_TYPE: "$build/CMakeCache.txt" | cut -d= -f2)"
} >"$out/machine.txt"
log "machine: $(tr '\n' ' ' <"$out/machine.txt")"

# ---------------------------------------------------------------------------------------------
# 3. The crypto limit: one RS256 verify plus one ES256 sign, on the server's core.
wait_quiet
log "crypto limit: taskset -c $SERVER_CPU openssl speed -seconds 3 rsa2048 ecdsap256"
"${hi[@]}" taskset -c $SERVER_CPU openssl speed -seconds 3 rsa2048 ecdsap256 >"$out/openssl-speed.txt" 2>/dev/null
rsa_verify=$(awk '/^rsa 2048 bits/ {print $NF}' "$out/openssl-speed.txt")
ecdsa_sign=$(awk '/ecdsa \(nistp256\)/ {print $(NF-1)}' "$out/openssl-speed.txt")
[[ -n $rsa_verify && -n $ecdsa_sign ]] || die "cannot read openssl speed output"
crypto_limit=$(awk -v v="$rsa_verify" -v s="$ecdsa_sign" 'BEGIN {printf "%.0f", 1 / (1 / v + 1 / s)}')
printf '{"rsa2048_verify_per_s": %s, "ecdsa_p256_sign_per_s": %s, "exchanges_per_s": %s}\n' \
  "$rsa_verify" "$ecdsa_sign" "$crypto_limit" >"$out/crypto-limit.json"
log "crypto limit: rsa2048 verify $rsa_verify/s, ecdsa p256 sign $ecdsa_sign/s -> $crypto_limit exchanges/s"

# The host's speed drifts over minutes (another tenant's load), so the limit is measured again
# right after each Portico JWT run, and that run's ratio is taken against it.
# measure_limit NAME: writes limits/NAME.json.
mkdir -p "$out/limits"
measure_limit() {
  local f="$out/limits/$1.txt" v sgn
  "${hi[@]}" taskset -c $SERVER_CPU openssl speed -seconds 1 rsa2048 ecdsap256 >"$f" 2>/dev/null
  v=$(awk '/^rsa 2048 bits/ {print $NF}' "$f")
  sgn=$(awk '/ecdsa \(nistp256\)/ {print $(NF-1)}' "$f")
  [[ -n $v && -n $sgn ]] || die "cannot read openssl speed output ($f)"
  printf '{"rsa2048_verify_per_s": %s, "ecdsa_p256_sign_per_s": %s, "exchanges_per_s": %s}\n' "$v" "$sgn" \
    "$(awk -v v="$v" -v s="$sgn" 'BEGIN {printf "%.0f", 1 / (1 / v + 1 / s)}')" >"$out/limits/$1.json"
  log "crypto limit after $1: $(cat "$out/limits/$1.json")"
}

# ---------------------------------------------------------------------------------------------
# 4. Keys, Portico's org and credentials, the peer.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$out/key.pem" -out "$out/cert.pem" -days 2 \
  -subj "/CN=portico-bench" >/dev/null 2>&1
openssl pkey -in "$out/key.pem" -pubout -out "$out/public.pem"

data="$out/data"
ims_port=$(free_port)
log "portico up --data $data --ims-port $ims_port (org and admin), then the credentials"
"$bin" up --data "$data" --ims-port "$ims_port" --author-port 0 --portal-port 0 --json \
  >"$out/up.json" 2>"$out/up.err" &
up_pid=$!
pids+=("$up_pid")
wait_line "$out/up.json" "$up_pid" || die "portico up did not start: $(cat "$out/up.err")"
sleep 0.2
"$bin" --data "$data" console credential create --project bench --cert "$out/cert.pem" --json \
  >"$out/credential-jwt.json" || die "credential create --cert failed: $(cat "$out/credential-jwt.json")"
"$bin" --data "$data" console credential create --project bench --oauth --json \
  >"$out/credential-oauth.json" || die "credential create --oauth failed: $(cat "$out/credential-oauth.json")"
kill -TERM "$up_pid"
wait "$up_pid" || true
ims_url=$(jget "$data/portico.json" ims)

# start_portico NAME ACCESS_LOG CPUS: `portico serve ims` on the data of `portico up`.
start_portico() {
  local name=$1 access_log=$2 cpus=$3
  rm -f "$out/$name.ready"
  PORTICO_ACCESS_LOG=$access_log "${hi[@]}" taskset -c "$cpus" "$bin" serve ims --data "$data/ims" \
    --port "$ims_port" --log-file "$out/$name.log" >"$out/$name.ready" 2>"$out/$name.err" &
  portico_pid=$!
  pids+=("$portico_pid")
  wait_line "$out/$name.ready" "$portico_pid" || die "portico serve ims did not start: $(cat "$out/$name.err")"
}
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

start_portico portico-log-on true $SERVER_CPU
log "portico: $(cat "$out/portico-log-on.ready") pid $portico_pid"

peer_port=$(free_port)
NODE_ENV=production "${hi[@]}" taskset -c $SERVER_CPU node "$here/peer.mjs" "$peer_port" "$out/public.pem" \
  >"$out/peer.ready" 2>"$out/peer.err" &
peer_pid=$!
pids+=("$peer_pid")
wait_line "$out/peer.ready" "$peer_pid" || die "the peer did not start: $(cat "$out/peer.err")"
log "peer: $(cat "$out/peer.ready")"

# The request bodies.
jwt_client=$(jget "$out/credential-jwt.json" client_id)
oauth_client=$(jget "$out/credential-oauth.json" client_id)
node -e '
const fs = require("fs");
const [out, ims] = process.argv.slice(1);
const jwtc = JSON.parse(fs.readFileSync(`${out}/credential-jwt.json`));
const oauth = JSON.parse(fs.readFileSync(`${out}/credential-oauth.json`));
const peer = JSON.parse(fs.readFileSync(`${out}/peer.ready`));
const metascope = Object.keys(jwtc.jwt_payload).find((k) => k.endsWith("/s/ent_portal_sdk"));
if (!metascope) throw new Error("the credential has no ent_portal_sdk metascope");
fs.writeFileSync(`${out}/pools/portico.json`, JSON.stringify({
  kind: "portico", key: `${out}/key.pem`, client_id: jwtc.client_id, client_secret: jwtc.client_secret,
  iss: jwtc.org_id, sub: jwtc.technical_account_id, aud: `${ims}/c/${jwtc.client_id}`, metascope }));
fs.writeFileSync(`${out}/pools/peer.json`, JSON.stringify({
  kind: "peer", key: `${out}/key.pem`, client_id: peer.private_key_jwt_client.client_id,
  iss: peer.private_key_jwt_client.client_id, sub: peer.private_key_jwt_client.client_id,
  aud: peer.token_endpoint, scope: peer.scope }));
const e = encodeURIComponent;
fs.writeFileSync(`${out}/portico-cc.body`, `grant_type=client_credentials&client_id=${e(oauth.client_id)}` +
  `&client_secret=${e(oauth.client_secret)}&scope=ent_portal_sdk\n`);
fs.writeFileSync(`${out}/peer-cc.body`, `grant_type=client_credentials&client_id=${e(peer.secret_post_client.client_id)}` +
  `&client_secret=${e(peer.secret_post_client.client_secret)}&scope=${e(peer.scope)}\n`);
' "$out" "$ims_url"
portico_jwt_url="$ims_url/ims/exchange/jwt"
portico_cc_url="$ims_url/ims/token/v3"
peer_url=$(jget "$out/peer.ready" token_endpoint)

# ---------------------------------------------------------------------------------------------
# 5. Assertion pools: each request needs a fresh one, so a pool per server grows just ahead of
# use. pool_next is the first record no run has sent yet.
declare -A pool_count pool_record pool_next pool_rate gen_seconds probe_cover
pool_count[portico]=0; pool_count[peer]=0
pool_next[portico]=0; pool_next[peer]=0
# First guesses of the rate (requests/s), raised to the best measured so far after every run.
pool_rate[portico]=$crypto_limit
pool_rate[peer]=6000
gen_seconds[portico]=0; gen_seconds[peer]=0

# ensure_records NAME N: at least N unused records in the pool of NAME.
ensure_records() {
  local name=$1 need=$2 have add chunk info t0 record
  have=$((pool_count[$name] - pool_next[$name]))
  ((have >= need)) && return 0
  add=$((need - have))
  chunk="$out/pools/$name.chunk"
  t0=$(date +%s.%N)
  info=$(node "$here/gen_assertions.mjs" "$out/pools/$name.json" "$add" "$chunk" "$(nproc)") ||
    die "assertion generation failed"
  record=$(node -e 'console.log(JSON.parse(process.argv[1]).record_bytes)' "$info")
  if [[ -n ${pool_record[$name]:-} && ${pool_record[$name]} != "$record" ]]; then
    die "pool $name: record length changed from ${pool_record[$name]} to $record"
  fi
  pool_record[$name]=$record
  cat "$chunk" >>"$out/pools/$name.pool"
  rm -f "$chunk"
  pool_count[$name]=$((pool_count[$name] + add))
  gen_seconds[$name]=$(awk -v a="${gen_seconds[$name]}" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN {print a + t1 - t0}')
  log "pool $name: +$add assertions ($info), $((pool_count[$name] - pool_next[$name])) unused"
}
# ensure_pool NAME SECONDS [FACTOR]: enough for SECONDS at FACTOR (1.3) times the best rate seen.
ensure_pool() {
  ensure_records "$1" "$(awk -v r="${pool_rate[$1]}" -v s="$2" -v f="${3:-1.3}" 'BEGIN {printf "%d", r * s * f + 1000}')"
}

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
proc_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
clk_tck=$(getconf CLK_TCK)

# run_wrk LABEL SERVER SERVER_PID URL CLIENT_CPUS CONNS SECONDS KIND [RATE]
#   SERVER: portico or peer (the pool used by KIND=pool); KIND: pool or static:BODY_FILE.
#   CLIENT_CPUS: the cores of wrk ("" for unpinned).
pool_factor=1.6
run_wrk() {
  local label=$1 server=$2 pid=$3 url=$4 cpus=$5 conns=$6 secs=$7 kind=$8 rate=${9:-}
  local result="$out/runs/$label.json" pin=() args=(threads=1 result="$out/runs/$label.wrk.json")
  [[ -n $cpus ]] && pin=(taskset -c "$cpus")
  if [[ $kind == pool ]]; then
    ensure_pool "$server" "$secs" "$pool_factor"
    args+=(pool="$out/pools/$server.pool" record="${pool_record[$server]}" start="${pool_next[$server]}" count="${pool_count[$server]}")
  else
    args+=(static="${kind#static:}")
  fi
  [[ -n $rate ]] && args+=(rate="$rate" conns="$conns")
  local c0 c1 t0 t1 m0 m1 k0 k1 wrk_cpu p perf_pids=()
  # perf (optional, set by the caller for this run only), started once the pool is ready.
  if [[ -n ${perf_stat_to:-} ]]; then
    taskset -c $CLIENT_CPU perf stat -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter \
      -p "$pid" -o "$perf_stat_to" -- sleep "$secs" >/dev/null 2>&1 &
    perf_pids+=($!)
  fi
  if [[ -n ${perf_record_to:-} ]]; then
    taskset -c $CLIENT_CPU perf record -F 499 --call-graph dwarf,16384 -p "$pid" -o "$perf_record_to" \
      -- sleep "$secs" >"$out/perf-record.log" 2>&1 &
    perf_pids+=($!)
  fi
  perf_stat_to=""
  perf_record_to=""
  pids+=("${perf_pids[@]}")
  c0=$(cpu_ticks "$pid")
  m0=$(cpu_busy_ticks)
  k0=$(core_ticks $SERVER_CPU)
  t0=$(date +%s.%N)
  wrk_cpu=$( { TIMEFORMAT='%U %S'; time "${hi[@]}" "${pin[@]}" wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s \
    -s "$here/pool.lua" "$url" -- "${args[@]}" >"$out/runs/$label.txt" 2>&1; } 2>&1 ) ||
    die "wrk failed: $(tail -5 "$out/runs/$label.txt")"
  t1=$(date +%s.%N)
  for p in "${perf_pids[@]}"; do wait "$p" || true; done
  m1=$(cpu_busy_ticks)
  k1=$(core_ticks $SERVER_CPU)
  c1=$(cpu_ticks "$pid")
  [[ -s $out/runs/$label.wrk.json ]] || die "wrk wrote no result: $(tail -5 "$out/runs/$label.txt")"
  node -e '
const fs = require("fs");
const [file, wrkFile, label, server, url, conns, secs, rate, c0, c1, t0, t1, tck, rss, hwm, cpus, m0, m1, wrkCpu, k0, k1] = process.argv.slice(1);
const k = (a) => a.split(" ").map(Number);
const r = JSON.parse(fs.readFileSync(wrkFile, "utf8"));
Object.assign(r, {
  label, server, url, connections: +conns, duration_s: +secs, target_rate: rate ? +rate : null,
  client_cpus: cpus || "any",
  server_cpu_cores: (c1 - c0) / tck / (t1 - t0),
  wrk_cpu_cores: wrkCpu.trim().split(/\s+/).reduce((a, x) => a + Number(x), 0) / (t1 - t0),
  machine_busy_cores: (m1.split(" ")[0] - m0.split(" ")[0]) / tck / (t1 - t0),
  // Core 0 (the server core when pinned): busy share of the window, and the part spent in interrupts
  // and softirqs (loopback TCP work the kernel charges to no process).
  core0_busy: (k(k1)[0] - k(k0)[0]) / (k(k1)[2] - k(k0)[2]),
  core0_irq: (k(k1)[1] - k(k0)[1]) / (k(k1)[2] - k(k0)[2]),
  server_rss_kb: +rss, server_hwm_kb: +hwm,
  valid: r.non200 === 0 && r.exhausted === 0 && r.socket_errors.connect + r.socket_errors.read + r.socket_errors.write + r.socket_errors.timeout === 0,
});
fs.writeFileSync(file, JSON.stringify(r, null, 1) + "\n");
' "$result" "$out/runs/$label.wrk.json" "$label" "$server" "$url" "$conns" "$secs" "$rate" "$c0" "$c1" "$t0" "$t1" \
    "$clk_tck" "$(proc_kb "$pid" VmRSS)" "$(proc_kb "$pid" VmHWM)" "$cpus" "$m0" "$m1" "$wrk_cpu" "$k0" "$k1"
  if [[ $kind == pool ]]; then
    pool_next[$server]=$(jget "$result" next)
    local measured
    measured=$(jget "$result" rate)
    pool_rate[$server]=$(awk -v a="${pool_rate[$server]}" -v b="$measured" -v first="${rated[$server]:-}" \
      'BEGIN {printf "%d", (first == "" || b > a) ? b : a}')
    rated[$server]=1
  fi
  log "$label: $(jget "$result" rate) req/s, p99 $(jget "$result" latency_ms.p99) ms, server $(jget "$result" server_cpu_cores | cut -c1-5) cores (core 0 busy $(jget "$result" core0_busy | cut -c1-4)), wrk $(jget "$result" wrk_cpu_cores | cut -c1-5), machine $(jget "$result" machine_busy_cores | cut -c1-5), RSS $(jget "$result" server_rss_kb) kB, valid=$(jget "$result" valid)"
  [[ $(jget "$result" valid) == true ]] || log "INVALID RUN $label: statuses $(jget "$result" statuses), $(jget "$result" exhausted) past the pool, first error $(jget "$result" first_error)"
}
declare -A rated

# warm_up LABEL SERVER PID URL CLIENT_CPUS KIND: the warm-up before a measured run (logs other work
# seen on the machine during it).
warm_up() {
  local label=$1 foreign saved_factor=$pool_factor
  # The rate may still be a cold probe's (JIT, caches): room for twice as much.
  pool_factor=$(awk -v f="$pool_factor" 'BEGIN {print (f < 2.2 ? 2.2 : f)}')
  run_wrk "$label" "$2" "$3" "$4" "$5" "$CONNS" "$WARMUP" "$6"
  pool_factor=$saved_factor
  foreign=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
console.log((r.machine_busy_cores - r.server_cpu_cores - r.wrk_cpu_cores).toFixed(2))' "$out/runs/$label.json")
  awk -v f="$foreign" 'BEGIN {exit !(f > 0.1)}' && log "note: other work used $foreign core during $label"
  return 0
}
# idle_check: before a run with no warm-up, waits for quiet while the wait budget lasts.
idle_check() {
  (($(date +%s) < quiet_deadline)) && wait_quiet
  return 0
}

# One quick check that both pools and both static bodies are accepted before anything is timed.
ensure_records portico 100
ensure_records peer 100
for s in portico peer; do
  u=$portico_jwt_url; [[ $s == peer ]] && u=$peer_url
  check=$(node "$here/drive.mjs" "$u" "$out/pools/$s.pool" "${pool_record[$s]}" "${pool_next[$s]}" 20 4) ||
    die "$s refuses the assertions: $check"
  pool_next[$s]=$((pool_next[$s] + 20))
done
for s in portico peer; do
  u=$portico_cc_url; [[ $s == peer ]] && u=$peer_url
  check=$(node "$here/drive.mjs" "$u" "$out/$s-cc.body" "$(stat -c %s "$out/$s-cc.body")" 0 1 1) ||
    die "$s refuses client_credentials: $check"
done
log "checks: both servers accept both kinds of request"

wait_quiet

# A 2 s probe of each server's JWT rate sizes the pools (a pool too large costs minutes of signing,
# one too small invalidates a run). Its pool covers up to 40 % of the crypto limit (Portico) or
# 3,000/s (the peer); a probe that runs out means the rate is at least that, and the guess becomes
# the crypto limit.
probe_cover[portico]=$((crypto_limit * 2 * 40 / 100))
probe_cover[peer]=6000
for s in peer portico; do
  if [[ $s == peer ]]; then pid=$peer_pid; url=$peer_url; else pid=$portico_pid; url=$portico_jwt_url; fi
  ensure_records "$s" "${probe_cover[$s]}"
  saved=${pool_rate[$s]}
  pool_rate[$s]=0  # ensure_pool inside run_wrk then asks for nothing more than the 1,000 spare
  run_wrk "$s-jwt-warmup-probe" "$s" "$pid" "$url" $CLIENT_CPU "$CONNS" 2 pool
  if (($(jget "$out/runs/$s-jwt-warmup-probe.json" exhausted) > 0)); then pool_rate[$s]=$saved; fi
  log "pool $s: sized for ${pool_rate[$s]} requests/s"
done

# ---------------------------------------------------------------------------------------------
# 6. Pinned runs, interleaved: per mode, RUNS x (peer, portico), each a warm-up then a measure.
# perf, when present, records Portico during the warm-up of its last JWT run (not a timed window).
for mode in jwt cc; do
  for ((run = 1; run <= RUNS; run++)); do
    for s in peer portico; do
      if [[ $s == peer ]]; then pid=$peer_pid; else pid=$portico_pid; fi
      if [[ $mode == jwt ]]; then
        kind=pool; url=$portico_jwt_url; [[ $s == peer ]] && url=$peer_url
      else
        kind="static:$out/$s-cc.body"; url=$portico_cc_url; [[ $s == peer ]] && url=$peer_url
      fi
      # perf, when it works, watches the last warm-up of each: counts (context switches, syscalls)
      # for both servers, and a sampled profile of Portico's JWT exchange.
      if [[ $have_perf == 1 && $run == "$RUNS" ]]; then
        perf_stat_to="$out/perf-stat-$s-$mode.txt"
        [[ $s == portico && $mode == jwt ]] && perf_record_to="$out/perf.data"
      fi
      warm_up "$s-$mode-pinned-warmup$run" "$s" "$pid" "$url" $CLIENT_CPU "$kind"
      run_wrk "$s-$mode-pinned-$run" "$s" "$pid" "$url" $CLIENT_CPU "$CONNS" "$DURATION" "$kind"
      [[ $s == portico && $mode == jwt ]] && measure_limit "$s-$mode-pinned-$run"
    done
  done
done
# Past its memory bound the replay ledger checks every jti in the database (jti_ledger.h): runs
# after that are not comparable. The bound holds BENCH_RUNS=2 at ~10,000 exchanges/s.
if grep -q '"jti_ledger_in_database"' "$out/portico-log-on.log"; then
  grep -m1 '"jti_ledger_in_database"' "$out/portico-log-on.log" | sed 's/.*"ts":"\([^"]*\)".*/\1/' \
    >"$out/ledger-left-memory.txt"
  log "note: the replay ledger left memory at $(cat "$out/ledger-left-memory.txt"); later runs checked jtis in the database"
fi

# Half of the peak (the median pinned rate), paced; report the rate reached and the p99.
median_rate() {
  node -e '
const fs = require("fs");
const [dir, prefix, runs] = process.argv.slice(1);
const v = [];
for (let i = 1; i <= +runs; i++) v.push(JSON.parse(fs.readFileSync(`${dir}/${prefix}-${i}.json`)).rate);
v.sort((a, b) => a - b);
console.log(Math.round(v[Math.floor(v.length / 2)]));' "$out/runs" "$1" "$RUNS"
}
for mode in jwt cc; do
  for s in peer portico; do
    if [[ $s == peer ]]; then pid=$peer_pid; else pid=$portico_pid; fi
    if [[ $mode == jwt ]]; then
      kind=pool; url=$portico_jwt_url; [[ $s == peer ]] && url=$peer_url
    else
      kind="static:$out/$s-cc.body"; url=$portico_cc_url; [[ $s == peer ]] && url=$peer_url
    fi
    half=$(($(median_rate "$s-$mode-pinned") / 2))
    # Enough connections that each waits ~20 ms on average between its requests (so the response
    # time, not counted in that wait, slows the pace by only a few per cent).
    c=$(awk -v r="$half" 'BEGIN {c = int(r * 0.02 + 0.5); if (c < 4) c = 4; if (c > 512) c = 512; print c}')
    idle_check
    run_wrk "$s-$mode-half" "$s" "$pid" "$url" $CLIENT_CPU "$c" "$HALF_SECONDS" "$kind" "$half"
  done
done

# ---------------------------------------------------------------------------------------------
# 7. Portico with the access log off (one run per mode, after a warm-up).
if [[ $ACCESS_LOG_OFF == 1 ]]; then
  stop_pid "$portico_pid"
  start_portico portico-log-off false $SERVER_CPU
  for mode in jwt cc; do
    if [[ $mode == jwt ]]; then kind=pool; url=$portico_jwt_url; else kind="static:$out/portico-cc.body"; url=$portico_cc_url; fi
    warm_up "portico-$mode-logoff-warmup" portico "$portico_pid" "$url" $CLIENT_CPU "$kind"
    run_wrk "portico-$mode-logoff" portico "$portico_pid" "$url" $CLIENT_CPU "$CONNS" "$DURATION" "$kind"
  done
  stop_pid "$portico_pid"
  start_portico portico-log-on-2 true $SERVER_CPU
fi

# ---------------------------------------------------------------------------------------------
# 8. One unpinned run: servers and wrk free to use both cores.
if [[ $UNPINNED == 1 ]]; then
  pool_factor=2.2  # unpinned, a server may use more than one core: room for twice the pinned rate
  for p in "$portico_pid" "$peer_pid"; do taskset -a -p -c 0-$(($(nproc) - 1)) "$p" >/dev/null; done
  for mode in jwt cc; do
    for s in peer portico; do
      if [[ $s == peer ]]; then pid=$peer_pid; else pid=$portico_pid; fi
      if [[ $mode == jwt ]]; then
        kind=pool; url=$portico_jwt_url; [[ $s == peer ]] && url=$peer_url
      else
        kind="static:$out/$s-cc.body"; url=$portico_cc_url; [[ $s == peer ]] && url=$peer_url
      fi
      warm_up "$s-$mode-unpinned-warmup" "$s" "$pid" "$url" "" "$kind"
      run_wrk "$s-$mode-unpinned" "$s" "$pid" "$url" "" "$CONNS" "$DURATION" "$kind"
    done
  done
fi
stop_pid "$peer_pid"
stop_pid "$portico_pid"

# ---------------------------------------------------------------------------------------------
# 9. Profiles. perf (sampled under full load, above) and callgrind (instructions, all threads)
# of the Release binary serving PROFILE_EXCHANGES JWT exchanges.
if [[ $have_perf == 1 && -s $out/perf.data ]]; then
  pr() { perf report -i "$out/perf.data" --stdio -g none "$@" 2>/dev/null | grep -v '^#' | grep -v '^$' || true; }
  pr --no-children --sort dso --percent-limit 0.5 >"$out/perf-dso.txt"
  pr --no-children --sort symbol --percent-limit 0.3 | cut -c1-220 >"$out/perf-self.txt"
  pr --children --sort symbol --percent-limit 1.5 | cut -c1-220 >"$out/perf-children.txt"
  pr --no-children --sort pid >"$out/perf-threads.txt"
fi
if [[ $have_valgrind == 1 && $PROFILE_EXCHANGES -gt 0 ]]; then
  log "callgrind: portico serve ims under valgrind, $PROFILE_EXCHANGES JWT exchanges"
  ensure_records portico $((PROFILE_EXCHANGES + 50))
  rm -f "$out/callgrind.ready"
  PORTICO_ACCESS_LOG=true taskset -c $SERVER_CPU valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$out/callgrind.out" "$bin" serve ims --data "$data/ims" --port "$ims_port" \
    --log-file "$out/callgrind-ims.log" >"$out/callgrind.ready" 2>"$out/callgrind.err" &
  vg_pid=$!
  pids+=("$vg_pid")
  for ((i = 0; i < 1200; i++)); do [[ -s $out/callgrind.ready ]] && break; sleep 0.1; done
  [[ -s $out/callgrind.ready ]] || die "portico under valgrind did not start: $(tail -5 "$out/callgrind.err")"
  # A few requests untraced first (first-use paths), then tracing on for the measured ones.
  node "$here/drive.mjs" "$portico_jwt_url" "$out/pools/portico.pool" "${pool_record[portico]}" "${pool_next[portico]}" 50 4 >/dev/null
  pool_next[portico]=$((pool_next[portico] + 50))
  callgrind_control -i on "$vg_pid" >/dev/null 2>&1
  node "$here/drive.mjs" "$portico_jwt_url" "$out/pools/portico.pool" "${pool_record[portico]}" "${pool_next[portico]}" \
    "$PROFILE_EXCHANGES" 4 >"$out/callgrind-drive.json" || log "callgrind load had errors: $(cat "$out/callgrind-drive.json")"
  pool_next[portico]=$((pool_next[portico] + PROFILE_EXCHANGES))
  callgrind_control -i off "$vg_pid" >/dev/null 2>&1
  stop_pid "$vg_pid"
  callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null | head -120 >"$out/callgrind-inclusive.txt" || true
  callgrind_annotate "$out/callgrind.out" 2>/dev/null | head -80 >"$out/callgrind-self.txt" || true
fi

# ---------------------------------------------------------------------------------------------
# 10. The summary (table for docs/BENCHMARKS.md).
printf '{"portico": %s, "peer": %s}\n' "${gen_seconds[portico]}" "${gen_seconds[peer]}" >"$out/pool-generation-seconds.json"
node "$here/summarize.mjs" "$out" | tee "$out/summary.md"
rm -f "$out"/pools/*.pool
log "done in $(($(date +%s) - started_at)) s; raw output in $out"
