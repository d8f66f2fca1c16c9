// Path helpers the CLI commands that put entries back share (trash restore, restore --at).
import { constants as fsc } from 'node:fs';
import { MegafsError } from '../errors.js';
import { escapeName } from '../format/names.js';
import type { Attr, Vfs } from '../vfs/types.js';

/** getattr, or null for a name that is not there. */
export async function statOrNull(vfs: Vfs, path: string): Promise<Attr | null> {
  try {
    return await vfs.getattr(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
}

/** Create the missing directories above `path` (a restore into a folder that was removed);
 *  ENOTDIR when one of them is something else. */
export async function makeParents(vfs: Vfs, path: string): Promise<void> {
  let at = '';
  for (const p of path.split('/').filter(Boolean).slice(0, -1)) {
    at += `/${p}`;
    const a = await statOrNull(vfs, at);
    if (!a) await vfs.mkdir(at, 0o755);
    else if ((a.mode & fsc.S_IFMT) !== fsc.S_IFDIR) throw new MegafsError('ENOTDIR', `${escapeName(at)} is not a directory`);
  }
}
