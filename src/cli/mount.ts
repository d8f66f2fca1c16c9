// megafs mount MOUNTPOINT [--foreground] [--cache-dir DIR] [--cache-size SIZE] [--store SPEC]...
//   [--gc-interval DURATION|off]
// Without --foreground: starts the daemon in the background, returns once the drive is
// usable. The first mount on a machine with no drive creates one on the embedded store.
// The daemon collects garbage in the background (src/drive/gc-schedule.ts): first 10
// minutes after the mount, then every --gc-interval (default 24h; off: never).
import { homePaths } from '../drive/config.js';
import { receivePassword, startBackground, tellParent } from '../drive/background.js';
import { configOrDefault, mayCreate, runDaemon, type ReadyInfo } from '../drive/daemon.js';
import { driveExists } from '../drive/open.js';
import { getPassword } from '../drive/password.js';
import { checkFuse, checkMountpoint } from '../fuse/mount.js';
import { MegafsError } from '../errors.js';
import { parseGcInterval } from '../drive/gc-schedule.js';
import { parse, parseSize } from './args.js';
import { printRecoveryKey } from './init.js';

const USAGE = 'megafs mount MOUNTPOINT [--foreground] [--cache-dir DIR] [--cache-size SIZE] [--store SPEC]... [--gc-interval DURATION|off] [--password-file F]';

interface Values {
  foreground?: boolean; 'cache-dir'?: string; 'cache-size'?: string; store?: string[];
  'password-file'?: string; 'daemon-child'?: boolean; 'gc-interval'?: string;
}

const stamp = (line: string): void => { process.stderr.write(`${new Date().toISOString()} ${line}\n`); };

function announce(info: ReadyInfo): void {
  if (info.recoveryKey) {
    process.stdout.write('Created a new drive on this machine.\n');
    printRecoveryKey(info.recoveryKey);
  }
  process.stdout.write(`megafs: mounted on ${info.mountpoint}\n`);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<Values>(argv, USAGE, {
    foreground: { type: 'boolean', short: 'f' }, 'cache-dir': { type: 'string' }, 'cache-size': { type: 'string' },
    store: { type: 'string', multiple: true }, 'password-file': { type: 'string' }, 'daemon-child': { type: 'boolean' },
    'gc-interval': { type: 'string' },
  }, 1, 1);
  const [mountpoint] = positionals;
  const daemonOpts = {
    mountpoint, stores: values.store, cacheDir: values['cache-dir'],
    cacheBytes: values['cache-size'] ? parseSize(values['cache-size']) : undefined,
    gcIntervalMs: values['gc-interval'] !== undefined ? parseGcInterval(values['gc-interval']) : undefined,
  };
  if (values['daemon-child']) {
    const password = await receivePassword();
    try {
      await runDaemon({ ...daemonOpts, password, log: stamp }, (info) => tellParent({ type: 'ready', info }));
      return 0;
    } catch (e) {
      const err = e as MegafsError;
      tellParent({ type: 'error', code: err.code ?? 'E_INTERNAL', message: err.message });
      throw e;
    }
  }
  const paths = homePaths();
  checkFuse();
  const abs = await checkMountpoint(mountpoint, (line) => process.stderr.write(`${line}\n`));
  const { cfg, isNew: noConfig } = await configOrDefault(paths, values.store);
  const isNew = mayCreate(noConfig, values.store) && !(await driveExists(cfg, paths));
  if (isNew && !values['password-file'] && process.env.MEGAFS_PASSWORD === undefined) {
    process.stderr.write(`No drive yet: creating one on ${cfg.stores.join(', ')}. Choose its password.\n`);
  }
  const password = await getPassword({ passwordFile: values['password-file'] }, { confirm: isNew, what: isNew ? 'New password' : 'Password' });
  if (values.foreground) {
    await runDaemon({ ...daemonOpts, password, log: stamp }, announce);
    return 0;
  }
  const passOn = [abs, ...(values.store ?? []).flatMap((s) => ['--store', s])];
  if (values['cache-dir']) passOn.push('--cache-dir', values['cache-dir']);
  if (values['cache-size']) passOn.push('--cache-size', values['cache-size']);
  if (values['gc-interval'] !== undefined) passOn.push('--gc-interval', values['gc-interval']);
  announce(await startBackground(paths, passOn, password));
  return 0;
}
