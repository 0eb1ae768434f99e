// Sends exactly N requests from a pool (see gen_assertions.mjs) with K keep-alive connections and
// counts the statuses: the load for the profile run (a server under valgrind answers at a rate no
// duration-based wrk run can be sized for) and a quick check that a pool is accepted.
//
//   node drive.mjs URL POOL_FILE RECORD_BYTES START N [K]
//
// Prints one JSON line: {"sent", "seconds", "statuses": {...}, "first_error"}. Exit status 1 when
// any response is not 200.
import { openSync, readSync } from 'node:fs';
import http from 'node:http';

const [url, poolFile, recordArg, startArg, countArg, concArg] = process.argv.slice(2);
if (!url || !poolFile || !recordArg || !startArg || !countArg) {
  console.error('usage: node drive.mjs URL POOL_FILE RECORD_BYTES START N [K]');
  process.exit(2);
}
const record = Number(recordArg);
const start = Number(startArg);
const count = Number(countArg);
const conc = Number(concArg ?? 4);
const fd = openSync(poolFile, 'r');
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const target = new URL(url);

function body(i) {
  const buf = Buffer.alloc(record - 1);
  const n = readSync(fd, buf, 0, record - 1, (start + i) * record);
  if (n !== record - 1) throw new Error(`pool ${poolFile} has no record ${start + i}`);
  return buf;
}

function post(buf) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': buf.length },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(buf);
  });
}

const statuses = {};
let firstError = '';
let next = 0;
const started = Date.now();
async function worker() {
  while (next < count) {
    const i = next++;
    const r = await post(body(i));
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status !== 200 && !firstError) firstError = r.text.slice(0, 300);
  }
}
await Promise.all(Array.from({ length: Math.min(conc, count) }, worker));
agent.destroy();
const ok = Object.keys(statuses).every((s) => s === '200');
console.log(JSON.stringify({ sent: count, seconds: (Date.now() - started) / 1000, statuses, first_error: firstError }));
process.exit(ok ? 0 : 1);
