// megafs unshare LINK|ID|PATH: revoke a link (the server refuses it from then on); a PATH
// revokes every live link this machine made for it.
import { MegafsError } from '../errors.js';
import { parse } from './args.js';
import { linkId } from './admin.js';
import { withShareSession } from './share-session.js';
import { sharePath } from './share-path.js';

const USAGE = 'megafs unshare LINK|PATH [--drive-password-file F]';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ 'drive-password-file'?: string }>(argv, USAGE, { 'drive-password-file': { type: 'string' } }, 1, 1);
  const arg = positionals[0];
  const revoked = await withShareSession(values['drive-password-file'], async (s) => {
    const id = linkId(arg);
    let ids: string[];
    if (id !== null) ids = [id];
    else {
      const path = await sharePath(arg);
      const live = new Set((await s.api.list()).filter((r) => !r.revoked).map((r) => r.id));
      ids = (await s.loadLocal()).filter((l) => l.path === path && live.has(l.id)).map((l) => l.id);
      if (ids.length === 0) throw new MegafsError('E_NOT_FOUND', `no live link of ${path} made on this machine (see megafs shares)`);
    }
    for (const i of ids) await s.api.revoke(i);
    return ids;
  });
  process.stdout.write(`revoked ${revoked.length} link${revoked.length === 1 ? '' : 's'}\n`);
  return 0;
}
