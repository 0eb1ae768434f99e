// Reads the raw output of token_endpoint.sh (bench/out/<stamp>/) and prints the results as
// Markdown (the table recorded in docs/BENCHMARKS.md) and writes summary.json beside it.
//
//   node summarize.mjs OUT_DIR
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node summarize.mjs OUT_DIR');
  process.exit(2);
}
const read = (f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
const runs = {};
for (const f of readdirSync(`${dir}/runs`)) {
  if (f.endsWith('.json') && !f.endsWith('.wrk.json')) runs[f.slice(0, -5)] = read(`runs/${f}`);
}
const machine = Object.fromEntries(
  readFileSync(`${dir}/machine.txt`, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const crypto = read('crypto-limit.json');
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (x, d = 0) => (x == null || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

function series(prefix) {
  let list = Object.keys(runs)
    .filter((k) => k.startsWith(prefix) && /-\d+$/.test(k) && !k.includes('warmup'))
    .sort()
    .map((k) => runs[k]);
  const invalidRuns = list.filter((r) => !r.valid).map((r) => r.label);
  list = list.filter((r) => r.valid);  // a run with errors or past its pool is not a result
  if (!list.length) return null;
  const pick = (f) => list.map(f);
  const rates = pick((r) => r.rate);
  return {
    n: list.length,
    labels: pick((r) => r.label),
    dropped: invalidRuns,
    rates,
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    p99: median(pick((r) => r.latency_ms.p99)),
    p50: median(pick((r) => r.latency_ms.p50)),
    cpu: median(pick((r) => r.server_cpu_cores)),
    rss_mb: Math.max(...pick((r) => r.server_rss_kb)) / 1024,
    hwm_mb: Math.max(...pick((r) => r.server_hwm_kb)) / 1024,
  };
}

const s = {
  portico_jwt: series('portico-jwt-pinned-'),
  peer_jwt: series('peer-jwt-pinned-'),
  portico_cc: series('portico-cc-pinned-'),
  peer_cc: series('peer-cc-pinned-'),
};
// Ratios per interleaved pair (run i of each), then their median and range.
function pairRatios(a, b) {
  if (!a || !b) return null;
  const n = Math.min(a.rates.length, b.rates.length);
  const r = a.rates.slice(0, n).map((x, i) => x / b.rates[i]).filter((x) => Number.isFinite(x));
  return { median: a.median / b.median, min: Math.min(...r), max: Math.max(...r) };
}
// The limit measured right after each Portico JWT run (limits/<run>.json), when there is one for
// every run: each run's ratio against its own limit. Otherwise the limit of the start.
const runLimits = s.portico_jwt
  ? s.portico_jwt.labels.map((l) => (existsSync(`${dir}/limits/${l}.json`) ? read(`limits/${l}.json`).exchanges_per_s : null))
  : [];
const perRun = runLimits.length && runLimits.every((x) => x) ? s.portico_jwt.rates.map((r, i) => r / runLimits[i]) : null;
const ratios = {
  jwt_vs_crypto: s.portico_jwt && (perRun
    ? { median: median(perRun), min: Math.min(...perRun), max: Math.max(...perRun), per_run: perRun, limits: runLimits }
    : {
      median: s.portico_jwt.median / crypto.exchanges_per_s,
      min: s.portico_jwt.min / crypto.exchanges_per_s,
      max: s.portico_jwt.max / crypto.exchanges_per_s,
    }),
  jwt_vs_peer: pairRatios(s.portico_jwt, s.peer_jwt),
  cc_vs_peer: pairRatios(s.portico_cc, s.peer_cc),
};
const one = (k) => runs[k] ?? null;
const half = {
  portico_jwt: one('portico-jwt-half'),
  peer_jwt: one('peer-jwt-half'),
  portico_cc: one('portico-cc-half'),
  peer_cc: one('peer-cc-half'),
};
const logoff = { portico_jwt: one('portico-jwt-logoff'), portico_cc: one('portico-cc-logoff') };
const unpinned = {
  portico_jwt: one('portico-jwt-unpinned'),
  peer_jwt: one('peer-jwt-unpinned'),
  portico_cc: one('portico-cc-unpinned'),
  peer_cc: one('peer-cc-unpinned'),
};
const allMeasured = Object.entries(runs).filter(([k]) => !k.includes('warmup'));
// CPU used on the machine by anything but the server and wrk during a measured run (another
// build or test on the shared machine); above 0.1 core the run is reported as disturbed.
const foreign = (r) => r.machine_busy_cores - r.server_cpu_cores - r.wrk_cpu_cores;
const disturbed = allMeasured.filter(([, r]) => foreign(r) > 0.1).map(([k, r]) => `${k} (${fmt(foreign(r), 2)} core)`);
const invalid = allMeasured.filter(([, r]) => !r.valid).map(([k]) => k);
const totalRequests = Object.values(runs).reduce((a, r) => a + r.requests, 0);

const summary = { machine, crypto, series: s, ratios, half, logoff, unpinned, invalid, disturbed, total_requests: totalRequests };
writeFileSync(`${dir}/summary.json`, JSON.stringify(summary, null, 1) + '\n');

const L = [];
const pct = (x) => (x == null ? '–' : `${fmt(x * 100, 0)} %`);
const times = (x) => (x == null ? '–' : `${fmt(x, 2)}×`);
const range = (o, f) => (o ? `${f(o.median)} (${f(o.min)}–${f(o.max)})` : '–');
const rateCell = (o) => (o ? `${fmt(o.median)} (${fmt(o.min)}–${fmt(o.max)})` : '–');
L.push(`Machine: ${machine.nproc} cores, ${machine.cpu_model}; ${machine.date_utc}; OpenSSL ${machine.openssl.replace(/^OpenSSL /, '')}; node ${machine.node}; oidc-provider ${machine.oidc_provider}; ${machine.wrk}; portico ${machine.portico_commit} (${machine.build_type}).`);
L.push('');
L.push(`Crypto limit on core 0: RSA-2048 verify ${fmt(crypto.rsa2048_verify_per_s)}/s, ECDSA P-256 sign ${fmt(crypto.ecdsa_p256_sign_per_s)}/s → **${fmt(crypto.exchanges_per_s)} exchanges/s**.`);
if (perRun) {
  L.push('');
  L.push(`Measured again after each Portico JWT run: ${runLimits.map((x) => fmt(x)).join(' / ')} exchanges/s; each run's ratio is taken against its own (${perRun.map(pct).join(' / ')}).`);
}
if (existsSync(`${dir}/ledger-left-memory.txt`)) {
  L.push('');
  L.push(`**Note:** the replay ledger passed its memory bound at ${readFileSync(`${dir}/ledger-left-memory.txt`, 'utf8').trim()}; runs after that checked every jti in the database and are not comparable.`);
}
L.push('');
const nRuns = Math.max(...Object.values(s).filter(Boolean).map((o) => o.n + o.dropped.length));
L.push(`Pinned (server on core 0, wrk -t1 -c16 on core 1), median of ${nRuns} interleaved 15 s runs (min–max):`);
L.push('');
L.push('| | requests/s | p50 / p99 at saturation (ms) | server CPU (cores) | requests/s per server core | RSS / peak RSS (MB) |');
L.push('|---|---|---|---|---|---|');
const row = (name, o) =>
  o &&
  L.push(
    `| ${name} | ${rateCell(o)} | ${fmt(o.p50, 2)} / ${fmt(o.p99, 2)} | ${fmt(o.cpu, 2)} | ${fmt(o.median / o.cpu)} | ${fmt(o.rss_mb, 1)} / ${fmt(o.hwm_mb, 1)} |`,
  );
const dropped = Object.values(s).filter(Boolean).flatMap((o) => o.dropped);
row('Portico JWT exchange (`/ims/exchange/jwt`)', s.portico_jwt);
row('oidc-provider `private_key_jwt` (RS256)', s.peer_jwt);
row('Portico client_credentials (`/ims/token/v3`)', s.portico_cc);
row('oidc-provider `client_secret_post`', s.peer_cc);
if (dropped.length) {
  L.push('');
  L.push(`Left out as invalid (see the list at the end): ${dropped.join(', ')}; the medians and ranges above are of the other runs.`);
}
L.push('');
L.push('| Target | Measured | Met |');
L.push('|---|---|---|');
const met = (ok) => (ok == null ? '–' : ok ? 'yes' : '**no**');
L.push(`| JWT exchange ≥ 60 % of the crypto limit | ${range(ratios.jwt_vs_crypto, pct)} | ${met(ratios.jwt_vs_crypto && ratios.jwt_vs_crypto.median >= 0.6)} |`);
L.push(`| JWT exchange ≥ 4× oidc-provider private_key_jwt | ${range(ratios.jwt_vs_peer, times)} | ${met(ratios.jwt_vs_peer && ratios.jwt_vs_peer.median >= 4)} |`);
L.push(`| client_credentials ≥ 4× oidc-provider client_secret_post | ${range(ratios.cc_vs_peer, times)} | ${met(ratios.cc_vs_peer && ratios.cc_vs_peer.median >= 4)} |`);
const hp = [half.portico_jwt, half.portico_cc].filter(Boolean);
L.push(`| p99 < 5 ms at half of peak | ${hp.map((h) => `${h.server === 'portico' && h.url.includes('exchange') ? 'JWT' : 'cc'} ${fmt(h.latency_ms.p99, 2)} ms`).join(', ') || '–'} | ${met(hp.length ? hp.every((h) => h.latency_ms.p99 < 5) : null)} |`);
const rssMax = Math.max(...[s.portico_jwt, s.portico_cc].filter(Boolean).map((o) => o.hwm_mb));
L.push(`| server RSS < 64 MB | peak ${fmt(rssMax, 1)} MB (VmHWM) | ${met(Number.isFinite(rssMax) ? rssMax < 64 : null)} |`);
L.push('');
L.push('At half of peak (paced with wrk\'s `delay()`: random think time per connection, Poisson-like arrivals; one 15 s run):');
L.push('');
L.push('| | target requests/s | reached | connections | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) |');
L.push('|---|---|---|---|---|---|---|---|');
for (const [name, h] of [
  ['Portico JWT exchange', half.portico_jwt],
  ['oidc-provider private_key_jwt', half.peer_jwt],
  ['Portico client_credentials', half.portico_cc],
  ['oidc-provider client_secret_post', half.peer_cc],
]) {
  if (h)
    L.push(`| ${name} | ${fmt(h.target_rate)} | ${fmt(h.rate)} | ${h.connections} | ${fmt(h.latency_ms.p50, 2)} | ${fmt(h.latency_ms.p90, 2)} | ${fmt(h.latency_ms.p99, 2)} | ${fmt(h.latency_ms.p999, 2)} |`);
}
if (logoff.portico_jwt || logoff.portico_cc) {
  L.push('');
  L.push('Portico with the access log off (`PORTICO_ACCESS_LOG=false`), pinned, one 15 s run:');
  L.push('');
  L.push('| | requests/s | vs access log on (median) | p99 (ms) | server CPU (cores) |');
  L.push('|---|---|---|---|---|');
  if (logoff.portico_jwt)
    L.push(`| JWT exchange | ${fmt(logoff.portico_jwt.rate)} | ${times(logoff.portico_jwt.rate / s.portico_jwt.median)} | ${fmt(logoff.portico_jwt.latency_ms.p99, 2)} | ${fmt(logoff.portico_jwt.server_cpu_cores, 2)} |`);
  if (logoff.portico_cc)
    L.push(`| client_credentials | ${fmt(logoff.portico_cc.rate)} | ${times(logoff.portico_cc.rate / s.portico_cc.median)} | ${fmt(logoff.portico_cc.latency_ms.p99, 2)} | ${fmt(logoff.portico_cc.server_cpu_cores, 2)} |`);
}
if (Object.values(unpinned).some(Boolean)) {
  L.push('');
  L.push('Unpinned (server and wrk free on both cores), one 15 s run:');
  L.push('');
  L.push('| | requests/s | vs pinned median | p99 (ms) | server CPU (cores) | ratio Portico / peer |');
  L.push('|---|---|---|---|---|---|');
  const u = (name, r, pinned, ratio) =>
    r && L.push(`| ${name} | ${fmt(r.rate)} | ${times(r.rate / pinned.median)} | ${fmt(r.latency_ms.p99, 2)} | ${fmt(r.server_cpu_cores, 2)} | ${ratio ?? ''} |`);
  u('Portico JWT exchange', unpinned.portico_jwt, s.portico_jwt, unpinned.peer_jwt && times(unpinned.portico_jwt.rate / unpinned.peer_jwt.rate));
  u('oidc-provider private_key_jwt', unpinned.peer_jwt, s.peer_jwt);
  u('Portico client_credentials', unpinned.portico_cc, s.portico_cc, unpinned.peer_cc && times(unpinned.portico_cc.rate / unpinned.peer_cc.rate));
  u('oidc-provider client_secret_post', unpinned.peer_cc, s.peer_cc);
}
L.push('');
L.push(invalid.length ? `**Invalid runs (errors or pool exhausted): ${invalid.join(', ')}**` : `Every measured run answered 200 to every request (${fmt(totalRequests)} requests in all, warm-ups included).`);
L.push(disturbed.length ? `**Runs disturbed by other work on the machine (CPU used by neither server nor wrk): ${disturbed.join(', ')}**` : 'No measured run saw other work on the machine (CPU outside the server and wrk under 0.1 core).');
if (existsSync(`${dir}/pool-generation-seconds.json`)) {
  const g = read('pool-generation-seconds.json');
  L.push(`Assertion pools generated in ${fmt(g.portico, 0)} s (Portico) and ${fmt(g.peer, 0)} s (peer).`);
}
// perf stat over the last warm-up of each server and endpoint: per-request counts.
const statRows = [];
for (const server of ['portico', 'peer']) {
  for (const mode of ['jwt', 'cc']) {
    const f = `${dir}/perf-stat-${server}-${mode}.txt`;
    const warm = Object.keys(runs).filter((k) => k.startsWith(`${server}-${mode}-pinned-warmup`)).sort().pop();
    if (!existsSync(f) || !warm) continue;
    const count = (name) => {
      const m = readFileSync(f, 'utf8').match(new RegExp(`^\\s*([\\d,.]+)\\s+(?:msec\\s+)?${name.replace(/[.:]/g, '\\$&')}`, 'm'));
      return m ? Number(m[1].replace(/,/g, '')) : null;
    };
    const n = runs[warm].requests;
    statRows.push({ server, mode, requests: n, cs: count('context-switches') / n, sys: count('raw_syscalls:sys_enter') / n, cpu_us: (count('task-clock') * 1000) / n });
  }
}
if (statRows.length) {
  summary.perf_stat = statRows;
  writeFileSync(`${dir}/summary.json`, JSON.stringify(summary, null, 1) + '\n');
  L.push('');
  L.push('Per request, counted with `perf stat` over the last warm-up (pinned, saturated):');
  L.push('');
  L.push('| | server CPU per request (µs) | context switches per request | syscalls per request |');
  L.push('|---|---|---|---|');
  for (const r of statRows)
    L.push(`| ${r.server === 'portico' ? 'Portico' : 'oidc-provider'} ${r.mode === 'jwt' ? 'JWT exchange / private_key_jwt' : 'client_credentials'} | ${fmt(r.cpu_us)} | ${fmt(r.cs, 1)} | ${fmt(r.sys, 1)} |`);
}
console.log(L.join('\n'));
