/* plugins/pipe/answer.c - one answer of a program, gathered and checked
 * whole before any record of it is served.
 *
 * A line that breaks the protocol anywhere in an answer makes the whole
 * answer malformed: nothing of it may reach a client, so records wait
 * here until END. The memory grows to the largest answer seen and is
 * reused for the next request of the same pipe.
 *
 * SPDX-License-Identifier: MIT
 */
#include "answer.h"

#include <stdlib.h>
#include <string.h>

void answer_init(struct pipe_answer *a)
{
    memset(a, 0, sizeof(*a));
}

void answer_free(struct pipe_answer *a)
{
    free(a->text);
    free(a->fields);
    free(a->recs);
    answer_init(a);
}

void answer_reset(struct pipe_answer *a, uint64_t id)
{
    a->id = id;
    a->status = TGED_FAILED;
    a->done = a->open = 0;
    a->dropped = a->text_len = a->nfields = a->nrecs = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : first;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static const char *close_record(struct pipe_answer *a)
{
    if (!a->open)
        return NULL;
    if (a->nfields == a->open_first)
        return "a record without any F line";
    a->open = 0;
    if (a->nrecs >= PIPE_MAX_RECORDS || a->text_len > PIPE_MAX_ANSWER) {
        /* Checked whole, but not kept: more than any answer can send. */
        a->nfields = a->open_first;
        a->text_len = a->open_text;
        a->dropped++;
        return NULL;
    }
    if (grow((void **)&a->recs, &a->recs_cap, a->nrecs + 1, sizeof(*a->recs),
             16))
        return "tgedd is out of memory";
    a->recs[a->nrecs++] =
        (struct pipe_rec){a->open_first, a->nfields - a->open_first};
    return NULL;
}

static const char *add_field(struct pipe_answer *a, const struct tged_field *f)
{
    if (!a->open)
        return "an F line outside a record (before any R line)";
    if (a->nfields - a->open_first >= PIPE_MAX_FIELDS)
        return "a record with more than 126 fields";
    for (size_t i = a->open_first; i < a->nfields; i++) {
        const struct pipe_fref *o = &a->fields[i];
        if (tged_name_eq(a->text + o->name_off, o->name_len, f->name,
                         f->name_len))
            return "a field name repeated within the record";
    }
    if (grow((void **)&a->fields, &a->fields_cap, a->nfields + 1,
             sizeof(*a->fields), 64) ||
        grow((void **)&a->text, &a->text_cap,
             a->text_len + f->name_len + f->value_len, 1, 4096))
        return "tgedd is out of memory";
    struct pipe_fref *r = &a->fields[a->nfields++];
    r->name_off = (uint32_t)a->text_len;
    r->name_len = (uint32_t)f->name_len;
    memcpy(a->text + a->text_len, f->name, f->name_len);
    a->text_len += f->name_len;
    r->value_off = (uint32_t)a->text_len;
    r->value_len = (uint32_t)f->value_len;
    memcpy(a->text + a->text_len, f->value, f->value_len);
    a->text_len += f->value_len;
    return NULL;
}

const char *answer_feed(struct pipe_answer *a, const char *line, size_t len)
{
    struct pipe_line l;
    const char *err = pipe_parse_line(line, len, &l);
    if (err)
        return err;
    if (a->done)
        return "a line after END";
    switch (l.kind) {
    case PIPE_LINE_RECORD:
        if (l.id != a->id)
            return "R names another request's id";
        if ((err = close_record(a)))
            return err;
        a->open = 1;
        a->open_first = a->nfields;
        a->open_text = a->text_len;
        return NULL;
    case PIPE_LINE_FIELD:
        return add_field(a, &l.field);
    default:
        if (l.id != a->id)
            return "END names another request's id";
        if ((err = close_record(a)))
            return err;
        if (l.status != TGED_FOUND && (a->nrecs || a->dropped))
            return "records with a status other than found";
        a->status = l.status;
        a->done = 1;
        return NULL;
    }
}

struct pipe_view answer_view(const struct pipe_answer *a)
{
    /* Dropped records were rolled back: what is kept is contiguous. */
    return (struct pipe_view){a->status, a->nrecs,  a->nfields, a->text_len,
                              a->recs,   a->fields, a->text};
}

size_t view_record(const struct pipe_view *v, size_t i, struct tged_field *f)
{
    const struct pipe_rec *r = &v->recs[i];
    for (size_t k = 0; k < r->nfields; k++) {
        const struct pipe_fref *x = &v->fields[r->first + k];
        f[k] = (struct tged_field){v->text + x->name_off, x->name_len,
                                   v->text + x->value_off, x->value_len};
    }
    return r->nfields;
}
