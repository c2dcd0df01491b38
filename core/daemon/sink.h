/* core/daemon/sink.h - where answers are formatted: a queue of datagrams.
 *
 * A worker owns one outq: a fixed array of send buffers, allocated once.
 * Answers are written straight into the next free buffer; when the array
 * is full it is flushed (sendmmsg) and reused, so the request path never
 * allocates.
 */
#ifndef TGEDD_SINK_H
#define TGEDD_SINK_H

#include <stddef.h>
#include <stdint.h>

#include <tged/plugin.h>

struct auth_reply; /* keys.h */

struct out_slot {
    char *buf;
    size_t len;
    unsigned req; /* which received request this answers */
};

struct outq {
    struct out_slot *slots;
    size_t cap;      /* slots */
    size_t n;        /* slots filled */
    size_t buf_size; /* bytes in each slot's buffer */
    unsigned req;    /* the request being answered now */
    /* Sends slots[0..n) and sets n to 0. */
    void (*flush)(struct outq *q, void *arg);
    void *flush_arg;
};

/* Allocate cap slots of buf_size bytes; 0 or -ENOMEM. */
int outq_init(struct outq *q, size_t cap, size_t buf_size);
/* Grow every buffer to at least buf_size (after a reload); 0 or -ENOMEM. */
int outq_resize(struct outq *q, size_t buf_size);
void outq_free(struct outq *q);

/* The next free buffer (flushing first when all are used). */
char *outq_reserve(struct outq *q);
void outq_commit(struct outq *q, size_t len);

struct tged_sink {
    struct outq *q;
    const char *id; /* the request's ID, NULL if none */
    size_t id_len;
    size_t max_replies;
    size_t max_reply_size;
    size_t count;                  /* REPLYs added */
    struct tged_instance *inst;    /* backend being asked, for its log */
    const struct auth_reply *auth; /* sign every REPLY; NULL: unsigned */
};

void sink_init(struct tged_sink *s, struct outq *q, const char *id,
               size_t id_len, size_t max_replies, size_t max_reply_size);

/* Add a REPLY whose field lines are already formatted ("NAME: value\r\n"
 * each). Returns 0 to go on, 1 when full, -E2BIG when it does not fit
 * (signed: when it does not fit with its AUTH line; logged). */
int sink_add_block(struct tged_sink *s, const char *type, size_t type_len,
                   const char *block, size_t block_len);

/* 1 when no more REPLYs may be added. */
static inline int sink_full(const struct tged_sink *s)
{
    return s->count >= s->max_replies;
}

/* Bytes a record's field block may take so that the REPLY fits max_size
 * with the longest RQ and ID (spec section 4). */
size_t sink_block_limit(size_t max_reply_size);

/* Write an INVALID answer for the current request. */
void sink_invalid(struct outq *q, const char *rq, size_t rq_len, const char *id,
                  size_t id_len, int reason);
/* The same, signed as auth says (unsigned when auth is NULL). */
void sink_invalid_auth(struct outq *q, const char *rq, size_t rq_len,
                       const char *id, size_t id_len, int reason,
                       const struct auth_reply *auth);

#endif
