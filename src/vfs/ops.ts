// Journal records: every tree change, as the path-based operation that made it, with
// every value it needs (times, ids, keys in hex) so that replaying the records in order
// on top of the committed root rebuilds the same tree. Sealed by journal.ts.

export type JournalOp =
  | { op: 'mkdir'; path: string; perm: number; uid: number; gid: number; timeMs: number }
  | { op: 'create'; path: string; perm: number; uid: number; gid: number; timeMs: number; fileId: string; fileKey: string }
  | { op: 'symlink'; path: string; target: string; uid: number; gid: number; timeMs: number }
  | { op: 'unlink'; path: string; timeMs: number }
  | { op: 'rmdir'; path: string; timeMs: number }
  | { op: 'rename'; from: string; to: string; timeMs: number }
  | { op: 'chmod'; path: string; perm: number; timeMs: number }
  | { op: 'chown'; path: string; uid: number; gid: number; timeMs: number }
  | { op: 'utimens'; path: string; atimeMs: number; mtimeMs: number; timeMs: number }
  | { op: 'setxattr'; path: string; name: string; value: string; timeMs: number }
  | { op: 'removexattr'; path: string; name: string; timeMs: number }
  /** A file's sealed content changed: size, the chunk index from which older chunks were
   *  dropped, and the (index, id) pairs sealed. */
  | { op: 'data'; path: string; fileId: string; size: number; cutIndex: number; set: [number, string][]; mtimeMs: number;
      /** Chunk indices made holes (fallocate PUNCH_HOLE / ZERO_RANGE); absent before. */
      drop?: number[] }
  /** A small file's whole unsealed content (base64), written at close instead of sealing
   *  it (small-files.ts); the next commit seals it. */
  | { op: 'inline'; path: string; fileId: string; bytes: string; mtimeMs: number }
  /** A shared file moved to a new file id and key (rekey.ts): its sealed chunks, sealed
   *  again under the new key (`set`, for sealed size `size`), or, with `cut`, none: a
   *  truncate to zero followed, the content went with the old key. */
  | { op: 'rekey'; path: string; fileId: string; newFileId: string; fileKey: string; size: number; set: [number, string][]; cut: boolean; mtimeMs: number };
