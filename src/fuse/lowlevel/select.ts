// Which FUSE binding mounts: MountOptions.binding, else MEGAFS_FUSE=native|fuse-native,
// else the native libfuse3 binding when it loads here. When it cannot build, load or
// mount, megafs falls back to fuse-native and says so once per process.
import type { Vfs } from '../../vfs/types.js';
import { MegafsError } from '../../errors.js';
import { loadNative } from './binding.js';
import { mountNative, type NativeMounted } from './mount.js';

export type FuseBinding = 'native' | 'fuse-native';

/** Used when neither the option nor MEGAFS_FUSE says. */
const DEFAULT_BINDING: FuseBinding = 'native';

let saidFallback = false;

/** The binding asked for (option, then environment, then DEFAULT_BINDING). */
export function chosenBinding(asked?: FuseBinding): FuseBinding {
  const env = process.env.MEGAFS_FUSE;
  if (asked) return asked;
  if (env === 'native' || env === 'fuse-native') return env;
  if (env) throw new MegafsError('E_USAGE', `MEGAFS_FUSE must be native or fuse-native, not ${env}`);
  return DEFAULT_BINDING;
}

function fallback(why: string, log: (line: string) => void): null {
  if (!saidFallback) log(`megafs: the native FUSE binding is not usable (${why}); using fuse-native`);
  saidFallback = true;
  return null;
}

/** Mount through the native binding if chosen and usable; null means "use fuse-native".
 *  `check` validates the mount point (mount.ts's checkMountpoint) and its errors stand. */
export async function mountViaNative(vfs: Vfs, mountpoint: string,
  o: { binding?: FuseBinding; attrTimeoutS?: number; writeback?: boolean },
  log: (line: string) => void, check: (dir: string, log: (line: string) => void) => Promise<string>): Promise<NativeMounted | null> {
  if (chosenBinding(o.binding) !== 'native') return null;
  const loaded = loadNative();
  if ('error' in loaded) return fallback(loaded.error, log);
  const abs = await check(mountpoint, log);
  try {
    return mountNative(vfs, abs, { ttlS: o.attrTimeoutS ?? 1, writeback: o.writeback ?? process.env.MEGAFS_FUSE_WRITEBACK !== '0', log });
  } catch (err) {
    return fallback((err as Error).message, log);
  }
}
