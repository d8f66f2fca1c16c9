// The recovery key: the master key, written for a human (docs/format.md "Recovery key").
//   Crockford base32( masterKey[32] || SHA-256("megafs recovery" || masterKey)[0..2] )
// = 272 bits = 55 characters, shown in groups of five. The 16-bit checksum catches
// typos before any key work; confusable letters (I L O U) are read leniently.
import { MegafsError } from '../errors.js';
import { concatBytes, utf8 } from '../format/bytes.js';
import { KEY_BYTES } from '../format/constants.js';
import type { CryptoPlatform } from './platform.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CHECK_BYTES = 2;

function checksum(p: CryptoPlatform, key: Uint8Array): Uint8Array {
  return p.sha256(concatBytes(utf8('megafs recovery'), key)).subarray(0, CHECK_BYTES);
}

export function encodeRecoveryKey(p: CryptoPlatform, masterKey: Uint8Array): string {
  const bytes = concatBytes(masterKey, checksum(p, masterKey));
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out.match(/.{1,5}/g)!.join('-');
}

export function decodeRecoveryKey(p: CryptoPlatform, text: string): Uint8Array {
  const clean = text.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0').replace(/U/g, 'V');
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of clean) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new MegafsError('E_BAD_RECOVERY_KEY', `recovery key has an invalid character '${ch}'`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bytes.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
      acc &= (1 << bits) - 1;
    }
  }
  if (bytes.length !== KEY_BYTES + CHECK_BYTES || clean.length !== 55) {
    throw new MegafsError('E_BAD_RECOVERY_KEY', 'recovery key has the wrong length (expected 55 characters)');
  }
  // The last character carries 2 key bits and 3 zero bits: anything else is a typo.
  if (acc !== 0) throw new MegafsError('E_BAD_RECOVERY_KEY', 'recovery key ends in an impossible character (a typo?)');
  const all = new Uint8Array(bytes);
  const key = all.slice(0, KEY_BYTES);
  const check = checksum(p, key);
  if (check[0] !== all[KEY_BYTES] || check[1] !== all[KEY_BYTES + 1]) {
    throw new MegafsError('E_BAD_RECOVERY_KEY', 'recovery key checksum does not match (a typo?)');
  }
  return key;
}

