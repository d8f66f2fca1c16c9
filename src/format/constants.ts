// Format constants in one place (docs/format.md). Changing any of them is a new
// format version; old versions stay readable.

/** Version byte at the start of every sealed object and root, bound into every AAD: the
 *  revision of that object's layout. Chunks, roots and manifests are still 1; tree
 *  objects are 2 (TREE_VERSION in tree.ts, docs/format.md "Format version 2"); the
 *  drive-level objects are 3 (DRIVE_OBJECT_VERSION, "Format version 3"). */
export const FORMAT_VERSION = 1;
/** Versions this build can open. */
export const READABLE_VERSIONS: readonly number[] = [1, 2, 3];

/** Plaintext bytes per chunk (1 MiB; docs/format.md "Chunk size" says why). */
export const CHUNK_SIZE = 1 << 20;

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const FILE_ID_BYTES = 16;
export const DRIVE_ID_BYTES = 16;
export const SALT_BYTES = 16;
export const HEADER_KEY_CHECK_BYTES = 16;

/** Sealed object = version(1) || nonce(24) || AEAD(u32le length || payload || zero pad to padme(length)) || tag(16). */
export const OBJECT_HEADER_BYTES = 1 + NONCE_BYTES;
export const LENGTH_PREFIX_BYTES = 4;
export const OBJECT_OVERHEAD_BYTES = OBJECT_HEADER_BYTES + LENGTH_PREFIX_BYTES + TAG_BYTES; // 45

/** Largest payload a sealed object may carry (a full chunk, or a tree node). */
export const MAX_PAYLOAD_BYTES = 16 << 20;

/** Names: bytes per path component (POSIX NAME_MAX). */
export const NAME_MAX_BYTES = 255;

/** Default Argon2id cost: 64 MiB, 3 passes, 1 lane (RFC 9106 §4 second recommendation). */
export const DEFAULT_KDF = { memKiB: 64 * 1024, passes: 3, parallelism: 1 } as const;
