// Collection in the background of a mount (docs/design.md "Collection in a mount"): the
// daemon runs the collector (gc.ts) a while after the mount and then once an interval,
// on the same event loop that serves FUSE. The collector's I/O is asynchronous, and its
// mark yields the loop before each directory (GcOptions.pause), so FUSE callbacks run
// between directories. A lock held by another device's collector (E_LOCKED) is logged
// once and tried again the next interval; any other failure is logged in one line and
// tried again sooner (RETRY_MS). `megafs status` shows the last outcome (status()).
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { MegafsError, UsageError } from '../errors.js';
import { formatDuration, parseDuration } from '../format/duration.js';
import type { GcReport } from './gc.js';

/** The first collection after a mount (ms): late enough not to slow the start. */
export const GC_FIRST_MS = 10 * 60_000;
/** Between collections (ms), unless `megafs mount --gc-interval` says otherwise. */
export const GC_INTERVAL_MS = 24 * 3600_000;
/** After a failure other than E_LOCKED, the next try comes this soon (or at the interval). */
export const GC_RETRY_MS = 3600_000;
/** setTimeout holds at most 2^31-1 ms; a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A message in the log or in status is one line of at most this many characters. */
const MAX_MESSAGE = 300;

/** What the last collection did: when, and what it freed or why it failed. */
export interface GcOutcome {
  startedMs: number;
  finishedMs: number;
  /** Objects and bytes deleted, summed over the stores. */
  freedObjects: number;
  freedBytes: number;
  /** Deletes that failed (the next collection tries them again). */
  failedDeletes: number;
  /** Set when the collection did not run to its end. */
  error?: { code: string; message: string };
}

export interface GcScheduleStatus {
  /** null: background collection is off (`--gc-interval off`). */
  intervalMs: number | null;
  running: boolean;
  /** When the next collection starts (ms since 1970), null when none is planned. */
  nextMs: number | null;
  last: GcOutcome | null;
}

export interface GcScheduleOptions {
  /** Between collections; null turns background collection off. */
  intervalMs: number | null;
  /** From start() to the first collection. */
  firstMs: number;
  /** One collection; `pause` is the collector's GcOptions.pause. */
  collect: (pause: () => Promise<void>) => Promise<GcReport>;
  log: (line: string) => void;
  now?: () => number;
}

/** `megafs mount --gc-interval`: a duration, or "off". */
export function parseGcInterval(text: string): number | null {
  if (text.trim().toLowerCase() === 'off') return null;
  const ms = parseDuration(text);
  if (ms <= 0) throw new UsageError(`--gc-interval must be longer than 0 (or off): '${text}'`);
  return ms;
}

/** The code and first line of an error, for the log and for status: no stack trace. */
export function describeError(e: unknown): { code: string; message: string } {
  const code = (e as { code?: unknown })?.code;
  const raw = e instanceof Error ? e.message : String(e);
  const line = raw.split('\n', 1)[0].trim();
  return { code: typeof code === 'string' ? code : 'E_INTERNAL', message: line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line };
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export class GcSchedule {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private nextMs: number | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private last: GcOutcome | null = null;
  /** The previous outcome was E_LOCKED: another one is not logged again. */
  private saidLocked = false;

  constructor(private readonly o: GcScheduleOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.o.intervalMs !== null) this.planIn(this.o.firstMs);
  }

  status(): GcScheduleStatus {
    return { intervalMs: this.o.intervalMs, running: this.running !== null, nextMs: this.nextMs, last: this.last };
  }

  /** No more collections; one that runs is stopped at its next directory (its lock is
   *  released) and awaited. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextMs = null;
    await this.running;
  }

  /** Run one collection now (the timer's, or a test's); resolves when it is over. */
  runNow(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextMs = null;
    return (this.running ??= this.runOnce().finally(() => { this.running = null; }));
  }

  private planIn(delayMs: number): void {
    if (this.stopping) return;
    const at = this.now() + delayMs;
    this.nextMs = at;
    const arm = (): void => {
      const left = at - this.now();
      if (left > 0) {
        this.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
        this.timer.unref();
      } else {
        void this.runNow();
      }
    };
    arm();
  }

  /** The last pause handed out: pauses go one at a time. */
  private turns: Promise<void> = Promise.resolve();

  /** The collector's pause: a turn of the event loop of its own (the mark reads up to 8
   *  directories at once at each level, so their pauses queue: one directory starts per
   *  turn); a throw once the mount stops. */
  private readonly pause = (): Promise<void> => {
    const mine = this.turns.then(() => yieldLoop()).then(() => {
      if (this.stopping) throw new MegafsError('E_UNAVAILABLE', 'the mount is closing');
    });
    this.turns = mine.catch(() => undefined);
    return mine;
  };

  private async runOnce(): Promise<void> {
    const startedMs = this.now();
    let again = this.o.intervalMs;
    try {
      const report = await this.o.collect(this.pause);
      const sum = (f: (s: GcReport['stores'][number]) => number): number => report.stores.reduce((n, s) => n + f(s), 0);
      this.last = {
        startedMs, finishedMs: this.now(), freedObjects: sum((s) => s.deleted), freedBytes: sum((s) => s.deletedBytes), failedDeletes: sum((s) => s.failed),
      };
      this.saidLocked = false;
      const failed = this.last.failedDeletes ? `; ${this.last.failedDeletes} deletes failed (tried again next time)` : '';
      this.o.log(`megafs: background gc freed ${this.last.freedObjects} objects (${mib(this.last.freedBytes)}) in ${((this.last.finishedMs - startedMs) / 1000).toFixed(1)} s${failed}`);
    } catch (e) {
      if (this.stopping) return; // stopped on purpose at a directory: nothing was deleted
      const error = describeError(e);
      this.last = { startedMs, finishedMs: this.now(), freedObjects: 0, freedBytes: 0, failedDeletes: 0, error };
      if (error.code === 'E_LOCKED') {
        if (!this.saidLocked) this.o.log(`megafs: background gc skipped: ${error.message} (tried again each interval)`);
        this.saidLocked = true;
      } else {
        this.saidLocked = false;
        if (again !== null) again = Math.min(again, GC_RETRY_MS);
        this.o.log(`megafs: background gc failed (${error.code}): ${error.message}; trying again ${again === null ? 'at the next mount' : `in ${formatDuration(again)}`}`);
      }
    } finally {
      if (again !== null) this.planIn(again);
    }
  }
}

/** Test-only settings from the environment (docs/design.md "Collection in a mount"), so a
 *  test sees a background collection within seconds: MEGAFS_GC_FIRST_MS (the delay to the
 *  first collection) and MEGAFS_GC_CLOCK_ALLOWANCE_MS (the grace's clock allowance, as
 *  `megafs gc --clock-allowance`). No one else should set the second: it makes the
 *  collector delete what the grace keeps for devices whose clocks run behind. What the
 *  collector keeps of versions and the bin is the drive's policy (`megafs retention`). */
export interface GcTestEnv { firstMs?: number; clockAllowanceMs?: number }

export function gcTestEnv(env: NodeJS.ProcessEnv = process.env): GcTestEnv {
  const ms = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number of milliseconds: '${text}'`);
    return Number(text);
  };
  const out: GcTestEnv = {};
  const first = ms('MEGAFS_GC_FIRST_MS');
  const allowance = ms('MEGAFS_GC_CLOCK_ALLOWANCE_MS');
  if (first !== undefined) out.firstMs = first;
  if (allowance !== undefined) out.clockAllowanceMs = allowance;
  return out;
}
