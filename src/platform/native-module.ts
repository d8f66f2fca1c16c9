// Finding a module built under native/ (scripts/build-native.sh): walk up from this file to
// the package root (the directory with package.json), from src/ or from dist/src/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The absolute path of native/`relPath` in this package, or null when it is not there. */
export function findNativeModule(relPath: string): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'native', relPath);
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(dir, 'package.json')) || dirname(dir) === dir) return null;
  }
}
