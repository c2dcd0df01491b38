/* plugins/pipe/cache.h - recent answers of the programs, by question.
 * SPDX-License-Identifier: MIT */
#ifndef TGED_PIPE_CACHE_H
#define TGED_PIPE_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"

/* An answer as the program gave it for one key, immutable once stored;
 * freed when the cache and every lookup emitting it let go. */
struct cache_entry {
    int refs;
    int64_t expires_ms;
    struct pipe_view view; /* points into data */
    const char *key;       /* in data */
    size_t key_len;
    char data[]; /* the view's arrays, the key, the text */
};

/* At most `size` answers, one per slot of a table: a new answer whose key
 * lands on a taken slot replaces the one there. */
struct cache {
    pthread_mutex_t mu;
    int64_t ttl_ms;
    size_t size;
    struct cache_entry **slots;
};

int cache_init(struct cache *c, size_t size, int64_t ttl_ms);
void cache_destroy(struct cache *c);

/* The entry of key if fresh at now, with a reference: give it back with
 * cache_release(). NULL when absent or expired. Any thread. */
struct cache_entry *cache_get(struct cache *c, const char *key, size_t len,
                              int64_t now_ms);
void cache_release(struct cache_entry *e);

/* Store a copy of an answer under key. Any thread; does nothing when out
 * of memory (the answer is simply not cached). */
void cache_put(struct cache *c, const char *key, size_t len,
               const struct pipe_view *v, int64_t now_ms);

#endif
