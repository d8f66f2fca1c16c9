// `npm run bench [-- FILTER]`: runs every dist/bench/*.bench.js in turn, each in its own
// node process (so one benchmark's heap and JIT state cannot colour the next), with
// the terminal inherited. FILTER keeps the files whose name contains it.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.js') && f.includes(filter)).sort();
if (files.length === 0) {
  console.error(`no benchmark matches '${filter}' in ${dir}`);
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f.replace(/\.bench\.js$/, '')}`);
  const r = spawnSync(process.execPath, [`${dir}${f}`], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${f} failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
