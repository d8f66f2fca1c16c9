// Child process for tests and the benchmark: mounts the in-memory Vfs on argv[2] (argv[3]:
// cache mode auto|kernel|none, argv[4]: attribute/entry timeout in seconds), prints
// "ready" once the kernel can use it, unmounts on SIGTERM/SIGINT.
import { MemVfs } from '../../src/fuse/memfs.js';
import { mountVfs } from '../../src/fuse/mount.js';

const mountpoint = process.argv[2];
const cache = (process.argv[3] ?? 'auto') as 'auto' | 'kernel' | 'none';
const attrTimeoutS = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const vfs = new MemVfs();
const mounted = await mountVfs(vfs, mountpoint, { cache, attrTimeoutS });
process.stdout.write('ready\n');
const stop = (): void => {
  mounted.unmount().then(() => process.exit(0), (err: Error) => {
    process.stderr.write(`unmount failed: ${err.message}\n`);
    process.exit(1);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
