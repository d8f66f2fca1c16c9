// Types for the parts of fuse-native (2.2.x, no bundled types) that src/fuse uses.
// Callback convention: the first argument is 0 / a positive count / a negative errno.
declare module 'fuse-native' {
  type Cb = (result: number, ...rest: unknown[]) => void;
  export interface FuseStat {
    mode: number; uid: number; gid: number; size: number; nlink: number; ino: number;
    blocks: number; blksize?: number; dev?: number; rdev?: number;
    /** Milliseconds since the epoch. */
    atime: number; mtime: number; ctime: number;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export type FuseOps = Record<string, (...args: any[]) => void>;
  export interface FuseOptions {
    timeout?: number | false | Record<string, number | false>;
    force?: boolean; mkdir?: boolean; debug?: boolean; fsname?: string; subtype?: string;
    kernelCache?: boolean; autoCache?: boolean; attrTimeout?: number; entryTimeout?: number;
    acAttrTimeout?: number; maxRead?: number; allowOther?: boolean; defaultPermissions?: boolean;
    uid?: number; gid?: number; umask?: number; noforget?: boolean;
  }
  export default class Fuse {
    constructor(mnt: string, ops: FuseOps, opts?: FuseOptions);
    mnt: string;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    static [errno: string]: unknown;
  }
  export type { Cb };
}
