// Loading native/build/Release/megafs_fuse.node (built by scripts/build-native.sh): the
// binding's functions, or the reason it is not usable here.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { findNativeModule } from '../../platform/native-module.js';

/** The session handle the binding returns (an N-API external). */
export type Session = { readonly __session: unique symbol };

/** Called for every kernel request: (op, request id, op arguments...). */
export type Dispatch = (op: number, id: number, ...args: never[]) => void;

export interface NativeBinding {
  mount(mountpoint: string, options: string, writeback: boolean, dispatch: Dispatch): Session;
  /** Answer request `id`: errno > 0 is an error, else `buf` (first `length` bytes, or
   *  nothing). Returns 0 when sent, a negative errno from the device (-ENOENT: the
   *  request was interrupted), or GONE when the request was answered already. */
  reply(s: Session, id: number, errno: number, buf?: Uint8Array, length?: number): number;
  unmount(s: Session): void;
  notifyInvalInode(s: Session, ino: number, offset: number, length: number): number;
  notifyInvalEntry(s: Session, parentIno: number, name: string): number;
  writeback(s: Session): boolean;
  /** Answer getxattr("security.capability") with ENODATA in C, without JS (or stop). */
  setNoCaps(s: Session, on: boolean): void;
  /** Answer FLUSH of an odd file handle (Vfs.readOnlyHandlesOdd) in C, without JS. */
  setReadOnlyFlush(s: Session, on: boolean): void;
  /** After serving a batch, watch /dev/fuse this many microseconds (0..1000) for the next
   *  request before going back to sleep in the event loop (0: never). */
  setSpin(s: Session, micros: number): void;
}

/** reply()'s answer for a request that is no longer pending. */
export const GONE = 1;

let loaded: { binding: NativeBinding } | { error: string } | null = null;

/** The binding, or why it cannot be used (not built, or libfuse3 missing). Cached. */
export function loadNative(): { binding: NativeBinding } | { error: string } {
  if (loaded) return loaded;
  if (!existsSync('/dev/fuse')) return (loaded = { error: '/dev/fuse is missing' });
  const file = findNativeModule('build/Release/megafs_fuse.node');
  if (!file) return (loaded = { error: 'native/ is not built (scripts/build-native.sh needs libfuse3-dev)' });
  try {
    loaded = { binding: createRequire(import.meta.url)(file) as NativeBinding };
  } catch (err) {
    loaded = { error: `it does not load: ${(err as Error).message.split('\n')[0]}` };
  }
  return loaded;
}
