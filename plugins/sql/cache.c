/* plugins/sql/cache.c - answers of the database, kept per request key.
 *
 * A hash table cut into shards, each behind a mutex held only to find an
 * entry and take a reference to its answer: lookups on other shards never
 * meet, and no lookup ever waits for the database while another one holds
 * the lock (a waiting lookup sleeps on the shard's condition variable,
 * which releases it). Each shard keeps its own least-recently-used list,
 * so eviction is O(1) and the bound holds per shard.
 *
 * SPDX-License-Identifier: MIT
 */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t sql_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sql_answer *sql_answer_new(void)
{
    struct sql_answer *a = calloc(1, sizeof(*a));
    if (a)
        a->refs = 1;
    return a;
}

void sql_answer_ref(struct sql_answer *a)
{
    __atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
}

void sql_answer_unref(struct sql_answer *a)
{
    if (!a || __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL))
        return;
    for (size_t i = 0; i < a->nrows; i++)
        free(a->rows[i].fields);
    free(a->rows);
    for (size_t i = 0; i < a->ncols; i++)
        free(a->cols[i]);
    free(a->cols);
    free(a);
}

uint64_t sql_key_hash(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

static void lru_unlink(struct sql_entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void lru_front(struct sql_shard *sh, struct sql_entry *e)
{
    e->next = sh->lru.next;
    e->prev = &sh->lru;
    sh->lru.next->prev = e;
    sh->lru.next = e;
}

int sql_cache_init(struct sql_cache *c, size_t capacity)
{
    memset(c, 0, sizeof(*c));
    size_t per = (capacity + SQL_SHARDS - 1) / SQL_SHARDS;
    if (per < 1)
        per = 1;
    size_t nb = 4;
    while (nb < per)
        nb *= 2;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (size_t i = 0; i < SQL_SHARDS; i++) {
        struct sql_shard *sh = &c->shards[i];
        pthread_mutex_init(&sh->mu, NULL);
        pthread_cond_init(&sh->cv, &ca);
        sh->lru.next = sh->lru.prev = &sh->lru;
        sh->cap = per;
        sh->nbuckets = nb;
        sh->buckets = calloc(nb, sizeof(*sh->buckets));
        if (!sh->buckets) {
            pthread_condattr_destroy(&ca);
            sql_cache_destroy(c);
            return -ENOMEM;
        }
    }
    pthread_condattr_destroy(&ca);
    return 0;
}

static void entry_remove(struct sql_shard *sh, struct sql_entry *e)
{
    struct sql_entry **pp = &sh->buckets[e->hash & (sh->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(e);
    sh->count--;
    sql_answer_unref(e->ans);
    free(e);
}

void sql_cache_destroy(struct sql_cache *c)
{
    for (size_t i = 0; i < SQL_SHARDS; i++) {
        struct sql_shard *sh = &c->shards[i];
        if (!sh->buckets)
            continue;
        while (sh->lru.next != &sh->lru)
            entry_remove(sh, sh->lru.next);
        free(sh->buckets);
        sh->buckets = NULL;
        pthread_mutex_destroy(&sh->mu);
        pthread_cond_destroy(&sh->cv);
    }
}

static struct sql_shard *shard_of(struct sql_cache *c, uint64_t hash)
{
    return &c->shards[(hash >> 56) % SQL_SHARDS];
}

static struct sql_entry *find(struct sql_shard *sh, const char *key, size_t len,
                              uint64_t hash)
{
    for (struct sql_entry *e = sh->buckets[hash & (sh->nbuckets - 1)]; e;
         e = e->hnext)
        if (e->hash == hash && e->key_len == len && !memcmp(e->key, key, len))
            return e;
    return NULL;
}

struct sql_entry *sql_cache_get(struct sql_cache *c, const char *key,
                                size_t len, uint64_t hash, int create,
                                struct sql_shard **shard)
{
    struct sql_shard *sh = shard_of(c, hash);
    *shard = sh;
    pthread_mutex_lock(&sh->mu);
    struct sql_entry *e = find(sh, key, len, hash);
    if (e) {
        lru_unlink(e);
        lru_front(sh, e);
        return e;
    }
    if (!create)
        return NULL;
    if (sh->count >= sh->cap) {
        /* Entries being fetched or waited for stay: the queue and the
         * lookup threads bound how many there can be. */
        for (struct sql_entry *v = sh->lru.prev; v != &sh->lru; v = v->prev) {
            if (!v->pending && !v->waiters) {
                entry_remove(sh, v);
                break;
            }
        }
    }
    e = calloc(1, sizeof(*e) + len);
    if (!e)
        return NULL;
    e->hash = hash;
    e->key_len = len;
    memcpy(e->key, key, len);
    struct sql_entry **b = &sh->buckets[hash & (sh->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
    lru_front(sh, e);
    sh->count++;
    return e;
}

void sql_shard_unlock(struct sql_shard *sh)
{
    pthread_mutex_unlock(&sh->mu);
}

int sql_shard_wait(struct sql_shard *sh, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000,
                          .tv_nsec = (deadline_ms % 1000) * 1000000};
    return pthread_cond_timedwait(&sh->cv, &sh->mu, &ts) == ETIMEDOUT;
}

void sql_cache_store(struct sql_cache *c, const char *key, size_t len,
                     struct sql_answer *a)
{
    uint64_t h = sql_key_hash(key, len);
    struct sql_shard *sh;
    struct sql_entry *e = sql_cache_get(c, key, len, h, 1, &sh);
    struct sql_answer *old = NULL;
    if (e) {
        old = e->ans;
        e->ans = a;
        e->gen++;
        e->pending = 0;
    } else {
        old = a; /* out of memory: the answer is lost, not leaked */
    }
    pthread_cond_broadcast(&sh->cv);
    sql_shard_unlock(sh);
    sql_answer_unref(old);
}

void sql_cache_cancel(struct sql_cache *c, const char *key, size_t len)
{
    uint64_t h = sql_key_hash(key, len);
    struct sql_shard *sh;
    struct sql_entry *e = sql_cache_get(c, key, len, h, 0, &sh);
    if (e)
        e->pending = 0;
    pthread_cond_broadcast(&sh->cv);
    sql_shard_unlock(sh);
}

void sql_cache_clear(struct sql_cache *c)
{
    for (size_t i = 0; i < SQL_SHARDS; i++) {
        struct sql_shard *sh = &c->shards[i];
        pthread_mutex_lock(&sh->mu);
        struct sql_entry *e = sh->lru.next;
        while (e != &sh->lru) {
            struct sql_entry *next = e->next;
            if (!e->pending && !e->waiters) {
                entry_remove(sh, e);
            } else if (e->ans) {
                sql_answer_unref(e->ans);
                e->ans = NULL;
            }
            e = next;
        }
        pthread_mutex_unlock(&sh->mu);
    }
}
