// Argument parsing for every command: node:util parseArgs in strict mode, so an unknown
// flag or a missing value is a one-line usage error; plus the size parser (--cache-size).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { parseEscapedName } from '../format/names.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<V> {
  values: V;
  positionals: string[];
}

/** Parse `argv` for `usage` ("megafs put LOCAL PATH"); positionals must number min..max. */
export function parse<V>(argv: string[], usage: string, options: Options, min = 0, max = min): Parsed<V> {
  let r;
  try {
    r = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (usage: ${usage})`);
  }
  if (r.values.help) {
    process.stdout.write(`usage: ${usage}\n`);
    throw new HelpShown();
  }
  if (r.positionals.length < min || r.positionals.length > max) throw new UsageError(`usage: ${usage}`);
  return { values: r.values as V, positionals: r.positionals };
}

/** Thrown after --help was printed: the command ends with exit 0. */
export class HelpShown extends Error {}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "10G", "512M", "1.5T", "4096" -> bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`'${text}' is not a size (examples: 512M, 10G)`);
  return Math.floor(Number(m[1]) * UNITS[m[2].toUpperCase()]);
}

/** A drive path: always absolute, "/" separated, no trailing slash. */
/** A drive path from the command line. Names are bytes and argv is text, so a component
 *  may spell bytes as `\xHH` and a backslash as `\\`, the form `megafs ls` prints
 *  (src/format/names.ts escapeName). */
export function drivePath(p: string): string {
  const parts = p.split('/').filter((s) => s && s !== '.');
  if (parts.includes('..')) throw new UsageError(`'${p}': drive paths may not contain '..'`);
  const names = parts.map(parseEscapedName);
  if (names.some((n) => n.includes('/') || n.includes('\0'))) throw new UsageError(`'${p}': a name may not hold \\x2f ('/') or \\x00`);
  return `/${names.join('/')}`;
}
