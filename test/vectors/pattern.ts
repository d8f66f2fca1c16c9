// Deterministic filler bytes for large vector inputs (kept out of the JSON): byte i of
// pattern(n, seed) is (i * 31 + seed * 7 + (i >> 8)) mod 256.
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

/** A vector's bytes: hex, or { pattern: [length, seed] } for big inputs. */
export type BytesSpec = string | { pattern: [number, number] };
