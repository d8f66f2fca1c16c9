// megafs du [--json]: how each configured store's bytes divide among the current tree,
// the bin, older versions, shares and garbage (src/drive/usage.ts); the five add up to
// the store's total (an object several name counts once, in the first of that order).
// Read only: it lists the stores and reads the trees, nothing else.
import { diskUsage, PLACES, type DuReport, type StoreDu } from '../drive/usage.js';
import { parse } from './args.js';
import { humanBytes } from './progress.js';
import { withHistory } from './history-session.js';

const USAGE = 'megafs du [--json] [--password-file F]';

const WHAT: Record<(typeof PLACES)[number] | 'garbage', string> = {
  live: 'live (the drive now)',
  bin: 'in the bin',
  versions: 'in older versions',
  shares: 'in shares',
  garbage: 'garbage (named by nothing)',
};

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ json?: boolean; 'password-file'?: string }>(argv, USAGE, {
    json: { type: 'boolean' }, 'password-file': { type: 'string' },
  });
  const report = await withHistory(values['password-file'], (h) => diskUsage(h.drive, h.io));
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : text(report));
  return 0;
}

function line(label: string, objects: number, bytes: number, extra = ''): string {
  return `  ${label.padEnd(28)} ${humanBytes(bytes).padStart(10)}  ${String(objects).padStart(7)} objects${extra}`;
}

function storeText(s: StoreDu): string[] {
  const lines = [`store ${s.name}: ${humanBytes(s.total.bytes)} in ${s.total.objects} objects`];
  for (const p of PLACES) {
    const u = s[p];
    const only = p !== 'live' && u.only.bytes !== u.bytes ? `  (${humanBytes(u.only.bytes)} named by nothing else)` : '';
    lines.push(line(WHAT[p], u.objects, u.bytes, only));
  }
  lines.push(line(WHAT.garbage, s.garbage.objects, s.garbage.bytes, s.garbage.objects ? '  (megafs gc frees it)' : ''));
  if (s.missing) lines.push(`  ${s.missing} objects the drive names are not on this store (megafs fsck)`);
  if (s.reported?.quotaBytes != null) lines.push(`  the store reports ${humanBytes(s.reported.usedBytes)} used of a ${humanBytes(s.reported.quotaBytes)} quota`);
  return lines;
}

function text(r: DuReport): string {
  if (r.rootVersion === null) return 'du: the drive has no root yet\n';
  return `${[`root version ${r.rootVersion}`, ...r.stores.flatMap(storeText)].join('\n')}\n`;
}
