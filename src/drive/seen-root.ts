// The highest root of a drive this machine has seen, shared by every program in one
// MEGAFS_HOME (the mount daemon, `megafs ls`, `get`, `put`...): MEGAFS_HOME/state/<drive
// id>/seen/<20-digit version>, one file per version, holding the root's hash, its sealed
// bytes and the store's etag (the bytes let a mount start offline). A store that serves
// an older root than the highest here, or another root of the same version, is rolling
// back or forking the drive: E_ROLLBACK, whichever program saw the newer one.
// Safe when programs run at once without a lock: a version's file is created with
// link(2), which fails when it exists, so it is written once and never replaced; the
// record is the highest file, so a slow writer of a lower version cannot hide a higher
// one (no lost update); two roots of one version meet at the same name and the second
// is a fork. Old versions are pruned below the newest KEEP (64 roots, a few hundred bytes
// each): they are also the history `megafs fsck --rollback` falls back on where the
// store keeps only its current root (megafs serve, S3). A reader that loses a race with
// pruning looks again (pruning only removes files below a newer one).
import { link, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MegafsError } from '../errors.js';
import { fromBase64, toBase64 } from '../format/bytes.js';
import { fsyncDir, writeTemp } from '../store/fs-atomic.js';

const DIGITS = 20; // a u64 in decimal
const NAME_RE = /^[0-9]{20}$/;
/** Roots kept: the rollback record needs one, fsck's fallback (docs/design.md "When
 *  objects are missing") the rest. */
const KEEP = 64;

export interface SeenRoot {
  version: bigint;
  /** sha256 of the sealed root, hex. */
  hash: string;
  /** The sealed root and its etag in the store(s) it came from. */
  bytes: Uint8Array;
  etag: string;
}

interface FileBody {
  hash: string;
  root: string;
  etag: string;
}

const nameOf = (v: bigint): string => v.toString().padStart(DIGITS, '0');

export class SeenRoots {
  constructor(readonly dir: string) {}

  private async names(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => NAME_RE.test(n)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  private async read(name: string): Promise<SeenRoot | null> {
    let text: string;
    try {
      text = await readFile(join(this.dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const b = JSON.parse(text) as FileBody;
    return { version: BigInt(name), hash: b.hash, bytes: fromBase64(b.root), etag: b.etag };
  }

  /** The highest root seen here, or null when none. */
  async latest(): Promise<SeenRoot | null> {
    for (let attempt = 0; ; attempt++) {
      const names = await this.names();
      const last = names[names.length - 1];
      if (last === undefined) return null;
      const r = await this.read(last);
      if (r || attempt > 5) return r;
      // Pruned between readdir and read: a newer one exists, look again.
    }
  }

  /** Every root kept here, newest first (fsck's fallback candidates). */
  async all(): Promise<SeenRoot[]> {
    const out: SeenRoot[] = [];
    for (const name of (await this.names()).reverse()) {
      const r = await this.read(name); // null: pruned meanwhile
      if (r) out.push(r);
    }
    return out;
  }

  /** E_ROLLBACK when a root of `version` and `hash` is older than, or forks, the highest
   *  root seen here. */
  async check(version: bigint, hash: string): Promise<void> {
    const seen = await this.latest();
    if (!seen) return;
    if (version < seen.version) {
      throw new MegafsError('E_ROLLBACK', `the store served root version ${version}, older than version ${seen.version} seen on this machine`);
    }
    if (version === seen.version && hash !== seen.hash) {
      throw new MegafsError('E_ROLLBACK', `the store served another root for version ${version} than the one seen on this machine (a fork)`);
    }
  }

  /** Record `r` as seen (checked first): from here on, older roots are refused. */
  async advance(r: SeenRoot): Promise<void> {
    await this.check(r.version, r.hash);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const body: FileBody = { hash: r.hash, root: toBase64(r.bytes), etag: r.etag };
    const temp = await writeTemp(this.dir, 'seen', new TextEncoder().encode(JSON.stringify(body)));
    try {
      await link(temp, join(this.dir, nameOf(r.version)));
      await fsyncDir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Another program recorded this version first: the same root, or a fork.
      const there = await this.read(nameOf(r.version));
      if (there && there.hash !== r.hash) {
        throw new MegafsError('E_ROLLBACK', `the store served another root for version ${r.version} than the one seen on this machine (a fork)`);
      }
    } finally {
      await rm(temp, { force: true });
    }
    await this.prune().catch(() => undefined);
  }

  private async prune(): Promise<void> {
    const names = await this.names();
    for (const name of names.slice(0, Math.max(0, names.length - KEEP))) await rm(join(this.dir, name), { force: true });
  }
}
