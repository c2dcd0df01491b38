/* tests/fuzz/fuzz_host.c - a backend instance without tgedd, and the check
 * that what a plugin added to a record set is served well-formed.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <tged/plugin.h>
#include <tged/protocol.h>

#include "fuzz.h"
#include "host.h"
#include "log.h"
#include "sink.h"

/* The wrappers call the real functions. */
#undef tged_recset_add
#undef tged_recset_build
#undef tged_recset_builder_free
#include "fuzz_host.h"
#undef tged_recset_add
#undef tged_recset_build
#undef tged_recset_builder_free

#define KEPT 32
#define MAX_REPLIES 8

/* A record the builder accepted: its type and its first and last fields,
 * copied (a plugin may free its text before building). */
struct kept {
    const void *owner; /* the builder, then the set built from it */
    char type[TGED_MAX_TYPE];
    size_t type_len;
    char name[2][TGED_MAX_NAME], value[2][TGED_MAX_VALUE];
    size_t name_len[2], value_len[2];
    size_t nfields;
};

static struct kept kept[KEPT];
static size_t nkept;

struct tged_instance *fuzz_instance(void)
{
    static struct tged_instance *inst;
    if (!inst) {
        fuzz_quiet();
        log_set_level(LOG_DEBUG);
        inst = instance_new("fuzz", NULL, NULL, TGED_DEFAULT_REPLY_SIZE);
        FUZZ_CHECK(inst != NULL);
    }
    return inst;
}

void fuzz_records_reset(void)
{
    nkept = 0;
}

int fuzz_recset_add(struct tged_recset_builder *b, const char *type,
                    size_t type_len, const struct tged_field *fields,
                    size_t nfields)
{
    int rc = tged_recset_add(b, type, type_len, fields, nfields);
    if (rc == 0) {
        /* Accepted: then it is valid TGED. */
        FUZZ_CHECK(tged_type_valid(type, type_len));
        FUZZ_CHECK(nfields > 0 && nfields <= TGED_MSG_HEADERS - 2);
        for (size_t i = 0; i < nfields; i++) {
            FUZZ_CHECK(tged_name_valid(fields[i].name, fields[i].name_len));
            FUZZ_CHECK(!tged_name_reserved(fields[i].name, fields[i].name_len));
            FUZZ_CHECK(tged_value_valid(fields[i].value, fields[i].value_len));
        }
    } else {
        FUZZ_CHECK(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
        const char *err = tged_recset_builder_error(b);
        FUZZ_CHECK(err && err[0]);
    }
    if (rc != 0 || nkept == KEPT)
        return rc;
    struct kept *k = &kept[nkept++];
    k->owner = b;
    memcpy(k->type, type, type_len);
    k->type_len = type_len;
    k->nfields = nfields;
    for (int j = 0; j < 2; j++) {
        const struct tged_field *f = &fields[j ? nfields - 1 : 0];
        memcpy(k->name[j], f->name, f->name_len);
        k->name_len[j] = f->name_len;
        if (f->value_len)
            memcpy(k->value[j], f->value, f->value_len);
        k->value_len[j] = f->value_len;
    }
    return rc;
}

/* Drop what was kept for a builder that is gone; with `to`, hand it to
 * the set built from it instead. */
static void rehome(const void *from, const void *to)
{
    size_t o = 0;
    for (size_t i = 0; i < nkept; i++) {
        if (kept[i].owner != from) {
            kept[o++] = kept[i];
        } else if (to) {
            kept[i].owner = to;
            kept[o++] = kept[i];
        }
    }
    nkept = o;
}

struct tged_recset *fuzz_recset_build(struct tged_recset_builder *b)
{
    struct tged_recset *rs = tged_recset_build(b);
    rehome(b, rs);
    return rs;
}

void fuzz_recset_builder_free(struct tged_recset_builder *b)
{
    rehome(b, NULL);
    tged_recset_builder_free(b);
}

/* Every answer in q parses as a REPLY of type k->type, carrying the
 * filters. */
static void check_answers(const struct outq *q, const struct kept *k,
                          const struct tged_field *flt, size_t nflt,
                          const char *id, size_t id_len)
{
    static struct tged_message m;
    for (size_t i = 0; i < q->n; i++) {
        const struct out_slot *s = &q->slots[i];
        FUZZ_CHECK(s->len <= TGED_DEFAULT_REPLY_SIZE);
        int st = tged_parse(s->buf, s->len, 0, &m);
        if (st != TGED_PARSE_OK)
            fprintf(fuzz_err, "answer does not parse (%s): %.*s\n", m.error,
                    (int)s->len, s->buf);
        FUZZ_CHECK(st == TGED_PARSE_OK);
        FUZZ_CHECK(m.method == TGED_METHOD_REPLY);
        FUZZ_CHECK(m.rq.ptr &&
                   tged_name_eq(m.rq.ptr, m.rq.len, k->type, k->type_len));
        FUZZ_CHECK(!id || (m.id.ptr && m.id.len == id_len &&
                           !memcmp(m.id.ptr, id, id_len)));
        FUZZ_CHECK(m.body.len == 0);
        for (size_t f = 0; f < nflt; f++) {
            size_t j;
            for (j = 0; j < m.nheaders; j++)
                if (tged_name_eq(m.headers[j].name.ptr, m.headers[j].name.len,
                                 flt[f].name, flt[f].name_len))
                    break;
            FUZZ_CHECK(j < m.nheaders);
            FUZZ_CHECK(tged_name_eq(m.headers[j].value.ptr,
                                    m.headers[j].value.len, flt[f].value,
                                    flt[f].value_len));
        }
    }
}

void fuzz_serve_check(const struct tged_recset *rs)
{
    static struct outq q;
    /* The longest ID a request may carry: a record accepted must fit with
     * it. */
    static const char id[TGED_MAX_ID + 1] =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    if (!q.slots)
        FUZZ_CHECK(outq_init(&q, MAX_REPLIES, TGED_DEFAULT_REPLY_SIZE) == 0);
    for (size_t i = 0; i < nkept; i++) {
        const struct kept *k = &kept[i];
        if (k->owner != rs)
            continue;
        struct tged_field flt[2];
        size_t nflt = k->nfields > 1 ? 2 : 1;
        for (size_t j = 0; j < nflt; j++)
            flt[j] = (struct tged_field){k->name[j], k->name_len[j],
                                         k->value[j], k->value_len[j]};
        struct tged_query all = {.type = k->type,
                                 .type_len = k->type_len,
                                 .type_hash =
                                     tged_hash_ci(k->type, k->type_len)};
        struct tged_query some = all;
        some.filters = flt;
        some.nfilters = nflt;
        struct tged_sink sink;

        q.n = 0;
        sink_init(&sink, &q, NULL, 0, MAX_REPLIES, TGED_DEFAULT_REPLY_SIZE);
        FUZZ_CHECK(tged_recset_lookup(rs, &all, &sink) == TGED_FOUND);
        FUZZ_CHECK(q.n == sink.count && q.n > 0);
        check_answers(&q, k, NULL, 0, NULL, 0);

        q.n = 0;
        sink_init(&sink, &q, id, TGED_MAX_ID, MAX_REPLIES,
                  TGED_DEFAULT_REPLY_SIZE);
        FUZZ_CHECK(tged_recset_lookup(rs, &some, &sink) == TGED_FOUND);
        FUZZ_CHECK(q.n == sink.count && q.n > 0);
        check_answers(&q, k, flt, nflt, id, TGED_MAX_ID);
    }
}
