// Link keys and share manifests (docs/format.md "Links"):
//   linkKey  = HKDF(linkSecret [|| Argon2id(password, salt, 2^m KiB, passes)], "megafs v1 link key")
//   salt     = HKDF(linkSecret, "megafs v1 link salt")[0..16]   (secret: no precomputation from the id)
//   manifest = sealed object, domain "megafs link", context = the link id (ASCII)
// The manifest's content (name, size, chunk ids, the file key...) belongs to src/share.
import { MegafsError } from '../errors.js';
import { concatBytes, utf8 } from '../format/bytes.js';
import { SALT_BYTES } from '../format/constants.js';
import {
  DEFAULT_LINK_KDF, LINK_ID_BYTES, LINK_SECRET_BYTES, toBase64Url, type LinkKdf, type ShareLink,
} from '../format/link.js';
import { argon2, deriveKey } from './kdf.js';
import { AAD_LINK, LABEL_LINK, LABEL_LINK_SALT } from './labels.js';
import { openObject, sealObject, type SealedObject } from './object.js';
import type { CryptoPlatform } from './platform.js';

/** A fresh link: random id and secret. `passwordKdf` only when a password will be set
 *  (DEFAULT_LINK_KDF; cheaper values are for tests). */
export function newShareLink(p: CryptoPlatform, base: string, opts: { password?: boolean; passwordKdf?: LinkKdf } = {}): ShareLink {
  const link: ShareLink = { base, id: toBase64Url(p.randomBytes(LINK_ID_BYTES)), secret: p.randomBytes(LINK_SECRET_BYTES) };
  if (opts.password || opts.passwordKdf) link.passwordKdf = opts.passwordKdf ?? DEFAULT_LINK_KDF;
  return link;
}

/** The key that seals the link's manifest. A password link without a password is
 *  E_BAD_PASSWORD ("this link needs a password"). */
export async function deriveLinkKey(link: ShareLink, password?: string): Promise<Uint8Array> {
  if (!link.passwordKdf) return deriveKey(link.secret, LABEL_LINK);
  if (password === undefined || password === '') throw new MegafsError('E_BAD_PASSWORD', 'this link needs a password');
  const salt = deriveKey(link.secret, LABEL_LINK_SALT).subarray(0, SALT_BYTES);
  const stretched = await argon2(password, salt, 2 ** link.passwordKdf.memLog2, link.passwordKdf.passes);
  return deriveKey(concatBytes(link.secret, stretched), LABEL_LINK);
}

/** Seal an opaque manifest for `link` (its id is bound into the AAD). `nonce` only for vectors. */
export function sealManifest(p: CryptoPlatform, linkKey: Uint8Array, link: Pick<ShareLink, 'id'>, manifest: Uint8Array, nonce?: Uint8Array): SealedObject {
  return sealObject(p, linkKey, AAD_LINK, utf8(link.id), manifest, nonce);
}

/** Open a manifest. E_INTEGRITY when it was tampered with or belongs to another link;
 *  for a password link, E_BAD_PASSWORD (a wrong password is by far the likelier cause). */
export function openManifest(p: CryptoPlatform, linkKey: Uint8Array, link: Pick<ShareLink, 'id' | 'passwordKdf'>, bytes: Uint8Array): Uint8Array {
  try {
    return openObject(p, linkKey, AAD_LINK, utf8(link.id), bytes);
  } catch (cause) {
    if (link.passwordKdf && cause instanceof MegafsError && cause.code === 'E_INTEGRITY') {
      throw new MegafsError('E_BAD_PASSWORD', 'wrong password for this link (or the share was tampered with)', { cause });
    }
    throw cause;
  }
}

