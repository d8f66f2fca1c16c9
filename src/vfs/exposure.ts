// Which file keys a share link may hold (docs/design.md "Shares without a copy"). A link
// carries the chunk key of each file it shares, so the rule is: no chunk is sealed under
// an exposed key after its share's snapshot. A file is exposed when its file id is in the
// snapshot of a share record of the DRIVE object (live or revoked: a revoked link still
// holds its key), or was captured for a share by this process (before its record is
// committed). The next content change of an exposed file moves it to a new file id and
// key first (rekey.ts), so the set only ever grows: a file id, once exposed, is never
// sealed under again.
// Loaded lazily, on the first content change after the root's shares list moved (a share
// of this process, or of another device seen by a merge); only records not loaded before
// are walked (their snapshot directories, no chunk lists).
import { toHex } from '../format/bytes.js';
import { TREE_SHARES } from '../format/drive-object.js';
import { snapshotFiles } from './share-snapshot.js';
import type { TreeIo } from './tree-io.js';

/** After a failed load, writes go on unchecked for this long before it is tried again (a
 *  store that is down must not make every write wait for it). */
const RETRY_MS = 60_000;

export class Exposure {
  private readonly ids = new Set<string>();
  /** The SHARES object whose records are all in `ids` (null: none yet). */
  private loadedFor: string | null = null;
  /** Snapshot objects already walked. */
  private readonly walked = new Set<string>();
  private loading: Promise<void> | null = null;
  private failedAtMs = -Infinity;

  constructor(
    private readonly tree: TreeIo,
    /** The SHARES object the current base names. */
    private readonly sharesId: () => string | null,
    private readonly log: (line: string) => void,
  ) {}

  /** Captured for a share by this process: exposed from now on. */
  add(fileId: Uint8Array): void {
    this.ids.add(toHex(fileId));
  }

  /** Whether a link may hold this file's key. Synchronous (false) in the common case: the
   *  set is loaded for the current root and the file is not in it. */
  exposes(fileId: Uint8Array): boolean | Promise<boolean> {
    const want = this.sharesId();
    if (want === this.loadedFor || Date.now() - this.failedAtMs < RETRY_MS) return this.ids.size > 0 && this.ids.has(toHex(fileId));
    return this.loadCurrent().then(() => this.ids.has(toHex(fileId)));
  }

  /** Load until the set matches the base's shares list (it may move during a load). */
  private async loadCurrent(): Promise<void> {
    for (let i = 0; i < 3 && this.sharesId() !== this.loadedFor && Date.now() - this.failedAtMs >= RETRY_MS; i++) {
      await this.load(this.sharesId());
    }
  }

  private load(sharesId: string | null): Promise<void> {
    this.loading ??= this.walk(sharesId).then(() => {
      this.loadedFor = sharesId;
    }, (e: Error) => {
      // Fails open (the store is away and the snapshots were never read here): logged;
      // such a write's chunks are never registered for any link, so no server serves them.
      this.failedAtMs = Date.now();
      this.log(`megafs: the drive's share list cannot be read (${e.message}); files shared elsewhere may not move to a new key yet`);
    }).finally(() => { this.loading = null; });
    return this.loading;
  }

  private async walk(sharesId: string | null): Promise<void> {
    if (sharesId === null) return;
    const t = await this.tree.openLevel(sharesId);
    if (!t || t.kind !== TREE_SHARES) throw new Error('the DRIVE object names a shares list that is not one');
    for (const r of t.records) {
      if (this.walked.has(r.snapshot)) continue;
      for (const e of await snapshotFiles(this.tree, r.snapshot)) this.ids.add(toHex(e.file!.fileId));
      this.walked.add(r.snapshot);
    }
  }
}
