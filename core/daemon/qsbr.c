/* core/daemon/qsbr.c - quiescent-state reclamation of snapshots.
 *
 * The epoch only grows. A reader publishes the epoch it saw at its last
 * quiescent state (0 while offline). An object retired at epoch E may be
 * freed once each reader is offline or has published an epoch >= E: that
 * reader loaded the epoch after the object was unlinked, so every pointer
 * it loads afterwards is a newer one.
 *
 * SPDX-License-Identifier: MIT
 */
#include "qsbr.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct qsbr_reader {
    uint64_t seen; /* atomic; 0 = offline */
    struct qsbr_reader *next;
};

struct retired {
    void *p;
    void (*fn)(void *);
    uint64_t epoch;
    struct retired *next;
};

static uint64_t epoch = 1; /* atomic */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct qsbr_reader *readers;
static struct retired *pending;
static void (*notify)(void);
static uint64_t freed; /* atomic */

struct qsbr_reader *qsbr_register(void)
{
    struct qsbr_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_lock(&lock);
    r->next = readers;
    readers = r;
    pthread_mutex_unlock(&lock);
    return r;
}

void qsbr_unregister(struct qsbr_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&lock);
    for (struct qsbr_reader **pp = &readers; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    free(r);
}

void qsbr_online(struct qsbr_reader *r)
{
    /* Sequentially consistent: the store must be visible before any
     * snapshot pointer is loaded, or a reclaimer that still sees us
     * offline could free what we are about to read. */
    __atomic_store_n(&r->seen, __atomic_load_n(&epoch, __ATOMIC_SEQ_CST),
                     __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void qsbr_quiescent(struct qsbr_reader *r)
{
    /* Loads after this may not move above the epoch load (acquire), and
     * the reads of the finished batch may not move below the store
     * (release); a late store only delays reclamation. */
    uint64_t e = __atomic_load_n(&epoch, __ATOMIC_ACQUIRE);
    __atomic_store_n(&r->seen, e, __ATOMIC_RELEASE);
}

void qsbr_offline(struct qsbr_reader *r)
{
    __atomic_store_n(&r->seen, 0, __ATOMIC_RELEASE);
}

void qsbr_set_notify(void (*fn)(void))
{
    notify = fn;
}

void qsbr_retire(void *p, void (*fn)(void *))
{
    if (!p)
        return;
    struct retired *r = malloc(sizeof(*r));
    if (!r) {
        /* Cannot track it: leaking is safe, freeing early is not. */
        return;
    }
    r->p = p;
    r->fn = fn;
    pthread_mutex_lock(&lock);
    /* The pointer to p was already replaced (seq_cst) by the caller. */
    r->epoch = __atomic_add_fetch(&epoch, 1, __ATOMIC_SEQ_CST);
    r->next = pending;
    pending = r;
    pthread_mutex_unlock(&lock);
    if (notify)
        notify();
}

/* The oldest epoch some online reader may still be in; UINT64_MAX when
 * every reader is offline. Called with the lock held. */
static uint64_t oldest_seen(void)
{
    uint64_t min = UINT64_MAX;
    for (struct qsbr_reader *r = readers; r; r = r->next) {
        uint64_t s = __atomic_load_n(&r->seen, __ATOMIC_SEQ_CST);
        if (s && s < min)
            min = s;
    }
    return min;
}

uint64_t qsbr_freed(void)
{
    return __atomic_load_n(&freed, __ATOMIC_RELAXED);
}

unsigned qsbr_reclaim(int wait)
{
    for (;;) {
        struct retired *due = NULL;
        unsigned left = 0;
        pthread_mutex_lock(&lock);
        uint64_t oldest = oldest_seen();
        struct retired **pp = &pending;
        while (*pp) {
            struct retired *r = *pp;
            if (r->epoch <= oldest) {
                *pp = r->next;
                r->next = due;
                due = r;
            } else {
                pp = &r->next;
                left++;
            }
        }
        pthread_mutex_unlock(&lock);
        /* Free outside the lock: a destructor may retire more. `due` is
         * in retirement order, oldest first. */
        while (due) {
            struct retired *n = due->next;
            if (due->fn)
                due->fn(due->p);
            free(due);
            __atomic_add_fetch(&freed, 1, __ATOMIC_RELAXED);
            due = n;
        }
        if (!wait || !left)
            return left;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}
