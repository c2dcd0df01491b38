/* plugins/pipe/cache.c - recent answers of the programs, by question.
 *
 * Entries are immutable and reference-counted: a lookup holds the mutex
 * only to find an entry and take a reference, never while it formats
 * records. One entry per table slot keeps the memory bounded without an
 * eviction list; a collision costs one more question to the program.
 *
 * SPDX-License-Identifier: MIT
 */
#include "cache.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

int cache_init(struct cache *c, size_t size, int64_t ttl_ms)
{
    memset(c, 0, sizeof(*c));
    c->slots = calloc(size, sizeof(*c->slots));
    if (!c->slots)
        return -ENOMEM;
    c->size = size;
    c->ttl_ms = ttl_ms;
    pthread_mutex_init(&c->mu, NULL);
    return 0;
}

void cache_release(struct cache_entry *e)
{
    if (e && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(e);
}

void cache_destroy(struct cache *c)
{
    if (!c->slots)
        return;
    for (size_t i = 0; i < c->size; i++)
        cache_release(c->slots[i]);
    free(c->slots);
    pthread_mutex_destroy(&c->mu);
    memset(c, 0, sizeof(*c));
}

static size_t slot_of(const struct cache *c, const char *key, size_t len)
{
    return (size_t)(tged_hash_ci(key, len) % c->size);
}

struct cache_entry *cache_get(struct cache *c, const char *key, size_t len,
                              int64_t now_ms)
{
    size_t i = slot_of(c, key, len);
    struct cache_entry *e;
    pthread_mutex_lock(&c->mu);
    e = c->slots[i];
    if (e && (e->key_len != len || memcmp(e->key, key, len) ||
              now_ms >= e->expires_ms))
        e = NULL;
    if (e)
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->mu);
    return e;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

void cache_put(struct cache *c, const char *key, size_t len,
               const struct pipe_view *v, int64_t now_ms)
{
    /* One block: the records, the field references (the arrays first, for
     * their alignment), the key, the text. */
    size_t recs = align8(v->nrecs * sizeof(struct pipe_rec));
    size_t fields = align8(v->nfields * sizeof(struct pipe_fref));
    struct cache_entry *e =
        malloc(sizeof(*e) + recs + fields + len + v->text_len);
    if (!e)
        return;
    _Static_assert(offsetof(struct cache_entry, data) % alignof(size_t) == 0,
                   "cache entries' arrays must be aligned");
    struct pipe_rec *r = (struct pipe_rec *)(void *)e->data;
    struct pipe_fref *f = (struct pipe_fref *)(void *)(e->data + recs);
    char *k = e->data + recs + fields;
    char *t = k + len;
    if (v->nrecs)
        memcpy(r, v->recs, v->nrecs * sizeof(*r));
    if (v->nfields)
        memcpy(f, v->fields, v->nfields * sizeof(*f));
    memcpy(k, key, len);
    if (v->text_len)
        memcpy(t, v->text, v->text_len);
    e->refs = 1;
    e->expires_ms = now_ms + c->ttl_ms;
    e->key = k;
    e->key_len = len;
    e->view = (struct pipe_view){v->status, v->nrecs, v->nfields, v->text_len,
                                 r,         f,        t};
    size_t i = slot_of(c, key, len);
    pthread_mutex_lock(&c->mu);
    struct cache_entry *old = c->slots[i];
    c->slots[i] = e;
    pthread_mutex_unlock(&c->mu);
    cache_release(old);
}
