// Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
// Communication with PURBs", PETS 2019, §4): pads a length L to a value whose low bits
// are zero, leaking O(log log L) bits of L with at most 11.1% overhead (less for big L).
// Below PAD_MIN_BYTES every length pads to PAD_MIN_BYTES, so small files and small tree
// objects all look alike. A power of two (a full 1 MiB chunk) is never padded.

/** Smallest padded payload: every payload of 0..256 bytes is stored as 256 bytes. */
export const PAD_MIN_BYTES = 256;

/** Index of the highest set bit of a positive safe integer (floor(log2 n)), exact. */
function log2Floor(n: number): number {
  let e = 0;
  while (n >= 2 ** (e + 1)) e++;
  return e;
}

/** Padmé of `length` alone (the paper's function, no minimum). */
export function padmeRaw(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad length ${length}`);
  if (length < 2) return length;
  const e = log2Floor(length);
  const s = log2Floor(e) + 1;
  const step = 2 ** (e - s);
  return Math.ceil(length / step) * step;
}

/** Padded length for a payload of `length` bytes (what the store sees, before the fixed overhead). */
export function padme(length: number): number {
  return Math.max(PAD_MIN_BYTES, padmeRaw(length));
}
