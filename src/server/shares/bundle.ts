// The browser code of the share page: src/share/web/{page,sw}.ts, which import the same
// src/format and src/crypto code as the CLI (the @noble platform), bundled by esbuild.
// `npm run build` compiles them to dist/src/share/web/*.js; the first request bundles those
// (in memory, once), or reads dist/web/share-*.js (prebuild.ts) where esbuild is
// absent. The server only hands these bytes out; it never imports them.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export type BundleName = 'page' | 'sw';

const built = new Map<BundleName, Promise<string>>();

/** A fresh bundle when esbuild is installed (development), else the one prebuilt into
 *  dist/web/ (images built with `npm prune --omit=dev`). */
async function build(name: BundleName): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return readFile(new URL(`../../../web/share-${name}.js`, import.meta.url), 'utf8');
  }
  const entry = fileURLToPath(new URL(`../../share/web/${name}.js`, import.meta.url));
  const out = await esbuild.build({
    entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'], minify: true, legalComments: 'none', logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

export function bundle(name: BundleName): Promise<string> {
  let p = built.get(name);
  if (!p) {
    p = build(name);
    p.catch(() => built.delete(name));
    built.set(name, p);
  }
  return p;
}
