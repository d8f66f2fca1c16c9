// megafs login --store SPEC... [--user NAME] [--password-file F]: use an existing drive on
// this machine (checks the password, then saves the configuration).
import { homePaths, newConfig, saveConfig } from '../drive/config.js';
import { unlockDrive } from '../drive/open.js';
import { getPassword } from '../drive/password.js';
import { UsageError } from '../errors.js';
import { parse } from './args.js';
import { log } from './session.js';

const USAGE = 'megafs login --store SPEC [--store SPEC]... [--user NAME] [--password-file F]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ store?: string[]; user?: string; 'password-file'?: string }>(argv, USAGE, {
    store: { type: 'string', multiple: true }, user: { type: 'string' }, 'password-file': { type: 'string' },
  });
  if (!values.store?.length) throw new UsageError(`--store is required (usage: ${USAGE})`);
  const paths = homePaths();
  const cfg = newConfig(values.store, values.user);
  // Keeps the header's copy and the drive id in cfg: from now on this machine opens the
  // drive with its stores down.
  const drive = await unlockDrive(cfg, await getPassword({ passwordFile: values['password-file'] }), { log, paths });
  await drive.close();
  await saveConfig(paths, cfg);
  process.stdout.write(`Logged in to drive ${drive.header.driveId} on ${cfg.stores.join(', ')}\n`);
  return 0;
}
