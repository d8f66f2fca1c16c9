// `megafs mount` without --foreground: start the daemon as a detached child (its output
// goes to MEGAFS_HOME/log/daemon.log), hand it the password over the IPC channel (never
// argv or the environment), and return once it says the mount is usable.
import { spawn } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MegafsError, type ErrorCode } from '../errors.js';
import type { HomePaths } from './config.js';
import type { ReadyInfo } from './daemon.js';

/** What the child sends back: exactly one of these. */
export type ChildMessage = { type: 'ready'; info: ReadyInfo } | { type: 'error'; code: ErrorCode; message: string };
/** What the parent sends: the password. */
export interface ParentMessage { password: string }

const BIN = fileURLToPath(new URL('../../../bin/megafs', import.meta.url));

export function logFile(paths: HomePaths): string {
  return join(paths.log, 'daemon.log');
}

/** Start `megafs mount --daemon-child ARGS...` and wait until it is ready or failed. */
export async function startBackground(paths: HomePaths, args: string[], password: string): Promise<ReadyInfo> {
  await mkdir(paths.log, { recursive: true, mode: 0o700 });
  const log = await open(logFile(paths), 'a', 0o600);
  try {
    const child = spawn(process.execPath, [BIN, 'mount', '--daemon-child', ...args], {
      detached: true, stdio: ['ignore', log.fd, log.fd, 'ipc'],
    });
    const result = await new Promise<ChildMessage>((resolve) => {
      child.once('message', (m) => resolve(m as ChildMessage));
      child.once('exit', (code, signal) => resolve({
        type: 'error', code: 'E_INTERNAL',
        message: `the daemon exited (${signal ?? `code ${code}`}) before mounting; see ${logFile(paths)}`,
      }));
      child.once('error', (e) => resolve({ type: 'error', code: 'E_INTERNAL', message: `cannot start the daemon: ${e.message}` }));
      child.send({ password } satisfies ParentMessage);
    });
    if (child.connected) child.disconnect();
    child.unref();
    if (result.type === 'error') throw new MegafsError(result.code, result.message);
    return result.info;
  } finally {
    await log.close();
  }
}

/** In the child: the password the parent sends. */
export function receivePassword(): Promise<string> {
  return new Promise((resolve) => process.once('message', (m) => resolve((m as ParentMessage).password)));
}

/** In the child: report the outcome to the parent, then drop the channel. */
export function tellParent(msg: ChildMessage): void {
  if (!process.send || !process.connected) return;
  process.send(msg, () => { if (process.connected) process.disconnect(); });
}
