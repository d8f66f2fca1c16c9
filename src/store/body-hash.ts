// An object's id is the SHA-256 of its bytes, and every store checks a body against its id
// on the way in (put) and on the way out (get). This is the one place that hashes bodies:
// - a body this process already hashed (sealed here, or checked by an inner store of a
//   replicated set) is noted and never hashed again: the vfs seals, the replicated store
//   checks, each backend checks, and each of them used to hash the same MiB again;
// - a big body is hashed on libuv's thread pool (native/data), so the main thread goes on
//   serving requests (SHA-256 here: ~0.7 ms per MiB that the event loop stood still).
import { createHash } from 'node:crypto';
import { nativeData } from '../platform/native-data.js';
import type { ObjectId } from './store.js';

/** Bodies whose id this process computed, keyed by the exact array: bytes that came from
 *  anywhere else (the network, a file, another array with the same contents) are hashed.
 *  A noted array must not change afterwards (store bodies never do). */
const hashedBodies = new WeakMap<Uint8Array, ObjectId>();

/** From this size a body is hashed on the thread pool: below it the round trip to a
 *  pool thread costs more than the hash. */
const POOL_FROM_BYTES = 64 * 1024;

/** `body` hashes to `id` (the caller just computed it). */
export function noteHashed(body: Uint8Array, id: ObjectId): void {
  hashedBodies.set(body, id);
}

/** SHA-256 in hex of `body`, or of its parts one after the other, on this thread. */
export function sha256Hex(body: Uint8Array | readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const part of Array.isArray(body) ? body : [body]) h.update(part);
  return h.digest('hex');
}

/** The SHA-256 in hex of `body` (or of its parts in order, e.g. a request body as it
 *  arrived): the noted one, else hashed, big bodies off the main thread. */
export async function hashOf(body: Uint8Array | readonly Uint8Array[]): Promise<ObjectId> {
  const parts = Array.isArray(body) ? body : null;
  const known = parts ? undefined : hashedBodies.get(body as Uint8Array);
  if (known !== undefined) return known;
  const native = nativeData;
  const length = parts ? parts.reduce((n, p) => n + p.length, 0) : (body as Uint8Array).length;
  if (!native || length < POOL_FROM_BYTES) return sha256Hex(body);
  const out = new Uint8Array(32);
  const r = await new Promise<number>((resolve) => native.sha256(body, out, resolve));
  if (r !== 0) return sha256Hex(body); // the native job failed (out of memory): hash here
  return Buffer.from(out.buffer, out.byteOffset, 32).toString('hex');
}

/** True when `body` hashes to `id`; a match is noted, so a wrapper or the vfs that is
 *  handed the same array does not hash it again. */
export async function bodyMatches(body: Uint8Array, id: ObjectId): Promise<boolean> {
  if ((await hashOf(body)) !== id) return false;
  noteHashed(body, id);
  return true;
}
