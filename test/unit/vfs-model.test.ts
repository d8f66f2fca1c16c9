// Model-based test: random operation sequences (fast-check) run against the vfs and a
// plain in-memory model, with crash-and-restart points (the process "dies": nothing more
// is written), clean restarts and store outages. Every error code and every byte read
// must match the model; after a crash everything closed is still there.
import test from 'ava';
import fc from 'fast-check';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { MemoryStore } from '../helpers/memory-store.js';

type Entry = Uint8Array | 'dir';
type Model = Map<string, Entry>;

const NAMES = ['a', 'b', 'c'];
const pathArb = fc.oneof(
  fc.constantFrom(...NAMES).map((n) => `/${n}`),
  fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...NAMES)).map(([a, b]) => `/${a}/${b}`),
);

type Op =
  | { k: 'write'; path: string; at: number; len: number; seed: number }
  | { k: 'truncate'; path: string; size: number }
  | { k: 'mkdir'; path: string }
  | { k: 'unlink'; path: string }
  | { k: 'rmdir'; path: string }
  | { k: 'rename'; from: string; to: string }
  | { k: 'fsync'; path: string }
  | { k: 'crash' } | { k: 'restart' } | { k: 'down' } | { k: 'up' } | { k: 'sync' };

const MiB = 1 << 20;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('write' as const), path: pathArb, at: fc.integer({ min: 0, max: MiB + 100_000 }), len: fc.integer({ min: 1, max: 70_000 }), seed: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), path: pathArb, size: fc.integer({ min: 0, max: 2 * MiB + 10 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('mkdir' as const), path: pathArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('unlink' as const), path: pathArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rmdir' as const), path: pathArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('rename' as const), from: pathArb, to: pathArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('fsync' as const), path: pathArb }) },
  { weight: 1, arbitrary: fc.constantFrom({ k: 'crash' as const }, { k: 'restart' as const }, { k: 'down' as const }, { k: 'up' as const }, { k: 'sync' as const }) },
);

const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';

/** The error code the model expects when resolving the parent of `p`, or null. */
function parentError(m: Model, p: string): string | null {
  const parent = parentOf(p);
  if (parent === '/') return null;
  const e = m.get(parent);
  if (e === undefined) return 'ENOENT';
  return e === 'dir' ? null : 'ENOTDIR';
}

const kids = (m: Model, dir: string): string[] => [...m.keys()].filter((k) => parentOf(k) === dir);

/** Apply `op` to the model; returns the expected error code or null. */
function modelApply(m: Model, op: Op): string | null {
  switch (op.k) {
    case 'write': case 'fsync': case 'truncate': {
      const pe = parentError(m, op.path);
      if (pe) return pe;
      const e = m.get(op.path);
      if (e === 'dir') return 'EISDIR';
      if (op.k === 'fsync') return e === undefined ? 'ENOENT' : null;
      if (op.k === 'truncate') {
        if (e === undefined) return 'ENOENT';
        const n = new Uint8Array(op.size);
        n.set(e.subarray(0, Math.min(e.length, op.size)));
        m.set(op.path, n);
        return null;
      }
      const old = e ?? new Uint8Array(0);
      const n = new Uint8Array(Math.max(old.length, op.at + op.len));
      n.set(old);
      n.fill(op.seed, op.at, op.at + op.len);
      m.set(op.path, n);
      return null;
    }
    case 'mkdir': {
      const pe = parentError(m, op.path);
      if (pe) return pe;
      if (m.has(op.path)) return 'EEXIST';
      m.set(op.path, 'dir');
      return null;
    }
    case 'unlink': case 'rmdir': {
      const pe = parentError(m, op.path);
      if (pe) return pe;
      const e = m.get(op.path);
      if (e === undefined) return 'ENOENT';
      if (op.k === 'unlink' && e === 'dir') return 'EISDIR';
      if (op.k === 'rmdir' && e !== 'dir') return 'ENOTDIR';
      if (op.k === 'rmdir' && kids(m, op.path).length > 0) return 'ENOTEMPTY';
      m.delete(op.path);
      return null;
    }
    case 'rename': {
      const pe = parentError(m, op.from) ?? parentError(m, op.to);
      if (pe) return pe;
      const src = m.get(op.from);
      if (src === undefined) return 'ENOENT';
      if (op.to.startsWith(op.from + '/')) return 'EINVAL';
      if (op.from === op.to) return null;
      const dst = m.get(op.to);
      if (dst !== undefined) {
        if (src === 'dir' && dst !== 'dir') return 'ENOTDIR';
        if (src !== 'dir' && dst === 'dir') return 'EISDIR';
        if (dst === 'dir' && kids(m, op.to).length > 0) return 'ENOTEMPTY';
      }
      const moved = [...m.entries()].filter(([k]) => k === op.from || k.startsWith(op.from + '/'));
      for (const [k] of moved) m.delete(k);
      m.delete(op.to);
      for (const [k, v] of moved) m.set(op.to + k.slice(op.from.length), v);
      return null;
    }
    default:
      return null;
  }
}

async function vfsApply(v: VfsHandle, op: Op): Promise<string | null> {
  try {
    switch (op.k) {
      case 'write': {
        const fh = await v.create(op.path, 0o644, fsc.O_RDWR);
        await v.write(fh, new Uint8Array(op.len).fill(op.seed), op.at);
        await v.flush(fh);
        await v.release(fh);
        break;
      }
      case 'fsync': {
        const fh = await v.open(op.path, fsc.O_RDWR);
        try { await v.fsync(fh, false); } finally { await v.release(fh); }
        break;
      }
      case 'truncate': await v.truncate(op.path, op.size); break;
      case 'mkdir': await v.mkdir(op.path, 0o755); break;
      case 'unlink': await v.unlink(op.path); break;
      case 'rmdir': await v.rmdir(op.path); break;
      case 'rename': await v.rename(op.from, op.to); break;
      default: break;
    }
    return null;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!code) throw e;
    return code;
  }
}

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

const sorted = (m: Map<string, string>): Record<string, string> => Object.fromEntries([...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));

async function snapshot(v: VfsHandle): Promise<Record<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await v.readdir(dir)) {
      const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      if ((e.attr.mode & 0o170000) === 0o040000) { out.set(p, 'dir'); await walk(p); continue; }
      const fh = await v.open(p, fsc.O_RDONLY);
      const buf = new Uint8Array(e.attr.size);
      const n = await v.read(fh, buf, buf.length, 0);
      await v.release(fh);
      out.set(p, `${n}:${digest(buf.subarray(0, n))}`);
    }
  };
  await walk('/');
  return sorted(out);
}

function modelSnapshot(m: Model): Record<string, string> {
  return sorted(new Map([...m.entries()].map(([k, v]) => [k, v === 'dir' ? 'dir' : `${v.length}:${digest(v)}`])));
}

test('vfs-model: random operations with crashes, restarts and outages match the model', async (t) => {
  t.timeout(600_000);
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 22 }), async (ops) => {
    const dir = await mkdtemp(join(tmpdir(), 'megafs-model-'));
    const store = new MemoryStore();
    const open = (): Promise<VfsHandle> => openVfs({
      store, keys, stateDir: join(dir, 'state'), cacheDir: join(dir, 'cache'), cacheSizeBytes: 1 << 30,
      deviceId: 'model', log: () => undefined, commitDelayMs: 5,
    });
    let v = await open();
    const m: Model = new Map();
    try {
      for (const op of ops) {
        if (op.k === 'down') { store.up = false; continue; }
        if (op.k === 'up') { store.up = true; continue; }
        if (op.k === 'crash' || op.k === 'restart') {
          if (op.k === 'crash') v.abandon();
          store.up = true;
          if (op.k === 'restart') await v.close();
          v = await open();
          const got = await snapshot(v);
          if (JSON.stringify(got) !== JSON.stringify(modelSnapshot(m))) console.error(`vfs-model: after ${op.k}, ops ${JSON.stringify(ops)}`);
          t.deepEqual(got, modelSnapshot(m), `after ${op.k}`);
          continue;
        }
        if (op.k === 'sync') { if (store.up) await v.sync(); continue; }
        if (op.k === 'fsync' && !store.up) continue;
        const want = modelApply(m, op);
        const got = await vfsApply(v, op);
        if (got !== want) t.fail(`${JSON.stringify(op)}: vfs ${got}, model ${want}`);
      }
      t.deepEqual(await snapshot(v), modelSnapshot(m), 'at the end');
      store.up = true;
      await v.close();
      const fresh = await openVfs({
        store, keys, stateDir: join(dir, 'state2'), cacheDir: join(dir, 'cache2'), cacheSizeBytes: 1 << 30, deviceId: 'other', log: () => undefined,
      });
      t.deepEqual(await snapshot(fresh), modelSnapshot(m), 'on another machine');
      await fresh.close();
    } finally {
      v.abandon();
      await rm(dir, { recursive: true, force: true });
    }
  }), { numRuns: Number(process.env.MODEL_RUNS ?? 25) });
});
