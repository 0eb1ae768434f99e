// Makes the corpus of bench/publish.sh: COUNT files of 100-300 KB (200 KB on average) of
// pseudo-random bytes in nested folders (d00..d09/e00..e09/, then files f00000.bin...), all from
// a fixed seed, so every machine gets the same bytes and nothing can compress them.
//   node gen_files.mjs DIR COUNT
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const [dir, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!dir || !(count > 0)) {
  console.error("usage: node gen_files.mjs DIR COUNT");
  process.exit(2);
}
const seed = crypto.createHash("sha256").update("portico-bench-publish").digest();
// One AES-128-CTR keystream gives both the sizes and the contents.
const stream = crypto.createCipheriv("aes-128-ctr", seed.subarray(0, 16), seed.subarray(16, 32));
const zeros = Buffer.alloc(300 * 1024);
let total = 0;
for (let i = 0; i < count; i++) {
  const r = stream.update(zeros.subarray(0, 4)).readUInt32LE(0);
  const size = 100 * 1024 + (r % (200 * 1024 + 1));
  const sub = path.join(dir, `d${String(Math.floor(i / 1000) % 10).padStart(2, "0")}`,
                        `e${String(Math.floor(i / 100) % 10).padStart(2, "0")}`);
  if (i % 100 === 0) fs.mkdirSync(sub, { recursive: true });
  fs.writeFileSync(path.join(sub, `f${String(i).padStart(5, "0")}.bin`), stream.update(zeros.subarray(0, size)));
  total += size;
}
console.log(JSON.stringify({ files: count, bytes: total }));
