/* plugins/pipe/answer.h - one answer of a program, gathered and checked
 * whole before any record of it is served.
 * SPDX-License-Identifier: MIT */
#ifndef TGED_PIPE_ANSWER_H
#define TGED_PIPE_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Records kept from one answer: the largest max_replies. */
#define PIPE_MAX_RECORDS 1024
/* Bytes of field text kept from one answer. */
#define PIPE_MAX_ANSWER (256 * 1024)

struct pipe_fref {
    uint32_t name_off, name_len, value_off, value_len;
};

struct pipe_rec {
    size_t first, nfields; /* in fields[] */
};

/* An answer as stored: text and indexes, no pointers, so that it can be
 * copied (into the cache) with memcpy. */
struct pipe_view {
    int status; /* an enum tged_lookup_status */
    size_t nrecs, nfields, text_len;
    const struct pipe_rec *recs;
    const struct pipe_fref *fields;
    const char *text;
};

struct pipe_answer {
    uint64_t id;
    int status, done;
    int open;          /* a record is being read */
    size_t open_first; /* its first field */
    size_t open_text;  /* text length before it */
    size_t dropped;    /* records read but not kept: over the limits */
    char *text;
    size_t text_len, text_cap;
    struct pipe_fref *fields;
    size_t nfields, fields_cap;
    struct pipe_rec *recs;
    size_t nrecs, recs_cap;
};

void answer_init(struct pipe_answer *a);
void answer_free(struct pipe_answer *a);
/* Start reading the answer to request id (keeps the memory). */
void answer_reset(struct pipe_answer *a, uint64_t id);

/**
 * Take one line of the answer. NULL when good (a->done is set after the
 * END line), else a static text saying why the answer is malformed.
 */
const char *answer_feed(struct pipe_answer *a, const char *line, size_t len);

/* The answer read, valid until the next answer_reset(). */
struct pipe_view answer_view(const struct pipe_answer *a);

/* Fill f (PIPE_MAX_FIELDS entries) with record i of a view; its count. */
size_t view_record(const struct pipe_view *v, size_t i, struct tged_field *f);

#endif
