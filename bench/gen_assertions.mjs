// Writes a pool of ready request bodies, one per line, each carrying a fresh RS256 assertion
// (unique jti) signed with npm `jsonwebtoken`. Every line has the same length, so the wrk script
// (pool.lua) can seek straight to record i. Signing is split across worker threads.
//
//   node gen_assertions.mjs CONFIG.json COUNT OUT_FILE [WORKERS]
//
// CONFIG.json:
//   kind        "portico" (body for POST /ims/exchange/jwt) or "peer" (private_key_jwt body for
//               oidc-provider's POST /token, grant_type=client_credentials)
//   key         path of the PEM private key (RSA 2048)
//   client_id, client_secret (portico), iss, sub, aud, metascope (portico: the claim name),
//   scope (peer), ttl (seconds, default 3600)
import { createPrivateKey, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync, renameSync, rmSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import jwt from 'jsonwebtoken';

const enc = encodeURIComponent;

function bodyFor(cfg, token) {
  if (cfg.kind === 'portico') {
    return `client_id=${enc(cfg.client_id)}&client_secret=${enc(cfg.client_secret)}&jwt_token=${token}`;
  }
  return (
    `grant_type=client_credentials&client_id=${enc(cfg.client_id)}` +
    `&client_assertion_type=${enc('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}` +
    `&client_assertion=${token}&scope=${enc(cfg.scope)}`
  );
}

function generate(cfg, count, file) {
  const key = createPrivateKey(readFileSync(cfg.key));
  const exp = Math.floor(Date.now() / 1000) + (cfg.ttl ?? 3600);
  const fd = openSync(file, 'w');
  let len = -1;
  let chunk = [];
  for (let i = 0; i < count; i++) {
    const claims = { exp, iss: cfg.iss, sub: cfg.sub, aud: cfg.aud, jti: randomBytes(16).toString('hex') };
    if (cfg.metascope) claims[cfg.metascope] = true;
    const line = bodyFor(cfg, jwt.sign(claims, key, { algorithm: 'RS256', noTimestamp: true })) + '\n';
    if (len < 0) len = line.length;
    if (line.length !== len) throw new Error(`record ${i} has length ${line.length}, not ${len}`);
    chunk.push(line);
    if (chunk.length === 1000) {
      writeSync(fd, chunk.join(''));
      chunk = [];
    }
  }
  if (chunk.length) writeSync(fd, chunk.join(''));
  closeSync(fd);
  return len;
}

if (!isMainThread) {
  const { cfg, count, file } = workerData;
  parentPort.postMessage(generate(cfg, count, file));
} else {
  const [cfgPath, countArg, out, workersArg] = process.argv.slice(2);
  if (!cfgPath || !countArg || !out) {
    console.error('usage: node gen_assertions.mjs CONFIG.json COUNT OUT_FILE [WORKERS]');
    process.exit(2);
  }
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  const count = Number(countArg);
  const workers = Math.max(1, Math.min(Number(workersArg ?? availableParallelism()), count));
  const started = Date.now();
  const per = Math.ceil(count / workers);
  const parts = [];
  for (let w = 0; w < workers; w++) {
    const n = Math.min(per, count - w * per);
    if (n <= 0) break;
    const file = `${out}.part${w}`;
    parts.push({
      file,
      len: new Promise((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { cfg, count: n, file } });
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
    });
  }
  const lens = await Promise.all(parts.map((p) => p.len));
  if (new Set(lens).size !== 1) throw new Error(`workers produced different record lengths ${lens}`);
  // Concatenate the parts (each worker wrote whole records).
  const fd = openSync(`${out}.tmp`, 'w');
  for (const p of parts) {
    writeSync(fd, readFileSync(p.file));
    rmSync(p.file);
  }
  closeSync(fd);
  renameSync(`${out}.tmp`, out);
  const secs = (Date.now() - started) / 1000;
  // One JSON line for the driver script: the record length lets pool.lua seek to record i.
  console.log(JSON.stringify({ file: out, count, record_bytes: lens[0], seconds: secs, per_second: Math.round(count / secs) }));
}
