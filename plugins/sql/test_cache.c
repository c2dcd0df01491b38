/* plugins/sql/test_cache.c - unit tests of the answer cache: hits,
 * eviction order, entries in use never evicted, waits woken by stores.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"

static struct sql_cache C;

static struct sql_entry *get(const char *key, int create, struct sql_shard **sh)
{
    return sql_cache_get(&C, key, strlen(key), sql_key_hash(key, strlen(key)),
                         create, sh);
}

static int present(const char *key)
{
    struct sql_shard *sh;
    struct sql_entry *e = get(key, 0, &sh);
    sql_shard_unlock(sh);
    return e != NULL;
}

static struct sql_answer *answer(int64_t t)
{
    struct sql_answer *a = sql_answer_new();
    ck_assert_ptr_nonnull(a);
    a->fetched_ms = t;
    return a;
}

START_TEST(store_then_hit)
{
    ck_assert_int_eq(sql_cache_init(&C, 64), 0);
    ck_assert(!present("a"));
    sql_cache_store(&C, "a", 1, answer(42));
    struct sql_shard *sh;
    struct sql_entry *e = get("a", 0, &sh);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->ans->fetched_ms, 42);
    ck_assert_int_eq(e->gen, 1);
    struct sql_answer *held = e->ans;
    sql_answer_ref(held);
    sql_shard_unlock(sh);
    /* A new answer replaces the old; a lookup holding the old keeps it. */
    sql_cache_store(&C, "a", 1, answer(43));
    ck_assert_int_eq(held->fetched_ms, 42);
    sql_answer_unref(held);
    e = get("a", 0, &sh);
    ck_assert_int_eq(e->ans->fetched_ms, 43);
    sql_shard_unlock(sh);
    sql_cache_clear(&C);
    ck_assert(!present("a"));
    sql_cache_destroy(&C);
}
END_TEST

START_TEST(bounded_and_least_recent_goes)
{
    /* One entry per shard: keys that share a shard evict each other. */
    ck_assert_int_eq(sql_cache_init(&C, SQL_SHARDS), 0);
    char keys[SQL_SHARDS * 8][16];
    size_t n = 0;
    for (int i = 0; n < 3 && i < 100000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        if ((sql_key_hash(k, strlen(k)) >> 56) % SQL_SHARDS == 0)
            strcpy(keys[n++], k);
    }
    ck_assert_int_eq(n, 3);
    sql_cache_store(&C, keys[0], strlen(keys[0]), answer(1));
    sql_cache_store(&C, keys[1], strlen(keys[1]), answer(2));
    ck_assert(!present(keys[0]));
    ck_assert(present(keys[1]));
    /* An entry being fetched stays, over the bound. */
    struct sql_shard *sh;
    struct sql_entry *e = get(keys[1], 0, &sh);
    e->pending = 1;
    sql_shard_unlock(sh);
    sql_cache_store(&C, keys[2], strlen(keys[2]), answer(3));
    ck_assert(present(keys[1]));
    ck_assert(present(keys[2]));
    sql_cache_destroy(&C);
}
END_TEST

static void *store_later(void *arg)
{
    usleep(50000);
    sql_cache_store(&C, "w", 1, answer(7));
    return arg;
}

START_TEST(waiter_woken_by_store)
{
    ck_assert_int_eq(sql_cache_init(&C, 64), 0);
    struct sql_shard *sh;
    struct sql_entry *e = get("w", 1, &sh);
    e->pending = 1;
    e->waiters++;
    uint64_t gen = e->gen;
    pthread_t t;
    pthread_create(&t, NULL, store_later, NULL);
    int64_t start = sql_now_ms();
    int timed_out = 0;
    while (e->gen == gen && !timed_out)
        timed_out = sql_shard_wait(sh, start + 5000);
    e->waiters--;
    ck_assert(!timed_out);
    ck_assert_int_eq(e->ans->fetched_ms, 7);
    ck_assert_int_eq(e->pending, 0);
    sql_shard_unlock(sh);
    pthread_join(t, NULL);
    ck_assert_int_lt(sql_now_ms() - start, 4000);
    /* And a wait with nobody to wake it ends at its deadline. */
    e = get("w", 1, &sh);
    start = sql_now_ms();
    ck_assert(sql_shard_wait(sh, start + 30));
    sql_shard_unlock(sh);
    ck_assert_int_ge(sql_now_ms() - start, 29);
    sql_cache_destroy(&C);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql_cache");
    TCase *tc = tcase_create("cache");
    tcase_add_test(tc, store_then_hit);
    tcase_add_test(tc, bounded_and_least_recent_goes);
    tcase_add_test(tc, waiter_woken_by_store);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
