// Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
// Communication with PURBs", PETS 2019, §4): pads a length L to a value whose low bits
// are zero, leaking O(log log L) bits of L with at most 11.1% overhead (less for big L).
// A full 1 MiB chunk (a power of two) is never padded.

/** Padded length for a payload of `length` bytes. */
export function padme(length: number): number {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`bad length ${length}`);
  if (length < 2) return length;
  const e = Math.floor(Math.log2(length));
  const s = Math.floor(Math.log2(e)) + 1;
  const lastBits = e - s;
  const mask = 2 ** lastBits - 1;
  return Math.ceil(length / (mask + 1)) * (mask + 1);
}
