// `node dist/src/server/shares/prebuild.js`: write the share page bundles to dist/web/ at
// build time, for images that drop esbuild (the Dockerfile runs it before `npm prune`).
import { mkdir, writeFile } from 'node:fs/promises';
import { bundle } from './bundle.js';

const dir = new URL('../../../web/', import.meta.url);
await mkdir(dir, { recursive: true });
for (const name of ['page', 'sw'] as const) {
  const text = await bundle(name);
  await writeFile(new URL(`share-${name}.js`, dir), text);
  process.stdout.write(`dist/web/share-${name}.js: ${text.length} bytes\n`);
}
