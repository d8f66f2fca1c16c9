// `megafs serve [--data DIR] [--listen HOST:PORT] [--quota SIZE] [--s3 URL]
//   [--tls-cert F --tls-key F] [--public-url URL] [--admin-token-file F] [--no-signup] [--trust-proxy]
//   [--body-budget SIZE]`:
// run the ciphertext-only store server (with the share routes) until SIGINT/SIGTERM.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { s3Backends } from '../server/backend.js';
import { startServer } from '../server/server.js';
import { hashAdminToken } from '../server/shares/admin.js';
import { shareRoutes } from '../server/shares/routes.js';

export const SERVE_USAGE = `Usage: megafs serve [options]
  --data DIR          data directory (accounts.db, objects); default ./megafs-data
  --listen HOST:PORT  address to listen on; default 127.0.0.1:8080
  --quota SIZE        quota per new account (e.g. 10G, 500M); default none
  --s3 URL            keep objects in S3: s3://BUCKET/PREFIX?endpoint=URL&region=R
  --tls-cert FILE     PEM certificate (with --tls-key): serve HTTPS
  --tls-key FILE      PEM private key
  --public-url URL    the URL clients use, when behind a proxy
  --trust-proxy       take client addresses from X-Forwarded-For (only behind a proxy)
  --admin-token-file F  enable the admin API (take-downs) for this token
  --no-signup         refuse new accounts
  --body-budget SIZE  request-body bytes held in memory at once; default 256M
`;

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "10G", "500MiB", "1.5T", "4096" -> bytes (binary units). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`not a size: '${text}' (try 10G or 500M)`);
  return Math.floor(Number(m[1]) * UNITS[m[2].toUpperCase()]);
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`--listen wants HOST:PORT, got '${text}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export async function serveCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string', default: './megafs-data' },
        listen: { type: 'string', default: '127.0.0.1:8080' },
        quota: { type: 'string' },
        s3: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'public-url': { type: 'string' },
        'admin-token-file': { type: 'string' },
        'no-signup': { type: 'boolean', default: false },
        'trust-proxy': { type: 'boolean', default: false },
        'body-budget': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${SERVE_USAGE}`);
  }
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  const { host, port } = parseListen(values.listen);
  const bodyBudgetBytes = values['body-budget'] === undefined ? undefined : parseSize(values['body-budget']);
  if (bodyBudgetBytes !== undefined && bodyBudgetBytes < 1 << 20) throw new UsageError('--body-budget must be at least 1M');
  const tls = values['tls-cert'] && values['tls-key']
    ? { cert: await readFile(values['tls-cert']), key: await readFile(values['tls-key']) }
    : undefined;
  const adminToken = values['admin-token-file'] ? (await readFile(values['admin-token-file'], 'utf8')).trim() : null;
  if (adminToken === '') throw new UsageError('--admin-token-file is empty');
  const adminTokenHash = adminToken ? hashAdminToken(adminToken) : null;
  const server = await startServer({
    dataDir: values.data,
    host,
    port,
    quotaBytes: values.quota === undefined ? null : parseSize(values.quota),
    tls,
    backends: values.s3 ? s3Backends(values.s3) : undefined,
    publicUrl: values['public-url'],
    trustProxy: values['trust-proxy'],
    allowSignup: !values['no-signup'],
    bodyBudgetBytes,
    routes: shareRoutes({ dataDir: values.data, adminTokenHash }),
  });
  process.stdout.write(`megafs serve: listening on ${server.url} (data in ${values.data})\n`);
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  await server.close();
  return 0;
}
