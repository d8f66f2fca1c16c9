// Times as people type them after --at (time travel: log, ls, get, restore) and as megafs
// prints them. Three kinds of text name an instant:
//   - ISO 8601 with a zone: 2026-12-03T10:00:00Z, 2026-12-03T10:00+01:00, ...:00.250Z;
//   - a local time without one: 2026-12-03T10:00, 2026-12-03 10:00:30, 2026-12-03
//     (midnight), read in this process's time zone (the TZ environment variable);
//   - a time before now: 2h, 90m, 3d, 1w, 1h30m, "3 days ago", "2 hours ago",
//     "yesterday" (the same as 1d: 24 hours before now), "now".
// Durations are parsed by src/format/duration.ts (re-exported here for the cli), so the
// cli and the retention policy read "7d" alike.
import { bug, isMegafsError, UsageError } from '../errors.js';
import { parseDuration } from '../format/duration.js';

export { formatDuration, parseDuration } from '../format/duration.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** The range a JavaScript Date can hold, either side of 1970 (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

const EXAMPLES = '2026-12-03T10:00:00Z, 2h, 3 days ago';

/**
 * Date, then optionally time (T, t or a space), seconds, a fraction, and a zone (Z or
 * ±HH, ±HHMM, ±HH:MM). A zone needs a time: "2026-12-03Z" is not read.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

function notATime(text: string, why?: string): UsageError {
  return new UsageError(`'${text}' is not a time${why ? `: ${why}` : ''} (examples: ${EXAMPLES})`);
}

/**
 * The instant `text` names, in ms since 1970, given the current time `now` (ms). Text
 * that names no instant, a local time the clocks skip (a daylight-saving gap) and an
 * instant after `now` are each a UsageError of one line. A local time the clocks pass
 * twice (when daylight saving ends) is the earlier of the two, as Date does.
 */
export function parseInstant(text: string, now: number): number {
  const ms = instantOf(text, now);
  if (ms > now) throw new UsageError(`'${text}' is in the future (it is now ${formatInstant(now)})`);
  return ms;
}

function instantOf(text: string, now: number): number {
  const t = text.trim();
  const lower = t.toLowerCase();
  if (lower === 'now') return now;
  if (lower === 'yesterday') return now - DAY_MS;
  const iso = ISO.exec(t);
  if (iso) return calendarInstant(text, iso);
  let ago: number;
  try {
    ago = parseDuration(/^(.*?)\s*ago$/i.exec(t)?.[1] ?? t);
  } catch (e) {
    if (isMegafsError(e, 'E_USAGE')) throw notATime(text);
    throw e;
  }
  if (now - ago < -MAX_DATE_MS) throw notATime(text, 'that is before any date');
  return now - ago;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : MONTH_DAYS[month - 1];
}

/** A matched ISO text as ms: with its zone, or in local time when it has none. */
function calendarInstant(text: string, m: RegExpExecArray): number {
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const milli = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3)); // a finer fraction is cut
  if (month < 1 || month > 12) throw notATime(text, `there is no month ${m[2]}`);
  if (day < 1 || day > daysInMonth(year, month)) throw notATime(text, `there is no day ${m[3]} in ${m[1]}-${m[2]}`);
  if (hour > 23 || minute > 59 || second > 59) throw notATime(text, 'hours run 00-23, minutes and seconds 00-59');
  const zone = m[8];
  if (zone === undefined) return localInstant(text, [year, month, day, hour, minute, second, milli], m[4] === undefined);
  return utcInstant([year, month, day, hour, minute, second, milli]) - zoneOffsetMs(text, zone);
}

type Fields = [year: number, month: number, day: number, hour: number, minute: number, second: number, milli: number];

function utcInstant([year, month, day, hour, minute, second, milli]: Fields): number {
  const d = new Date(Date.UTC(year, month - 1, day, hour, minute, second, milli));
  if (year < 100) d.setUTCFullYear(year); // Date.UTC reads years 0-99 as 1900-1999
  return d.getTime();
}

/** "Z", "+01", "-0530", "+05:30" -> ms the zone is ahead of UTC. */
function zoneOffsetMs(text: string, zone: string): number {
  if (zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) throw notATime(text, `${zone} is not a time zone offset`);
  return (zone[0] === '-' ? -1 : 1) * (hours * HOUR_MS + minutes * MINUTE_MS);
}

/**
 * Local wall time -> ms. Date moves a wall time the clocks skip forward by the gap; a
 * typed time in a gap is refused rather than guessed, but a bare date whose midnight is
 * skipped (zones that change clocks at 00:00) means the day's first instant.
 */
function localInstant(text: string, [year, month, day, hour, minute, second, milli]: Fields, dateOnly: boolean): number {
  const d = new Date(year, month - 1, day, hour, minute, second, milli);
  if (year < 100) d.setFullYear(year); // as for Date.UTC
  const sameDay = d.getFullYear() === year && d.getMonth() === month - 1 && d.getDate() === day;
  const sameTime = d.getHours() === hour && d.getMinutes() === minute && d.getSeconds() === second;
  if (!sameDay || (!sameTime && !dateOnly)) {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    throw new UsageError(`'${text}' does not exist in the local time zone (${zone}): the clocks skip it; `
      + 'give the zone, e.g. 2026-03-29T02:30+01:00');
  }
  return d.getTime();
}

/**
 * ms -> ISO 8601 in UTC to the second, e.g. 2026-12-03T10:00:00Z. The fraction is cut, not
 * rounded, so the text names the start of the second the instant falls in: an instant
 * printed and read back by parseInstant can be up to 999 ms earlier than the original.
 */
export function formatInstant(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) bug(`formatInstant of ${ms}`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * How long before `now` the instant `ms` was, for people: "just now" (under a minute),
 * "5 min ago", "3 h ago", "1 day ago", "12 days ago", then months (30 days) from 60 days
 * and years (365 days) from two years. An instant after `now` (another device's clock
 * runs ahead) reads "in 5 min". Each figure is cut down, never rounded up.
 */
export function formatAgo(ms: number, now: number): string {
  const span = Math.abs(now - ms);
  if (span < MINUTE_MS) return 'just now';
  const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
  let amount: string;
  if (span < HOUR_MS) amount = `${Math.floor(span / MINUTE_MS)} min`;
  else if (span < DAY_MS) amount = `${Math.floor(span / HOUR_MS)} h`;
  else if (span < 60 * DAY_MS) amount = plural(Math.floor(span / DAY_MS), 'day');
  else if (span < 2 * 365 * DAY_MS) amount = plural(Math.floor(span / (30 * DAY_MS)), 'month');
  else amount = plural(Math.floor(span / (365 * DAY_MS)), 'year');
  return ms > now ? `in ${amount}` : `${amount} ago`;
}
