// megafs admin takedown LINK|ID --reason TEXT | takedowns | restore LINK|ID, for the
// operator of a `megafs serve`: either on the server's machine (--data DIR: straight into
// its SQLite; the running server reads the row on every request, so it obeys at once) or
// from elsewhere (--server URL --admin-token T | --admin-token-file F). The operator sees
// ids, sizes and reasons only: the key is in the link's fragment, which this never needs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MegafsError, UsageError, type ErrorCode } from '../errors.js';
import { ShareDb } from '../server/shares/db.js';
import { rowJson } from '../server/shares/routes.js';
import { parse } from './args.js';

const USAGE = `megafs admin takedown LINK|ID --reason TEXT (--data DIR | --server URL --admin-token T)
       megafs admin takedowns [--json] (--data DIR | --server URL --admin-token T)
       megafs admin restore LINK|ID (--data DIR | --server URL --admin-token T)`;

/** The share id of a link (with or without its #key) or of a bare id; null otherwise. */
export function linkId(text: string): string | null {
  const m = /^(?:https?:\/\/\S*\/s\/)?([A-Za-z0-9_-]{22})(?:#\S*)?$/.exec(text.trim());
  return m ? m[1] : null;
}

type Row = ReturnType<typeof rowJson>;

interface Admin {
  takedown(id: string, reason: string): Promise<void>;
  restore(id: string): Promise<void>;
  list(): Promise<Row[]>;
  close(): void;
}

function direct(dataDir: string): Admin {
  const db = new ShareDb(join(dataDir, 'accounts.db'));
  const notFound = (): never => { throw new MegafsError('E_NOT_FOUND', 'no such share on this server'); };
  return {
    takedown: async (id, reason) => { if (!db.takedown(id, reason)) notFound(); },
    restore: async (id) => { if (!db.restore(id)) notFound(); },
    list: async () => db.takedowns().map(rowJson),
    close: () => db.close(),
  };
}

function remote(server: string, token: string): Admin {
  const base = server.replace(/\/+$/, '');
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method, body: body ? JSON.stringify(body) : undefined,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      });
    } catch (cause) {
      throw new MegafsError('E_UNAVAILABLE', `cannot reach ${base}`, { cause });
    }
    if (!res.ok) {
      const e = ((await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }).error ?? {};
      throw new MegafsError((e.code ?? 'E_UNAVAILABLE') as ErrorCode, `server: ${e.message ?? `HTTP ${res.status}`}`);
    }
    return res;
  };
  return {
    takedown: async (id, reason) => { await call('PUT', `/v1/admin/takedowns/${id}`, { reason }); },
    restore: async (id) => { await call('DELETE', `/v1/admin/takedowns/${id}`); },
    list: async () => ((await (await call('GET', '/v1/admin/takedowns')).json()) as { takedowns: Row[] }).takedowns,
    close: () => undefined,
  };
}

interface Values { reason?: string; data?: string; server?: string; 'admin-token'?: string; 'admin-token-file'?: string; json?: boolean }

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<Values>(argv, USAGE, {
    reason: { type: 'string' }, data: { type: 'string' }, server: { type: 'string' },
    'admin-token': { type: 'string' }, 'admin-token-file': { type: 'string' }, json: { type: 'boolean' },
  }, 1, 2);
  const [verb, target] = positionals;
  if ((values.data === undefined) === (values.server === undefined)) throw new UsageError(`give exactly one of --data DIR or --server URL (usage: ${USAGE})`);
  let admin: Admin;
  if (values.data !== undefined) admin = direct(values.data);
  else {
    const token = values['admin-token'] ?? (values['admin-token-file'] ? (await readFile(values['admin-token-file'], 'utf8')).trim() : undefined);
    if (!token) throw new UsageError('--server needs --admin-token T or --admin-token-file F');
    admin = remote(values.server!, token);
  }
  try {
    const id = (): string => {
      const i = target === undefined ? null : linkId(target);
      if (i === null) throw new UsageError(`give the link or its id (usage: ${USAGE})`);
      return i;
    };
    if (verb === 'takedown') {
      const reason = values.reason?.trim();
      if (!reason) throw new UsageError('a take-down needs --reason TEXT (the recipient sees it)');
      await admin.takedown(id(), reason);
      process.stdout.write(`taken down ${id()}\n`);
    } else if (verb === 'restore') {
      await admin.restore(id());
      process.stdout.write(`restored ${id()}\n`);
    } else if (verb === 'takedowns') {
      const rows = await admin.list();
      if (values.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else for (const r of rows) process.stdout.write(`${r.id}  ${r.objectBytes} bytes  ${r.reason}\n`);
    } else {
      throw new UsageError(`usage: ${USAGE}`);
    }
  } finally {
    admin.close();
  }
  return 0;
}
