// Chunks a sequential reader will want next, decrypted into reused 1 MiB buffers and held
// here until the reader copies them out, instead of in the memory cache: a cold 1 GiB
// read would otherwise fault in 1 GiB of fresh memory (1-4 ms per MiB on the build VM).
// Safety of the reuse: a buffer is read only synchronously, right after its lookup here,
// and goes back to the pool only when it leaves the map, so no one ever reads a reused
// buffer under its old id. Fills are the caller's (FileData: full check or range read).

/** Buffer size: a chunk's padded plaintext (1 MiB + the 4-byte length prefix) fits. */
const BUFFER_BYTES = (1 << 20) + 64;
/** Chunks held ready at once (all sequential readers together); the oldest goes first. */
const MAX_READY = 16;

interface Ready {
  buf: Uint8Array;
  plain: Uint8Array;
}

export class ReadAhead {
  private readonly ready = new Map<string, Ready>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly spare: Uint8Array[] = [];

  /** Busy with `id` (loading or ready): nothing to start. */
  has(id: string): boolean {
    return this.ready.has(id) || this.loading.has(id);
  }

  /** The load of `id` in flight, if any (it never rejects). */
  loadingOf(id: string): Promise<void> | undefined {
    return this.loading.get(id);
  }

  /** Start filling `id`: `fill(out)` writes the plaintext into `out` and returns it (a
   *  view of `out`), or null on any failure (then nothing is held; the reader's own
   *  read reports the error). */
  load(id: string, fill: (out: Uint8Array) => Promise<Uint8Array | null>): void {
    if (this.has(id)) return;
    const buf = this.spare.pop() ?? new Uint8Array(BUFFER_BYTES);
    const run = fill(buf).then((plain) => {
      if (!plain || plain.buffer !== buf.buffer) { this.release(buf); return; }
      this.ready.set(id, { buf, plain });
      while (this.ready.size > MAX_READY) {
        const [oldId, old] = this.ready.entries().next().value as [string, Ready];
        this.ready.delete(oldId);
        this.release(old.buf);
      }
    }, () => this.release(buf)).finally(() => this.loading.delete(id));
    this.loading.set(id, run);
  }

  /** Copy payload bytes [offset, offset + dest.length) of a ready chunk into `dest`: the
   *  count copied (the caller zero-fills the rest), or null when `id` is not ready. A
   *  copy that reaches the chunk's end frees it (the sequential reader is past it). */
  copyOut(id: string, offset: number, dest: Uint8Array): number | null {
    const r = this.ready.get(id);
    if (!r) return null;
    const n = Math.max(0, Math.min(dest.length, r.plain.length - offset));
    if (n > 0) dest.set(r.plain.subarray(offset, offset + n));
    if (offset + dest.length >= r.plain.length) {
      this.ready.delete(id);
      this.release(r.buf);
    }
    return n;
  }

  private release(buf: Uint8Array): void {
    if (this.spare.length < MAX_READY) this.spare.push(buf);
  }
}
