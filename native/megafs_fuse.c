/* megafs_fuse: a lean N-API binding over libfuse3's low-level API.
 * /dev/fuse is non-blocking and watched by Node's own event loop (uv_poll); each wakeup
 * reads and dispatches up to BATCH_MAX requests on the main thread, then runs microtasks
 * once, then watches the device a few tens of µs for the next request before it sleeps
 * (setSpin). JS answers later with reply(id, errno, buffer, length): replies are the kernel's
 * own structs, encoded in JS (src/fuse/lowlevel/wire.ts), sent with fuse_reply_buf. */
#define FUSE_USE_VERSION 34
#define NAPI_VERSION 8
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 64
/* Request ids: slot = id & SLOT_MASK; the kernel never has that many requests pending. */
#define SLOTS 65536
#define SLOT_MASK (SLOTS - 1)
#define MAX_WRITE_BYTES (1024 * 1024)

/* Operation codes: the first argument of the JS dispatch function (mirrored in ops.ts). */
enum {
  OP_LOOKUP, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKDIR, OP_UNLINK, OP_RMDIR, OP_SYMLINK,
  OP_RENAME, OP_LINK, OP_OPEN, OP_READ, OP_WRITE, OP_FLUSH, OP_RELEASE, OP_FSYNC, OP_OPENDIR,
  OP_READDIR, OP_READDIRPLUS, OP_RELEASEDIR, OP_FSYNCDIR, OP_STATFS, OP_SETXATTR, OP_GETXATTR,
  OP_LISTXATTR, OP_REMOVEXATTR, OP_CREATE, OP_INTERRUPT, OP_FORGET, OP_EXIT, OP_INIT, OP_FALLOCATE
};

typedef struct session {
  napi_env env;
  struct fuse_session *se;
  uv_poll_t *poll; /* freed by its close callback */
  napi_ref dispatch;
  napi_ref resource;
  napi_async_context actx;
  struct fuse_buf fbuf; /* receive buffer, allocated by libfuse on the first read, reused */
  napi_ref recv_view;   /* external ArrayBuffer over fbuf.mem, made on the first write */
  void *recv_view_mem;
  int writeback;
  int no_caps; /* answer getxattr("security.capability") with ENODATA here (setNoCaps) */
  int ro_flush; /* answer FLUSH of an odd file handle here (setReadOnlyFlush) */
  int closed;
  int spin_us; /* after a batch, watch the device this long before sleeping (0: never) */
  uint32_t next_id;
  fuse_req_t reqs[SLOTS];
  uint32_t ids[SLOTS];
} session_t;

/* ---- calling JS ------------------------------------------------------------------- */

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* A name or symlink target from the kernel: bytes, not text. Passed as a latin1 string
 * (one char per byte, lossless; utf8 would turn bytes that are not UTF-8 into U+FFFD);
 * src/format/names.ts nameFromLatin1 makes the vfs string of it. */
static napi_value str(napi_env env, const char *s) {
  napi_value r;
  napi_create_string_latin1(env, s, NAPI_AUTO_LENGTH, &r);
  return r;
}

/* Call dispatch(op, id, ...args). A JS exception becomes an uncaught exception. */
static void call_js(session_t *s, int op, uint32_t id, size_t argc, napi_value *args) {
  napi_env env = s->env;
  napi_value argv[12], fn, global;
  argv[0] = num(env, op);
  argv[1] = num(env, id);
  for (size_t i = 0; i < argc && i < 10; i++) argv[2 + i] = args[i];
  napi_get_reference_value(env, s->dispatch, &fn);
  napi_get_global(env, &global);
  if (napi_call_function(env, global, fn, 2 + argc, argv, NULL) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
}

static void on_interrupt(fuse_req_t req, void *data) {
  session_t *s = fuse_req_userdata(req);
  uint32_t id = (uint32_t)(uintptr_t)data;
  call_js(s, OP_INTERRUPT, id, 0, NULL);
}

/* Give `req` an id, dispatch it, then let the kernel interrupt it while it is pending. */
static void dispatch(fuse_req_t req, int op, size_t argc, napi_value *args) {
  session_t *s = fuse_req_userdata(req);
  uint32_t id, slot;
  do {
    s->next_id = (s->next_id + 1) & 0x7fffffff;
    id = s->next_id;
    slot = id & SLOT_MASK;
  } while (id == 0 || s->reqs[slot] != NULL);
  s->reqs[slot] = req;
  s->ids[slot] = id;
  call_js(s, op, id, argc, args);
  if (s->reqs[slot] == req && s->ids[slot] == id) fuse_req_interrupt_func(req, on_interrupt, (void *)(uintptr_t)id);
}

#define ENV(req) (((session_t *)fuse_req_userdata(req))->env)
#define FH(fi) ((fi) ? (double)(fi)->fh : -1.0)

/* ---- low-level operations --------------------------------------------------------- */

static void ll_init(void *userdata, struct fuse_conn_info *conn) {
  session_t *s = userdata;
  conn->max_write = MAX_WRITE_BYTES;
  conn->max_readahead = MAX_WRITE_BYTES;
  conn->max_read = MAX_WRITE_BYTES; /* must equal the max_read mount option */
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  /* Only this mount changes the files: the kernel need not drop pages on mtime changes. */
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  if (s->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else s->writeback = 0;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, parent), str(env, name)};
  dispatch(req, OP_LOOKUP, 2, a);
}

static void ll_forget_one(session_t *s, fuse_ino_t ino, uint64_t n) {
  napi_value a[] = {num(s->env, ino), num(s->env, (double)n)};
  call_js(s, OP_FORGET, 0, 2, a);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  ll_forget_one(fuse_req_userdata(req), ino, nlookup);
  fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  session_t *s = fuse_req_userdata(req);
  for (size_t i = 0; i < count; i++) ll_forget_one(s, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi))};
  dispatch(req, OP_GETATTR, 2, a);
}

static double ms(struct timespec t) { return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6; }

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi)), num(env, to_set), num(env, attr->st_mode),
                    num(env, attr->st_uid), num(env, attr->st_gid), num(env, (double)attr->st_size),
                    num(env, ms(attr->st_atim)), num(env, ms(attr->st_mtim))};
  dispatch(req, OP_SETATTR, 9, a);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino) {
  napi_value a[] = {num(ENV(req), ino)};
  dispatch(req, OP_READLINK, 1, a);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, parent), str(env, name), num(env, mode)};
  dispatch(req, OP_MKDIR, 3, a);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, parent), str(env, name)};
  dispatch(req, OP_UNLINK, 2, a);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, parent), str(env, name)};
  dispatch(req, OP_RMDIR, 2, a);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, parent), str(env, name), str(env, link)};
  dispatch(req, OP_SYMLINK, 3, a);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, parent), str(env, name), num(env, newparent), str(env, newname), num(env, flags)};
  dispatch(req, OP_RENAME, 5, a);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, newparent), str(env, newname)};
  dispatch(req, OP_LINK, 3, a);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, fi->flags)};
  dispatch(req, OP_OPEN, 2, a);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi)), num(env, (double)size), num(env, (double)off)};
  dispatch(req, OP_READ, 4, a);
}

/* The written bytes: (offset into the receive view) when they lie in libfuse's receive
 * buffer, which JS copies from before the next read of /dev/fuse; else a copy. */
static napi_value write_data(session_t *s, const char *buf, size_t size, napi_value *where) {
  napi_env env = s->env;
  char *mem = s->fbuf.mem;
  if (mem && buf >= mem && buf + size <= mem + s->fbuf.size) {
    napi_value view;
    if (s->recv_view_mem != mem) {
      if (s->recv_view) napi_delete_reference(env, s->recv_view);
      /* The view covers the bytes libfuse may read into: header, write_in, max_write. */
      napi_create_external_arraybuffer(env, mem, MAX_WRITE_BYTES + 4096, NULL, NULL, &view);
      napi_create_reference(env, view, 1, &s->recv_view);
      s->recv_view_mem = mem;
    }
    napi_get_reference_value(env, s->recv_view, &view);
    *where = num(env, (double)(buf - mem));
    return view;
  }
  napi_value copy;
  napi_create_buffer_copy(env, size, buf, NULL, &copy);
  *where = num(env, -1);
  return copy;
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
  session_t *s = fuse_req_userdata(req);
  napi_env env = s->env;
  napi_value where;
  napi_value data = write_data(s, buf, size, &where);
  napi_value a[] = {num(env, ino), num(env, FH(fi)), num(env, (double)off), data, where, num(env, (double)size)};
  dispatch(req, OP_WRITE, 6, a);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  /* Every close() sends a FLUSH and waits for it. The vfs numbers its read-only handles
   * odd and has nothing to do at their flush (setReadOnlyFlush): answer here. */
  session_t *s = fuse_req_userdata(req);
  if (s->ro_flush && fi && (fi->fh & 1)) {
    fuse_reply_err(req, 0);
    return;
  }
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi))};
  dispatch(req, OP_FLUSH, 2, a);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi))};
  dispatch(req, OP_RELEASE, 2, a);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi)), num(env, datasync)};
  dispatch(req, OP_FSYNC, 3, a);
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi)), num(env, mode), num(env, (double)offset), num(env, (double)length)};
  dispatch(req, OP_FALLOCATE, 5, a);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, fi->flags)};
  dispatch(req, OP_OPENDIR, 2, a);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi)), num(env, (double)size), num(env, (double)off)};
  dispatch(req, OP_READDIR, 4, a);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi)), num(env, (double)size), num(env, (double)off)};
  dispatch(req, OP_READDIRPLUS, 4, a);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi))};
  dispatch(req, OP_RELEASEDIR, 2, a);
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, FH(fi)), num(env, datasync)};
  dispatch(req, OP_FSYNCDIR, 3, a);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino) {
  napi_value a[] = {num(ENV(req), ino)};
  dispatch(req, OP_STATFS, 1, a);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags) {
  napi_env env = ENV(req);
  napi_value val;
  napi_create_buffer_copy(env, size, value, NULL, &val);
  napi_value a[] = {num(env, ino), str(env, name), val, num(env, flags)};
  dispatch(req, OP_SETXATTR, 4, a);
}

static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  /* The kernel asks for security.capability before every write to a file (to drop file
   * capabilities); FUSE cannot cache the answer. While no file of the drive has one
   * (JS says so with setNoCaps), answer here: half the requests of a tar x never reach JS. */
  session_t *s = fuse_req_userdata(req);
  if (s->no_caps && strcmp(name, "security.capability") == 0) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), str(env, name), num(env, (double)size)};
  dispatch(req, OP_GETXATTR, 3, a);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), num(env, (double)size)};
  dispatch(req, OP_LISTXATTR, 2, a);
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, ino), str(env, name)};
  dispatch(req, OP_REMOVEXATTR, 2, a);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  napi_env env = ENV(req);
  napi_value a[] = {num(env, parent), str(env, name), num(env, mode), num(env, fi->flags)};
  dispatch(req, OP_CREATE, 4, a);
}

static const struct fuse_lowlevel_ops OPS = {
  .init = ll_init, .lookup = ll_lookup, .forget = ll_forget, .forget_multi = ll_forget_multi,
  .getattr = ll_getattr, .setattr = ll_setattr, .readlink = ll_readlink, .mkdir = ll_mkdir,
  .unlink = ll_unlink, .rmdir = ll_rmdir, .symlink = ll_symlink, .rename = ll_rename, .link = ll_link,
  .open = ll_open, .read = ll_read, .write = ll_write, .flush = ll_flush, .release = ll_release,
  .fsync = ll_fsync, .opendir = ll_opendir, .readdir = ll_readdir, .readdirplus = ll_readdirplus,
  .releasedir = ll_releasedir, .fsyncdir = ll_fsyncdir, .statfs = ll_statfs, .setxattr = ll_setxattr,
  .getxattr = ll_getxattr, .listxattr = ll_listxattr, .removexattr = ll_removexattr, .create = ll_create,
  .fallocate = ll_fallocate,
};

/* ---- the request loop ------------------------------------------------------------- */

/* Read and dispatch up to BATCH_MAX requests, then let JS run its microtasks (the
 * replies of handlers that did not wait on I/O go out then). Returns the number of
 * requests read, or -1 when the session ended. */
static int serve_batch(session_t *s) {
  napi_env env = s->env;
  napi_handle_scope hs;
  napi_callback_scope cs;
  napi_value resource;
  int n = 0;
  napi_open_handle_scope(env, &hs);
  napi_get_reference_value(env, s->resource, &resource);
  napi_open_callback_scope(env, resource, s->actx, &cs);
  for (; n < BATCH_MAX && !s->closed; n++) {
    int res = fuse_session_receive_buf(s->se, &s->fbuf);
    if (res == -EAGAIN || res == -EINTR) break;
    if (res <= 0 || fuse_session_exited(s->se)) {
      /* Unmounted from outside (umount, fusermount -u) or the connection was aborted. */
      uv_poll_stop(s->poll);
      call_js(s, OP_EXIT, 0, 0, NULL);
      n = -1;
      break;
    }
    fuse_session_process_buf(s->se, &s->fbuf);
  }
  napi_close_callback_scope(env, cs);
  napi_close_handle_scope(env, hs);
  return n;
}

static uint64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* Whether a request arrives within `us` microseconds (polled without sleeping). */
static int arrives_within(int fd, int us) {
  uint64_t until = now_us() + (uint64_t)us;
  do {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) > 0) return 1;
  } while (now_us() < until);
  return 0;
}

/* Time (µs) one wakeup may keep serving and watching before it hands the event loop back,
 * so timers and thread-pool completions are never held up for long (a request left
 * waiting then is read at the loop's next turn, without sleeping). */
#define SPIN_BUDGET_US 1000

static void on_readable(uv_poll_t *handle, int status, int events) {
  session_t *s = handle->data;
  (void)status; (void)events;
  uint64_t start = now_us();
  for (;;) {
    if (serve_batch(s) <= 0 || s->closed || s->spin_us <= 0 || now_us() - start > SPIN_BUDGET_US) break;
    /* A program working through many files sends its next request within tens of µs of
     * the reply; watching for it costs less than sleeping and being woken (a wakeup is
     * the dearest part of a round trip on a virtual machine). */
    if (!arrives_within(fuse_session_fd(s->se), s->spin_us)) break;
  }
}

/* ---- exported functions ----------------------------------------------------------- */

static napi_value throw_err(napi_env env, const char *msg) {
  napi_throw_error(env, "E_MOUNT", msg);
  return NULL;
}

static session_t *get_session(napi_env env, napi_value v) {
  session_t *s = NULL;
  napi_get_value_external(env, v, (void **)&s);
  return s;
}

/* mount(mountpoint, options: string, writeback: boolean, dispatch: Function) -> session */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], ext;
  char mnt[4096], opts[4096];
  bool writeback = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_err(env, "mount(mountpoint, options, writeback, dispatch)");
  napi_get_value_string_utf8(env, argv[0], mnt, sizeof mnt, NULL);
  napi_get_value_string_utf8(env, argv[1], opts, sizeof opts, NULL);
  napi_get_value_bool(env, argv[2], &writeback);
  session_t *s = calloc(1, sizeof *s);
  if (!s) return throw_err(env, "out of memory");
  s->env = env;
  s->writeback = writeback;
  char *args_v[] = {"megafs", "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, args_v);
  s->se = fuse_session_new(&args, &OPS, sizeof OPS, s);
  if (!s->se) { free(s); return throw_err(env, "fuse_session_new failed (bad options?)"); }
  if (fuse_session_mount(s->se, mnt) != 0) {
    fuse_session_destroy(s->se);
    free(s);
    return throw_err(env, "fuse_session_mount failed");
  }
  int fd = fuse_session_fd(s->se);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &s->resource);
  napi_create_string_utf8(env, "megafs-fuse", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &s->actx);
  napi_create_reference(env, argv[3], 1, &s->dispatch);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  s->poll = calloc(1, sizeof *s->poll);
  uv_poll_init(loop, s->poll, fd);
  s->poll->data = s;
  uv_poll_start(s->poll, UV_READABLE, on_readable);
  napi_create_external(env, s, NULL, NULL, &ext);
  return ext;
}

/* reply(session, id, errno, buffer?, length?) -> 0 when sent, a negative errno from the
 * device (-ENOENT: the request was interrupted), or 1 when the request is no longer
 * pending (answered already, or the session closed). */
static napi_value js_reply(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t id = 0;
  int32_t err = 0;
  int res = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session_t *s = get_session(env, argv[0]);
  napi_get_value_uint32(env, argv[1], &id);
  napi_get_value_int32(env, argv[2], &err);
  uint32_t slot = id & SLOT_MASK;
  if (s && !s->closed && s->ids[slot] == id && s->reqs[slot] != NULL) {
    fuse_req_t req = s->reqs[slot];
    s->reqs[slot] = NULL;
    napi_valuetype t = napi_undefined;
    if (argc >= 4) napi_typeof(env, argv[3], &t);
    if (err != 0 || t == napi_undefined) {
      res = fuse_reply_err(req, err);
    } else {
      void *data = NULL;
      size_t len = 0;
      uint32_t want = 0;
      napi_get_buffer_info(env, argv[3], &data, &len);
      if (argc >= 5 && napi_get_value_uint32(env, argv[4], &want) == napi_ok && want < len) len = want;
      res = fuse_reply_buf(req, data, len);
    }
  }
  return num(env, res);
}

static void free_poll(uv_handle_t *h) { free(h); }

/* unmount(session): answer what is pending with EIO, unmount, free the session. */
static napi_value js_unmount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session_t *s = get_session(env, argv[0]);
  if (!s || s->closed) return NULL;
  s->closed = 1;
  uv_poll_stop(s->poll);
  uv_close((uv_handle_t *)s->poll, free_poll);
  fuse_session_exit(s->se);
  fuse_session_unmount(s->se); /* closes /dev/fuse first, then umount2(MNT_DETACH) */
  for (uint32_t i = 0; i < SLOTS; i++) {
    if (s->reqs[i]) { fuse_reply_err(s->reqs[i], EIO); s->reqs[i] = NULL; }
  }
  fuse_session_destroy(s->se);
  free(s->fbuf.mem);
  s->fbuf.mem = NULL;
  if (s->recv_view) napi_delete_reference(env, s->recv_view);
  napi_delete_reference(env, s->dispatch);
  napi_async_destroy(env, s->actx);
  napi_delete_reference(env, s->resource);
  /* The external keeps pointing here; `closed` makes later calls no-ops. The few
   * hundred KiB are kept for the life of the process (one per mount). */
  return NULL;
}

/* notifyInvalInode(session, ino, offset, length) -> 0 or a negative errno */
static napi_value js_inval_inode(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  double ino = 0, off = 0, len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session_t *s = get_session(env, argv[0]);
  napi_get_value_double(env, argv[1], &ino);
  napi_get_value_double(env, argv[2], &off);
  napi_get_value_double(env, argv[3], &len);
  int res = s && !s->closed ? fuse_lowlevel_notify_inval_inode(s->se, (fuse_ino_t)ino, (off_t)off, (off_t)len) : -EBADF;
  return num(env, res);
}

/* notifyInvalEntry(session, parentIno, name) -> 0 or a negative errno */
static napi_value js_inval_entry(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  double parent = 0;
  char name[1024];
  size_t name_len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session_t *s = get_session(env, argv[0]);
  napi_get_value_double(env, argv[1], &parent);
  napi_get_value_string_latin1(env, argv[2], name, sizeof name, &name_len); /* bytes as latin1, like str() */
  int res = s && !s->closed ? fuse_lowlevel_notify_inval_entry(s->se, (fuse_ino_t)parent, name, name_len) : -EBADF;
  return num(env, res);
}

/* The arguments of a set<Something>(session, value) call: the session (NULL when missing
 * or not a session: the call is then a no-op), and the value in *value. */
static session_t *session_args(napi_env env, napi_callback_info info, napi_value *value) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return NULL;
  *value = argv[1];
  return get_session(env, argv[0]);
}

/* The arguments of a set<Switch>(session, on) call. */
static session_t *switch_args(napi_env env, napi_callback_info info, bool *on) {
  napi_value v;
  *on = false;
  session_t *s = session_args(env, info, &v);
  if (s) napi_get_value_bool(env, v, on);
  return s;
}

/* setNoCaps(session, on): see ll_getxattr. Turned off before any reply that could let the
 * kernel see a file with security.capability. */
static napi_value js_set_no_caps(napi_env env, napi_callback_info info) {
  bool on;
  session_t *s = switch_args(env, info, &on);
  if (s) s->no_caps = on;
  return NULL;
}

/* setReadOnlyFlush(session, on): see ll_flush. */
static napi_value js_set_ro_flush(napi_env env, napi_callback_info info) {
  bool on;
  session_t *s = switch_args(env, info, &on);
  if (s) s->ro_flush = on;
  return NULL;
}

/* setSpin(session, microseconds): see on_readable; 0 turns it off. */
static napi_value js_set_spin(napi_env env, napi_callback_info info) {
  napi_value v;
  int32_t us = 0;
  session_t *s = session_args(env, info, &v);
  if (s && napi_get_value_int32(env, v, &us) == napi_ok) s->spin_us = us < 0 ? 0 : us > 1000 ? 1000 : us;
  return NULL;
}

/* writeback(session) -> whether the kernel accepted writeback_cache (known after init). */
static napi_value js_writeback(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session_t *s = get_session(env, argv[0]);
  napi_get_boolean(env, s && s->writeback, &r);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
    {"reply", NULL, js_reply, NULL, NULL, NULL, napi_default, NULL},
    {"setSpin", NULL, js_set_spin, NULL, NULL, NULL, napi_default, NULL},
    {"unmount", NULL, js_unmount, NULL, NULL, NULL, napi_default, NULL},
    {"notifyInvalInode", NULL, js_inval_inode, NULL, NULL, NULL, napi_default, NULL},
    {"notifyInvalEntry", NULL, js_inval_entry, NULL, NULL, NULL, napi_default, NULL},
    {"writeback", NULL, js_writeback, NULL, NULL, NULL, napi_default, NULL},
    {"setNoCaps", NULL, js_set_no_caps, NULL, NULL, NULL, napi_default, NULL},
    {"setReadOnlyFlush", NULL, js_set_ro_flush, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
