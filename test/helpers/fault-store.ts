// A Store wrapper that injects faults, for the fault-injection suite: the Nth operation
// from now (of the kinds asked for) fails with EIO (the store answered with an error),
// E_QUOTA (a permanent refusal), stalls (until heal(), or `stallMs`: a slow request), or
// "crashes" the process (calls
// onCrash, which abandons the vfs, then fails). `down` fails every call (E_UNAVAILABLE);
// `quotaFull` refuses every put (E_QUOTA). Everything else goes to the real store below.
import { StoreError } from '../../src/errors.js';
import type { ByteRange, CasResult, ObjectId, ObjectInfo, RootRecord, Store, StoreUsage } from '../../src/store/store.js';

export type Fault = 'eio' | 'quota' | 'stall' | 'crash';
export type OpKind = 'put' | 'get' | 'root' | 'cas';

export class FaultStore implements Store {
  readonly name: string;
  down = false;
  quotaFull = false;
  onCrash: () => void = () => undefined;
  /** A stalled request goes on by itself after this long (a very slow store). */
  stallMs = 2000;
  /** Operations that went through (any kind). */
  ops = 0;
  private armed: { countdown: number; fault: Fault; kinds: Set<OpKind> } | null = null;
  private stalled: (() => void)[] = [];
  putFile?: Store['putFile'];
  syncDeferred?: Store['syncDeferred'];

  constructor(readonly inner: Store) {
    this.name = `faulty ${inner.name}`;
    if (inner.putFile) {
      this.putFile = async (id, path, opts) => {
        await this.gate('put');
        return inner.putFile!(id, path, opts);
      };
    }
    if (inner.syncDeferred) this.syncDeferred = () => inner.syncDeferred!();
  }

  /** Fail the `n`th operation (1 = the next) of `kinds` with `fault`. */
  arm(n: number, fault: Fault, kinds: OpKind[] = ['put', 'get', 'root', 'cas']): void {
    this.armed = { countdown: n, fault, kinds: new Set(kinds) };
  }

  /** Every fault off; stalled calls go on. */
  heal(): void {
    this.armed = null;
    this.down = false;
    this.quotaFull = false;
    this.releaseStalls();
  }

  /** Stalled calls go on (other faults stay). */
  releaseStalls(): void {
    for (const go of this.stalled.splice(0)) go();
  }

  private async gate(kind: OpKind): Promise<void> {
    if (this.down) throw new StoreError('E_UNAVAILABLE', 'fault: the store is down');
    if (kind === 'put' && this.quotaFull) throw new StoreError('E_QUOTA', 'fault: quota exceeded');
    const a = this.armed;
    if (a && a.kinds.has(kind) && --a.countdown <= 0) {
      this.armed = null;
      if (a.fault === 'eio') throw new StoreError('E_UNAVAILABLE', `fault: ${kind} failed`);
      if (a.fault === 'quota') {
        this.quotaFull = true;
        throw new StoreError('E_QUOTA', 'fault: quota exceeded');
      }
      if (a.fault === 'crash') {
        this.onCrash();
        throw new StoreError('E_UNAVAILABLE', 'fault: the process died here');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.stallMs);
        this.stalled.push(() => { clearTimeout(t); resolve(); });
      });
    }
    this.ops++;
  }

  async put(id: ObjectId, body: Uint8Array): Promise<void> {
    await this.gate('put');
    return this.inner.put(id, body);
  }

  async get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    await this.gate('get');
    return this.inner.get(id, range);
  }

  async has(id: ObjectId): Promise<boolean> {
    await this.gate('get');
    return this.inner.has(id);
  }

  async delete(id: ObjectId): Promise<void> {
    return this.inner.delete(id);
  }

  list(): AsyncIterable<ObjectId> {
    return this.inner.list();
  }

  async *scan(): AsyncIterable<ObjectInfo> {
    if (this.down) throw new StoreError('E_UNAVAILABLE', 'fault: the store is down');
    yield* this.inner.scan();
  }

  async getRoot(): Promise<RootRecord | null> {
    await this.gate('root');
    return this.inner.getRoot();
  }

  async casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    await this.gate('cas');
    return this.inner.casRoot(expected, bytes);
  }

  getHeader(): Promise<Uint8Array | null> {
    return this.inner.getHeader();
  }

  putHeader(bytes: Uint8Array): Promise<void> {
    return this.inner.putHeader(bytes);
  }

  usage(): Promise<StoreUsage> {
    return this.inner.usage();
  }

  async close(): Promise<void> {
    this.heal();
  }
}
