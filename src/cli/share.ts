// megafs share PATH [--expires DURATION] [--password-file F] [--json]: print a link to a
// file or folder of the drive. --password-file holds the LINK's password; the drive's
// own password comes from --drive-password-file, MEGAFS_PASSWORD or the terminal.
import { readFile } from 'node:fs/promises';
import { openDriveVfs } from '../drive/vfs.js';
import { UsageError } from '../errors.js';
import { nodePlatform } from '../platform/node.js';
import { createShare } from '../share/create.js';
import { entrySize } from '../share/manifest.js';
import { parse } from './args.js';
import { log, withShareSession } from './share-session.js';
import { sharePath } from './share-path.js';
import { parseDuration } from './when.js';

const USAGE = 'megafs share PATH [--expires DURATION] [--password-file F] [--drive-password-file F] [--json]';

interface Values { expires?: string; 'password-file'?: string; 'drive-password-file'?: string; json?: boolean }

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<Values>(argv, USAGE, {
    expires: { type: 'string' }, 'password-file': { type: 'string' }, 'drive-password-file': { type: 'string' }, json: { type: 'boolean' },
  }, 1, 1);
  const expiresInMs = values.expires !== undefined ? parseDuration(values.expires) : undefined;
  let password: string | undefined;
  if (values['password-file'] !== undefined) {
    password = (await readFile(values['password-file'], 'utf8')).split(/\r?\n/)[0];
    if (password === '') throw new UsageError('the link password file is empty');
  }
  const path = await sharePath(positionals[0]);
  const created = await withShareSession(values['drive-password-file'], async (s) => {
    const vfs = await openDriveVfs(s.drive, s.cfg, s.paths, { role: 'cli', log });
    try {
      const c = await createShare(nodePlatform, vfs, s.serveStore, s.api, path, {
        expiresInMs, password, driveStore: s.drive.store,
        passwordKdf: process.env.MEGAFS_TEST_KDF === '1' ? { memLog2: 6, passes: 1 } : undefined,
      });
      const local = await s.loadLocal();
      local.push({ id: c.record.id, path, link: c.link, createdMs: c.record.createdMs, expiresMs: c.record.expiresMs, password: password !== undefined });
      await s.saveLocal(local);
      return c;
    } finally {
      await vfs.close();
    }
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({
      link: created.link, id: created.record.id, path, kind: created.entry.kind, bytes: entrySize(created.entry),
      expiresMs: created.record.expiresMs, password: password !== undefined,
    })}\n`);
  } else {
    process.stdout.write(`${created.link}\n`);
  }
  return 0;
}
