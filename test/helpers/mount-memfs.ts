// Child process for tests and the benchmark: mounts the in-memory Vfs on argv[2], prints
// "ready" once the kernel can use it, unmounts on SIGTERM/SIGINT.
import { MemVfs } from '../../src/fuse/memfs.js';
import { mountVfs } from '../../src/fuse/mount.js';

const mountpoint = process.argv[2];
const cache = (process.argv[3] ?? 'auto') as 'auto' | 'kernel' | 'none';
const vfs = new MemVfs();
const mounted = await mountVfs(vfs, mountpoint, { cache });
process.stdout.write('ready\n');
const stop = (): void => {
  mounted.unmount().then(() => process.exit(0), (err: Error) => {
    process.stderr.write(`unmount failed: ${err.message}\n`);
    process.exit(1);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
