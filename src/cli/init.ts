// megafs init [--store SPEC]... [--user NAME] [--password-file F]: create a drive.
import { homePaths, loadConfig, newConfig, saveConfig } from '../drive/config.js';
import { createNewDrive, driveExists } from '../drive/open.js';
import { getPassword } from '../drive/password.js';
import { MegafsError } from '../errors.js';
import { parse } from './args.js';
import { log } from './session.js';

const USAGE = 'megafs init [--store SPEC]... [--user NAME] [--password-file F] [--json]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ store?: string[]; user?: string; 'password-file'?: string; json?: boolean }>(argv, USAGE, {
    store: { type: 'string', multiple: true }, user: { type: 'string' }, 'password-file': { type: 'string' }, json: { type: 'boolean' },
  });
  const paths = homePaths();
  const existing = await loadConfig(paths);
  if (existing && (await driveExists(existing, paths))) {
    throw new MegafsError('E_DRIVE_EXISTS', `this machine already has a drive (${paths.config}); use another MEGAFS_HOME`);
  }
  const cfg = newConfig(values.store ?? [paths.defaultStore], values.user);
  const password = await getPassword({ passwordFile: values['password-file'] }, { confirm: true, what: 'New password' });
  const { drive, recoveryKey } = await createNewDrive(cfg, password, { log, paths });
  await drive.close();
  await saveConfig(paths, cfg);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ driveId: drive.header.driveId, stores: cfg.stores, recoveryKey })}\n`);
  } else {
    process.stdout.write(`Created drive ${drive.header.driveId} on ${cfg.stores.join(', ')}\n`);
    printRecoveryKey(recoveryKey);
  }
  return 0;
}

export function printRecoveryKey(key: string): void {
  process.stdout.write(`\nRecovery key (shown once; write it down, it opens the drive if you forget the password):\n\n  ${key}\n\n`);
}
