// The one table from megafs error codes to the negative errno FUSE answers with.
// Every FUSE callback goes through toErrno(); nothing else in src/fuse picks an errno.
import { MegafsError, type ErrorCode } from '../errors.js';

/** Linux errno values (asm-generic/errno-base.h, errno.h). */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, EIO: 5, E2BIG: 7, EBADF: 9, EAGAIN: 11, EACCES: 13, EBUSY: 16,
  EEXIST: 17, EXDEV: 18, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, EFBIG: 27, ENOSPC: 28,
  EROFS: 30, ERANGE: 34, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40,
  ENODATA: 61, ENOTSUP: 95, ETIMEDOUT: 110, EHOSTDOWN: 112, EDQUOT: 122,
} as const;

const TABLE: Partial<Record<ErrorCode, number>> = {
  ENOENT: ERRNO.ENOENT, EEXIST: ERRNO.EEXIST, ENOTDIR: ERRNO.ENOTDIR, EISDIR: ERRNO.EISDIR,
  ENOTEMPTY: ERRNO.ENOTEMPTY, EINVAL: ERRNO.EINVAL, EBADF: ERRNO.EBADF,
  ENAMETOOLONG: ERRNO.ENAMETOOLONG, ENOSPC: ERRNO.ENOSPC, EPERM: ERRNO.EPERM,
  EACCES: ERRNO.EACCES, ENOTSUP: ERRNO.ENOTSUP, ENODATA: ERRNO.ENODATA, ERANGE: ERRNO.ERANGE,
  EXDEV: ERRNO.EXDEV, EFBIG: ERRNO.EFBIG, ELOOP: ERRNO.ELOOP, EBUSY: ERRNO.EBUSY,
  EIO: ERRNO.EIO, E2BIG: ERRNO.E2BIG, EROFS: ERRNO.EROFS, EDQUOT: ERRNO.EDQUOT,
  // Data that fails authentication is never returned: the application sees EIO.
  E_INTEGRITY: ERRNO.EIO, E_ROLLBACK: ERRNO.EIO, E_HASH_MISMATCH: ERRNO.EIO, E_FORMAT: ERRNO.EIO,
  E_VERSION: ERRNO.EIO, E_NOT_FOUND: ERRNO.EIO,
  // The store refused for good: the quota is full (the data stays in the cache).
  E_QUOTA: ERRNO.EDQUOT, E_TOO_LARGE: ERRNO.EFBIG,
  // The store is away: EIO for what needs it now (reads of uncached data, fsync).
  E_UNAVAILABLE: ERRNO.EIO, E_RATE_LIMIT: ERRNO.EAGAIN,
  E_AUTH: ERRNO.EACCES, E_FORBIDDEN: ERRNO.EACCES,
  E_CONFLICT: ERRNO.EBUSY,
};

/** A negative errno for `err`; logs (once per call) what it cannot classify. */
export function toErrno(err: unknown, log: (line: string) => void = () => {}): number {
  if (err instanceof MegafsError) {
    const errno = TABLE[err.code];
    if (errno !== undefined) return -errno;
    log(`fuse: ${err.code} mapped to EIO: ${err.message}`);
    return -ERRNO.EIO;
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code in ERRNO) return -ERRNO[code as keyof typeof ERRNO];
  log(`fuse: unexpected error mapped to EIO: ${(err as Error)?.stack ?? String(err)}`);
  return -ERRNO.EIO;
}
