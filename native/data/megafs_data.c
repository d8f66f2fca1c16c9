/* megafs_data: the data path's native helpers. Optional: without it megafs runs on
 * node:crypto and plain node:fs, slower (src/platform/native-data.ts).
 *
 * 1. The bulk crypto of sealed objects, in place, on OpenSSL (the copy inside node
 *    itself: node exports its OpenSSL symbols, so nothing else is linked).
 *    Why: node:crypto's update() allocates a fresh output buffer per call. On a VM where a
 * page fault costs ~15 µs, those allocations (and the garbage collections they trigger)
 * cost more than the cipher. Here the output goes straight into the caller's buffer, the
 * padding is fed from a static block of zeros (no padded copy of the payload), and the
 * SHA-256 id is computed in the same call. With a callback, the work runs on libuv's
 * thread pool, so sealing uses a second core while the main thread serves requests.
 *
 *    The byte layout is the caller's (src/crypto/object.ts): these functions only run
 *    ChaCha20-Poly1305 (IETF, 12-byte nonce) over a stream made of parts, and SHA-256.
 * 2. Memory that is cheap to fault in (huge pages), and reads of the page cache that
 *    never wait for the disk (so they can run on the main thread).
 *
 *   seal(key32, nonce12, aad, prefix, payload, padBytes, out, cipherOffset, idOut[, cb])
 *     out[cipherOffset ..] = AEAD(prefix || payload || zeros(padBytes)) || tag16;
 *     idOut (32 bytes) = SHA-256(out[0 .. cipherOffset + total + 16]); an empty idOut: no hash.
 *   open(key32, nonce12, aad, object, cipherOffset, out, expectedId32 | null[, cb])
 *     when expectedId32 is given: SHA-256(object) must equal it, else result 1;
 *     out = AEAD-open(object[cipherOffset .. end-16], tag = last 16 bytes), else result 2
 *     (and out is zeroed: unauthenticated bytes never stay). Result 0: opened.
 *   chacha20(key32, iv16, input, out)      raw ChaCha20 (iv = u32le counter || nonce12)
 *   sha256(data, out32[, cb])             data: a Uint8Array, or an array of them hashed
 *     one after the other (a request body as it arrived, never joined)
 *   preadCached(fd, buf, position) -> bytes read (0 at end of file), or -errno; -EAGAIN
 *     when the bytes are not all in the page cache (preadv2 with RWF_NOWAIT never waits
 *     for the disk, so it is safe on the main thread: the caller then reads on the pool).
 *   willNeed(fd, cb)
 *     posix_fadvise(WILLNEED) of the whole file on the pool: the kernel starts reading it
 *     into the page cache; cb(0 | -1) once the reads are queued.
 *   writeOut(fd, bytes, position, cb)
 *     pwrite all of bytes on the pool. From 256 KiB on, the 4 KiB-aligned head goes
 *     around the page cache (O_DIRECT, through an aligned per-thread copy when the bytes
 *     are not aligned) and only the tail through it: copying into fresh page-cache pages
 *     was half of a mount daemon's CPU during a 1 GiB write. Where the file system
 *     refuses direct I/O, everything is written buffered and its disk write started
 *     (sync_file_range WRITE) instead of waiting for the next fsync. cb(0 | -errno).
 *   hugeBuffers(count, bytes) -> ArrayBuffer[]
 *     `count` zeroed ArrayBuffers of `bytes` each, carved from one anonymous mapping that
 *     asks for transparent huge pages (MADV_HUGEPAGE). On a paravirtualised VM a 4 KiB
 *     page fault costs ~15 µs (~4 ms per fresh MiB); one 2 MiB huge page costs about as
 *     much as one small page. The mapping is unmapped when the last of its buffers is
 *     collected (on whichever thread: the count is atomic).
 *   hugeBuffersAsync(count, bytes, cb)
 *     the same, mapped and faulted in on the pool: cb(ArrayBuffer[] | null). The kernel
 *     zeroes the pages on that thread instead of on the first writer's.
 *   syncFs(fd, cb)
 *     syncfs(2) of the file system holding fd, on the pool: every file and directory on it
 *     durable in one call (one journal commit) instead of one fsync each. cb(0 | -errno).
 *   readFile(path, buf, cb)
 *     open, fstat and read the whole file into buf, all on the pool: cb(size), or
 *     cb(-errno); -EFBIG when the file is bigger than buf. The server's GET: an open of
 *     a cold path reads directory and inode blocks, which must not stall the main thread.
 *   keepHeap() -> true when glibc took the settings
 *     serve allocations up to 16 MiB from glibc's heap and keep up to 256 MiB of freed
 *     heap instead of returning it to the kernel. Otherwise every fresh 1 MiB Buffer (a
 *     chunk, an HTTP body) is its own mmap and page-faults on first use, ~4 ms per MiB
 *     here; with it a freed MiB serves the next. Process-wide (src/platform/heap.ts).
 * Synchronous calls return the result (seal: 0); with cb, cb(result) runs later. The
 * caller must neither change nor transfer the buffers until then. */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>
#include <sys/uio.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define TAG_BYTES 16
#define PIECE (64 * 1024)
static const uint8_t ZEROS[PIECE];

typedef struct { uint8_t *p; size_t n; } span_t;

enum { OP_SEAL, OP_OPEN, OP_WILL_NEED, OP_WRITE_OUT, OP_READ_FILE, OP_SHA256, OP_SYNC_FS };

typedef struct job {
  napi_async_work work;
  napi_ref cb;
  napi_ref keep[8]; /* the JS buffers, alive until the job completes */
  int nkeep;
  int op; /* OP_* */
  int fd;
  int64_t position;
  uint8_t key[32], nonce[12];
  span_t aad, prefix, payload, out, object, id;
  size_t pad, cipher_offset;
  int has_id;
  char *path; /* OP_READ_FILE, freed with the job */
  span_t *parts; /* OP_SHA256 of an array of buffers, freed with the job */
  napi_ref *part_refs;
  uint32_t nparts;
  int keep_refs; /* the job runs on the pool: hold its buffers (bytes_of) until it completes */
  int result;
} job_t;

/* The algorithms, fetched once at load (OpenSSL 3 otherwise looks each up by name on
 * every init: measurable for the many small objects, journal records and tree nodes). */
static const EVP_CIPHER *AEAD, *CHACHA;
static const EVP_MD *SHA256;

static void fetch_algorithms(void) {
  AEAD = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  CHACHA = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
  SHA256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  if (!AEAD) AEAD = EVP_chacha20_poly1305();
  if (!CHACHA) CHACHA = EVP_chacha20();
  if (!SHA256) SHA256 = EVP_sha256();
}

/* ---- the work (no N-API calls: may run on a pool thread) ------------------------------ */

static int sha256(const uint8_t *p, size_t n, uint8_t out[32]) {
  unsigned int len = 0;
  return EVP_Digest(p, n, out, &len, SHA256, NULL) == 1 && len == 32 ? 0 : -1;
}

static int sha256_parts(const span_t *parts, uint32_t n, uint8_t out[32]) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  unsigned int len = 0;
  int ok = c && EVP_DigestInit_ex(c, SHA256, NULL) == 1;
  for (uint32_t i = 0; ok && i < n; i++) ok = EVP_DigestUpdate(c, parts[i].p, parts[i].n) == 1;
  ok = ok && EVP_DigestFinal_ex(c, out, &len) == 1 && len == 32;
  EVP_MD_CTX_free(c);
  return ok ? 0 : -1;
}

static int update(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t n, size_t *written) {
  while (n > 0) {
    int step = n > PIECE ? PIECE : (int)n, got = 0;
    if (EVP_CipherUpdate(c, out ? out + *written : NULL, &got, in, step) != 1) return -1;
    *written += (size_t)got;
    in += step;
    n -= (size_t)step;
  }
  return 0;
}

static int do_seal(job_t *j) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int ok = 0, got = 0;
  size_t total = j->prefix.n + j->payload.n + j->pad, w = 0, aadw = 0;
  uint8_t *dst = j->out.p + j->cipher_offset;
  if (!c) return -1;
  if (EVP_EncryptInit_ex(c, AEAD, NULL, j->key, j->nonce) != 1) goto done;
  if (j->aad.n && update(c, NULL, j->aad.p, j->aad.n, &aadw) != 0) goto done;
  if (update(c, dst, j->prefix.p, j->prefix.n, &w) != 0) goto done;
  if (update(c, dst, j->payload.p, j->payload.n, &w) != 0) goto done;
  for (size_t left = j->pad; left > 0;) {
    size_t step = left > PIECE ? PIECE : left;
    if (update(c, dst, ZEROS, step, &w) != 0) goto done;
    left -= step;
  }
  if (EVP_EncryptFinal_ex(c, dst + w, &got) != 1) goto done;
  w += (size_t)got;
  if (w != total) goto done;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, dst + total) != 1) goto done;
  ok = j->id.n == 0 || sha256(j->out.p, j->cipher_offset + total + TAG_BYTES, j->id.p) == 0;
done:
  EVP_CIPHER_CTX_free(c);
  return ok ? 0 : -1;
}

static int do_open(job_t *j) {
  uint8_t digest[32];
  if (j->object.n < j->cipher_offset + TAG_BYTES) return 2;
  if (j->has_id && (sha256(j->object.p, j->object.n, digest) != 0 || memcmp(digest, j->id.p, 32) != 0)) return 1;
  size_t n = j->object.n - j->cipher_offset - TAG_BYTES, w = 0, aadw = 0;
  const uint8_t *src = j->object.p + j->cipher_offset;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int ok = 0, got = 0;
  if (!c) return -1;
  if (EVP_DecryptInit_ex(c, AEAD, NULL, j->key, j->nonce) != 1) goto done;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, (void *)(src + n)) != 1) goto done;
  if (j->aad.n && update(c, NULL, j->aad.p, j->aad.n, &aadw) != 0) goto done;
  if (update(c, j->out.p, src, n, &w) != 0) goto done;
  ok = EVP_DecryptFinal_ex(c, j->out.p + w, &got) == 1;
done:
  EVP_CIPHER_CTX_free(c);
  if (!ok) memset(j->out.p, 0, n);
  return ok ? 0 : 2;
}

/* Write all of `n` bytes at `p` to `fd` at `pos`: 0 or -errno. */
static int pwrite_all(int fd, const uint8_t *p, size_t n, off_t pos) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = pwrite(fd, p + done, n - done, pos + (off_t)done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -errno;
    done += (size_t)w;
  }
  return 0;
}

/* Direct I/O (O_DIRECT) needs the memory, the length and the file offset aligned to the
 * device's logical block; 4096 covers every common disk. */
#define DIRECT_ALIGN ((size_t)4096)
/* Writes from this size on go around the page cache. */
#define DIRECT_MIN ((size_t)256 * 1024)
/* Per pool thread: an aligned copy of the bytes when the caller's are not aligned. Reused,
 * so its pages are long faulted in: a copy into it costs a fraction of one into fresh
 * page-cache pages. */
static __thread uint8_t *bounce;
static __thread size_t bounce_n;

/* The largest aligned head of `b` written to `fd` at `pos` with O_DIRECT: its length, or 0
 * when the file system refuses direct I/O (tmpfs) or it does not apply (then the caller
 * writes everything through the page cache), or -errno. */
static ssize_t write_direct_head(int fd, const span_t *b, off_t pos) {
  size_t n = b->n / DIRECT_ALIGN * DIRECT_ALIGN;
  if (b->n < DIRECT_MIN || (size_t)pos % DIRECT_ALIGN != 0) return 0;
  const uint8_t *src = b->p;
  if ((uintptr_t)src % DIRECT_ALIGN != 0) {
    if (bounce_n < n) {
      free(bounce);
      bounce = NULL;
      bounce_n = 0;
      if (posix_memalign((void **)&bounce, DIRECT_ALIGN, n) != 0) return 0;
      bounce_n = n;
    }
    memcpy(bounce, src, n);
    src = bounce;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) return 0;
  int r = pwrite_all(fd, src, n, pos);
  fcntl(fd, F_SETFL, flags);
  if (r == -EINVAL) return 0; /* direct I/O refused after all: write it buffered */
  return r < 0 ? r : (ssize_t)n;
}

/* Everything from `direct` on goes through the page cache; the disk write of that part
 * starts at once (sync_file_range WRITE) instead of at the next fsync. */
static int do_write_out(job_t *j) {
  ssize_t direct = write_direct_head(j->fd, &j->out, (off_t)j->position);
  if (direct < 0) return (int)direct;
  int r = pwrite_all(j->fd, j->out.p + direct, j->out.n - (size_t)direct, (off_t)(j->position + direct));
  if (r == 0 && direct == 0) sync_file_range(j->fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* advice: an error here changes nothing */
  return r;
}

/* The whole of file `path` into out: its size (0..out.n), or -errno; -EFBIG when it is
 * bigger than out (nothing useful read). Open, fstat and read in one pool job: nothing
 * here waits on the main thread, however cold the disk. */
static int do_read_file(job_t *j) {
  int fd = open(j->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  int r = 0;
  if (fstat(fd, &st) != 0) {
    r = -errno;
  } else if ((uint64_t)st.st_size > j->out.n) {
    r = -EFBIG;
  } else {
    size_t got = 0, size = (size_t)st.st_size;
    while (got < size) {
      ssize_t n = pread(fd, j->out.p + got, size - got, (off_t)got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        r = -errno;
        break;
      }
      if (n == 0) break; /* truncated meanwhile: what there is */
      got += (size_t)n;
    }
    if (r == 0) r = (int)got;
  }
  close(fd);
  return r;
}

static void execute(napi_env env, void *data) {
  job_t *j = data;
  switch (j->op) {
    case OP_SEAL: j->result = do_seal(j); break;
    case OP_OPEN: j->result = do_open(j); break;
    case OP_WILL_NEED: j->result = posix_fadvise(j->fd, 0, 0, POSIX_FADV_WILLNEED) == 0 ? 0 : -1; break;
    case OP_WRITE_OUT: j->result = do_write_out(j); break;
    case OP_READ_FILE: j->result = do_read_file(j); break;
    case OP_SHA256: j->result = j->parts ? sha256_parts(j->parts, j->nparts, j->id.p) : sha256(j->object.p, j->object.n, j->id.p); break;
    case OP_SYNC_FS: j->result = syncfs(j->fd) == 0 ? 0 : -errno; break;
  }
}

/* ---- N-API ------------------------------------------------------------------------- */

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, "E_NATIVE_DATA", msg);
  return NULL;
}

static napi_value num(napi_env env, int v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

/* A Uint8Array's bytes; keeps a reference in `j` when given. */
static int bytes_of(napi_env env, napi_value v, span_t *s, job_t *j) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value ab;
  size_t offset;
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) return -1;
  s->p = length ? data : (uint8_t *)ZEROS;
  s->n = length;
  if (j && j->keep_refs && j->nkeep < 8) napi_create_reference(env, v, 1, &j->keep[j->nkeep++]);
  return 0;
}

static int fixed(napi_env env, napi_value v, uint8_t *dst, size_t n) {
  span_t s;
  if (bytes_of(env, v, &s, NULL) != 0 || s.n != n) return -1;
  memcpy(dst, s.p, n);
  return 0;
}

static int size_arg(napi_env env, napi_value v, size_t *out) {
  int64_t x;
  if (napi_get_value_int64(env, v, &x) != napi_ok || x < 0) return -1;
  *out = (size_t)x;
  return 0;
}

static void release(napi_env env, job_t *j) {
  for (int i = 0; i < j->nkeep; i++) napi_delete_reference(env, j->keep[i]);
  for (uint32_t i = 0; j->part_refs && i < j->nparts; i++) if (j->part_refs[i]) napi_delete_reference(env, j->part_refs[i]);
  free(j->parts);
  free(j->part_refs);
  if (j->cb) napi_delete_reference(env, j->cb);
  if (j->work) napi_delete_async_work(env, j->work);
  free(j->path);
  free(j);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  napi_value cb, global, arg = num(env, status == napi_ok ? j->result : -1);
  napi_get_reference_value(env, j->cb, &cb);
  napi_get_global(env, &global);
  release(env, j);
  napi_call_function(env, global, cb, 1, &arg, NULL);
}

/* A new job for `op` (NULL when out of memory). */
static job_t *new_job(int op) {
  job_t *j = calloc(1, sizeof *j);
  if (j) {
    j->op = op;
    j->keep_refs = 1;
  }
  return j;
}

/* Whether argv[i] is a callback: a synchronous call holds no references to its buffers
 * (creating them was a malloc per buffer per call). */
static int is_callback(napi_env env, size_t argc, napi_value *argv, size_t i) {
  napi_valuetype t = napi_undefined;
  if (i < argc) napi_typeof(env, argv[i], &t);
  return t == napi_function;
}

/* Drop a job whose arguments did not check out, and throw `msg`. */
static napi_value refuse(napi_env env, job_t *j, const char *msg) {
  release(env, j);
  return fail(env, msg);
}

/* Run `j` now (no callback) or on the pool (callback given). */
static napi_value run(napi_env env, job_t *j, napi_value cb) {
  napi_valuetype t = napi_undefined;
  if (cb) napi_typeof(env, cb, &t);
  if (t != napi_function) {
    execute(env, j);
    napi_value r = num(env, j->result);
    release(env, j);
    return r;
  }
  napi_value name;
  napi_create_string_utf8(env, "megafs_data", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, cb, 1, &j->cb);
  if (napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok || napi_queue_async_work(env, j->work) != napi_ok) {
    return refuse(env, j, "cannot queue work on the thread pool");
  }
  return num(env, 0);
}

static napi_value js_seal(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 9) return fail(env, "seal(key, nonce, aad, prefix, payload, padBytes, out, cipherOffset, idOut[, cb])");
  job_t *j = new_job(OP_SEAL);
  if (!j) return fail(env, "out of memory");
  j->keep_refs = is_callback(env, argc, argv, 9);
  int bad = fixed(env, argv[0], j->key, 32) || fixed(env, argv[1], j->nonce, 12) || bytes_of(env, argv[2], &j->aad, j) ||
            bytes_of(env, argv[3], &j->prefix, j) || bytes_of(env, argv[4], &j->payload, j) || size_arg(env, argv[5], &j->pad) ||
            bytes_of(env, argv[6], &j->out, j) || size_arg(env, argv[7], &j->cipher_offset) || bytes_of(env, argv[8], &j->id, j);
  if (!bad && ((j->id.n != 32 && j->id.n != 0) || j->out.n < j->cipher_offset + j->prefix.n + j->payload.n + j->pad + TAG_BYTES)) bad = 1;
  if (bad) return refuse(env, j, "seal: bad arguments");
  return run(env, j, argc > 9 ? argv[9] : NULL);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) return fail(env, "open(key, nonce, aad, object, cipherOffset, out, expectedId | null[, cb])");
  job_t *j = new_job(OP_OPEN);
  if (!j) return fail(env, "out of memory");
  j->keep_refs = is_callback(env, argc, argv, 7);
  napi_valuetype idType;
  napi_typeof(env, argv[6], &idType);
  j->has_id = idType != napi_null && idType != napi_undefined;
  int bad = fixed(env, argv[0], j->key, 32) || fixed(env, argv[1], j->nonce, 12) || bytes_of(env, argv[2], &j->aad, j) ||
            bytes_of(env, argv[3], &j->object, j) || size_arg(env, argv[4], &j->cipher_offset) || bytes_of(env, argv[5], &j->out, j) ||
            (j->has_id && bytes_of(env, argv[6], &j->id, j));
  if (!bad && j->has_id && j->id.n != 32) bad = 1;
  if (!bad && j->object.n >= j->cipher_offset + TAG_BYTES && j->out.n < j->object.n - j->cipher_offset - TAG_BYTES) bad = 1;
  if (bad) return refuse(env, j, "open: bad arguments");
  return run(env, j, argc > 7 ? argv[7] : NULL);
}

static napi_value js_chacha20(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint8_t key[32], iv[16];
  span_t in, out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || fixed(env, argv[0], key, 32) || fixed(env, argv[1], iv, 16) || bytes_of(env, argv[2], &in, NULL) ||
      bytes_of(env, argv[3], &out, NULL) || out.n < in.n) {
    return fail(env, "chacha20(key, iv16, input, out)");
  }
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  size_t w = 0;
  int ok = c && EVP_EncryptInit_ex(c, CHACHA, NULL, key, iv) == 1 && update(c, out.p, in.p, in.n, &w) == 0 && w == in.n;
  EVP_CIPHER_CTX_free(c);
  if (!ok) return fail(env, "chacha20 failed");
  return num(env, 0);
}

/* The Uint8Arrays of JS array `v` as j->parts (each held by a reference when the job
 * runs on the pool). */
static int parts_of(napi_env env, napi_value v, job_t *j) {
  uint32_t n;
  if (napi_get_array_length(env, v, &n) != napi_ok || n > (1u << 20)) return -1;
  j->parts = calloc(n ? n : 1, sizeof *j->parts);
  if (j->keep_refs) j->part_refs = calloc(n ? n : 1, sizeof *j->part_refs);
  if (!j->parts || (j->keep_refs && !j->part_refs)) return -1;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    if (napi_get_element(env, v, i, &el) != napi_ok || bytes_of(env, el, &j->parts[i], NULL)) return -1;
    if (j->keep_refs) napi_create_reference(env, el, 1, &j->part_refs[i]);
    j->nparts = i + 1;
  }
  return 0;
}

static napi_value js_sha256(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  bool is_array = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  job_t *j = new_job(OP_SHA256);
  if (!j) return fail(env, "out of memory");
  j->keep_refs = is_callback(env, argc, argv, 2);
  if (argc >= 1) napi_is_array(env, argv[0], &is_array);
  if (argc < 2 || (is_array ? parts_of(env, argv[0], j) : bytes_of(env, argv[0], &j->object, j)) || bytes_of(env, argv[1], &j->id, j) || j->id.n < 32) {
    return refuse(env, j, "sha256(data, out32[, cb])");
  }
  return run(env, j, argc >= 3 ? argv[2] : NULL);
}

typedef struct slab {
  void *base;
  size_t length;
  int refs;
} slab_t;

/* Bytes unmapped since V8 was last told (finalizers may run off the main thread, where
 * N-API must not be called): subtracted from V8's external memory on the next allocation.
 * Telling V8 at all matters: without it, dropped buffers wait for a collection that the
 * tiny JS objects alone never trigger (measured: 1 GiB dropped, 1 GiB still resident). */
static int64_t unreported_free;

static void slab_release(napi_env env, void *data, void *hint) {
  slab_t *s = hint;
  if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    munmap(s->base, s->length);
    __atomic_add_fetch(&unreported_free, (int64_t)s->length, __ATOMIC_RELAXED);
    free(s);
  }
}

#define HUGE_BYTES ((size_t)2 << 20)

/* An anonymous mapping of `length` (a multiple of 2 MiB) aligned to 2 MiB and advised
 * MADV_HUGEPAGE, or NULL. No N-API: may run on a pool thread. */
static uint8_t *map_huge(size_t length) {
  /* Map one huge page more, so that the start can be aligned to 2 MiB (THP needs it). */
  uint8_t *raw = mmap(NULL, length + HUGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return NULL;
  uint8_t *base = (uint8_t *)(((uintptr_t)raw + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
  if (base > raw) munmap(raw, (size_t)(base - raw));
  size_t tail = (size_t)((raw + length + HUGE_BYTES) - (base + length));
  if (tail > 0) munmap(base + length, tail);
  madvise(base, length, MADV_HUGEPAGE); /* advice only: without THP this is plain memory */
  return base;
}

/* `count` external ArrayBuffers of `bytes` over the mapping `base` (of `length`), which
 * is unmapped when the last of them is collected. Main thread only. */
static napi_value wrap_huge(napi_env env, uint8_t *base, size_t length, int64_t count, int64_t bytes) {
  napi_value result;
  slab_t *s = malloc(sizeof *s);
  if (!s) {
    munmap(base, length);
    return fail(env, "out of memory");
  }
  s->base = base;
  s->length = length;
  s->refs = (int)count;
  int64_t freed = __atomic_exchange_n(&unreported_free, 0, __ATOMIC_RELAXED), total;
  napi_adjust_external_memory(env, (int64_t)length - freed, &total);
  napi_create_array_with_length(env, (size_t)count, &result);
  for (int64_t i = 0; i < count; i++) {
    napi_value ab;
    if (napi_create_external_arraybuffer(env, base + i * bytes, (size_t)bytes, slab_release, s, &ab) != napi_ok) {
      for (int64_t k = i; k < count; k++) slab_release(env, NULL, s); /* the ones never made */
      return fail(env, "hugeBuffers: external buffers are not allowed here");
    }
    napi_set_element(env, result, (uint32_t)i, ab);
  }
  return result;
}

/* Arguments (count 1..64, bytes) of hugeBuffers; the mapping's length, or 0 when bad. */
static size_t huge_args(napi_env env, napi_value *argv, size_t argc, int64_t *count, int64_t *bytes) {
  if (argc < 2 || napi_get_value_int64(env, argv[0], count) != napi_ok || napi_get_value_int64(env, argv[1], bytes) != napi_ok ||
      *count < 1 || *count > 64 || *bytes < 1 || *bytes > ((int64_t)1 << 30)) {
    return 0;
  }
  return ((size_t)*count * (size_t)*bytes + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
}

static napi_value js_huge_buffers(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t count, bytes;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t length = huge_args(env, argv, argc, &count, &bytes);
  if (!length) return fail(env, "hugeBuffers(count 1..64, bytes)");
  uint8_t *base = map_huge(length);
  if (!base) return fail(env, "hugeBuffers: mmap failed");
  return wrap_huge(env, base, length, count, bytes);
}

/* hugeBuffers made on the pool and faulted in there: the kernel zeroes the pages on that
 * thread, not on the one that first writes them. */
typedef struct huge_job {
  napi_async_work work;
  napi_ref cb;
  int64_t count, bytes;
  size_t length;
  uint8_t *base;
} huge_job_t;

static void huge_execute(napi_env env, void *data) {
  huge_job_t *h = data;
  (void)env;
  h->base = map_huge(h->length);
  if (h->base) {
    for (size_t off = 0; off < h->length; off += 4096) ((volatile uint8_t *)h->base)[off] = 0;
  }
}

static void huge_complete(napi_env env, napi_status status, void *data) {
  huge_job_t *h = data;
  napi_value cb, global, arg;
  napi_get_reference_value(env, h->cb, &cb);
  napi_get_global(env, &global);
  arg = NULL;
  if (status == napi_ok && h->base) {
    arg = wrap_huge(env, h->base, h->length, h->count, h->bytes); /* unmaps on failure */
    if (!arg) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
  } else if (h->base) {
    munmap(h->base, h->length);
  }
  if (!arg) napi_get_null(env, &arg); /* the caller allocates another way */
  napi_delete_reference(env, h->cb);
  napi_delete_async_work(env, h->work);
  free(h);
  napi_call_function(env, global, cb, 1, &arg, NULL);
}

static napi_value js_huge_buffers_async(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], name;
  int64_t count, bytes;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t length = huge_args(env, argv, argc, &count, &bytes);
  if (!length || !is_callback(env, argc, argv, 2)) return fail(env, "hugeBuffersAsync(count 1..64, bytes, cb)");
  huge_job_t *h = calloc(1, sizeof *h);
  if (!h) return fail(env, "out of memory");
  h->count = count;
  h->bytes = bytes;
  h->length = length;
  napi_create_string_utf8(env, "megafs_data", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, argv[2], 1, &h->cb);
  if (napi_create_async_work(env, NULL, name, huge_execute, huge_complete, h, &h->work) != napi_ok ||
      napi_queue_async_work(env, h->work) != napi_ok) {
    napi_delete_reference(env, h->cb);
    free(h);
    return fail(env, "cannot queue work on the thread pool");
  }
  return NULL;
}

static napi_value js_pread_cached(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  int64_t position;
  span_t buf;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || bytes_of(env, argv[1], &buf, NULL) ||
      napi_get_value_int64(env, argv[2], &position) != napi_ok || position < 0) {
    return fail(env, "preadCached(fd, buf, position)");
  }
  struct iovec iov = {buf.p, buf.n};
  ssize_t n = buf.n ? preadv2(fd, &iov, 1, position, RWF_NOWAIT) : 0;
  return num(env, n < 0 ? -errno : (int)n);
}

/* A job on one file descriptor, fd the first argument and the callback the second:
 * willNeed(fd, cb), syncFs(fd, cb). */
static napi_value fd_job(napi_env env, napi_callback_info info, int op, const char *usage) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return fail(env, usage);
  job_t *j = new_job(op);
  if (!j) return fail(env, "out of memory");
  j->fd = fd;
  return run(env, j, argv[1]);
}

static napi_value js_will_need(napi_env env, napi_callback_info info) {
  return fd_job(env, info, OP_WILL_NEED, "willNeed(fd, cb)");
}

static napi_value js_sync_fs(napi_env env, napi_callback_info info) {
  return fd_job(env, info, OP_SYNC_FS, "syncFs(fd, cb)");
}

static napi_value js_write_out(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  job_t *j = new_job(OP_WRITE_OUT);
  if (!j) return fail(env, "out of memory");
  if (argc < 4 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 || bytes_of(env, argv[1], &j->out, j) ||
      napi_get_value_int64(env, argv[2], &j->position) != napi_ok || j->position < 0) {
    return refuse(env, j, "writeOut(fd, bytes, position, cb)");
  }
  j->fd = fd;
  return run(env, j, argv[3]);
}

static napi_value js_read_file(napi_env env, napi_callback_info info) {
  size_t argc = 3, len = 0;
  napi_value argv[3];
  napi_valuetype t = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  job_t *j = new_job(OP_READ_FILE);
  if (!j) return fail(env, "out of memory");
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (argc < 3 || t != napi_string || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok || len == 0 ||
      !(j->path = malloc(len + 1)) || napi_get_value_string_utf8(env, argv[0], j->path, len + 1, &len) != napi_ok ||
      strlen(j->path) != len || len > INT32_MAX || bytes_of(env, argv[1], &j->out, j) || j->out.n > INT32_MAX) {
    return refuse(env, j, "readFile(path, buf, cb)");
  }
  return run(env, j, argv[2]);
}

static napi_value js_keep_heap(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  int ok = mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024) && mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  napi_get_boolean(env, ok, &r);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  fetch_algorithms();
  napi_property_descriptor props[] = {
    {"seal", NULL, js_seal, NULL, NULL, NULL, napi_default, NULL},
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"chacha20", NULL, js_chacha20, NULL, NULL, NULL, napi_default, NULL},
    {"sha256", NULL, js_sha256, NULL, NULL, NULL, napi_default, NULL},
    {"hugeBuffers", NULL, js_huge_buffers, NULL, NULL, NULL, napi_default, NULL},
    {"hugeBuffersAsync", NULL, js_huge_buffers_async, NULL, NULL, NULL, napi_default, NULL},
    {"preadCached", NULL, js_pread_cached, NULL, NULL, NULL, napi_default, NULL},
    {"willNeed", NULL, js_will_need, NULL, NULL, NULL, napi_default, NULL},
    {"writeOut", NULL, js_write_out, NULL, NULL, NULL, napi_default, NULL},
    {"syncFs", NULL, js_sync_fs, NULL, NULL, NULL, napi_default, NULL},
    {"readFile", NULL, js_read_file, NULL, NULL, NULL, napi_default, NULL},
    {"keepHeap", NULL, js_keep_heap, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
