/* plugins/pipe/request.c - answering one request on a worker thread: a
 * free pipe, the question, the whole answer within timeout_ms.
 *
 * A pipe carries one request at a time: a program reads a question and
 * writes its answer, so the next question can only be read once the
 * previous answer is out. A program that misses the deadline is killed,
 * not waited for: its late answer would be read as the answer to the next
 * question.
 *
 * SPDX-License-Identifier: MIT
 */
#include "pipe.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Room before the key for "Q <id> ". */
#define PREFIX_ROOM 32

static void set_state(struct pipe_backend *b, struct slot *s, int state)
{
    pthread_mutex_lock(&b->mu);
    s->state = state;
    pthread_mutex_unlock(&b->mu);
}

void slot_fail(struct pipe_backend *b, struct slot *s, int kill_now,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof(s->why), fmt, ap);
    va_end(ap);
    if (kill_now)
        proc_kill(s->pid, SIGKILL);
    s->why_prio = kill_now ? LOG_ERR : LOG_WARNING;
    s->kill_at_ms = pipe_now_ms() + (kill_now ? 0 : PIPE_EXIT_GRACE_MS);
    if (s->in_fd >= 0)
        close(s->in_fd);
    if (s->out_fd >= 0)
        close(s->out_fd);
    s->in_fd = s->out_fd = -1;
    linebuf_reset(&s->lb);
    set_state(b, s, SLOT_DEAD);
    tged_reload_after(b->ctx, 0);
}

int slot_idle_check(struct slot *s)
{
    struct pollfd p = {.fd = s->out_fd, .events = POLLIN};
    if (!linebuf_pending(&s->lb) && poll(&p, 1, 0) == 0)
        return 0;
    s->state = SLOT_BUSY;
    return -1;
}

void slot_idle_fail(struct pipe_backend *b, struct slot *s)
{
    const char *line;
    size_t len;
    char esc[256];
    int r = linebuf_next(&s->lb, s->out_fd, 0, &line, &len);
    if (r == LINEBUF_WAIT && !linebuf_pending(&s->lb)) {
        set_state(b, s, SLOT_READY); /* woken for nothing */
        return;
    }
    if (r == LINEBUF_WAIT) {
        line = s->lb.buf + s->lb.start;
        len = linebuf_pending(&s->lb);
    }
    if (r == LINEBUF_EOF)
        slot_fail(b, s, 0, "closed its output while idle");
    else if (r == LINEBUF_ERROR)
        slot_fail(b, s, 1, "cannot be read: %s", strerror(errno));
    else
        slot_fail(b, s, 1,
                  "wrote while no request was asked (a program writes only "
                  "answers): '%s'",
                  pipe_escape(esc, sizeof(esc), line, len));
}

/* A READY pipe whose program is quiet, made BUSY; NULL when none. *up
 * says whether any program runs at all. */
static struct slot *claim(struct pipe_backend *b, int *up)
{
    /* Each round fails a pipe (or finds it woken for nothing): bounded. */
    for (unsigned round = 0; round <= b->nslots; round++) {
        struct slot *s = NULL;
        *up = 0;
        pthread_mutex_lock(&b->mu);
        for (unsigned i = 0; i < b->nslots; i++) {
            int st = b->slots[i].state;
            if (st == SLOT_READY || st == SLOT_BUSY)
                *up = 1;
            if (st == SLOT_READY && !s)
                s = &b->slots[i];
        }
        if (s && !slot_idle_check(s)) {
            s->state = SLOT_BUSY;
            pthread_mutex_unlock(&b->mu);
            return s;
        }
        pthread_mutex_unlock(&b->mu);
        if (!s)
            return NULL;
        slot_idle_fail(b, s); /* and look for another */
    }
    *up = 1;
    return NULL;
}

/* Count a request answered unavailable; log now and then, not per
 * request. */
static void note(struct pipe_backend *b, struct pipe_note *n, const char *what)
{
    uint64_t count = __atomic_add_fetch(&n->count, 1, __ATOMIC_RELAXED);
    int64_t now = pipe_now_ms();
    int64_t last = __atomic_load_n(&n->log_ms, __ATOMIC_RELAXED);
    if (last && now - last < PIPE_NOTE_MS)
        return;
    if (!__atomic_compare_exchange_n(&n->log_ms, &last, now, 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;
    uint64_t before = __atomic_exchange_n(&n->logged, count, __ATOMIC_RELAXED);
    tged_log(b->ctx, LOG_WARNING, "%llu request%s answered unavailable: %s",
             (unsigned long long)(count - before),
             count - before == 1 ? "" : "s", what);
}

/* Send the request and read its whole answer into s->ans. 0, or -1 after
 * slot_fail(). */
static int exchange(struct pipe_backend *b, struct slot *s, uint64_t id,
                    const char *req, size_t len)
{
    int64_t deadline = pipe_now_ms() + b->set.timeout_ms;
    size_t off = 0;
    while (off < len) {
        ssize_t n = proc_write(s->in_fd, req + off, len - off);
        if (n == -EPIPE) {
            slot_fail(b, s, 0, "closed its input before request %llu",
                      (unsigned long long)id);
            return -1;
        }
        if (n < 0) {
            slot_fail(b, s, 1, "cannot be written to: %s", strerror((int)-n));
            return -1;
        }
        off += (size_t)n;
        if (off == len)
            break;
        int64_t left = deadline - pipe_now_ms();
        struct pollfd p = {.fd = s->in_fd, .events = POLLOUT};
        if (left <= 0 ||
            (poll(&p, 1, (int)left) == 0 && pipe_now_ms() >= deadline)) {
            slot_fail(b, s, 1, "did not read request %llu within %u ms",
                      (unsigned long long)id, b->set.timeout_ms);
            return -1;
        }
    }
    answer_reset(&s->ans, id);
    char esc[256];
    while (!s->ans.done) {
        const char *line;
        size_t ll;
        int r = linebuf_next(&s->lb, s->out_fd, deadline, &line, &ll);
        const char *err = NULL;
        switch (r) {
        case LINEBUF_LINE:
            err = answer_feed(&s->ans, line, ll);
            if (err) {
                slot_fail(b, s, 1,
                          "answered request %llu with a bad line: "
                          "%s: '%s'",
                          (unsigned long long)id, err,
                          pipe_escape(esc, sizeof(esc), line, ll));
                return -1;
            }
            break;
        case LINEBUF_WAIT:
            slot_fail(b, s, 1,
                      "did not answer request %llu within %u ms "
                      "(timeout_ms) and was killed",
                      (unsigned long long)id, b->set.timeout_ms);
            return -1;
        case LINEBUF_EOF:
            slot_fail(b, s, 0, "closed its output while answering request %llu",
                      (unsigned long long)id);
            return -1;
        case LINEBUF_LONG:
            slot_fail(b, s, 1,
                      "answered request %llu with a line longer than "
                      "%d bytes: '%s'",
                      (unsigned long long)id, PIPE_MAX_LINE - 1,
                      pipe_escape(esc, 80, line, ll));
            return -1;
        default:
            slot_fail(b, s, 1, "cannot be read: %s", strerror(errno));
            return -1;
        }
    }
    if (linebuf_pending(&s->lb)) {
        slot_fail(b, s, 1, "wrote more after END %llu: '%s'",
                  (unsigned long long)id,
                  pipe_escape(esc, sizeof(esc), s->lb.buf + s->lb.start,
                              linebuf_pending(&s->lb)));
        return -1;
    }
    return 0;
}

/* Serve an answer: its records that match the request's filters (a
 * program may ignore filters), with rq as the type. */
static int emit(const struct pipe_view *v, const struct tged_query *q,
                struct tged_sink *sink, const char *rq, size_t rq_len)
{
    if (v->status != TGED_FOUND)
        return v->status;
    struct tged_field f[PIPE_MAX_FIELDS];
    for (size_t i = 0; i < v->nrecs; i++) {
        size_t n = view_record(v, i, f);
        if (tged_query_match(q, f, n) &&
            tged_sink_add_fields(sink, rq, rq_len, f, n) == 1)
            break;
    }
    return TGED_FOUND;
}

int pipe_lookup(void *state, const struct tged_query *q, struct tged_sink *sink)
{
    struct pipe_backend *b = state;
    size_t rq_len;
    const char *rq = settings_type(&b->set, q, &rq_len);
    if (!rq)
        return TGED_NOT_MINE;
    char buf[PREFIX_ROOM + PIPE_MAX_REQUEST];
    char *key = buf + PREFIX_ROOM;
    size_t key_len = pipe_format_key(key, PIPE_MAX_REQUEST, q);
    if (!key_len)
        return TGED_FAILED;
    if (b->cache.slots) {
        struct cache_entry *e =
            cache_get(&b->cache, key, key_len, pipe_now_ms());
        if (e) {
            int st = emit(&e->view, q, sink, rq, rq_len);
            cache_release(e);
            return st;
        }
    }
    int up;
    struct slot *s = claim(b, &up);
    if (!s) {
        if (up)
            note(b, &b->busy,
                 "every pipe was busy (raise concurrency, or make the "
                 "program faster)");
        else
            note(b, &b->down,
                 "no copy of the program was running (see the "
                 "lines above)");
        return TGED_FAILED;
    }
    uint64_t id = __atomic_add_fetch(&b->next_id, 1, __ATOMIC_RELAXED);
    char prefix[24];
    size_t pl = pipe_format_prefix(prefix, id);
    memcpy(key - pl, prefix, pl);
    if (exchange(b, s, id, key - pl, pl + key_len))
        return TGED_FAILED;
    /* The answer lives in the slot: serve it before another request may
     * take the pipe. */
    struct pipe_view v = answer_view(&s->ans);
    int st = emit(&v, q, sink, rq, rq_len);
    if (b->cache.slots && v.status != TGED_FAILED)
        cache_put(&b->cache, key, key_len, &v, pipe_now_ms());
    pthread_mutex_lock(&b->mu);
    s->answered = 1;
    s->state = SLOT_READY;
    pthread_mutex_unlock(&b->mu);
    return st;
}
