// Which session holds a state directory (its journal and last root seen): one file,
// session.json {pid, sessionId}, written when a session opens the directory and removed
// when it closes. A session that finds the file of one that is gone (a killed process, or
// in this process one that was abandoned) takes over that session's record in the root,
// so the record of a dead session does not keep its uploads for a week (docs/design.md
// "What the collector may delete"). A file of a live session (two `megafs put` at once
// share the CLI's directory) is left alone: nothing is taken over.
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** State directories of this process whose session is open (in-process liveness). */
const OPEN = new Set<string>();

function alive(pid: number, stateDir: string): boolean {
  if (pid === process.pid) return OPEN.has(stateDir);
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StateClaim {
  /** The session that held the directory before and is gone (its record is ours to drop). */
  previous: string | null;
  /** The session closed: the file goes. */
  release(): Promise<void>;
  /** The session was abandoned (tests: a killed process): the file stays, as it would. */
  abandon(): void;
}

export async function claimStateDir(stateDir: string, sessionId: string): Promise<StateClaim> {
  const file = join(stateDir, 'session.json');
  let held: { pid: number; sessionId: string } | null = null;
  try {
    held = JSON.parse(await readFile(file, 'utf8')) as { pid: number; sessionId: string };
  } catch { /* none, or unreadable: nobody to take over */ }
  const live = held !== null && typeof held.pid === 'number' && alive(held.pid, stateDir);
  const mine = !live;
  if (mine) {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ pid: process.pid, sessionId }), { mode: 0o600 });
    await rename(tmp, file);
    OPEN.add(stateDir);
  }
  return {
    previous: mine && held && /^[0-9a-f]{32}$/.test(held.sessionId) ? held.sessionId : null,
    async release() {
      if (!mine) return;
      OPEN.delete(stateDir);
      await unlink(file).catch(() => undefined);
    },
    abandon() {
      if (mine) OPEN.delete(stateDir);
    },
  };
}
