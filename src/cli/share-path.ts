// A share PATH is a path in the drive ("/docs/a.pdf"), or a path in a mounted drive
// ("~/Mega/docs/a.pdf"): a local path inside a FUSE mount becomes the drive path below
// that mount point.
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { drivePath } from './args.js';

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** FUSE mount points of this machine, longest first. */
async function fuseMounts(): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const out: string[] = [];
  for (const line of info.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post || !post.startsWith('fuse')) continue;
    out.push(unescape(pre.split(' ')[4]));
  }
  return out.sort((a, b) => b.length - a.length);
}

export async function sharePath(arg: string): Promise<string> {
  const abs = resolve(arg);
  for (const m of await fuseMounts()) {
    if (abs === m) return '/';
    if (abs.startsWith(m + sep)) return drivePath(abs.slice(m.length));
  }
  return drivePath(arg);
}
