// The command dispatcher: one file per command under src/cli/, loaded on demand so
// that `megafs --help` does not load FUSE or crypto.
import { UsageError } from '../errors.js';
import { HelpShown } from './args.js';
import { EXIT_OK, reportError } from './exit.js';
import { VERSION } from './version.js';

type Command = (argv: string[]) => Promise<number>;

/** Command name -> loader. Each module exports `run(argv)`. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  init: { summary: 'init [--store SPEC]... [--user NAME]     create a drive (prints the recovery key once)', load: async () => (await import('./init.js')).run },
  login: { summary: 'login --store SPEC... [--user NAME]     use an existing drive on this machine', load: async () => (await import('./login.js')).run },
  mount: { summary: 'mount MOUNTPOINT [--foreground] [--cache-dir DIR] [--cache-size SIZE] [--store SPEC]...', load: async () => (await import('./mount.js')).run },
  unmount: { summary: 'unmount MOUNTPOINT                     upload what is pending, then unmount', load: async () => (await import('./unmount.js')).run },
  status: { summary: 'status [--json]                        dirty bytes, upload queue, cache use, store health', load: async () => (await import('./status.js')).run },
  ls: { summary: 'ls [PATH] [--at TIME] [--json]         list a drive directory (no mount needed)', load: async () => (await import('./ls.js')).run },
  log: { summary: 'log [--json] [--limit N]               the drive\'s versions, newest first', load: async () => (await import('./log.js')).run },
  versions: { summary: 'versions PATH [--json]                 the versions of one file', load: async () => (await import('./versions.js')).run },
  du: { summary: 'du [--json]                            bytes live, in the bin, in old versions, in shares, garbage', load: async () => (await import('./du.js')).run },
  put: { summary: 'put LOCAL PATH                         copy a file into the drive', load: async () => (await import('./put.js')).run },
  get: { summary: 'get PATH LOCAL [--at TIME] | get LINK [-o OUT]   copy a file out of the drive, or download a link', load: async () => (await import('./get.js')).run },
  rm: { summary: 'rm [-r] PATH                           remove a file or directory', load: async () => (await import('./rm.js')).run },
  mkdir: { summary: 'mkdir [-p] PATH                        create a directory', load: async () => (await import('./mkdir.js')).run },
  passwd: { summary: 'passwd                                 change the password (nothing is re-encrypted)', load: async () => (await import('./passwd.js')).run },
  fsck: { summary: 'fsck [--repair [--rollback]] [--json]   find, repair or roll back missing and damaged objects', load: async () => (await import('./fsck.js')).run },
  retention: { summary: 'retention [within=D,hourly=N,daily=N,weekly=N,monthly=N,trash=D]   show or set what versions and bin entries are kept', load: async () => (await import('./retention.js')).run },
  restore: { summary: 'restore PATH --at TIME [--to DEST]   a file or folder as it was at TIME (nothing copied)', load: async () => (await import('./restore.js')).run },
  trash: { summary: 'trash ls [--json] | restore PATH [--to DEST] | empty [--older-than D]   the rubbish bin', load: async () => (await import('./trash.js')).run },
  gc: { summary: 'gc [--dry-run] [--json] [--forget-older-than D]   delete what nothing the drive keeps names, from every store', load: async () => (await import('./gc.js')).run },
  share: { summary: 'share PATH [--expires 7d] [--password-file F] [--json]   print a link to a file or folder', load: async () => (await import('./share.js')).run },
  shares: { summary: 'shares [--json]                        list the drive\'s links', load: async () => (await import('./shares.js')).run },
  unshare: { summary: 'unshare LINK|PATH                      revoke a link', load: async () => (await import('./unshare.js')).run },
  admin: { summary: 'admin takedown|takedowns|restore ...   operator: take links down (HTTP 451)', load: async () => (await import('./admin.js')).run },
  serve: { summary: 'serve [--data DIR] [--listen HOST:PORT]   run the ciphertext-only store server', load: async () => (await import('./serve.js')).serveCommand },
};

export const HELP = `megafs ${VERSION}: an end-to-end encrypted drive you mount like a disk

Usage: megafs <command> [options]

Commands:
${Object.values(COMMANDS).map((c) => `  ${c.summary}`).join('\n')}

SPEC: a directory, http(s)://HOST:PORT (megafs serve) or s3://BUCKET/PREFIX?endpoint=URL.
TIME (--at): 2026-12-03T10:00:00Z, a local 2026-12-03 10:00, or 2h, "3 days ago".
The password comes from --password-file F, the MEGAFS_PASSWORD variable, or a prompt.
MEGAFS_HOME (default ~/.megafs) holds this machine's configuration, cache and logs.

Options:
  --help       show this help (megafs COMMAND --help: that command's usage)
  --version    print the version
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (name === '--version' || name === '-V') {
      process.stdout.write(`megafs ${VERSION}\n`);
      return EXIT_OK;
    }
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command '${name}' (see megafs --help)`);
    (await import('../platform/heap.js')).keepFreedHeap();
    return await (await command.load())(rest);
  } catch (err) {
    if (err instanceof HelpShown) return EXIT_OK;
    // A background daemon that fails before its own reporting (a module that does not
    // load, say) still tells the waiting `megafs mount` why.
    if (process.send && process.connected) {
      const e = err as { code?: string; message?: string };
      process.send({ type: 'error', code: e?.code ?? 'E_INTERNAL', message: e?.message ?? String(err) }, () => process.disconnect());
    }
    return reportError(err);
  }
}
