// Times after --at and durations: ISO instants with a zone, local times in TZ, relative
// forms, the one-line errors, the future refused; formatInstant/formatAgo; and
// parseDuration, which `megafs share --expires` and the retention policy share.
import test from 'ava';
import fc from 'fast-check';
import { formatAgo, formatDuration, formatInstant, parseDuration, parseInstant } from '../../src/cli/when.js';
import { UsageError } from '../../src/errors.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** 2026-12-10T12:00:00Z: "now" in these tests. No test reads the clock. */
const NOW = Date.UTC(2026, 11, 10, 12, 0, 0);

/** Runs `work` with process.env.TZ = zone (Node re-reads TZ when it is assigned). Synchronous,
 *  so no other test of this file runs while the zone is changed. */
function inZone<T>(zone: string, work: () => T): T {
  const before = process.env.TZ;
  process.env.TZ = zone;
  try {
    return work();
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
}

function usageError(t: import('ava').ExecutionContext, work: () => unknown, text: string): string {
  const e = t.throws(work, { instanceOf: UsageError }, text);
  t.is(e?.code, 'E_USAGE', text);
  t.false(e?.message.includes('\n'), `one line: ${e?.message}`);
  return e?.message ?? '';
}

test('ISO 8601 instants with a zone', (t) => {
  const at10 = Date.UTC(2026, 11, 3, 10, 0, 0);
  t.is(at10, 1796292000000); // the calendar itself, checked once without Date
  const cases: Array<[string, number]> = [
    ['2026-12-03T10:00:00Z', at10],
    ['2026-12-03T10:00Z', at10],
    ['2026-12-03t10:00:00z', at10],
    ['2026-12-03 10:00:00Z', at10],
    ['2026-12-03T10:00:00.250Z', at10 + 250],
    ['2026-12-03T10:00:00,5Z', at10 + 500],
    ['2026-12-03T10:00:00.123456789Z', at10 + 123],
    ['2026-12-03T10:00:00+01:00', at10 - HOUR],
    ['2026-12-03T10:00+01:00', at10 - HOUR],
    ['2026-12-03T10:00:00+0100', at10 - HOUR],
    ['2026-12-03T10:00:00+01', at10 - HOUR],
    ['2026-12-03T10:00:00-05:30', at10 + 5.5 * HOUR],
    ['2026-12-03T10:00:00-00:00', at10],
    ['  2026-12-03T10:00:00Z  ', at10],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['0050-06-01T00:00:00Z', new Date('0050-06-01T00:00:00Z').getTime()],
    ['1969-12-31T23:59:59Z', -1000],
  ];
  for (const [text, ms] of cases) t.is(parseInstant(text, NOW), ms, text);
});

test('a time without a zone is local time, as TZ says', (t) => {
  inZone('UTC', () => {
    t.is(parseInstant('2026-12-03T10:00', NOW), Date.UTC(2026, 11, 3, 10));
    t.is(parseInstant('2026-12-03', NOW), Date.UTC(2026, 11, 3));
  });
  inZone('Europe/Berlin', () => {
    t.is(parseInstant('2026-12-03T10:00', NOW), Date.UTC(2026, 11, 3, 9)); // CET, +01:00
    t.is(parseInstant('2026-12-03 10:00', NOW), Date.UTC(2026, 11, 3, 9));
    t.is(parseInstant('2026-12-03T10:00:30.5', NOW), Date.UTC(2026, 11, 3, 9, 0, 30, 500));
    t.is(parseInstant('2026-07-01T10:00', NOW), Date.UTC(2026, 6, 1, 8)); // CEST, +02:00
    t.is(parseInstant('2026-12-03', NOW), Date.UTC(2026, 11, 2, 23)); // local midnight
    t.is(parseInstant('2026-12-03T10:00Z', NOW), Date.UTC(2026, 11, 3, 10)); // a zone wins over TZ
  });
  inZone('America/New_York', () => {
    t.is(parseInstant('2026-12-03T10:00', NOW), Date.UTC(2026, 11, 3, 15)); // EST, -05:00
  });
  inZone('Asia/Kolkata', () => {
    t.is(parseInstant('2026-12-03T10:00', NOW), Date.UTC(2026, 11, 3, 4, 30)); // +05:30
  });
});

test('daylight saving: a skipped local time is refused, a repeated one is the earlier', (t) => {
  inZone('Europe/Berlin', () => {
    // 2026-03-29 02:00 CET jumps to 03:00 CEST.
    const message = usageError(t, () => parseInstant('2026-03-29T02:30', NOW), 'gap');
    t.true(message.includes('Europe/Berlin'), message);
    t.is(parseInstant('2026-03-29T03:30', NOW), Date.UTC(2026, 2, 29, 1, 30));
    // 2026-10-25 03:00 CEST falls back to 02:00 CET: 02:30 happens at 00:30Z and 01:30Z.
    t.is(parseInstant('2026-10-25T02:30', NOW), Date.UTC(2026, 9, 25, 0, 30));
  });
  // Chile's clocks change at midnight: the bare date means the day's first instant (01:00).
  inZone('America/Santiago', () => {
    t.is(parseInstant('2026-09-06', NOW), Date.UTC(2026, 8, 6, 4)); // 01:00 -03:00
    usageError(t, () => parseInstant('2026-09-06T00:30', NOW), 'midnight gap with a time');
  });
});

test('relative forms count back from now', (t) => {
  const cases: Array<[string, number]> = [
    ['now', NOW],
    ['NOW', NOW],
    ['2h', NOW - 2 * HOUR],
    ['90m', NOW - 90 * MIN],
    ['3d', NOW - 3 * DAY],
    ['1w', NOW - 7 * DAY],
    ['1h30m', NOW - 90 * MIN],
    ['3 days ago', NOW - 3 * DAY],
    ['2 hours ago', NOW - 2 * HOUR],
    ['1 week ago', NOW - 7 * DAY],
    ['2h ago', NOW - 2 * HOUR],
    ['45 Minutes Ago', NOW - 45 * MIN],
    ['yesterday', NOW - DAY],
    [' 0s ', NOW],
  ];
  for (const [text, ms] of cases) t.is(parseInstant(text, NOW), ms, text);
});

test('what is not a time is one line in megafs words, naming the text', (t) => {
  const message = usageError(t, () => parseInstant('tomorrow-ish', NOW), 'tomorrow-ish');
  t.is(message, "'tomorrow-ish' is not a time (examples: 2026-12-03T10:00:00Z, 2h, 3 days ago)");
  for (const text of ['', '   ', 'ago', 'tomorrow', '3 months ago', '1y', '-2h', '2h later', '12/03/2026',
    '2026-12-3', '2026-12-03T10', '2026-12-03T1:00', '2026-12-03Z', '2026-12-03T10:00:00.Z', '20261203T100000Z',
    '2026-12-03T10:00:00+1', '2026-12-03T10:00:00 UTC', '1796292000000']) {
    usageError(t, () => parseInstant(text, NOW), `'${text}'`);
  }
});

test('dates and clock readings that do not exist are refused with the reason', (t) => {
  const cases: Array<[string, string]> = [
    ['2026-02-29', 'no day 29'], ['2025-02-29T10:00Z', 'no day 29'], ['2026-04-31', 'no day 31'],
    ['2026-13-01', 'no month 13'], ['2026-00-10', 'no month 00'], ['2026-12-00', 'no day 00'],
    ['2026-12-03T24:00Z', 'hours run'], ['2026-12-03T10:60Z', 'minutes'], ['2026-12-03T10:00:60Z', 'seconds'],
    ['2026-12-03T10:00+24:00', 'offset'], ['2026-12-03T10:00+01:60', 'offset'],
  ];
  for (const [text, why] of cases) {
    const message = usageError(t, () => parseInstant(text, NOW), text);
    t.true(message.includes(why), `${text}: ${message}`);
    t.true(message.startsWith(`'${text}' is not a time`), message);
  }
});

test('an instant after now is refused; now itself is not', (t) => {
  const message = usageError(t, () => parseInstant('2026-12-10T12:00:01Z', NOW), 'one second ahead');
  t.is(message, "'2026-12-10T12:00:01Z' is in the future (it is now 2026-12-10T12:00:00Z)");
  usageError(t, () => parseInstant('2027-01-01', NOW), 'next year, local');
  t.is(parseInstant('2026-12-10T12:00:00Z', NOW), NOW);
  t.is(parseInstant('2026-12-10T12:00:00.999Z', NOW + 999), NOW + 999);
});

test('formatInstant: ISO 8601 UTC to the second, cut not rounded', (t) => {
  t.is(formatInstant(Date.UTC(2026, 11, 3, 10)), '2026-12-03T10:00:00Z');
  t.is(formatInstant(Date.UTC(2026, 11, 3, 10, 0, 0, 999)), '2026-12-03T10:00:00Z');
  t.is(formatInstant(0), '1970-01-01T00:00:00Z');
  t.is(formatInstant(-1), '1969-12-31T23:59:59Z');
  t.throws(() => formatInstant(NaN), { message: /^BUG:/ });
});

test('formatInstant then parseInstant is the start of the same second', (t) => {
  fc.assert(fc.property(fc.integer({ min: -62_000_000_000_000, max: NOW }), (ms) => {
    const back = parseInstant(formatInstant(ms), NOW);
    t.is(back, Math.floor(ms / 1000) * 1000);
  }), { numRuns: 2000 });
});

test('a local wall time read back names an instant with that wall time, the earliest one', (t) => {
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const local = (ms: number): string => {
    const d = new Date(ms);
    return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };
  for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu']) {
    inZone(zone, () => {
      fc.assert(fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: NOW }), (ms) => {
        const whole = Math.floor(ms / 1000) * 1000;
        const back = parseInstant(local(whole), NOW);
        t.is(local(back), local(whole), zone);
        t.true(back <= whole && whole - back <= 2 * HOUR, `${zone} ${local(whole)}`);
      }), { numRuns: 500 });
    });
  }
});

test('formatAgo', (t) => {
  const cases: Array<[number, string]> = [
    [0, 'just now'], [59_999, 'just now'], [-30_000, 'just now'],
    [MIN, '1 min ago'], [5 * MIN + 59_000, '5 min ago'], [59 * MIN, '59 min ago'],
    [HOUR, '1 h ago'], [3 * HOUR + 59 * MIN, '3 h ago'], [23 * HOUR, '23 h ago'],
    [DAY, '1 day ago'], [2 * DAY, '2 days ago'], [59 * DAY, '59 days ago'],
    [60 * DAY, '2 months ago'], [400 * DAY, '13 months ago'], [730 * DAY, '2 years ago'],
    [-5 * MIN, 'in 5 min'], [-3 * DAY, 'in 3 days'],
  ];
  for (const [age, text] of cases) t.is(formatAgo(NOW - age, NOW), text, `${age} ms`);
});

test('parseDuration keeps every form megafs share --expires took', (t) => {
  const cases: Array<[string, number]> = [
    ['7d', 7 * DAY], ['12h', 12 * HOUR], ['30m', 30 * MIN], ['45s', 45_000], ['2w', 14 * DAY],
    ['1.5h', 90 * MIN], ['0.5s', 500], ['7 d', 7 * DAY], ['7D', 7 * DAY], [' 7d ', 7 * DAY], ['1s', 1000],
    ['0d', 0], ['0.0001s', 0],
  ];
  for (const [text, ms] of cases) t.is(parseDuration(text), ms, text);
});

test('parseDuration: words, sums of units, milliseconds, a bare 0', (t) => {
  const cases: Array<[string, number]> = [
    ['30d', 30 * DAY], ['2 weeks', 14 * DAY], ['1 week', 7 * DAY], ['3 days', 3 * DAY], ['1 day', DAY],
    ['2 hours', 2 * HOUR], ['1 hour', HOUR], ['2 hrs', 2 * HOUR], ['90 minutes', 90 * MIN], ['5 min', 5 * MIN],
    ['10 mins', 10 * MIN], ['30 seconds', 30_000], ['30 sec', 30_000], ['500ms', 500], ['1 millisecond', 1],
    ['1h30m', 90 * MIN], ['1h 30m', 90 * MIN], ['1 hour 30 minutes', 90 * MIN], ['1d12h', 36 * HOUR],
    ['1m30s', 90_000], ['1m500ms', 60_500], ['2 Weeks', 14 * DAY], ['0', 0],
  ];
  for (const [text, ms] of cases) t.is(parseDuration(text), ms, text);
});

test('parseDuration refuses what it cannot read, in one line', (t) => {
  t.is(usageError(t, () => parseDuration('soon'), 'soon'),
    "'soon' is not a duration (examples: 30m, 12h, 7d, 2w, 1h30m, 3 days)");
  for (const text of ['', ' ', '7', '10', 'd', '7x', '-1d', '+1d', '1y', '3 months', '1mo', '7dd', '1.d', '.5h',
    'm5', '1h,30m', '1 h s', '1e3s', 'Infinity', 'NaN', '1 hourly', '0x10s']) {
    usageError(t, () => parseDuration(text), `'${text}'`);
  }
  t.regex(usageError(t, () => parseDuration('99999999999999w'), 'huge'), /too long/);
});

test('formatDuration: short exact text', (t) => {
  const cases: Array<[number, string]> = [
    [0, '0s'], [1, '1ms'], [1500, '1s500ms'], [90 * MIN, '1h30m'], [DAY, '1d'], [30 * DAY, '30d'],
    [14 * DAY, '2w'], [15 * DAY, '15d'], [7 * DAY + 1, '7d1ms'], [168 * HOUR, '1w'],
  ];
  for (const [ms, text] of cases) t.is(formatDuration(ms), text, `${ms}`);
  t.throws(() => formatDuration(-1), { instanceOf: RangeError });
  t.throws(() => formatDuration(0.5), { instanceOf: RangeError });
});

test('parseDuration reads formatDuration back exactly', (t) => {
  const ms = fc.oneof(fc.integer({ min: 0, max: 10 * DAY }), fc.nat({ max: 10_000 }).map((n) => n * HOUR),
    fc.maxSafeNat());
  fc.assert(fc.property(ms, (n) => { t.is(parseDuration(formatDuration(n)), n); }), { numRuns: 3000 });
});
