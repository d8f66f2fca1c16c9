// Durations as people type them ("30m", "12h", "7d", "2 weeks", "1h30m") and back. One
// parser for the whole tree: `megafs share --expires`, time travel (src/cli/when.ts) and
// the retention policy (src/vfs/retention.ts) all read durations here, so it sits below
// both the cli and the vfs. A month or a year has no fixed length, so neither is a unit.
import { UsageError } from '../errors.js';

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

/** Each unit's spellings, longest first so that "ms" is never read as "m" then "s". */
const UNITS: ReadonlyArray<readonly [readonly string[], number]> = [
  [['milliseconds', 'millisecond', 'msecs', 'msec', 'ms'], 1],
  [['seconds', 'second', 'secs', 'sec', 's'], SECOND_MS],
  [['minutes', 'minute', 'mins', 'min', 'm'], MINUTE_MS],
  [['hours', 'hour', 'hrs', 'hr', 'h'], HOUR_MS],
  [['days', 'day', 'd'], DAY_MS],
  [['weeks', 'week', 'wks', 'wk', 'w'], WEEK_MS],
];
const UNIT_MS = new Map(UNITS.flatMap(([names, ms]) => names.map((n) => [n, ms] as const)));
const UNIT_NAMES = [...UNIT_MS.keys()].sort((a, b) => b.length - a.length);

/** One "<number> <unit>" term; the unit must end where a space, digit or the text does. */
const TERM = new RegExp(`\\s*(\\d+(?:\\.\\d+)?)\\s*(${UNIT_NAMES.join('|')})(?=\\s|\\d|$)`, 'y');

export const DURATION_EXAMPLES = '30m, 12h, 7d, 2w, 1h30m, 3 days';

/**
 * "7d", "12h", "30m", "45s", "2w", "1.5h", "2 weeks", "1h30m", "0" -> milliseconds
 * (rounded to a whole millisecond). Anything else, or more than Number.MAX_SAFE_INTEGER
 * ms, is a UsageError naming the text.
 */
export function parseDuration(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === '0') return 0;
  let ms = 0;
  let at = 0;
  TERM.lastIndex = 0;
  while (at < t.length) {
    const m = TERM.exec(t);
    if (!m) throw new UsageError(`'${text}' is not a duration (examples: ${DURATION_EXAMPLES})`);
    ms += Number(m[1]) * UNIT_MS.get(m[2])!;
    at = TERM.lastIndex;
  }
  if (at === 0) throw new UsageError(`'${text}' is not a duration (examples: ${DURATION_EXAMPLES})`);
  const rounded = Math.round(ms);
  if (!Number.isSafeInteger(rounded)) throw new UsageError(`'${text}' is too long a duration`);
  return rounded;
}

/** Units formatDuration writes, largest first. Weeks only when they are exact (30 days is "30d"). */
const FORMAT_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', DAY_MS], ['h', HOUR_MS], ['m', MINUTE_MS], ['s', SECOND_MS], ['ms', 1],
];

/**
 * Milliseconds as short exact text that parseDuration reads back to the same number:
 * 0 -> "0s", 86400000 -> "1d", 1209600000 -> "2w", 5400000 -> "1h30m", 1500 -> "1s500ms".
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`not a duration in ms: ${ms}`);
  if (ms === 0) return '0s';
  if (ms % WEEK_MS === 0) return `${ms / WEEK_MS}w`;
  let rest = ms;
  let out = '';
  for (const [unit, size] of FORMAT_UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
