// The server-wide budget of request-body bytes in memory (docs/protocol.md "Limits"). A
// request reserves its whole charge before it reads a byte of its body and gives it back
// when its answer is finished, so the bodies held at once never exceed the budget however
// many requests are in flight. A request that does not fit waits, first come first served
// (its body stays in the client's socket: TCP pushes back), for at most `maxWaitMs`; then
// it is answered 503 with Retry-After. A charge is taken whole or not at all, so holders
// never wait on each other: no deadlock. A charge larger than the whole budget is cut to
// the budget (it runs alone).
import { StoreError } from '../errors.js';

export interface Reservation {
  readonly bytes: number;
  /** Give the bytes back (idempotent). */
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: (r: Reservation) => void;
  refuse: (e: unknown) => void;
}

export class BodyBudget {
  private usedBytes = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly totalBytes: number, readonly maxWaitMs: number) {
    if (!(totalBytes > 0)) throw new Error('BUG: body budget must be positive');
  }

  /** Bytes reserved right now (for tests and logs). */
  get reservedBytes(): number {
    return this.usedBytes;
  }

  /** Reserve `bytes`, waiting while the budget is full. Rejects with E_UNAVAILABLE (with
   *  `retryAfterS`) after maxWaitMs, or with `cancelled`'s reason when the caller goes away. */
  reserve(bytes: number, cancelled?: (cancel: (reason: unknown) => void) => void): Promise<Reservation> {
    const charge = Math.min(Math.max(0, bytes), this.totalBytes);
    if (this.queue.length === 0 && this.usedBytes + charge <= this.totalBytes) return Promise.resolve(this.take(charge));
    return new Promise<Reservation>((resolve, reject) => {
      const leave = (e: unknown): void => {
        const i = this.queue.indexOf(waiter);
        if (i < 0) return; // granted meanwhile
        this.queue.splice(i, 1);
        clearTimeout(timer);
        reject(e);
        this.grantWaiting(); // the head may have gone: the next may fit now
      };
      const waiter: Waiter = {
        bytes: charge,
        grant: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        refuse: leave,
      };
      const timer = setTimeout(() => leave(Object.assign(
        new StoreError('E_UNAVAILABLE', 'server busy: too many request bodies in memory'), { retryAfterS: 1 })), this.maxWaitMs);
      this.queue.push(waiter);
      cancelled?.(leave);
    });
  }

  private take(charge: number): Reservation {
    this.usedBytes += charge;
    let held = true;
    return {
      bytes: charge,
      release: () => {
        if (!held) return;
        held = false;
        this.usedBytes -= charge;
        this.grantWaiting();
      },
    };
  }

  /** Grant waiters from the head of the queue while they fit (strict order: a big body
   *  is not starved by a stream of small ones). */
  private grantWaiting(): void {
    while (this.queue.length > 0 && this.usedBytes + this.queue[0].bytes <= this.totalBytes) {
      const w = this.queue.shift()!;
      w.grant(this.take(w.bytes));
    }
  }
}
