// Run the megafs executable in a child process with its own MEGAFS_HOME, cheap Argon2id
// and a password in the environment; collect exit code, stdout and stderr.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/megafs', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Home {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** A file holding `password`, for --password-file. */
  passwordFile(password: string): Promise<string>;
  cleanup(): Promise<void>;
}

export const PASSWORD = 'correct horse battery staple';

/** A fresh MEGAFS_HOME under os.tmpdir(). */
export async function tempHome(): Promise<Home> {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-home-'));
  let n = 0;
  return {
    dir,
    env: { ...process.env, MEGAFS_HOME: dir, MEGAFS_TEST_KDF: '1', MEGAFS_PASSWORD: PASSWORD },
    async passwordFile(password) {
      const f = join(dir, `pw${n++}`);
      await writeFile(f, `${password}\n`);
      return f;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Run any program; never rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: opts.env, cwd: opts.cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

export function megafs(args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string; input?: string } = {}): Promise<Result> {
  return run(process.execPath, [BIN, ...args], { env, ...opts });
}
