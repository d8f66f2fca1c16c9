// Mounting a Vfs through the native libfuse3 binding: the session, its request handlers,
// and unmount. src/fuse/mount.ts picks this or fuse-native.
import { readFileSync, writeFileSync } from 'node:fs';
import { MegafsError } from '../../errors.js';
import { nameToLatin1 } from '../../format/names.js';
import type { Vfs } from '../../vfs/types.js';
import { loadNative, type Session } from './binding.js';
import { Requests } from './requests.js';

export interface NativeMountOptions {
  /** Seconds the kernel may cache names, attributes and negative lookups. */
  ttlS: number;
  /** The kernel's writeback cache: small writes are merged into big requests. */
  writeback: boolean;
  log: (line: string) => void;
}

export interface NativeMounted {
  readonly mountpoint: string;
  readonly binding: 'native';
  unmount(): Promise<void>;
  /** Drop the kernel's cached pages of node `nodeid` (offset 0, length 0: all of them). */
  invalidateInode(nodeid: number, offset?: number, length?: number): number;
  /** Drop the kernel's cached name `name` under directory node `parentId`. */
  invalidateEntry(parentId: number, name: string): number;
  /** Nodes the kernel holds (for tests of lookup counts and forget). */
  nodeCount(): number;
}

/** Kernel readahead for the mount (KiB): the bdi default (128 KiB) caps every read
 *  request at 128 KiB whatever max_readahead says. */
const READAHEAD_KB = 1024;

/** Raise the mount's readahead through /sys/class/bdi (root only; best effort). The
 *  device number comes from /proc/self/mountinfo: a stat() of the mount point from this
 *  process would wait on itself. */
function raiseReadahead(mountpoint: string): void {
  try {
    const esc = mountpoint.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse().find((l) => l.split(' ')[4] === esc);
    const dev = line?.split(' ')[2];
    if (dev) writeFileSync(`/sys/class/bdi/${dev}/read_ahead_kb`, String(READAHEAD_KB));
  } catch {
    // not root, or no sysfs: reads stay at 128 KiB per request
  }
}

/** How long (µs) the binding watches for the next request after serving a batch. A
 *  program going through many files sends its next request within tens of µs of a reply,
 *  and on a virtual machine being woken from sleep is the dearest part of a round trip:
 *  measured here, fio 4 KiB random reads at QD1 8,500-9,000 -> 12,500-13,000 IOPS, and a
 *  listxattr round trip 31-36 -> 23-31 µs. An idle mount does not spin (it sleeps until
 *  a request comes; the watch follows a batch). MEGAFS_FUSE_SPIN_US (0..1000) sets it;
 *  0 turns it off. */
export function spinMicros(env: string | undefined = process.env.MEGAFS_FUSE_SPIN_US): number {
  const DEFAULT = 50;
  if (env === undefined || !/^\d{1,4}$/.test(env.trim())) return DEFAULT;
  return Math.min(1000, Number(env.trim()));
}

/** Mount `vfs` on the absolute, checked `mountpoint`; throws E_FUSE_MISSING when the
 *  binding is not usable here and E_MOUNT when the kernel refuses the mount. */
export function mountNative(vfs: Vfs, mountpoint: string, o: NativeMountOptions): NativeMounted {
  const loaded = loadNative();
  if ('error' in loaded) throw new MegafsError('E_FUSE_MISSING', `native FUSE binding: ${loaded.error}`);
  const native = loaded.binding;
  let session: Session | null = null;
  const unmountNow = (): void => {
    if (session) native.unmount(session);
    session = null;
  };
  const requests = new Requests(vfs, native, {
    ttlS: o.ttlS, log: o.log,
    onExit: () => {
      o.log(`megafs: ${mountpoint} was unmounted from outside`);
      unmountNow();
    },
  });
  const options = ['fsname=megafs', 'subtype=megafs', `max_read=${1024 * 1024}`].join(',');
  try {
    session = native.mount(mountpoint, options, o.writeback, requests.dispatch);
  } catch (cause) {
    throw new MegafsError('E_MOUNT', `cannot mount on ${mountpoint}: ${(cause as Error).message}`, { cause });
  }
  requests.session = session;
  raiseReadahead(mountpoint);
  const s = session;
  // Until some file has a security.capability xattr, C answers the kernel's per-write
  // question for it (half of a tar x's requests); the vfs turns that off, before it
  // answers the request that revealed one.
  const capsSeen = vfs.watchCapabilityXattr?.(() => native.setNoCaps(s, false));
  if (capsSeen === false) native.setNoCaps(s, true);
  // A reader's close() costs no trip to JS when the vfs's read-only handles are odd.
  if (vfs.readOnlyHandlesOdd) native.setReadOnlyFlush(s, true);
  native.setSpin(s, spinMicros());
  return {
    mountpoint, binding: 'native',
    unmount: async () => unmountNow(),
    invalidateInode: (nodeid, offset = 0, length = 0) => native.notifyInvalInode(s, nodeid, offset, length),
    invalidateEntry: (parentId, name) => native.notifyInvalEntry(s, parentId, nameToLatin1(name)),
    nodeCount: () => requests.nodes.size,
  };
}
