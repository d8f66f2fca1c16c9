// Mounting a Vfs through the native libfuse3 binding: the session, its request handlers,
// and unmount. src/fuse/mount.ts picks this or fuse-native.
import { MegafsError } from '../../errors.js';
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
  const s = session;
  return {
    mountpoint, binding: 'native',
    unmount: async () => unmountNow(),
    invalidateInode: (nodeid, offset = 0, length = 0) => native.notifyInvalInode(s, nodeid, offset, length),
    invalidateEntry: (parentId, name) => native.notifyInvalEntry(s, parentId, name),
    nodeCount: () => requests.nodes.size,
  };
}
