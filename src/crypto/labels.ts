// One HKDF-SHA256 info label per derived-key purpose (docs/format.md "Keys"). No key
// serves two purposes; changing a label is a new format version.

/** From the Argon2id output: the key that wraps the master key. */
export const LABEL_PASSWORD_WRAP = 'megafs v1 password wrap key';
/** From the Argon2id output: the secret that authenticates to a store (it keeps a hash). */
export const LABEL_PASSWORD_AUTH = 'megafs v1 password auth secret';
/** From the master key: seals tree objects (directories, chunk lists). */
export const LABEL_TREE = 'megafs v1 tree key';
/** From the master key: seals the root pointer. */
export const LABEL_ROOT = 'megafs v1 root key';
/** From the master key: keys the HMAC that spreads directory entries over shards. */
export const LABEL_NAME_HASH = 'megafs v1 name hash key';
/** From the master key: seals the local journal and state files on this machine. */
export const LABEL_JOURNAL = 'megafs v1 journal key';
/** From a file key: seals that file's chunks. */
export const LABEL_CHUNK = 'megafs v1 chunk key';
/** From a link secret (and password): wraps a share's manifest. */
export const LABEL_LINK = 'megafs v1 link key';
/** From a link secret: the Argon2id salt of a link password (first 16 bytes). */
export const LABEL_LINK_SALT = 'megafs v1 link salt';
/** From the master key: a public check value that a recovery key is this drive's. */
export const LABEL_KEY_CHECK = 'megafs v1 key check';

/** AAD domain prefixes: an object sealed for one purpose never opens as another. */
export const AAD_CHUNK = 'megafs chunk';
export const AAD_TREE = 'megafs tree';
export const AAD_ROOT = 'megafs root';
export const AAD_KEYWRAP = 'megafs keywrap';
export const AAD_LINK = 'megafs link';
export const AAD_JOURNAL = 'megafs journal';
