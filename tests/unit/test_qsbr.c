/* tests/unit/test_qsbr.c - retired snapshots are freed only when no reader
 * can hold them.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "qsbr.h"

static int freed;

static void count_free(void *p)
{
    freed++;
    free(p);
}

START_TEST(waits_for_online_readers)
{
    freed = 0;
    struct qsbr_reader *a = qsbr_register(), *b = qsbr_register();
    qsbr_online(a);
    qsbr_online(b);
    qsbr_retire(malloc(1), count_free);
    ck_assert_uint_eq(qsbr_reclaim(0), 1);
    ck_assert_int_eq(freed, 0);
    qsbr_quiescent(a);
    ck_assert_uint_eq(qsbr_reclaim(0), 1); /* b may still hold it */
    qsbr_offline(b);
    ck_assert_uint_eq(qsbr_reclaim(0), 0);
    ck_assert_int_eq(freed, 1);
    /* A reader that was quiescent before the retirement holds nothing
     * newer, but the epoch it saw is older: it must pass again. */
    qsbr_online(b);
    qsbr_retire(malloc(1), count_free);
    qsbr_quiescent(a);
    ck_assert_uint_eq(qsbr_reclaim(0), 1);
    qsbr_quiescent(b);
    ck_assert_uint_eq(qsbr_reclaim(0), 0);
    ck_assert_int_eq(freed, 2);
    qsbr_unregister(a);
    qsbr_unregister(b);
}
END_TEST

START_TEST(no_readers_frees_at_once)
{
    freed = 0;
    qsbr_retire(malloc(1), count_free);
    qsbr_retire(NULL, count_free); /* nothing to free */
    ck_assert_uint_eq(qsbr_reclaim(0), 0);
    ck_assert_int_eq(freed, 1);
}
END_TEST

/* A reader thread that keeps reading the current pointer while the main
 * thread swaps and retires: a freed block is poisoned, so a read after
 * free shows as a wrong value (and as an error under ASan). */
static int *_Atomic current;
static volatile int stop;
static long bad;

static void *reader(void *arg)
{
    struct qsbr_reader *r = arg;
    qsbr_online(r);
    while (!stop) {
        int *p = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
        if (p[0] != p[1])
            bad++;
        qsbr_quiescent(r);
    }
    qsbr_offline(r);
    return NULL;
}

static void poison(void *p)
{
    int *v = p;
    v[0] = 1;
    v[1] = 2;
    free(p);
}

START_TEST(concurrent_swaps)
{
    struct qsbr_reader *r = qsbr_register();
    int *first = calloc(2, sizeof(int));
    __atomic_store_n(&current, first, __ATOMIC_SEQ_CST);
    pthread_t t;
    pthread_create(&t, NULL, reader, r);
    for (int i = 0; i < 20000; i++) {
        int *n = calloc(2, sizeof(int));
        n[0] = n[1] = i;
        int *old = __atomic_exchange_n(&current, n, __ATOMIC_SEQ_CST);
        qsbr_retire(old, poison);
        qsbr_reclaim(0);
    }
    stop = 1;
    pthread_join(t, NULL);
    qsbr_unregister(r);
    ck_assert_uint_eq(qsbr_reclaim(1), 0);
    ck_assert_int_eq(bad, 0);
    free(current);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qsbr");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, no_readers_frees_at_once);
    tcase_add_test(tc, waits_for_online_readers);
    tcase_add_test(tc, concurrent_swaps);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
