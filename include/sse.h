/*
 * libsse: an embeddable C library for Server-Sent Events (the
 * text/event-stream format and the EventSource model of the WHATWG HTML
 * Living Standard, 9.2).
 *
 * This is the only header a user includes. The parts:
 *  - sse/common.h   version, error codes, allocator hooks, iovec
 *  - sse/decoder.h  incremental, spec-exact decoder (clients, proxies)
 *  - sse/encoder.h  injection-safe encoder into memory or iovecs (servers)
 *  - sse/reconnect.h  reconnection policy for clients: delays, backoff,
 *                     response verdicts, idle deadline (no I/O, no clock)
 *  - sse/frame.h    an event encoded once, shared by many streams (servers)
 *  - sse/stream.h   one client's output, pushed through a write callback or
 *                   pulled by the server (servers)
 *  - sse/history.h  recent frames, replayed from a Last-Event-ID (servers)
 *  - sse/http.h     response header fields, Last-Event-ID, id round trip and
 *                   Content-Type checks
 *
 * The library does no I/O, starts no thread and reads no clock.
 */
#ifndef SSE_H
#define SSE_H

#include "sse/common.h"
#include "sse/decoder.h"
#include "sse/encoder.h"
#include "sse/reconnect.h"
#include "sse/frame.h"
#include "sse/stream.h"
#include "sse/history.h"
#include "sse/http.h"

#endif /* SSE_H */
