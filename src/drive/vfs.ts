// The vfs over an unlocked drive, with this machine's cache and state directories.
// MEGAFS_VFS=memory swaps in the in-memory Vfs (no store, nothing persists): a debugging
// aid for the FUSE layer alone.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MemVfs } from '../fuse/memfs.js';
import { nativeData } from '../platform/native-data.js';
import { openVfs } from '../vfs/index.js';
import type { VfsShares } from '../vfs/shares.js';
import type { Vfs } from '../vfs/types.js';
import type { DriveConfig, HomePaths } from './config.js';
import type { Drive } from './open.js';

export const DEFAULT_CACHE_BYTES = 10 * 1024 ** 3;
/** The mount daemon's memory cache of decrypted chunks: small, because the kernel's page
 *  cache already keeps what a mount reads and writes, and a big cache of written chunks
 *  costs fresh memory on every write (measured: 1 GiB fio write 105-119 MB/s with 64 MiB,
 *  59-87 MB/s with 3 GiB). MEGAFS_MEM_CACHE_MB overrides it. */
const DAEMON_MEM_CACHE_BYTES = 64 << 20;

let saidNoNativeData = false;

export interface VfsPlace {
  /** Cache directory (ciphertext only); default MEGAFS_HOME/cache/<drive id>. */
  cacheDir?: string;
  cacheBytes?: number;
  /** Separate journal/state per user of the drive on this machine ("daemon", "cli"). */
  role: 'daemon' | 'cli';
  log: (line: string) => void;
}

/** `shares` is absent only for MEGAFS_VFS=memory. */
export async function openDriveVfs(drive: Drive, cfg: DriveConfig, paths: HomePaths, place: VfsPlace): Promise<Vfs & { shares?: VfsShares }> {
  if (process.env.MEGAFS_VFS === 'memory') return new MemVfs();
  const cacheDir = place.cacheDir ?? join(paths.cache, drive.header.driveId);
  const stateDir = join(paths.state, drive.header.driveId, place.role);
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  if (!nativeData && process.env.MEGAFS_NATIVE_DATA !== '0' && !saidNoNativeData) {
    saidNoNativeData = true;
    place.log('megafs: native/data is not built (scripts/build-native.sh needs make and g++): using node:crypto, slower');
  }
  return openVfs({
    store: drive.store, keys: drive.keys, cacheDir, stateDir,
    lastSeenRoot: async () => {
      const r = await drive.seen.latest();
      return r && { bytes: r.bytes, etag: r.etag };
    },
    cacheSizeBytes: place.cacheBytes ?? DEFAULT_CACHE_BYTES, deviceId: cfg.deviceId, log: place.log,
    memCacheBytes: place.role === 'daemon' && !process.env.MEGAFS_MEM_CACHE_MB ? DAEMON_MEM_CACHE_BYTES : undefined,
    // The daemon's kernel page cache holds what was written; `megafs put` never reads it back.
    keepWritten: false,
    lease: place.role === 'daemon',
  });
}
