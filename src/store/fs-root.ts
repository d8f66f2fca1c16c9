// The drive's root in a directory, with compare-and-swap that holds across processes.
// Each version is a file DIR/roots/<16-digit counter>; the current root is the highest.
// CAS from version N publishes N+1 with link(2), which fails when N+1 exists, so exactly
// one writer wins even between processes, and no lock is left behind by a crash. The
// etag is the counter in decimal. Old versions are pruned (the newest KEEP_VERSIONS stay,
// and nothing younger than PRUNE_AGE_MS goes, so a slow writer cannot reuse a pruned slot).
// Without hard links (FAT, exFAT) CAS is exact only within this process.
import { link, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CasResult, RootRecord } from './store.js';
import { fsyncDir, writeTemp } from './fs-atomic.js';

const DIGITS = 16;
const NAME_RE = /^[0-9]{16}$/;
const KEEP_VERSIONS = 32;
const PRUNE_AGE_MS = 60_000;

const slot = (n: number): string => String(n).padStart(DIGITS, '0');

export class FsRoot {
  private readonly rootsDir: string;
  /** In-process CAS calls run one at a time (the cross-process guard is link). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(dir: string, private readonly tmpDir: string) {
    this.rootsDir = join(dir, 'roots');
  }

  async init(): Promise<void> {
    await mkdir(this.rootsDir, { recursive: true });
  }

  private async versions(): Promise<string[]> {
    return (await readdir(this.rootsDir)).filter((n) => NAME_RE.test(n)).sort();
  }

  async get(): Promise<RootRecord | null> {
    for (let attempt = 0; ; attempt++) {
      const names = await this.versions();
      const last = names[names.length - 1];
      if (last === undefined) return null;
      try {
        const bytes = new Uint8Array(await readFile(join(this.rootsDir, last)));
        return { bytes, etag: String(Number(last)) };
      } catch (e) {
        // Pruned between readdir and read: a newer version exists, look again.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 5) throw e;
      }
    }
  }

  /** Every version still kept, newest first (the current one included): `megafs fsck
   *  --rollback` looks here for the newest earlier root whose objects are all present. */
  async history(): Promise<RootRecord[]> {
    const out: RootRecord[] = [];
    for (const name of (await this.versions()).reverse()) {
      try {
        out.push({ bytes: new Uint8Array(await readFile(join(this.rootsDir, name))), etag: String(Number(name)) });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // pruned meanwhile
      }
    }
    return out;
  }

  casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    const run = this.tail.then(() => this.cas(expected, bytes));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async cas(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    const current = await this.get();
    if ((current?.etag ?? null) !== expected) return { ok: false, current };
    const next = current === null ? 1 : Number(current.etag) + 1;
    const temp = await writeTemp(this.tmpDir, 'root', bytes);
    try {
      const won = await link(temp, join(this.rootsDir, slot(next))).then(
        () => true,
        async (e: NodeJS.ErrnoException) => {
          if (e.code === 'EEXIST') return false;
          if (e.code !== 'EPERM' && e.code !== 'ENOTSUP' && e.code !== 'EOPNOTSUPP') throw e;
          await rename(temp, join(this.rootsDir, slot(next)));
          return true;
        },
      );
      if (!won) return { ok: false, current: await this.get() };
      await fsyncDir(this.rootsDir);
    } finally {
      await rm(temp, { force: true });
    }
    await this.prune().catch(() => undefined);
    return { ok: true, etag: String(next) };
  }

  private async prune(): Promise<void> {
    const names = await this.versions();
    const now = Date.now();
    for (const name of names.slice(0, Math.max(0, names.length - KEEP_VERSIONS))) {
      const path = join(this.rootsDir, name);
      const st = await stat(path).catch(() => null);
      if (st && now - st.mtimeMs > PRUNE_AGE_MS) await rm(path, { force: true });
    }
  }
}
