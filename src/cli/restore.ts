// megafs restore PATH --at TIME [--to DEST]: bring back a file, symlink or whole folder
// as it was at TIME (a version the drive keeps; TIME as for ls --at). Nothing is copied:
// the restored entry names the objects of that version. Without --to it goes back to PATH.
// A file at the destination is replaced only with --force (its current content goes to
// the bin); a folder there is refused (restore it --to another path).
import { constants as fsc } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PathResolver } from '../drive/history.js';
import { openDriveVfs } from '../drive/vfs.js';
import { MegafsError, UsageError } from '../errors.js';
import { ENTRY_DIR } from '../format/tree.js';
import { escapeName } from '../format/names.js';
import { drivePath, parse } from './args.js';
import { log } from './session.js';
import { makeParents, statOrNull } from './vfs-paths.js';
import { versionAtText, withHistory } from './history-session.js';
import { formatInstant } from './when.js';

const USAGE = 'megafs restore PATH --at TIME [--to DEST] [--force] [--password-file F]';




export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ at?: string; to?: string; force?: boolean; 'password-file'?: string }>(argv, USAGE, {
    at: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' }, 'password-file': { type: 'string' },
  }, 1, 1);
  if (values.at === undefined) throw new UsageError(`restore needs --at TIME (usage: ${USAGE}); megafs trash restore brings back what was removed`);
  const path = drivePath(positionals[0]);
  const dest = values.to === undefined ? path : drivePath(values.to);
  if (dest === '/') throw new UsageError('the top directory cannot be replaced: restore a path under it, or --to a new folder');
  const at = values.at;
  const said = await withHistory(values['password-file'], async (h) => {
    const v = versionAtText(h.now.versions, at);
    const when = `at ${formatInstant(v.timeMs)} (version ${v.rootVersion})`;
    const e = await new PathResolver(h.io).resolve(v.topDir, path);
    if (!e) throw new MegafsError('ENOENT', `${escapeName(path)} did not exist ${when}`);
    const vfs = await openDriveVfs(h.drive, h.cfg, h.paths, { role: 'cli', log });
    let ok = false;
    try {
      if (!vfs.graft) throw new MegafsError('E_USAGE', 'this drive cannot restore versions');
      await makeParents(vfs, dest);
      const there = await statOrNull(vfs, dest);
      if (there && (there.mode & fsc.S_IFMT) === fsc.S_IFDIR) {
        throw new MegafsError('EEXIST', `${escapeName(dest)} is a folder now: restore it elsewhere with --to DEST`);
      }
      if (there && e.type === ENTRY_DIR) throw new MegafsError('EEXIST', `${escapeName(dest)} exists: restore the folder elsewhere with --to DEST`);
      if (there && !values.force) throw new MegafsError('EEXIST', `${escapeName(dest)} exists: --force replaces it (its content now goes to the bin), or restore it --to DEST`);
      if (there) {
        // Beside it first, then over it: the current content goes to the bin.
        const tmp = `${dest}.megafs-restore-${randomBytes(4).toString('hex')}`;
        await vfs.graft(e, tmp);
        await vfs.rename(tmp, dest);
      } else await vfs.graft(e, dest);
      ok = true;
    } finally {
      const closing = vfs.close();
      if (ok) await closing;
      else await closing.catch(() => undefined);
    }
    return `restored ${escapeName(dest)} as it was ${when}${e.type === ENTRY_DIR ? ' (the whole folder)' : ''}\n`;
  });
  process.stdout.write(said);
  return 0;
}
