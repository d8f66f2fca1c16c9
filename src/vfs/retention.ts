// Which snapshots (committed roots) a drive keeps, and how long the rubbish bin keeps what
// was deleted. The snapshot rules are restic's `forget --keep-within/--keep-hourly/
// --keep-daily/--keep-weekly/--keep-monthly`; the policy is one line of text a user sets,
// e.g. "within=24h,hourly=168,daily=30,weekly=8,monthly=12,trash=30d". Pure: no I/O.
import type { RetentionFields } from '../format/drive-object.js';
import { UsageError } from '../errors.js';
import { formatDuration, parseDuration } from '../format/duration.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The policy as the DRIVE object stores it (docs/format.md "Format version 3"). */
export type RetentionPolicy = RetentionFields;

/** Everything for a day, then one an hour for a week, one a day for a month; a 30-day bin. */
export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({
  trashMs: 30 * DAY_MS, keepWithinMs: DAY_MS, hourly: 168, daily: 30, weekly: 0, monthly: 0,
});

/** Bucket numbers, each non-increasing as time goes back. Weeks start Monday 00:00 UTC
 *  (ISO 8601), and 1970-01-01 was a Thursday, hence the 3 days. */
const BUCKETS: ReadonlyArray<readonly ['hourly' | 'daily' | 'weekly' | 'monthly', (ms: number) => number]> = [
  ['hourly', (ms) => Math.floor(ms / HOUR_MS)],
  ['daily', (ms) => Math.floor(ms / DAY_MS)],
  ['weekly', (ms) => Math.floor((Math.floor(ms / DAY_MS) + 3) / 7)],
  ['monthly', (ms) => { const d = new Date(ms); return d.getUTCFullYear() * 12 + d.getUTCMonth(); }],
];

/**
 * The snapshots `policy` keeps out of `snapshots` (in any order; newest first is usual,
 * and among equal times the earlier in the list counts as newer). A snapshot is kept when
 * any rule keeps it:
 *   - the newest snapshot, always;
 *   - a snapshot after `now` (a device whose clock runs ahead): its age is unknown;
 *   - keep-within: a snapshot less than keepWithinMs older than the newest snapshot not
 *     after `now`. Like restic, the window is measured from the newest snapshot, not from
 *     `now`: a drive left alone for a month still has every state of its last day, and
 *     two devices with different clocks agree on what this rule keeps;
 *   - hourly/daily/weekly/monthly = N: the newest snapshot of each of the N most recent
 *     hours (days, ISO weeks, months; UTC) that have a snapshot.
 * Unlike restic 0.17, the oldest snapshot is not kept as an extra when a rule has fewer
 * buckets than N: an N-bucket rule keeps at most one snapshot per bucket.
 */
export function keptSnapshots<T extends { timeMs: number }>(snapshots: readonly T[], policy: RetentionPolicy, now: number): Set<T> {
  const newestFirst = [...snapshots].sort((a, b) => b.timeMs - a.timeMs); // stable
  const kept = new Set<T>(newestFirst.slice(0, 1));
  const ref = newestFirst.find((s) => s.timeMs <= now)?.timeMs;
  for (const s of newestFirst) {
    if (s.timeMs > now || (ref !== undefined && s.timeMs > ref - policy.keepWithinMs)) kept.add(s);
  }
  for (const [rule, bucketOf] of BUCKETS) {
    let left = policy[rule];
    let last: number | undefined;
    for (const s of newestFirst) {
      if (left <= 0) break;
      const bucket = bucketOf(s.timeMs);
      if (bucket === last) continue;
      kept.add(s); // the first (newest) of a bucket: the list goes back in time
      last = bucket;
      left--;
    }
  }
  return kept;
}

/** Setting names in the order formatPolicy writes them. */
const SETTINGS = ['within', 'hourly', 'daily', 'weekly', 'monthly', 'trash'] as const;
type Setting = (typeof SETTINGS)[number];
const FIELD = { within: 'keepWithinMs', trash: 'trashMs', hourly: 'hourly', daily: 'daily', weekly: 'weekly', monthly: 'monthly' } as const;
const UNLIMITED = 'unlimited';

/**
 * "within=24h,hourly=168,daily=30,weekly=8,monthly=12,trash=30d", any subset in any order
 * (settings not named keep `base`'s values, DEFAULT_RETENTION's by default; "" is `base`). A count
 * is a whole number, a duration is what parseDuration reads, and either may be
 * "unlimited". Bad text is a UsageError of one line.
 */
export function parsePolicy(text: string, base: Readonly<RetentionPolicy> = DEFAULT_RETENTION): RetentionPolicy {
  const policy: RetentionPolicy = { ...base };
  if (text.trim() === '') return policy;
  const seen = new Set<Setting>();
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (!(SETTINGS as readonly string[]).includes(name)) {
      throw new UsageError(`'${item.trim()}' is not a retention setting (settings: ${SETTINGS.join(', ')}; e.g. daily=30,trash=30d)`);
    }
    const setting = name as Setting;
    if (eq < 0 || value === '') throw new UsageError(`retention setting '${setting}' needs a value, e.g. ${setting}=${example(setting)}`);
    if (seen.has(setting)) throw new UsageError(`retention setting '${setting}' is given twice`);
    seen.add(setting);
    policy[FIELD[setting]] = parseValue(setting, value);
  }
  return policy;
}

function example(setting: Setting): string {
  return formatValue(setting, DEFAULT_RETENTION[FIELD[setting]]);
}

function parseValue(setting: Setting, value: string): number {
  if (value.toLowerCase() === UNLIMITED) return Infinity;
  if (setting === 'within' || setting === 'trash') {
    try {
      return parseDuration(value);
    } catch {
      throw new UsageError(`'${setting}=${value}': a duration is like 24h, 30d or 2w (or ${UNLIMITED})`);
    }
  }
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`'${setting}=${value}': a count is a whole number like 30 (or ${UNLIMITED})`);
  return n;
}

function formatValue(setting: Setting, value: number): string {
  if (value === Infinity) return UNLIMITED;
  return setting === 'within' || setting === 'trash' ? formatDuration(value) : String(value);
}

/** The policy as parsePolicy reads it, every setting named: DEFAULT_RETENTION is
 *  "within=1d,hourly=168,daily=30,weekly=0,monthly=0,trash=30d". */
export function formatPolicy(p: RetentionPolicy): string {
  return SETTINGS.map((s) => `${s}=${formatValue(s, p[FIELD[s]])}`).join(',');
}
