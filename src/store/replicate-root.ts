// The root across N stores: the highest valid version any store holds wins, stale stores
// are caught up (their objects first, then the root: a store never holds a root whose
// objects it was never given), and compare-and-swap goes first to an arbiter (the first store that
// answers, in the order given) so that exactly one of racing writers wins, then to the rest.
// Replicated etag token: "<sha256 of root bytes>:<store index>:<that store's etag>".
import { IntegrityError, StoreError, isMegafsError } from '../errors.js';
import { sha256Hex } from './body-hash.js';
import type { CasResult, RootRecord, Store } from './store.js';

/** The root's version from its sealed bytes (the crypto layer knows how); null = invalid. */
export type RootVersionFn = (bytes: Uint8Array) => bigint | null;

interface Seen {
  etag: string;
  hash: string;
  version: bigint | null;
  bytes: Uint8Array;
}

export class RootReplicas {
  /** Last root seen per store index (undefined: unknown; null: the store has none). */
  private readonly seen: Array<Seen | null | undefined>;

  constructor(
    private readonly stores: readonly Store[],
    private readonly rootVersion: RootVersionFn,
    private readonly writeQuorum: number,
    private readonly background: (what: string, p: Promise<unknown>) => void,
    /** Copy to store i the objects it lacks (ReplicatedStore.catchUp). */
    private readonly catchUp: (i: number) => Promise<void>,
  ) {
    this.seen = stores.map(() => undefined);
  }

  /** Read every store's root; the best (highest valid version, then lowest index). */
  private async refresh(): Promise<{ best: number; failures: number } | null> {
    const got = await Promise.allSettled(this.stores.map((s) => s.getRoot()));
    let best = -1;
    let failures = 0;
    let invalid = 0;
    got.forEach((r, i) => {
      // A store that does not answer keeps what we last saw: tokens naming it still match.
      if (r.status === 'rejected') { failures++; return; }
      this.seen[i] = r.value && this.record(r.value);
      const s = this.seen[i];
      if (s && s.version === null) invalid++;
      if (s && s.version !== null && (best < 0 || s.version > this.seen[best]!.version!)) best = i;
    });
    if (failures === this.stores.length) throw new StoreError('E_UNAVAILABLE', 'no store answered for the root');
    if (best < 0 && invalid > 0) throw new IntegrityError('every root the stores hold is invalid');
    return best < 0 ? null : { best, failures };
  }

  private record(r: RootRecord): Seen {
    return { etag: r.etag, hash: sha256Hex(r.bytes), version: this.rootVersion(r.bytes), bytes: r.bytes };
  }

  private token(i: number): string {
    const s = this.seen[i]!;
    return `${s.hash}:${i}:${s.etag}`;
  }

  async get(): Promise<RootRecord | null> {
    const cur = await this.refresh();
    if (!cur) return null;
    const best = this.seen[cur.best]!;
    this.stores.forEach((store, i) => {
      const s = this.seen[i];
      if (s === undefined || (s && s.version !== null && s.version >= best.version! )) return;
      // Missing, invalid or older: bring this store up to the others, then to the best root.
      this.background(`catch up ${store.name}`, this.catchUp(i).then(() => store.casRoot(s ? s.etag : null, best.bytes)).then((r) => {
        if (r.ok) this.seen[i] = { ...best, etag: r.etag };
      }));
    });
    return { bytes: best.bytes, etag: this.token(cur.best) };
  }

  /** Is `expected` (a token or null) the best root we know of right now? */
  private matches(expected: string | null, best: number | null): boolean {
    if (expected === null) return best === null;
    if (best === null) return false;
    const [hash, index, ...etag] = expected.split(':');
    const s = this.seen[Number(index)];
    return !!s && s.hash === hash && s.etag === etag.join(':') && hash === this.seen[best]!.hash;
  }

  async cas(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    const cur = await this.refresh();
    if (!this.matches(expected, cur ? cur.best : null)) return { ok: false, current: await this.get() };
    const priorVersion = cur ? this.seen[cur.best]!.version : null;
    const hash = sha256Hex(bytes);
    const version = this.rootVersion(bytes);
    const attempt = (i: number): Promise<CasResult> => {
      const s = this.seen[i];
      return this.stores[i].casRoot(s ? s.etag : null, bytes);
    };
    let arbiter = -1;
    const errors: unknown[] = [];
    for (let i = 0; i < this.stores.length && arbiter < 0; i++) {
      try {
        const r = await attempt(i);
        if (!r.ok) return { ok: false, current: await this.get() };
        this.seen[i] = { etag: r.etag, hash, version, bytes };
        arbiter = i;
      } catch (e) {
        if (!isMegafsError(e, 'E_UNAVAILABLE')) throw e;
        errors.push(e);
      }
    }
    if (arbiter < 0) throw new StoreError('E_UNAVAILABLE', 'no store answered for the root');
    const rest = this.stores.map((_, i) => i).filter((i) => i > arbiter);
    // A store behind the root being replaced (back after being away) first gets what it missed.
    const behind = (i: number): boolean => {
      const s = this.seen[i];
      return priorVersion !== null && (!s || s.version === null || s.version < priorVersion);
    };
    const results = await Promise.allSettled(rest.map(async (i) => {
      if (behind(i)) await this.catchUp(i);
      return attempt(i);
    }));
    let acked = 1;
    results.forEach((r, k) => {
      const i = rest[k];
      if (r.status === 'fulfilled' && r.value.ok) {
        acked++;
        this.seen[i] = { etag: r.value.etag, hash, version, bytes };
      } else {
        this.seen[i] = undefined; // unknown now; the next get() repairs it
      }
    });
    if (acked < this.writeQuorum) {
      throw new StoreError('E_UNAVAILABLE', `root written to ${acked} of ${this.stores.length} stores, write quorum ${this.writeQuorum}`);
    }
    return { ok: true, etag: this.token(arbiter) };
  }
}
