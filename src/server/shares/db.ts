// Share records in the server's SQLite (DATA/accounts.db, beside the accounts): per share
// the owner, the sealed manifest (opaque), the object ids it may serve, expiry, revocation
// and take-down. Every request reads the row afresh, so `megafs admin takedown --data DIR`
// from another process takes effect on the running server at once.
import { StoreError } from '../../errors.js';
import { openDatabase, type Database } from '../sqlite.js';

/** 16 random bytes (the client's), canonical unpadded base64url: 22 chars whose last one
 *  carries 2 bits (A, Q, g or w). 128 bits: guessing is hopeless. */
export const SHARE_ID_RE = /^[A-Za-z0-9_-]{21}[AQgw]$/;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shares (
  id              TEXT PRIMARY KEY,
  account_id      TEXT NOT NULL,
  manifest        BLOB NOT NULL,
  object_bytes    INTEGER NOT NULL,
  created_ms      INTEGER NOT NULL,
  expires_ms      INTEGER,
  revoked_ms      INTEGER,
  takedown_reason TEXT,
  takedown_ms     INTEGER
);
CREATE INDEX IF NOT EXISTS shares_account ON shares (account_id);
CREATE TABLE IF NOT EXISTS share_objects (
  share_id  TEXT NOT NULL,
  object_id TEXT NOT NULL,
  PRIMARY KEY (share_id, object_id)
) WITHOUT ROWID;`;

export interface ShareRow {
  id: string;
  account_id: string;
  object_bytes: number;
  created_ms: number;
  expires_ms: number | null;
  revoked_ms: number | null;
  takedown_reason: string | null;
  takedown_ms: number | null;
}

export type ShareState =
  | { state: 'missing' }
  | { state: 'revoked' | 'expired'; row: ShareRow }
  | { state: 'taken-down'; row: ShareRow; reason: string }
  | { state: 'live'; row: ShareRow };

const COLS = 'id, account_id, object_bytes, created_ms, expires_ms, revoked_ms, takedown_reason, takedown_ms';

export class ShareDb {
  private readonly db: Database;

  constructor(path: string) {
    this.db = openDatabase(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  /** E_CONFLICT when the id exists, E_USAGE when it is malformed. */
  create(id: string, accountId: string, manifest: Buffer, objectIds: string[], objectBytes: number, expiresMs: number | null): void {
    if (!SHARE_ID_RE.test(id)) throw new StoreError('E_USAGE', 'a share id is 16 bytes, base64url');
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.db.prepare('INSERT INTO shares (id, account_id, manifest, object_bytes, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, accountId, manifest, objectBytes, Date.now(), expiresMs);
      const add = this.db.prepare('INSERT OR IGNORE INTO share_objects (share_id, object_id) VALUES (?, ?)');
      for (const o of objectIds) add.run(id, o);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new StoreError('E_CONFLICT', 'that share id is taken');
      throw e;
    }
  }

  row(id: string): ShareRow | null {
    if (!SHARE_ID_RE.test(id)) return null;
    return this.db.prepare<ShareRow>(`SELECT ${COLS} FROM shares WHERE id = ?`).get(id) ?? null;
  }

  /** What a public request for this share gets. Take-down wins over revoked/expired. */
  state(id: string, nowMs = Date.now()): ShareState {
    const row = this.row(id);
    if (!row) return { state: 'missing' };
    if (row.takedown_reason !== null) return { state: 'taken-down', row, reason: row.takedown_reason };
    if (row.revoked_ms !== null) return { state: 'revoked', row };
    if (row.expires_ms !== null && row.expires_ms <= nowMs) return { state: 'expired', row };
    return { state: 'live', row };
  }

  manifest(id: string): Buffer {
    const r = this.db.prepare<{ manifest: Buffer }>('SELECT manifest FROM shares WHERE id = ?').get(id);
    if (!r) throw new StoreError('E_NOT_FOUND', 'no such share');
    return r.manifest;
  }

  servesObject(id: string, objectId: string): boolean {
    return this.db.prepare('SELECT 1 FROM share_objects WHERE share_id = ? AND object_id = ?').get(id, objectId) !== undefined;
  }

  /** True while some live (not revoked) share of the account names the object: the
   *  object routes may refuse to delete it. */
  objectInUse(accountId: string, objectId: string): boolean {
    return this.db.prepare(`SELECT 1 FROM share_objects o JOIN shares s ON s.id = o.share_id
      WHERE s.account_id = ? AND o.object_id = ? AND s.revoked_ms IS NULL`).get(accountId, objectId) !== undefined;
  }

  listByAccount(accountId: string): ShareRow[] {
    return this.db.prepare<ShareRow>(`SELECT ${COLS} FROM shares WHERE account_id = ? ORDER BY created_ms`).all(accountId);
  }

  /** Revoke the account's share; false when it has no such share. */
  revoke(accountId: string, id: string): boolean {
    return this.db.prepare('UPDATE shares SET revoked_ms = COALESCE(revoked_ms, ?) WHERE id = ? AND account_id = ?')
      .run(Date.now(), id, accountId).changes === 1;
  }

  takedown(id: string, reason: string): boolean {
    return this.db.prepare('UPDATE shares SET takedown_reason = ?, takedown_ms = ? WHERE id = ?')
      .run(reason, Date.now(), id).changes === 1;
  }

  restore(id: string): boolean {
    return this.db.prepare('UPDATE shares SET takedown_reason = NULL, takedown_ms = NULL WHERE id = ? AND takedown_reason IS NOT NULL')
      .run(id).changes === 1;
  }

  takedowns(): ShareRow[] {
    return this.db.prepare<ShareRow>(`SELECT ${COLS} FROM shares WHERE takedown_reason IS NOT NULL ORDER BY takedown_ms`).all();
  }

  close(): void {
    this.db.close();
  }
}
