// Which snapshots a retention policy keeps (restic's forget --keep-* rules) and the policy
// text. Worked examples follow restic's documentation; properties run against a second,
// group-by-bucket formulation of the rules written here from the docs.
import test from 'ava';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_RETENTION, formatPolicy, keptSnapshots, parsePolicy, type RetentionPolicy } from '../../src/vfs/retention.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

interface Snap { id: string; timeMs: number }

const snap = (iso: string): Snap => ({ id: iso, timeMs: Date.parse(iso) });
const none: RetentionPolicy = { trashMs: 0, keepWithinMs: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0 };
const ids = (kept: Set<Snap>): string[] => [...kept].map((s) => s.id).sort();
/** Newest first, as the drive lists them. */
const newestFirst = (list: Snap[]): Snap[] => [...list].sort((a, b) => b.timeMs - a.timeMs);

test('DEFAULT_RETENTION: 30-day bin, all for a day, hourly for a week, daily for a month', (t) => {
  t.deepEqual({ ...DEFAULT_RETENTION },
    { trashMs: 30 * DAY, keepWithinMs: DAY, hourly: 168, daily: 30, weekly: 0, monthly: 0 });
  t.true(Object.isFrozen(DEFAULT_RETENTION));
});

test('restic docs: one snapshot every Sunday for 12 weeks, --keep-daily 4 keeps the last four', (t) => {
  const sundays = ['2019-09-01', '2019-09-08', '2019-09-15', '2019-09-22', '2019-09-29', '2019-10-06', '2019-10-13',
    '2019-10-20', '2019-10-27', '2019-11-03', '2019-11-10', '2019-11-17'].map((d) => snap(`${d}T11:00:00Z`));
  const kept = keptSnapshots(newestFirst(sundays), { ...none, daily: 4 }, Date.parse('2019-11-17T12:00:00Z'));
  t.deepEqual(ids(kept), ['2019-10-27T11:00:00Z', '2019-11-03T11:00:00Z', '2019-11-10T11:00:00Z', '2019-11-17T11:00:00Z']);
  // --keep-weekly 4 keeps the same four (one Sunday per ISO week); --keep-monthly 2 the last of Oct and Nov.
  t.deepEqual(ids(keptSnapshots(sundays, { ...none, weekly: 4 }, Date.parse('2019-11-18T00:00:00Z'))), ids(kept));
  t.deepEqual(ids(keptSnapshots(sundays, { ...none, monthly: 2 }, Date.parse('2019-11-18T00:00:00Z'))),
    ['2019-10-27T11:00:00Z', '2019-11-17T11:00:00Z']);
});

test('restic forum: --keep-daily 4 skips the empty day and keeps the newest of a day', (t) => {
  const a = ['2023-05-01T08:00:00Z', '2023-05-02T08:00:00Z', '2023-05-02T11:00:00Z', '2023-05-04T09:00:00Z',
    '2023-05-05T10:00:00Z'].map(snap);
  const kept = keptSnapshots(newestFirst(a), { ...none, daily: 4 }, Date.parse('2023-05-05T12:00:00Z'));
  t.deepEqual(ids(kept), ['2023-05-01T08:00:00Z', '2023-05-02T11:00:00Z', '2023-05-04T09:00:00Z', '2023-05-05T10:00:00Z']);
});

test('restic docs: daily backups, --keep-daily 7 --keep-weekly 5 --keep-monthly 12', (t) => {
  // One a day at 03:00 for three years up to Sunday 2026-12-13. As the docs say, the 7
  // dailies are one whole ISO week, so weekly adds 4 Sundays; the newest is also the
  // newest of December, so monthly adds the last days of the 11 months before: 7+4+11.
  const days: Snap[] = [];
  for (let ms = Date.parse('2023-12-14T03:00:00Z'); ms <= Date.parse('2026-12-13T03:00:00Z'); ms += DAY) {
    days.push({ id: new Date(ms).toISOString().slice(0, 10), timeMs: ms });
  }
  const kept = keptSnapshots(newestFirst(days), { ...none, daily: 7, weekly: 5, monthly: 12 }, Date.parse('2026-12-13T04:00:00Z'));
  const expected = [
    '2026-12-07', '2026-12-08', '2026-12-09', '2026-12-10', '2026-12-11', '2026-12-12', '2026-12-13', // daily
    '2026-11-15', '2026-11-22', '2026-11-29', '2026-12-06', // weekly: the Sundays of the 4 weeks before
    '2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30', '2026-05-31', '2026-06-30', // monthly
    '2026-07-31', '2026-08-31', '2026-09-30', '2026-10-31', '2026-11-30',
  ];
  t.deepEqual(ids(kept), expected.sort());
  t.is(kept.size, 7 + 4 + 11);
});

test('hourly keeps the newest snapshot of each of the N most recent hours that have one', (t) => {
  // Every 10 minutes from 09:00 to 13:50, and nothing at 11:xx.
  const list: Snap[] = [];
  for (let m = 0; m < 300; m += 10) {
    const ms = Date.parse('2026-12-03T09:00:00Z') + m * MIN;
    if (new Date(ms).getUTCHours() !== 11) list.push({ id: new Date(ms).toISOString().slice(11, 16), timeMs: ms });
  }
  const now = Date.parse('2026-12-03T14:00:00Z');
  t.deepEqual(ids(keptSnapshots(newestFirst(list), { ...none, hourly: 3 }, now)), ['10:50', '12:50', '13:50']);
  t.deepEqual(ids(keptSnapshots(newestFirst(list), { ...none, hourly: Infinity }, now)), ['09:50', '10:50', '12:50', '13:50']);
  t.deepEqual(ids(keptSnapshots(newestFirst(list), none, now)), ['13:50']); // the newest, always
});

test('buckets are UTC hours, days, ISO weeks (Monday 00:00) and months', (t) => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  const keep = (p: Partial<RetentionPolicy>, list: Snap[]): string[] => ids(keptSnapshots(newestFirst(list), { ...none, ...p }, now));
  // Sunday 23:59 and Monday 00:00 are two weeks; Saturday and Sunday are one.
  const week = ['2026-11-28T12:00:00Z', '2026-11-29T23:59:59Z', '2026-11-30T00:00:00Z'].map(snap);
  t.deepEqual(keep({ weekly: 2 }, week), ['2026-11-29T23:59:59Z', '2026-11-30T00:00:00Z']);
  // Thursday 2026-12-31 and Friday 2027-01-01 are both in ISO week 2026-W53; Sunday 12-27 ends W52.
  const newYear = ['2026-12-27T10:00:00Z', '2026-12-31T10:00:00Z', '2027-01-01T10:00:00Z'].map(snap);
  t.deepEqual(keep({ weekly: 2 }, newYear), ['2026-12-27T10:00:00Z', '2027-01-01T10:00:00Z']);
  t.deepEqual(keep({ monthly: 2 }, newYear), ['2026-12-31T10:00:00Z', '2027-01-01T10:00:00Z']);
  // A day ends at 23:59:59.999 UTC; an hour at :59:59.999.
  const edges = ['2026-01-31T23:59:59.999Z', '2026-02-01T00:00:00Z', '2026-02-01T00:59:59.999Z', '2026-02-01T01:00:00Z'].map(snap);
  t.deepEqual(keep({ daily: 2 }, edges), ['2026-01-31T23:59:59.999Z', '2026-02-01T01:00:00Z']);
  t.deepEqual(keep({ hourly: 3 }, edges), ['2026-01-31T23:59:59.999Z', '2026-02-01T00:59:59.999Z', '2026-02-01T01:00:00Z']);
  t.deepEqual(keep({ monthly: 5 }, edges), ['2026-01-31T23:59:59.999Z', '2026-02-01T01:00:00Z']);
  // Before 1970 the buckets still split at the same boundaries (floor, not truncation).
  const old = ['1969-12-28T12:00:00Z', '1969-12-29T00:00:00Z', '1969-12-31T23:00:00Z', '1970-01-01T01:00:00Z'].map(snap);
  t.deepEqual(keep({ weekly: 5 }, old), ['1969-12-28T12:00:00Z', '1970-01-01T01:00:00Z']);
  t.deepEqual(keep({ daily: 5 }, old), old.map((s) => s.id).sort());
});

test('keep-within counts back from the newest snapshot, not from now', (t) => {
  const newest = Date.parse('2026-11-01T12:00:00Z');
  const list = [0, 1, 23 * HOUR, DAY - 1, DAY, 2 * DAY].map((age) => ({ id: `-${age}`, timeMs: newest - age }));
  const now = newest + 30 * DAY; // the drive was left alone for a month
  t.deepEqual(ids(keptSnapshots(list, { ...none, keepWithinMs: DAY }, now)), [`-0`, `-1`, `-${23 * HOUR}`, `-${DAY - 1}`].sort());
  t.deepEqual(ids(keptSnapshots(list, { ...none, keepWithinMs: Infinity }, now)), list.map((s) => s.id).sort());
  t.deepEqual(ids(keptSnapshots(list, { ...none, keepWithinMs: 0 }, now)), ['-0']);
});

test('a snapshot after now is kept and is not where keep-within counts from', (t) => {
  const now = Date.parse('2026-12-03T10:00:00Z');
  const list = newestFirst([
    { id: 'ahead', timeMs: now + 3 * HOUR }, // a device whose clock runs 3 h fast
    { id: 'recent', timeMs: now - 2 * HOUR },
    { id: 'older', timeMs: now - 20 * HOUR },
    { id: 'old', timeMs: now - 30 * HOUR },
  ]);
  t.deepEqual(ids(keptSnapshots(list, { ...none, keepWithinMs: DAY }, now)), ['ahead', 'older', 'recent']);
  const allAhead = [{ id: 'a', timeMs: now + HOUR }, { id: 'b', timeMs: now + 2 * HOUR }];
  t.deepEqual(ids(keptSnapshots(allAhead, none, now)), ['a', 'b']);
});

test('no snapshots keep nothing; the order given does not matter; ties: the first listed is newer', (t) => {
  t.is(keptSnapshots([], DEFAULT_RETENTION, 0).size, 0);
  const a = { id: 'a', timeMs: 1000 };
  const b = { id: 'b', timeMs: 1000 };
  t.deepEqual(ids(keptSnapshots([a, b], none, 5000)), ['a']);
  t.deepEqual(ids(keptSnapshots([b, a], none, 5000)), ['b']);
  t.deepEqual(ids(keptSnapshots([b, a], { ...none, hourly: 5 }, 5000)), ['b']);
  const c = { id: 'c', timeMs: 9 * HOUR };
  t.deepEqual(ids(keptSnapshots([a, c], { ...none, hourly: 5 }, 10 * HOUR)), ['a', 'c']);
});

// ---- properties, against a second formulation of the rules ----

const T0 = Date.parse('2026-01-01T00:00:00Z');
/** Times that often share an hour, day, week or month, and sometimes lie ahead of now. */
const timeMs = fc.oneof(
  fc.integer({ min: T0, max: T0 + 6 * HOUR }),
  fc.integer({ min: T0, max: T0 + 10 * DAY }),
  fc.integer({ min: T0 - 400 * DAY, max: T0 + 10 * DAY }),
);
const snapshots = fc.array(timeMs, { maxLength: 60 }).map((times) => times.map((ms, i) => ({ id: `s${i}`, timeMs: ms })));
const count = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 200 }), fc.constant(Infinity));
const policy = fc.record({
  trashMs: fc.constant(0),
  keepWithinMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 * DAY }), fc.constant(Infinity)),
  hourly: count, daily: count, weekly: count, monthly: count,
});
const now = fc.oneof(fc.constant(T0 + 10 * DAY), fc.integer({ min: T0, max: T0 + 11 * DAY }));

/** The docs' wording: group by bucket, take the N most recent buckets, keep each one's newest. */
function model(list: Snap[], p: RetentionPolicy, nowMs: number): Set<Snap> {
  const sorted = newestFirst(list);
  const kept = new Set<Snap>(sorted.slice(0, 1));
  const past = sorted.filter((s) => s.timeMs <= nowMs);
  for (const s of sorted) if (s.timeMs > nowMs || (past.length > 0 && past[0].timeMs - s.timeMs < p.keepWithinMs)) kept.add(s);
  const keys: Array<[keyof RetentionPolicy, (d: Date) => string]> = [
    ['hourly', (d) => d.toISOString().slice(0, 13)],
    ['daily', (d) => d.toISOString().slice(0, 10)],
    ['weekly', (d) => { const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY); return monday.toISOString().slice(0, 10); }],
    ['monthly', (d) => d.toISOString().slice(0, 7)],
  ];
  for (const [rule, key] of keys) {
    const groups = new Map<string, Snap>(); // insertion order: most recent bucket first
    for (const s of sorted) { const k = key(new Date(s.timeMs)); if (!groups.has(k)) groups.set(k, s); }
    [...groups.values()].slice(0, p[rule]).forEach((s) => kept.add(s));
  }
  return kept;
}

test('keptSnapshots matches the group-by-bucket model', (t) => {
  fc.assert(fc.property(snapshots, policy, now, (list, p, nowMs) => {
    t.deepEqual(ids(keptSnapshots(newestFirst(list), p, nowMs)), ids(model(list, p, nowMs)));
  }), { numRuns: 1000 });
});

test('the newest is always kept, and only given snapshots are', (t) => {
  fc.assert(fc.property(snapshots, policy, now, (list, p, nowMs) => {
    const kept = keptSnapshots(newestFirst(list), p, nowMs);
    if (list.length > 0) t.true(kept.has(newestFirst(list)[0]));
    for (const s of kept) t.true(list.includes(s));
    t.is(kept.size > 0, list.length > 0);
  }), { numRuns: 1000 });
});

test('more of any count (or a longer window) keeps a superset', (t) => {
  const rules = ['keepWithinMs', 'hourly', 'daily', 'weekly', 'monthly'] as const;
  fc.assert(fc.property(snapshots, policy, now, fc.constantFrom(...rules), fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant(Infinity)),
    (list, p, nowMs, rule, more) => {
      const fewer = keptSnapshots(list, p, nowMs);
      const wider = keptSnapshots(list, { ...p, [rule]: p[rule] + (rule === 'keepWithinMs' ? more * HOUR : more) }, nowMs);
      for (const s of fewer) t.true(wider.has(s), `${rule} +${more} dropped ${s.id}`);
    }), { numRuns: 1000 });
});

test('by the hourly rule alone, no two kept snapshots share an hour, and N hours keep N', (t) => {
  fc.assert(fc.property(snapshots, fc.integer({ min: 1, max: 80 }), (list, hourly) => {
    const nowMs = Math.max(T0, ...list.map((s) => s.timeMs)); // nothing ahead of now
    const kept = keptSnapshots(list, { ...none, hourly }, nowMs);
    const hours = [...kept].map((s) => Math.floor(s.timeMs / HOUR));
    t.is(new Set(hours).size, hours.length);
    t.is(kept.size, Math.min(hourly, new Set(list.map((s) => Math.floor(s.timeMs / HOUR))).size));
  }), { numRuns: 1000 });
});

test('shuffling the input changes nothing when times are distinct', (t) => {
  fc.assert(fc.property(snapshots, policy, now, fc.infiniteStream(fc.nat()), (list, p, nowMs, stream) => {
    const distinct = [...new Map(list.map((s) => [s.timeMs, s])).values()];
    const shuffled = [...distinct];
    const rand = stream[Symbol.iterator]();
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rand.next().value! % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    t.deepEqual(ids(keptSnapshots(shuffled, p, nowMs)), ids(keptSnapshots(newestFirst(distinct), p, nowMs)));
  }), { numRuns: 500 });
});

// ---- the policy text ----

test('parsePolicy reads the full setting and any subset over the defaults', (t) => {
  t.deepEqual(parsePolicy('within=24h,hourly=168,daily=30,weekly=8,monthly=12,trash=30d'),
    { keepWithinMs: DAY, hourly: 168, daily: 30, weekly: 8, monthly: 12, trashMs: 30 * DAY });
  t.deepEqual(parsePolicy('daily=7'), { ...DEFAULT_RETENTION, daily: 7 });
  t.deepEqual(parsePolicy(' Trash = 2 weeks , monthly=12 '), { ...DEFAULT_RETENTION, trashMs: 14 * DAY, monthly: 12 });
  t.deepEqual(parsePolicy('hourly=0,within=0'), { ...DEFAULT_RETENTION, hourly: 0, keepWithinMs: 0 });
  t.deepEqual(parsePolicy('monthly=unlimited,trash=Unlimited'), { ...DEFAULT_RETENTION, monthly: Infinity, trashMs: Infinity });
  t.deepEqual(parsePolicy(''), { ...DEFAULT_RETENTION });
  t.false(Object.isFrozen(parsePolicy('')));
});

test('parsePolicy refuses bad settings in one line', (t) => {
  const cases: Array<[string, RegExp]> = [
    ['yearly=3', /'yearly=3' is not a retention setting \(settings: within, hourly, daily, weekly, monthly, trash/],
    ['daily', /'daily' needs a value, e.g. daily=30/],
    ['trash=', /'trash' needs a value, e.g. trash=30d/],
    ['daily=3,daily=4', /'daily' is given twice/],
    ['hourly=-1', /'hourly=-1': a count is a whole number/],
    ['hourly=1.5', /a count is a whole number/],
    ['hourly=abc', /a count is a whole number/],
    ['hourly=99999999999999999999', /a count is a whole number/],
    ['within=soon', /'within=soon': a duration is like 24h, 30d or 2w/],
    ['trash=30', /a duration is like/],
    ['daily=7,', /is not a retention setting/],
    ['daily=7;weekly=4', /a count is a whole number/],
  ];
  for (const [text, message] of cases) {
    const e = t.throws(() => parsePolicy(text), { instanceOf: UsageError }, text);
    t.is(e?.code, 'E_USAGE');
    t.regex(e?.message ?? '', message, text);
    t.false(e?.message.includes('\n'));
  }
});

test('formatPolicy names every setting; parsePolicy reads it back', (t) => {
  t.is(formatPolicy(DEFAULT_RETENTION), 'within=1d,hourly=168,daily=30,weekly=0,monthly=0,trash=30d');
  t.is(formatPolicy({ ...none, keepWithinMs: 90 * MIN, monthly: Infinity, trashMs: Infinity }),
    'within=1h30m,hourly=0,daily=0,weekly=0,monthly=unlimited,trash=unlimited');
  const duration = fc.oneof(fc.maxSafeNat(), fc.nat({ max: 1000 }).map((n) => n * DAY), fc.constant(Infinity));
  const anyCount = fc.oneof(fc.maxSafeNat(), fc.nat({ max: 1000 }), fc.constant(Infinity));
  fc.assert(fc.property(fc.record({ trashMs: duration, keepWithinMs: duration, hourly: anyCount, daily: anyCount, weekly: anyCount, monthly: anyCount }),
    (p) => { t.deepEqual(parsePolicy(formatPolicy(p)), p); }), { numRuns: 2000 });
});
