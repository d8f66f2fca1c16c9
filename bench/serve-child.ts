// `megafs serve` in a child process on loopback, for the benchmarks that compare against
// it (store, vfs). Not a *.bench.ts: bench/run.ts does not run it on its own.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/megafs', import.meta.url));

/** BENCH_SERVE_NODE_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p". */
export async function startServe(dataDir: string): Promise<{ url: string; pid: number; stop: () => void }> {
  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--data', dataDir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) res(m[1]);
    });
    proc.once('exit', (code) => rej(new Error(`megafs serve exited ${code}`)));
  });
  return { url, pid: proc.pid!, stop: () => void proc.kill('SIGTERM') };
}
