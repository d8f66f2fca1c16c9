// Where the password comes from: --password-file, the MEGAFS_PASSWORD variable, or a
// prompt on the terminal that does not echo (asked twice when choosing a new one).
import { readFile } from 'node:fs/promises';
import { MegafsError, UsageError } from '../errors.js';

export interface PasswordSource {
  passwordFile?: string;
  /** The environment variable to read (default MEGAFS_PASSWORD). */
  envVar?: string;
}

/** The first line of the file, or the environment variable, or null. */
export async function passwordFromEnvOrFile(src: PasswordSource): Promise<string | null> {
  if (src.passwordFile) {
    const text = await readFile(src.passwordFile, 'utf8').catch((cause: NodeJS.ErrnoException) => {
      throw new MegafsError('E_USAGE', `cannot read the password file ${src.passwordFile} (${cause.code})`, { cause });
    });
    return text.split(/\r?\n/)[0];
  }
  return process.env[src.envVar ?? 'MEGAFS_PASSWORD'] ?? null;
}

/** Read one line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.reject(new UsageError('no password given: use --password-file, MEGAFS_PASSWORD, or a terminal'));
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let line = '';
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(() => resolve(line));
        if (ch === '\u0003') return finish(() => reject(new UsageError('cancelled')));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    const finish = (settle: () => void): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      settle();
    };
    stdin.on('data', onData);
  });
}

/** The password; `confirm` asks twice on a terminal (a new password). */
export async function getPassword(src: PasswordSource, opts: { confirm?: boolean; what?: string } = {}): Promise<string> {
  const given = await passwordFromEnvOrFile(src);
  if (given !== null) return checkNonEmpty(given);
  const what = opts.what ?? 'Password';
  const first = checkNonEmpty(await promptHidden(`${what}: `));
  if (opts.confirm && (await promptHidden(`${what} (again): `)) !== first) throw new UsageError('the passwords do not match');
  return first;
}

function checkNonEmpty(p: string): string {
  if (p.length === 0) throw new UsageError('the password is empty');
  return p;
}
