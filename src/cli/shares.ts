// megafs shares [--json]: the drive's links, as the server sees them (live, revoked,
// expired, taken down), with the link and path this machine remembers for each.
import { parse } from './args.js';
import { withShareSession } from './share-session.js';

const USAGE = 'megafs shares [--json] [--drive-password-file F]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ json?: boolean; 'drive-password-file'?: string }>(argv, USAGE, {
    json: { type: 'boolean' }, 'drive-password-file': { type: 'string' },
  });
  const rows = await withShareSession(values['drive-password-file'], async (s) => {
    const local = new Map((await s.loadLocal()).map((l) => [l.id, l]));
    const now = Date.now();
    return (await s.api.list()).map((r) => ({
      ...r,
      state: r.takenDown ? 'taken-down' : r.revoked ? 'revoked' : r.expiresMs !== null && r.expiresMs <= now ? 'expired' : 'live',
      path: local.get(r.id)?.path ?? null,
      link: local.get(r.id)?.link ?? null,
    }));
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return 0;
  }
  for (const r of rows) {
    const expires = r.expiresMs === null ? 'never' : new Date(r.expiresMs).toISOString();
    const why = r.state === 'taken-down' ? ` (${r.reason})` : '';
    process.stdout.write(`${r.state.padEnd(10)} ${r.path ?? '?'}  expires ${expires}${why}\n  ${r.link ?? r.id}\n`);
  }
  if (rows.length === 0) process.stdout.write('no links\n');
  return 0;
}
