// Mount lifecycle: check that FUSE is usable, check the mount point (clearing a stale
// mount left by a crash), mount a Vfs with the chosen libfuse options, unmount.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type FuseClass from 'fuse-native';
import type { FuseOptions } from 'fuse-native';
import { MegafsError } from '../errors.js';
import type { Vfs } from '../vfs/types.js';
import { fuseOps } from './ops.js';
import { mountViaNative, type FuseBinding } from './lowlevel/select.js';

const INSTALL_HINT = 'install it with: apt-get install libfuse2 fuse';

/** libfuse options that do not have a fuse-native flag ride along in the fsname string
 *  (fuse-native joins them after "-o fsname="). Chosen by bench/mount.bench.ts:
 *  128 KiB writes (libfuse 2.9's maximum), and inode numbers from the vfs. */
const EXTRA_OPTIONS = ['big_writes', 'max_write=131072', 'use_ino'];

/** Per-operation timeouts (ms). fuse-native answers ETIMEDOUT after 15 s by default; an
 *  operation that changes the tree or waits on the store (fsync, release, a read of an
 *  uncached chunk) must never be cut short, so only read-only metadata calls have one. */
const TIMEOUTS: Record<string, number | false> = {
  default: false, getattr: 60_000, readdir: 60_000, readlink: 60_000, statfs: 60_000,
  getxattr: 60_000, listxattr: 60_000,
};

export interface MountOptions {
  /** Seconds the kernel may cache attributes and names (libfuse's default is 1). */
  attrTimeoutS?: number;
  /** kernel_cache keeps file pages across opens; auto_cache (the default) drops them
   *  when a file's mtime or size changed. */
  cache?: 'auto' | 'kernel' | 'none';
  log?: (line: string) => void;
  /** native (libfuse3, src/fuse/lowlevel) or fuse-native; default: MEGAFS_FUSE, else native. */
  binding?: FuseBinding;
  /** native only: the kernel's writeback cache (default on). */
  writeback?: boolean;
}

export interface Mounted {
  readonly mountpoint: string;
  unmount(): Promise<void>;
}

/** Throws E_FUSE_MISSING unless the kernel side of FUSE is there (cheap; no library load). */
export function checkFuse(): void {
  if (!existsSync('/dev/fuse')) throw new MegafsError('E_FUSE_MISSING', `FUSE is not available (/dev/fuse is missing): ${INSTALL_HINT}`);
}

function loadFuse(): typeof FuseClass {
  if (!existsSync('/dev/fuse')) throw new MegafsError('E_FUSE_MISSING', `FUSE is not available (/dev/fuse is missing): ${INSTALL_HINT}`);
  const hasFusermount = (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, 'fusermount')));
  if (!hasFusermount) throw new MegafsError('E_FUSE_MISSING', `fusermount is not installed: ${INSTALL_HINT}`);
  try {
    return createRequire(import.meta.url)('fuse-native') as typeof FuseClass;
  } catch (cause) {
    throw new MegafsError('E_FUSE_MISSING', `the FUSE library (libfuse.so.2) does not load: ${INSTALL_HINT}`, { cause });
  }
}

/** True when /proc/self/mountinfo lists `dir` (absolute) as a mount point. */
export async function isMounted(dir: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  // Field 5 is the mount point, with space, tab, newline and backslash as octal escapes.
  const esc = dir.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((line) => line.split(' ')[4] === esc);
}

/** Unmount `mountpoint` lazily (fusermount -uz): for stale mounts and `megafs unmount`. */
export async function forceUnmount(mountpoint: string): Promise<void> {
  await promisify(execFile)('fusermount', ['-uz', mountpoint]);
}

/** Throws E_MOUNT unless `dir` is an empty directory that nothing is mounted on; clears a
 *  stale FUSE mount ("Transport endpoint is not connected") first, saying so. */
export async function checkMountpoint(dir: string, log: (line: string) => void): Promise<string> {
  const abs = resolve(dir);
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') {
      log(`megafs: ${abs} is a stale mount (its daemon died); clearing it with fusermount -uz`);
      await forceUnmount(abs).catch(() => {});
      return checkMountpoint(dir, log);
    }
    if (code === 'ENOENT') throw new MegafsError('E_MOUNT', `mount point ${abs} does not exist`);
    throw new MegafsError('E_MOUNT', `mount point ${abs} is not usable (${code})`);
  }
  if (!st.isDirectory()) throw new MegafsError('E_MOUNT', `mount point ${abs} is not a directory`);
  const parent = await stat(dirname(abs));
  if (parent.dev !== st.dev && abs !== '/') throw new MegafsError('E_MOUNT', `mount point ${abs} is busy (something is already mounted there)`);
  if ((await readdir(abs)).length > 0) throw new MegafsError('E_MOUNT', `mount point ${abs} is not empty`);
  return abs;
}

/** Mount `vfs` on `mountpoint` (checked first); resolves once the kernel can use it. */
export async function mountVfs(vfs: Vfs, mountpoint: string, opts: MountOptions = {}): Promise<Mounted> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const native = await mountViaNative(vfs, mountpoint, opts, log, checkMountpoint);
  if (native) return native;
  const Fuse = loadFuse();
  const abs = await checkMountpoint(mountpoint, log);
  const cache = opts.cache ?? 'auto';
  const ttl = opts.attrTimeoutS ?? 1;
  const fuseOpts: FuseOptions = {
    fsname: ['megafs', ...EXTRA_OPTIONS].join(','), subtype: 'megafs', timeout: TIMEOUTS,
    kernelCache: cache === 'kernel', autoCache: cache === 'auto', attrTimeout: ttl, entryTimeout: ttl,
  };
  const fuse = new Fuse(abs, fuseOps(vfs, log), fuseOpts);
  await new Promise<void>((ok, fail) => fuse.mount((err) => (err ? fail(err) : ok()))).catch((cause: Error) => {
    throw new MegafsError('E_MOUNT', `cannot mount on ${abs}: ${cause.message}`, { cause });
  });
  let unmounting: Promise<void> | null = null;
  return {
    mountpoint: abs,
    unmount: () => (unmounting ??= new Promise<void>((ok, fail) => fuse.unmount((err) => (err ? fail(err) : ok())))),
  };
}
