// Three-way merge after a lost compare-and-swap: base = the root both sides started
// from, theirs = the root now on the store, ours = the tree in memory. Per name:
// only they changed it -> take theirs; only we changed it -> keep ours; both changed a
// directory -> merge inside; both changed anything else -> keep ours under the name and
// theirs beside it as "name (conflict from LABEL)"; a delete against a change keeps the
// changed side. Nothing either side wrote is lost. "Changed" is told by fingerprints of
// tree entries (Node.origin) and directory tree ids.
import { encodeName } from '../format/names.js';
import { ENTRY_DIR, type TreeEntry } from '../format/tree.js';
import type { Drive } from './drive.js';
import type { VfsEngine } from './engine.js';
import { markDirty, type DirNode } from './nodes.js';


function byName(entries: TreeEntry[]): Map<string, TreeEntry> {
  return new Map(entries.map((e) => [e.name, e]));
}

/** A free name for their copy; stays within 255 bytes by shortening the original. */
export function conflictName(name: string, label: string, taken: (n: string) => boolean): string {
  for (let i = 1; ; i++) {
    const suffix = ` (conflict from ${label}${i > 1 ? ` ${i}` : ''})`;
    let stem = name;
    // Shorten by whole code points (a cut surrogate pair would be no name); lengths in bytes.
    while (encodeName(stem + suffix).length > 255) stem = [...stem].slice(0, -1).join('');
    if (!taken(stem + suffix)) return stem + suffix;
  }
}

export async function mergeTrees(d: Drive, eng: VfsEngine, baseId: string | null, theirsId: string, label: string): Promise<void> {
  await mergeDir(d, eng, eng.top, baseId, theirsId, label);
}

async function mergeDir(d: Drive, eng: VfsEngine, ours: DirNode, baseId: string | null, theirsId: string, label: string): Promise<void> {
  if (baseId === theirsId) return;
  const base = baseId ? byName(await d.tree.loadDir(baseId)) : new Map<string, TreeEntry>();
  const theirs = byName(await d.tree.loadDir(theirsId));
  const kids = await eng.children(ours);
  for (const name of new Set([...base.keys(), ...theirs.keys()])) {
    const b = base.get(name);
    const t = theirs.get(name);
    const o = kids.get(name);
    const fb = b ? d.fingerprint(b) : null;
    const ft = t ? d.fingerprint(t) : null;
    if (fb === ft) continue;
    const oursUnchanged = o
      ? o.origin !== null && o.origin === fb && (o.type !== 'dir' || o.treeId === b?.dirId)
      : b === undefined;
    if (oursUnchanged) {
      if (o) { kids.delete(name); eng.detach(o); }
      if (t) kids.set(name, eng.nodeFromEntry(t, ours, ft));
    } else if (o && t && o.type === 'dir' && t.type === ENTRY_DIR) {
      await mergeDir(d, eng, o, b?.type === ENTRY_DIR ? b.dirId! : null, t.dirId!, label);
    } else if (t && !o) {
      kids.set(name, eng.nodeFromEntry(t, ours, ft));
    } else if (t && o) {
      const copy = conflictName(name, label, (n) => kids.has(n) || theirs.has(n));
      kids.set(copy, eng.nodeFromEntry({ ...t, name: copy }, ours, null));
      d.log(`megafs: ${name} changed here and on device ${label}: theirs kept as "${copy}"`);
    }
  }
  markDirty(ours);
}
