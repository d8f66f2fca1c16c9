// `megafs serve` as a real child process (as an operator runs it), stopped in teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { BIN } from './cli.js';

export interface Serve {
  url: string;
  stop(): Promise<void>;
}

/** `megafs serve --data dataDir` on 127.0.0.1:`port` (0: any), with `args` added. */
export async function serve(t: ExecutionContext, dataDir: string, port = 0, args: string[] = []): Promise<Serve> {
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  t.teardown(() => void proc.kill('SIGKILL'));
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    let err = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const found = /listening on (\S+)/.exec(out);
      if (found) res(found[1]);
    });
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    void exited.then(() => rej(new Error(`megafs serve exited: ${err}`)));
  });
  return { url, stop: async () => { proc.kill('SIGTERM'); await exited; } };
}
