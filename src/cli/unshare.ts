// megafs unshare LINK|ID|PATH: revoke a link (the server refuses it from then on) and
// drop it from the drive's list of shares (DRIVE.shares keeps a tombstone of the files'
// ids: they still move to a new key at their next change, and the collector may free
// what the link alone kept). A PATH revokes every live link of it: the drive's records
// (made on any device) and this machine's list.
import { openDriveVfs } from '../drive/vfs.js';
import { MegafsError } from '../errors.js';
import { toHex } from '../format/bytes.js';
import { fromBase64Url, LINK_ID_BYTES } from '../format/link.js';
import { parse } from './args.js';
import { linkId } from './admin.js';
import { log, withShareSession } from './share-session.js';
import { sharePath } from './share-path.js';

const USAGE = 'megafs unshare LINK|PATH [--drive-password-file F]';

const hexId = (id: string): string => toHex(fromBase64Url(id, LINK_ID_BYTES, 'link id'));

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ 'drive-password-file'?: string }>(argv, USAGE, { 'drive-password-file': { type: 'string' } }, 1, 1);
  const arg = positionals[0];
  const revoked = await withShareSession(values['drive-password-file'], async (s) => {
    const vfs = await openDriveVfs(s.drive, s.cfg, s.paths, { role: 'cli', log });
    try {
      const records = (await vfs.shares?.list() ?? []).filter((r) => r.link !== '');
      const id = linkId(arg);
      let ids: string[];
      if (id !== null) ids = [id];
      else {
        const path = await sharePath(arg);
        const live = new Set((await s.api.list()).filter((r) => !r.revoked).map((r) => r.id));
        const mine = (await s.loadLocal()).filter((l) => l.path === path).map((l) => l.id);
        const drives = records.filter((r) => r.path === path).map((r) => r.link.match(/\/s\/([A-Za-z0-9_-]{22})#/)?.[1] ?? '');
        ids = [...new Set([...mine, ...drives])].filter((i) => live.has(i));
        if (ids.length === 0) throw new MegafsError('E_NOT_FOUND', `no live link of ${path} (see megafs shares)`);
      }
      for (const i of ids) {
        await s.api.revoke(i);
        await vfs.shares?.revoke(hexId(i));
      }
      await vfs.sync();
      return ids;
    } finally {
      await vfs.close();
    }
  });
  process.stdout.write(`revoked ${revoked.length} link${revoked.length === 1 ? '' : 's'}\n`);
  return 0;
}
