/* Frames: encoded once, immutable, reference-counted. */
#include "stream_int.h"

int sse__frame_alloc(sse_frame **out, const sse_allocator *a, size_t len,
                     char **bytes) {
  sse_frame *f;
  if (len > (size_t)-1 - sizeof *f)
    return SSE_E_NOMEM;
  f = sse__malloc(a, sizeof *f + len);
  if (!f)
    return SSE_E_NOMEM;
#ifdef SSE__REFS_C11
  atomic_init(&f->refs, 1);
#else
  f->refs = 1;
#endif
  f->flags = 0;
  f->data = *bytes = (char *)(f + 1);
  f->len = len;
  f->id_off = f->id_len = 0;
  f->alloc = *a;
  *out = f;
  return SSE_OK;
}

const sse_frame *sse__frame_ref(const sse_frame *cf) {
  /* Static frames are never written to; others were allocated non-const. */
  sse_frame *f = (sse_frame *)cf;
  if (f->flags & SSE__FRAME_STATIC)
    return cf;
#if defined(SSE__REFS_BUILTIN)
  __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
#elif defined(SSE__REFS_C11)
  atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
#else
  f->refs++;
#endif
  return cf;
}

void sse__frame_unref(const sse_frame *cf) {
  sse_frame *f = (sse_frame *)cf;
  size_t left;
  if (f->flags & SSE__FRAME_STATIC)
    return;
  /* acq_rel: the last releaser sees every other holder's reads done. */
#if defined(SSE__REFS_BUILTIN)
  left = __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
#elif defined(SSE__REFS_C11)
  left = atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) - 1;
#else
  left = --f->refs;
#endif
  if (!left) {
    sse_allocator a = f->alloc;
    sse__free(&a, f);
  }
}

int sse_frame_atomic(void) {
#if defined(SSE__REFS_BUILTIN) || defined(SSE__REFS_C11)
  return 1;
#else
  return 0;
#endif
}

int sse_frame_new_message(sse_frame **out, const sse_message *ev,
                        const sse_allocator *allocator) {
  sse_allocator a;
  sse_frame *f;
  size_t len;
  char *p;
  int rc;
  if (!out || !ev)
    return SSE_E_INVALID_ARGUMENT;
  *out = NULL;
  rc = sse_encode_message(NULL, 0, ev, &len);
  if (rc != SSE_E_NOSPACE)
    return rc; /* INVALID_FIELD or INVALID_ARGUMENT: never OK with cap 0 */
  sse__allocator_init(&a, allocator);
  rc = sse__frame_alloc(&f, &a, len, &p);
  if (rc != SSE_OK)
    return rc;
  sse_encode_message(p, len, ev, &len);
  if (ev->id) {
    /* The encoder's documented layout: ["event: " TYPE "\n"] "id: " ID. */
    f->flags |= SSE__FRAME_HAS_ID;
    f->id_off = (ev->type ? 7 + ev->type_len + 1 : 0) + 4;
    f->id_len = ev->id_len;
  }
  *out = f;
  return SSE_OK;
}

int sse_frame_new_comment(sse_frame **out, const char *text, size_t len,
                          const sse_allocator *allocator) {
  sse_allocator a;
  sse_frame *f;
  size_t n;
  char *p;
  int rc;
  if (!out)
    return SSE_E_INVALID_ARGUMENT;
  *out = NULL;
  rc = sse_encode_comment(NULL, 0, text, len, &n);
  if (rc != SSE_E_NOSPACE)
    return rc;
  sse__allocator_init(&a, allocator);
  rc = sse__frame_alloc(&f, &a, n, &p);
  if (rc != SSE_OK)
    return rc;
  sse_encode_comment(p, n, text, len, &n);
  *out = f;
  return SSE_OK;
}

sse_frame *sse_frame_retain(sse_frame *frame) {
  if (frame)
    sse__frame_ref(frame);
  return frame;
}

void sse_frame_release(sse_frame *frame) {
  if (frame)
    sse__frame_unref(frame);
}

const char *sse_frame_get_bytes(const sse_frame *frame, size_t *len) {
  if (!frame) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (len)
    *len = frame->len;
  return frame->data;
}

const char *sse_frame_get_id(const sse_frame *frame, size_t *len) {
  if (len)
    *len = 0;
  if (!frame || !(frame->flags & SSE__FRAME_HAS_ID))
    return NULL;
  if (len)
    *len = frame->id_len;
  return frame->data + frame->id_off;
}
