// Is a directory store's disk here? A drive's directory store is known by the drive
// header it holds. Outside `init` a directory that is missing, holds no header, or holds
// another drive's is an unavailable store (E_UNAVAILABLE), never created anew: an
// unplugged disk must not be replaced by an empty directory that counts toward the write
// quorum while the real disk holds nothing new (docs/design.md "Opening a drive").
// Checked at open, after an operation fails or finds nothing (an absent object, no root,
// an empty listing: a vanished directory looks like that too), and while away again by
// every operation (reading a header that is not there costs microseconds), so the store
// is used again by the first operation after the directory is back with the right header.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../errors.js';

/** True when `header` (the bytes of DIR/header.json) is the drive's. */
export type HeaderCheck = (header: Uint8Array) => boolean;

export const HEADER_FILE = 'header.json';

export class FsPresence {
  /** Why the directory is not usable now; null while it holds the drive. */
  private away: string | null = 'not looked at yet';

  constructor(
    private readonly dir: string,
    private readonly belongs: HeaderCheck,
    /** Run when the directory is found usable after being away (or at the first check). */
    private readonly onBack: () => void,
  ) {}

  /** Look now; null when the directory holds the drive, else why not. */
  check(): string | null {
    const was = this.away;
    this.away = this.reason();
    if (this.away === null && was !== null) {
      try {
        this.onBack();
      } catch (e) {
        this.away = `cannot prepare it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      }
    }
    return this.away;
  }

  private reason(): string | null {
    let header: Uint8Array;
    try {
      header = new Uint8Array(readFileSync(join(this.dir, HEADER_FILE)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') {
        return `cannot read its drive header (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      }
      const isDir = (() => { try { return statSync(this.dir).isDirectory(); } catch { return false; } })();
      return isDir ? 'the directory holds no drive header' : 'the directory is missing (a disk not plugged in?)';
    }
    try {
      return this.belongs(header) ? null : 'the directory holds another drive';
    } catch {
      return 'its drive header does not parse';
    }
  }

  private unavailable(cause?: unknown): StoreError {
    return new StoreError('E_UNAVAILABLE', `store ${this.dir} is unavailable: ${this.away}`, cause === undefined ? undefined : { cause });
  }

  /** Before an operation: throws E_UNAVAILABLE while away (after looking again). */
  ready(): void {
    if (this.away === null || this.check() === null) return;
    throw this.unavailable();
  }

  /** After an operation failed or found nothing: throws E_UNAVAILABLE if the directory
   *  is gone or no longer the drive's; returns when it is still here. */
  confirm(cause?: unknown): void {
    if (this.check() !== null) throw this.unavailable(cause);
  }

  get isAway(): boolean {
    return this.away !== null;
  }
}
