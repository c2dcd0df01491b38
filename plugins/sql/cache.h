/* plugins/sql/cache.h - answers of the database, kept per request key.
 * SPDX-License-Identifier: MIT */
#ifndef TGED_SQL_CACHE_H
#define TGED_SQL_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <tged/plugin.h>

/* One record of an answer: the type to write and its fields. */
struct sql_row {
    const char *type; /* NULL: the type of the request */
    size_t type_len;
    size_t nfields;
    struct tged_field *fields; /* point into the row's own block */
};

/*
 * What the database answered for one key, immutable once stored. Shared by
 * the cache and the lookups emitting it through a reference count, so a
 * lookup never holds a lock while it formats records.
 */
struct sql_answer {
    int refs;
    int status;         /* TGED_FOUND or TGED_NO_MATCH */
    int64_t fetched_ms; /* monotonic time of the query */
    size_t nrows;
    struct sql_row *rows;
    size_t ncols;
    char **cols; /* column names, upper case; fields point to them */
};

struct sql_answer *sql_answer_new(void);
void sql_answer_ref(struct sql_answer *a);
void sql_answer_unref(struct sql_answer *a);

struct sql_entry {
    struct sql_entry *hnext;
    struct sql_entry *prev, *next; /* least recently used order */
    uint64_t hash;
    struct sql_answer *ans; /* NULL until the first answer */
    uint64_t gen;           /* bumped by every answer stored */
    unsigned pending;       /* a query for it is queued or running */
    unsigned waiters;       /* lookups waiting for it; never evicted then */
    size_t key_len;
    char key[];
};

struct sql_shard {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast when an entry of the shard changes */
    struct sql_entry **buckets;
    size_t nbuckets, count, cap;
    struct sql_entry lru; /* sentinel: lru.next is the most recent */
};

#define SQL_SHARDS 16

struct sql_cache {
    struct sql_shard shards[SQL_SHARDS];
};

/* A cache of at most `capacity` entries (entries being fetched or waited
 * for may exceed it for a while). 0 or -ENOMEM. */
int sql_cache_init(struct sql_cache *c, size_t capacity);
void sql_cache_destroy(struct sql_cache *c);

uint64_t sql_key_hash(const char *key, size_t len);

/* Lock the key's shard and return its entry, made (evicting the least
 * recently used idle entry) when `create` and absent; NULL when absent or
 * out of memory, the shard still locked. Unlock with sql_shard_unlock(). */
struct sql_entry *sql_cache_get(struct sql_cache *c, const char *key,
                                size_t len, uint64_t hash, int create,
                                struct sql_shard **shard);
void sql_shard_unlock(struct sql_shard *sh);

/* Wait on the shard until woken or deadline (monotonic ms); the shard is
 * locked again on return. 1 when the deadline passed. */
int sql_shard_wait(struct sql_shard *sh, int64_t deadline_ms);

/* Store a new answer for a key (taking the caller's reference), clear its
 * pending mark and wake its waiters. */
void sql_cache_store(struct sql_cache *c, const char *key, size_t len,
                     struct sql_answer *a);
/* No answer is coming for the key: clear its pending mark, wake waiters. */
void sql_cache_cancel(struct sql_cache *c, const char *key, size_t len);
/* Forget every answer (the data changed under them). */
void sql_cache_clear(struct sql_cache *c);

int64_t sql_now_ms(void);

#endif
