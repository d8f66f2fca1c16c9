// Errors with stable codes. Every layer throws these; each boundary translates them
// once: errno at the FUSE edge (src/fuse/errno.ts), exit codes in the CLI
// (src/cli/exit.ts), HTTP statuses in the server (docs/protocol.md).
// Tests assert `err.code`, never the message.

export type ErrorCode =
  // bad input from a person or a script
  | 'E_USAGE'            // wrong arguments to a command
  | 'E_BAD_PASSWORD'     // the password (or recovery key) does not open the drive
  | 'E_BAD_RECOVERY_KEY' // a recovery key that fails its checksum or does not decode
  | 'E_BAD_LINK'         // a share link that does not parse
  | 'E_NO_DRIVE'         // no drive is configured / the store holds no drive
  | 'E_DRIVE_EXISTS'     // init over an existing drive
  // format and integrity
  | 'E_FORMAT'           // bytes that do not parse as the format says
  | 'E_VERSION'          // a format version this build cannot read
  | 'E_INTEGRITY'        // authentication failed: tampered, swapped, truncated, wrong key
  | 'E_ROLLBACK'         // the store served an older or forked root
  // store
  | 'E_NOT_FOUND'        // an object, root or account that does not exist
  | 'E_HASH_MISMATCH'    // an object body whose hash is not its id
  | 'E_BAD_ID'           // an id that is not a valid object id
  | 'E_CONFLICT'         // compare-and-swap lost
  | 'E_UNAVAILABLE'      // the store is down or unreachable (not data loss)
  | 'E_AUTH'             // wrong or missing credentials
  | 'E_FORBIDDEN'        // authenticated but not allowed
  | 'E_QUOTA'            // the account's quota is full
  | 'E_TOO_LARGE'        // a request body over the limit
  | 'E_RATE_LIMIT'       // too many requests
  | 'E_GONE'             // a share that was revoked or expired
  | 'E_TAKEN_DOWN'       // a share the operator took down (HTTP 451)
  // file system (POSIX-shaped; src/fuse/errno.ts maps them)
  | 'ENOENT' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY' | 'EINVAL' | 'EBADF'
  | 'ENAMETOOLONG' | 'ENOSPC' | 'EPERM' | 'EACCES' | 'ENOTSUP' | 'ENODATA' | 'ERANGE'
  | 'EXDEV' | 'EFBIG' | 'ELOOP' | 'EBUSY' | 'EIO' | 'E2BIG' | 'EROFS' | 'EDQUOT'
  // environment
  | 'E_FUSE_MISSING'     // libfuse or /dev/fuse is not available
  | 'E_MOUNT'            // mount point missing, busy or not a directory
  | 'E_LOCKED'           // another collector holds the drive's collector lock
  | 'E_INTERNAL';

export class MegafsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input that does not parse, or a version we cannot read. */
export class FormatError extends MegafsError {}
/** Authentication of ciphertext failed: never return the bytes. */
export class IntegrityError extends MegafsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INTEGRITY', message, options);
  }
}
/** Something a store said or failed to say. */
export class StoreError extends MegafsError {}
/** A POSIX-shaped file system error from the vfs. */
export class FsError extends MegafsError {}
/** Bad command-line use or bad user input. */
export class UsageError extends MegafsError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

export function isMegafsError(e: unknown, code?: ErrorCode): e is MegafsError {
  return e instanceof MegafsError && (code === undefined || e.code === code);
}

/** A broken invariant: a bug in megafs, never bad input. */
export function bug(message: string): never {
  throw new Error(`BUG: ${message}`);
}

/** Shorthand used by the vfs: `throw fsError('ENOENT', path)`. */
export function fsError(code: ErrorCode, detail: string): FsError {
  return new FsError(code, `${code}: ${detail}`);
}
