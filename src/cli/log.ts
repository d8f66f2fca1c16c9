// megafs log [--json] [--limit N]: the drive's versions, newest first (format v3's list:
// each commit that changed the tree): root version, time, device, what the change added
// to the store. Read only.
import { UsageError } from '../errors.js';
import type { VersionRecord } from '../format/drive-object.js';
import { parse } from './args.js';
import { humanBytes } from './progress.js';
import { withHistory, writeVersionRows } from './history-session.js';
import { formatInstant } from './when.js';

const USAGE = 'megafs log [--json] [--limit N] [--password-file F]';

export interface LogRow { version: number; time: string; timeMs: number; device: string; addedBytes: number }

export function logRow(v: VersionRecord): LogRow {
  return { version: Number(v.rootVersion), time: formatInstant(v.timeMs), timeMs: v.timeMs, device: v.deviceId.slice(0, 8), addedBytes: v.addedBytes };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ json?: boolean; limit?: string; 'password-file'?: string }>(argv, USAGE, {
    json: { type: 'boolean' }, limit: { type: 'string' }, 'password-file': { type: 'string' },
  });
  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (!Number.isSafeInteger(limit) && limit !== Infinity) throw new UsageError(`'${values.limit}' is not a count (usage: ${USAGE})`);
  if (limit < 1) throw new UsageError(`--limit must be at least 1 (usage: ${USAGE})`);
  const rows = await withHistory(values['password-file'], async (h) => h.now.versions.slice(0, limit).map(logRow));
  writeVersionRows(rows, values.json === true, (r) => `${r.device}  +${humanBytes(r.addedBytes)}`);
  return 0;
}
