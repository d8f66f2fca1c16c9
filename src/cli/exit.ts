// Exit codes and the one place where errors become a one-line message and a code.
import { MegafsError, type ErrorCode } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const EXIT_FOR: Partial<Record<ErrorCode, number>> = {
  E_USAGE: EXIT_USAGE,
  E_BAD_PASSWORD: 3, E_BAD_RECOVERY_KEY: 3, E_AUTH: 3,
  E_NO_DRIVE: 4, E_DRIVE_EXISTS: 4,
  E_UNAVAILABLE: 5,
  E_INTEGRITY: 6, E_ROLLBACK: 6,
  E_MOUNT: 7, E_FUSE_MISSING: 7,
  E_BAD_LINK: 8, E_GONE: 8, E_TAKEN_DOWN: 8,
  E_LOCKED: 9,
};

/** Print one clear line to stderr and return the exit code. Unknown errors are bugs:
 *  their stack goes to stderr only when MEGAFS_DEBUG is set. */
export function reportError(err: unknown): number {
  if (err instanceof MegafsError) {
    process.stderr.write(`megafs: ${err.message}\n`);
    if (process.env.MEGAFS_DEBUG && err.cause) process.stderr.write(`${String((err.cause as Error)?.stack ?? err.cause)}\n`);
    return EXIT_FOR[err.code] ?? EXIT_FAILURE;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.path === 'string') {
    process.stderr.write(`megafs: ${e.code}: ${e.path}\n`);
    return EXIT_FAILURE;
  }
  process.stderr.write(`megafs: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.MEGAFS_DEBUG) process.stderr.write(`${e?.stack}\n`);
  return EXIT_FAILURE;
}
