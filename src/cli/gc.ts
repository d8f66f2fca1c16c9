// megafs gc [--dry-run] [--json] [--forget-older-than D]: delete from every store the
// objects nothing the drive keeps still names (src/drive/gc.ts; docs/design.md "What the
// collector may delete"). Safe while other devices and this machine's mount write.
// Exit 9 when another collector holds the drive's lock.
import { join } from 'node:path';
import { collect, type GcReport } from '../drive/gc.js';
import { deviceHex } from '../vfs/index.js';
import { parse } from './args.js';
import { humanBytes } from './progress.js';
import { withDrive } from './session.js';
import { parseDuration } from './when.js';

const USAGE = 'megafs gc [--dry-run] [--json] [--forget-older-than DURATION] [--clock-allowance DURATION] [--password-file F]';

interface Flags {
  'dry-run'?: boolean;
  json?: boolean;
  'forget-older-than'?: string;
  'clock-allowance'?: string;
  'password-file'?: string;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<Flags>(argv, USAGE, {
    'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, 'forget-older-than': { type: 'string' }, 'clock-allowance': { type: 'string' },
    'password-file': { type: 'string' },
  });
  const forget = values['forget-older-than'] !== undefined ? parseDuration(values['forget-older-than']) : undefined;
  const allowance = values['clock-allowance'] !== undefined ? parseDuration(values['clock-allowance']) : undefined;
  const report = await withDrive(values['password-file'], (drive, cfg, paths) => collect(drive, {
    dryRun: values['dry-run'] === true, deviceIdHex: deviceHex(cfg.deviceId), cacheDir: join(paths.cache, drive.header.driveId),
    ...(forget !== undefined ? { forgetOlderThanMs: forget } : {}),
    ...(allowance !== undefined ? { clockAllowanceMs: allowance } : {}),
  }));
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : text(report));
  return 0;
}

function text(r: GcReport): string {
  if (r.rootVersion === null) return 'gc: the drive has no root yet: nothing to collect\n';
  const lines = [`root version ${r.rootVersion}: ${r.live.objects} objects named (the drive, ${r.versions.kept} versions, ${r.trash.kept} bin entries, shares, ${r.sessions.live} open sessions)`];
  if (r.versions.forgotten || r.trash.expired || r.sessions.lapsed) {
    lines.push(`${r.dryRun ? 'would forget' : 'forgot'} ${r.versions.forgotten} versions past the retention policy; ${r.trash.expired} bin entries past their time; ${r.sessions.lapsed} lapsed sessions`);
  }
  for (const s of r.stores) {
    const young = s.young ? `; ${s.young} newer than the grace period kept` : '';
    lines.push(r.dryRun
      ? `store ${s.name}: ${s.objects} objects (${humanBytes(s.bytes)}); would free ${s.garbage} (${humanBytes(s.garbageBytes)})${young}`
      : `store ${s.name}: ${s.objects} objects (${humanBytes(s.bytes)}); freed ${s.deleted} (${humanBytes(s.deletedBytes)})${s.shared ? `; ${s.shared} kept for live share links` : ''}${s.failed ? `; ${s.failed} deletes failed (the next gc retries them)` : ''}${young}`);
  }
  return `${lines.join('\n')}\n`;
}
