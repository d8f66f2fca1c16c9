// megafs retention [SETTINGS] [--json]: the drive's retention policy (which versions the
// collector keeps, restic-style, and how long the bin keeps what was removed). Without
// SETTINGS it prints the policy; with them ("daily=90,trash=60d", any subset) it changes
// those settings for every device (the policy lives in the drive). src/vfs/retention.ts.
import { MegafsError } from '../errors.js';
import { formatPolicy, parsePolicy } from '../vfs/retention.js';
import { parse } from './args.js';
import { withVfs } from './session.js';

const USAGE = 'megafs retention [within=D,hourly=N,daily=N,weekly=N,monthly=N,trash=D] [--json] [--password-file F]';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ json?: boolean; 'password-file'?: string }>(argv, USAGE, {
    json: { type: 'boolean' }, 'password-file': { type: 'string' },
  }, 0, 1);
  const text = positionals[0];
  const policy = await withVfs(values['password-file'], async (vfs) => {
    const now = vfs.retention ? await vfs.retention() : null;
    if (!now || !vfs.setRetention) throw new MegafsError('E_USAGE', 'this drive has no retention policy');
    if (text === undefined) return now;
    const next = parsePolicy(text, now);
    await vfs.setRetention(next);
    return next;
  });
  const fmt = (x: number): number | 'unlimited' => (x === Infinity ? 'unlimited' : x);
  process.stdout.write(values.json
    ? `${JSON.stringify({ keepWithinMs: fmt(policy.keepWithinMs), hourly: fmt(policy.hourly), daily: fmt(policy.daily), weekly: fmt(policy.weekly), monthly: fmt(policy.monthly), trashMs: fmt(policy.trashMs) })}\n`
    : `${formatPolicy(policy)}\n`);
  return 0;
}
