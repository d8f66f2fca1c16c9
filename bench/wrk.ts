// The server alone: GETs of `megafs serve` measured by wrk, a load generator in C that
// reads the bytes and throws them away. The store bench's HttpStore row measures client
// and server together on the same cores (the client hashes every body and hands the
// caller a buffer of its own); this measures what the server and loopback TCP deliver.
// Optional: without `wrk` on PATH (Debian: apt-get install wrk) the bench says so and
// skips it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function haveWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  /** Whether some thread ran out of ids and started over (its later GETs were repeats). */
  wrapped: boolean;
}

const THREADS = 2;

// Thread k of T asks for ids k, k+T, k+2T, ... in turn, starting over at the end. setup()
// runs in wrk's main Lua state, request() in each thread's own: `first` is handed over
// with thread:set, T comes from the environment.
const SCRIPT = `
local ids = {}
for l in io.lines(os.getenv('WRK_IDS')) do ids[#ids + 1] = l end
local step = tonumber(os.getenv('WRK_THREADS'))
local made = 0
function setup(thread)
  thread:set('first', made)
  made = made + 1
end
local i = 0
request = function()
  local n = first + i * step
  i = i + 1
  return wrk.format('GET', '/v1/objects/' .. ids[(n % #ids) + 1])
end
`;

/** wrk's "N requests in 2.00s" line, as requests and seconds. */
function parse(out: string): { requests: number; seconds: number } {
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m)\b/.exec(out);
  if (!m) throw new Error(`wrk printed no summary:\n${out}`);
  const scale: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60 };
  return { requests: Number(m[1]), seconds: Number(m[2]) * scale[m[3]] };
}

/** GETs of `ids` from `url` (authorization header `auth`) for `seconds` (whole seconds:
 *  wrk's smallest unit), `connections` at a time over THREADS threads. */
export function wrkGet(url: string, auth: string, ids: string[], seconds: number, connections = 8): WrkResult {
  const dir = mkdtempSync(join(tmpdir(), 'megafs-wrk-'));
  try {
    writeFileSync(join(dir, 'ids'), ids.join('\n'));
    writeFileSync(join(dir, 'get.lua'), SCRIPT);
    const r = spawnSync('wrk', [`-t${THREADS}`, `-c${connections}`, `-d${seconds}s`, '-H', `authorization: ${auth}`, '-s', join(dir, 'get.lua'), url], {
      env: { ...process.env, WRK_IDS: join(dir, 'ids'), WRK_THREADS: String(THREADS) }, encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`wrk failed (exit ${r.status}): ${r.stderr}`);
    if (/Non-2xx/.test(r.stdout)) throw new Error(`wrk got answers other than 200:\n${r.stdout}`);
    const { requests, seconds: took } = parse(r.stdout);
    return { requests, seconds: took, wrapped: requests > ids.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
