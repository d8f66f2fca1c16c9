// Account records in SQLite (DIR/accounts.db): name, the sha256 of the auth secret (never
// the secret), the drive header, the root with its version counter, quota and usage.
// Root compare-and-swap and quota reservations are single UPDATE statements, so they are
// atomic however many requests race. WAL; roots, headers and accounts are committed with
// synchronous=FULL (durable when acknowledged), usage counters with NORMAL (cheaper; after a
// power loss they may lag by the last few updates, never corrupt; the start-up recount,
// src/server/recover.ts, sets them from the objects on disk).
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { StoreError } from '../errors.js';
import { openDatabase, type Database, type Statement } from './sqlite.js';

export interface Account {
  /** 32 hex chars, random: names the account's object directory or S3 prefix. */
  id: string;
  name: string;
  secretHash: Buffer;
  quotaBytes: number | null;
}

interface AccountRow {
  id: string;
  name: string;
  secret_hash: Buffer;
  quota_bytes: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  secret_hash  BLOB NOT NULL,
  header       BLOB,
  root         BLOB,
  root_version INTEGER NOT NULL DEFAULT 0,
  quota_bytes  INTEGER,
  used_bytes   INTEGER NOT NULL DEFAULT 0,
  object_count INTEGER NOT NULL DEFAULT 0,
  created_ms   INTEGER NOT NULL
);`;

const toAccount = (r: AccountRow): Account => ({
  id: r.id, name: r.name, secretHash: r.secret_hash, quotaBytes: r.quota_bytes,
});

export class AccountDb {
  private readonly db: Database;
  private readonly statements = new Map<string, Statement<unknown>>();

  constructor(path: string) {
    this.db = openDatabase(path);
    chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: usage counters may lose their last updates on power loss (never corrupt);
    // writes that must be durable when acknowledged go through durable().
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  /** A prepared statement, compiled once. */
  private sql<Row>(text: string): Statement<Row> {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st as Statement<Row>;
  }

  /** Run `write` with synchronous=FULL: the WAL is fsync'ed before it returns (a root,
   *  a header, an account). better-sqlite3 is synchronous, so nothing interleaves. */
  private durable<T>(write: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return write();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** Create an account; E_CONFLICT when the name is taken. */
  create(name: string, secretHash: Buffer, header: Uint8Array | null, quotaBytes: number | null): Account {
    const id = randomBytes(16).toString('hex');
    try {
      this.durable(() =>
        this.sql('INSERT INTO accounts (id, name, secret_hash, header, quota_bytes, created_ms) VALUES (?, ?, ?, ?, ?, ?)')
          .run(id, name, secretHash, header ? Buffer.from(header) : null, quotaBytes, Date.now()));
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new StoreError('E_CONFLICT', 'that user name is taken');
      }
      throw e;
    }
    return { id, name, secretHash, quotaBytes };
  }

  byName(name: string): Account | null {
    const r = this.sql<AccountRow>('SELECT id, name, secret_hash, quota_bytes FROM accounts WHERE name = ?').get(name);
    return r ? toAccount(r) : null;
  }

  header(id: string): Buffer | null {
    return this.sql<{ header: Buffer | null }>('SELECT header FROM accounts WHERE id = ?').get(id)?.header ?? null;
  }

  setHeader(id: string, bytes: Uint8Array): void {
    this.durable(() => this.sql('UPDATE accounts SET header = ? WHERE id = ?').run(Buffer.from(bytes), id));
  }

  /** The root and its version (1, 2, ...), or null when none was written. */
  root(id: string): { bytes: Buffer; version: number } | null {
    const r = this.sql<{ root: Buffer | null; root_version: number }>('SELECT root, root_version FROM accounts WHERE id = ?')
      .get(id);
    return r && r.root !== null ? { bytes: r.root, version: r.root_version } : null;
  }

  /** Replace the root if its version is `expected` (0: none yet); the new version or null. */
  casRoot(id: string, expected: number, bytes: Uint8Array): number | null {
    const r = this.durable(() =>
      this.sql('UPDATE accounts SET root = ?, root_version = root_version + 1 WHERE id = ? AND root_version = ?')
        .run(Buffer.from(bytes), id, expected));
    return r.changes === 1 ? expected + 1 : null;
  }

  /** Add to usage if it stays within the quota; false when the quota would be exceeded. */
  reserve(id: string, bytes: number, count: number): boolean {
    const r = this.sql(`UPDATE accounts SET used_bytes = used_bytes + ?, object_count = object_count + ?
                WHERE id = ? AND (quota_bytes IS NULL OR used_bytes + ? <= quota_bytes)`)
      .run(bytes, count, id, bytes);
    return r.changes === 1;
  }

  /** Unconditional usage change (release of a reservation, a delete). */
  adjust(id: string, bytes: number, count: number): void {
    this.sql('UPDATE accounts SET used_bytes = MAX(0, used_bytes + ?), object_count = MAX(0, object_count + ?) WHERE id = ?')
      .run(bytes, count, id);
  }

  usage(id: string): { usedBytes: number; objectCount: number; quotaBytes: number | null } {
    const r = this.sql<{ used_bytes: number; object_count: number; quota_bytes: number | null }>(
        'SELECT used_bytes, object_count, quota_bytes FROM accounts WHERE id = ?',
      )
      .get(id);
    if (!r) throw new StoreError('E_NOT_FOUND', 'no such account');
    return { usedBytes: r.used_bytes, objectCount: r.object_count, quotaBytes: r.quota_bytes };
  }

  /** Every account id (the start-up recount walks them). */
  ids(): string[] {
    return this.sql<{ id: string }>('SELECT id FROM accounts ORDER BY id').all().map((r) => r.id);
  }

  /** Set usage to what was counted on disk (start-up recount, before serving). */
  setUsage(id: string, usedBytes: number, objectCount: number): void {
    this.durable(() => this.sql('UPDATE accounts SET used_bytes = ?, object_count = ? WHERE id = ?').run(usedBytes, objectCount, id));
  }

  close(): void {
    this.db.close();
  }
}
