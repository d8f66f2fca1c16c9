// megafs fsck [--repair]: every object present on every store, and every file opening
// (each file is read to its end, so every chunk is fetched and authenticated).
// --repair copies objects a store misses from the others (several stores only).
import { constants as fsc } from 'node:fs';
import type { Store } from '../store/store.js';
import { openDriveVfs } from '../drive/vfs.js';
import { MegafsError } from '../errors.js';
import type { Vfs } from '../vfs/types.js';
import { parse } from './args.js';
import { log, withDrive } from './session.js';

const USAGE = 'megafs fsck [--repair] [--json] [--password-file F]';
const PIECE_BYTES = 1024 * 1024;

async function listIds(s: Store): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const id of s.list()) ids.add(id);
  return ids;
}

/** Read every file under `dir`; returns [files read, failures]. */
async function readAll(vfs: Vfs, dir: string, failures: string[]): Promise<number> {
  let files = 0;
  const buf = new Uint8Array(PIECE_BYTES);
  for (const e of await vfs.readdir(dir || '/')) {
    const path = `${dir}/${e.name}`;
    const type = e.attr.mode & fsc.S_IFMT;
    try {
      if (type === fsc.S_IFDIR) files += await readAll(vfs, path, failures);
      else if (type === fsc.S_IFREG) {
        const fh = await vfs.open(path, fsc.O_RDONLY);
        try {
          for (let at = 0, n; (n = await vfs.read(fh, buf, PIECE_BYTES, at)) > 0; at += n);
        } finally {
          await vfs.release(fh);
        }
        files++;
      }
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message}`);
    }
  }
  return files;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ repair?: boolean; json?: boolean; 'password-file'?: string }>(argv, USAGE, {
    repair: { type: 'boolean' }, json: { type: 'boolean' }, 'password-file': { type: 'string' },
  });
  const report = await withDrive(values['password-file'], async (drive, cfg, paths) => {
    const sets = await Promise.all(drive.stores.map(listIds));
    const all = new Set(sets.flatMap((s) => [...s]));
    const stores = drive.stores.map((s, i) => ({ name: s.name, objects: sets[i].size, missing: all.size - sets[i].size }));
    let repaired = null;
    if (values.repair && drive.replicas) repaired = await drive.replicas.repair();
    const failures: string[] = [];
    const vfs = await openDriveVfs(drive, cfg, paths, { role: 'cli', log });
    let files = 0;
    try {
      files = await readAll(vfs, '', failures);
    } catch (err) {
      failures.push(`/: ${(err as Error).message}`);
    } finally {
      await vfs.close().catch(() => {});
    }
    return { stores, files, failures, repaired };
  });
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    for (const s of report.stores) process.stdout.write(`store ${s.name}: ${s.objects} objects, ${s.missing} missing\n`);
    if (report.repaired) process.stdout.write(`repair: ${report.repaired.copied} copied, ${report.repaired.failed} failed\n`);
    process.stdout.write(`${report.files} files read, ${report.failures.length} failed\n`);
    for (const f of report.failures) process.stdout.write(`  ${f}\n`);
  }
  const missing = report.stores.some((s) => s.missing > 0) && !(report.repaired && report.repaired.failed === 0);
  if (report.failures.length > 0 || missing) throw new MegafsError('E_INTEGRITY', 'fsck found problems (see above)');
  return 0;
}
