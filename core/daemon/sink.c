/* core/daemon/sink.c - formatting answers into the worker's send buffers.
 * SPDX-License-Identifier: MIT */
#include "sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "keys.h"
#include "log.h"

int outq_init(struct outq *q, size_t cap, size_t buf_size)
{
    memset(q, 0, sizeof(*q));
    q->slots = calloc(cap, sizeof(*q->slots));
    if (!q->slots)
        return -ENOMEM;
    q->cap = cap;
    return outq_resize(q, buf_size);
}

int outq_resize(struct outq *q, size_t buf_size)
{
    if (buf_size <= q->buf_size)
        return 0;
    for (size_t i = 0; i < q->cap; i++) {
        char *b = realloc(q->slots[i].buf, buf_size);
        if (!b)
            return -ENOMEM;
        q->slots[i].buf = b;
    }
    q->buf_size = buf_size;
    return 0;
}

void outq_free(struct outq *q)
{
    for (size_t i = 0; q->slots && i < q->cap; i++)
        free(q->slots[i].buf);
    free(q->slots);
    memset(q, 0, sizeof(*q));
}

char *outq_reserve(struct outq *q)
{
    if (q->n == q->cap) {
        if (q->flush)
            q->flush(q, q->flush_arg);
        else
            q->n = 0;
    }
    return q->slots[q->n].buf;
}

void outq_commit(struct outq *q, size_t len)
{
    q->slots[q->n].len = len;
    q->slots[q->n].req = q->req;
    q->n++;
}

void sink_init(struct tged_sink *s, struct outq *q, const char *id,
               size_t id_len, size_t max_replies, size_t max_reply_size)
{
    s->q = q;
    s->id = id;
    s->id_len = id_len;
    s->max_replies = max_replies;
    s->max_reply_size =
        max_reply_size < q->buf_size ? max_reply_size : q->buf_size;
    s->count = 0;
    s->inst = NULL;
    s->auth = NULL;
}

#define REPLY_START "TGED REPLY 1.0\r\nRQ: "
#define CRLF "\r\n"

static struct log_limit auth_big_limit = LOG_LIMIT_INIT(5, 10000);

/* Only records close to max_reply_size meet this: the AUTH line is not
 * reserved in the record-size checks, so that configuring keys does not
 * shrink what records may hold for unsigned requests. */
__attribute__((cold, noinline)) static void
signed_too_big(struct tged_sink *s, const char *type, size_t type_len)
{
    __atomic_add_fetch(&auth_stats.skipped, 1, __ATOMIC_RELAXED);
    log_limited(&auth_big_limit, LOG_WARNING,
                "%s: record of type %.*s skipped in a signed answer: with "
                "its AUTH line (%zu bytes) it does not fit max_reply_size "
                "(%zu bytes)",
                s->inst ? tged_instance_name(s->inst) : "backend",
                (int)type_len, type, s->auth->extra, s->max_reply_size);
}

size_t sink_block_limit(size_t max_reply_size)
{
    /* start line, "RQ: " + 63 + CRLF, "ID: " + 64 + CRLF, final CRLF */
    size_t fixed =
        (sizeof(REPLY_START) - 1) + TGED_MAX_TYPE + 2 + 4 + TGED_MAX_ID + 2 + 2;
    return max_reply_size > fixed ? max_reply_size - fixed : 0;
}

/* Copies a type or an ID (at most 64 bytes) with fixed-size moves that
 * overlap rather than a library call; never reads or writes outside the
 * n bytes. */
static inline char *put_short(char *d, const char *s, size_t n)
{
    if (n >= 16) {
        for (size_t i = 0; i + 16 <= n; i += 16)
            memcpy(d + i, s + i, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
    return d + n;
}

/* The REPLY's start line, RQ and ID, without the final empty line; the
 * caller checked the size. */
static inline char *reply_head(const struct tged_sink *s, char *p,
                               const char *type, size_t type_len)
{
    memcpy(p, REPLY_START, sizeof(REPLY_START) - 1);
    p += sizeof(REPLY_START) - 1;
    p = put_short(p, type, type_len);
    memcpy(p, CRLF, 2);
    p += 2;
    if (s->id) {
        memcpy(p, "ID: ", 4);
        p += 4;
        p = put_short(p, s->id, s->id_len);
        memcpy(p, CRLF, 2);
        p += 2;
    }
    return p;
}

/* A REPLY to a signed request: the same, with the AUTH line in place of
 * the empty line's. Apart, so that the unsigned path stays as it was. */
__attribute__((noinline)) static int
add_signed(struct tged_sink *s, const char *type, size_t type_len,
           const char *block, size_t block_len)
{
    size_t need = (sizeof(REPLY_START) - 1) + type_len + 2 + block_len +
                  s->auth->extra + 2;
    if (s->id)
        need += 4 + s->id_len + 2;
    if (need > s->max_reply_size) {
        signed_too_big(s, type, type_len);
        return -E2BIG;
    }
    char *start = outq_reserve(s->q);
    char *p = reply_head(s, start, type, type_len);
    memcpy(p, block, block_len);
    p += block_len;
    size_t len =
        tged_auth_sign(s->auth->key, start, (size_t)(p - start),
                       s->max_reply_size, s->auth->now, s->auth->nonce);
    if (!len)
        return -E2BIG; /* not reached: the size was checked above */
    outq_commit(s->q, len);
    s->count++;
    return sink_full(s);
}

int sink_add_block(struct tged_sink *s, const char *type, size_t type_len,
                   const char *block, size_t block_len)
{
    if (sink_full(s))
        return 1;
    if (__builtin_expect(s->auth != NULL, 0))
        return add_signed(s, type, type_len, block, block_len);
    size_t need = (sizeof(REPLY_START) - 1) + type_len + 2 + block_len + 2;
    if (s->id)
        need += 4 + s->id_len + 2;
    if (need > s->max_reply_size)
        return -E2BIG;
    char *start = outq_reserve(s->q);
    char *p = reply_head(s, start, type, type_len);
    memcpy(p, block, block_len);
    p += block_len;
    memcpy(p, CRLF, 2);
    p += 2;
    outq_commit(s->q, (size_t)(p - start));
    s->count++;
    return sink_full(s);
}

static struct log_limit skip_limit = LOG_LIMIT_INIT(5, 10000);

TGED_API int tged_sink_add_fields(struct tged_sink *s, const char *type,
                                  size_t type_len,
                                  const struct tged_field *fields,
                                  size_t nfields)
{
    if (sink_full(s))
        return 1;
    /* Format the block on the stack, checking every field: a live source
     * is as untrusted as the network. */
    char block[TGED_MAX_DATAGRAM];
    struct tged_writer w = {.buf = block,
                            .cap = sink_block_limit(s->max_reply_size)};
    if (!tged_type_valid(type, type_len)) {
        log_limited(&skip_limit, LOG_WARNING,
                    "%s: record skipped: type is not valid",
                    s->inst ? tged_instance_name(s->inst) : "backend");
        return -EINVAL;
    }
    for (size_t i = 0; i < nfields; i++) {
        const struct tged_field *f = &fields[i];
        if (!tged_name_valid(f->name, f->name_len) ||
            tged_name_reserved(f->name, f->name_len) ||
            !tged_value_valid(f->value, f->value_len)) {
            log_limited(&skip_limit, LOG_WARNING,
                        "%s: record skipped: field '%.*s' is not valid TGED",
                        s->inst ? tged_instance_name(s->inst) : "backend",
                        (int)(f->name_len > 40 ? 40 : f->name_len), f->name);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (tged_name_eq(f->name, f->name_len, fields[j].name,
                             fields[j].name_len)) {
                log_limited(&skip_limit, LOG_WARNING,
                            "%s: record skipped: field '%.*s' appears twice",
                            s->inst ? tged_instance_name(s->inst) : "backend",
                            (int)f->name_len, f->name);
                return -EINVAL;
            }
        tged_writer_header(&w, f->name, f->name_len, f->value, f->value_len);
    }
    if (w.overflow) {
        log_limited(&skip_limit, LOG_WARNING,
                    "%s: record of type %.*s skipped: it does not fit "
                    "max_reply_size (%zu bytes)",
                    s->inst ? tged_instance_name(s->inst) : "backend",
                    (int)type_len, type, s->max_reply_size);
        return -E2BIG;
    }
    return sink_add_block(s, type, type_len, block, w.len);
}

TGED_API int tged_query_match(const struct tged_query *q,
                              const struct tged_field *fields, size_t nfields)
{
    for (size_t i = 0; i < q->nfilters; i++) {
        const struct tged_field *flt = &q->filters[i];
        size_t j;
        for (j = 0; j < nfields; j++) {
            if (tged_name_eq(flt->name, flt->name_len, fields[j].name,
                             fields[j].name_len))
                break;
        }
        if (j == nfields || !tged_name_eq(flt->value, flt->value_len,
                                          fields[j].value, fields[j].value_len))
            return 0;
    }
    return 1;
}

static const char *const reason_line[] = {
    [TGED_REASON_BAD_REQUEST] = "REASON: bad-request\r\n",
    [TGED_REASON_VERSION] = "REASON: version\r\n",
    [TGED_REASON_UNKNOWN_TYPE] = "REASON: unknown-type\r\n",
    [TGED_REASON_NO_MATCH] = "REASON: no-match\r\n",
    [TGED_REASON_UNAVAILABLE] = "REASON: unavailable\r\n",
};

void sink_invalid(struct outq *q, const char *rq, size_t rq_len, const char *id,
                  size_t id_len, int reason)
{
    sink_invalid_auth(q, rq, rq_len, id, id_len, reason, NULL);
}

void sink_invalid_auth(struct outq *q, const char *rq, size_t rq_len,
                       const char *id, size_t id_len, int reason,
                       const struct auth_reply *auth)
{
    /* At most 18 + 13 + 2 * (4 + 255 + 2) + 24 + 2 = 579 bytes, 715 with
     * the longest AUTH line: always fits a worker's buffers, which are
     * never below 1024 bytes. */
    char *start = outq_reserve(q);
    struct tged_writer w;
    tged_writer_start(&w, start, q->buf_size, TGED_METHOD_INVALID);
    tged_writer_raw(&w, "RP: INVALID\r\n", 13);
    if (rq)
        tged_writer_header(&w, "RQ", 2, rq, rq_len);
    if (id)
        tged_writer_header(&w, "ID", 2, id, id_len);
    const char *r = reason_line[reason];
    tged_writer_raw(&w, r, strlen(r));
    size_t len;
    if (auth)
        len = w.overflow ? 0
                         : tged_auth_sign(auth->key, start, w.len, q->buf_size,
                                          auth->now, auth->nonce);
    else
        len = tged_writer_finish(&w);
    if (len)
        outq_commit(q, len);
}
