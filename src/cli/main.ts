// The command dispatcher: one file per command under src/cli/, loaded on demand so
// that `megafs --help` does not load FUSE or crypto.
import { UsageError } from '../errors.js';
import { EXIT_OK, reportError } from './exit.js';
import { VERSION } from './version.js';

type Command = (argv: string[]) => Promise<number>;

/** Command name -> loader. Each module exports `run(argv)`. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: { summary: 'serve [--data DIR] [--listen HOST:PORT]   run the ciphertext-only store server', load: async () => (await import('./serve.js')).serveCommand },
};

export const HELP = `megafs ${VERSION}: an end-to-end encrypted drive you mount like a disk

Usage: megafs <command> [options]

Commands:
${Object.values(COMMANDS).map((c) => `  ${c.summary}`).join('\n')}

Options:
  --help       show this help
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
    return await (await command.load())(rest);
  } catch (err) {
    return reportError(err);
  }
}
