/* plugins/sql/worker.c - the backend's own thread: the connection, its
 * backoff, and the queries lookups queued.
 *
 * One thread per backend owns the connection, so the client libraries are
 * never shared between threads and a slow database holds up nobody but
 * this thread. Its states:
 *
 *   DOWN --connect+prepare ok--> UP --query out of time--> SLOW
 *    ^  \__fail: wait 0.1 s, doubling up to reconnect_max   |
 *    |                                                     |
 *    +------- connection lost (after one immediate retry) --+
 *
 * UP and SLOW both run queued queries; a query that completes in time
 * makes the state UP. Going DOWN empties the queue, so lookups waiting for
 * it answer at once.
 *
 * SPDX-License-Identifier: MIT
 */
#include "sql.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sql_queue_push(struct sql_backend *b, const char *key, size_t len)
{
    char *copy = malloc(len);
    if (!copy)
        return 0;
    memcpy(copy, key, len);
    pthread_mutex_lock(&b->qlock);
    int ok = b->qcount < SQL_QUEUE;
    if (ok) {
        size_t at = (b->qhead + b->qcount++) % SQL_QUEUE;
        b->queue[at].key = copy;
        b->queue[at].len = len;
        pthread_cond_signal(&b->qcond);
    }
    pthread_mutex_unlock(&b->qlock);
    if (!ok)
        free(copy);
    return ok;
}

/* Drop every queued key, waking the lookups that wait for them. */
static void queue_flush(struct sql_backend *b)
{
    for (;;) {
        pthread_mutex_lock(&b->qlock);
        if (!b->qcount) {
            pthread_mutex_unlock(&b->qlock);
            return;
        }
        char *key = b->queue[b->qhead].key;
        size_t len = b->queue[b->qhead].len;
        b->qhead = (b->qhead + 1) % SQL_QUEUE;
        b->qcount--;
        pthread_mutex_unlock(&b->qlock);
        sql_cache_cancel(&b->cache, key, len);
        free(key);
    }
}

/* ---- collecting rows ---------------------------------------------------- */

struct collect {
    struct sql_backend *b;
    const char *type; /* the type the key asks for */
    size_t type_len;
    struct sql_answer *a;
    size_t cap;
    int rq_col; /* the RQ column, or -1 */
    size_t ncols;
    char bad[256]; /* why the columns cannot be records */
    size_t skipped;
    char skipped_why[160];
    int oom;
};

static void trim(const char **v, size_t *len)
{
    while (*len && ((*v)[0] == ' ' || (*v)[0] == '\t')) {
        (*v)++;
        (*len)--;
    }
    while (*len && ((*v)[*len - 1] == ' ' || (*v)[*len - 1] == '\t'))
        (*len)--;
}

static void on_columns(void *arg, size_t n, const char *const *names)
{
    struct collect *c = arg;
    if (c->a->cols || c->bad[0])
        return;
    c->rq_col = -1;
    if (n > TGED_MSG_HEADERS - 2) {
        snprintf(c->bad, sizeof(c->bad), "more than %d columns",
                 TGED_MSG_HEADERS - 2);
        return;
    }
    c->a->cols = calloc(n ? n : 1, sizeof(char *));
    if (!c->a->cols) {
        c->oom = 1;
        return;
    }
    c->ncols = n;
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i] ? names[i] : "";
        size_t len = strlen(name);
        if (!tged_name_valid(name, len)) {
            snprintf(c->bad, sizeof(c->bad),
                     "column %zu '%.40s' is not a valid field name (1 to 32 "
                     "of A-Z 0-9 - _; rename it with AS)",
                     i + 1, name);
            return;
        }
        char *up = strdup(name);
        if (!up) {
            c->oom = 1;
            return;
        }
        for (char *p = up; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 32);
        c->a->cols[c->a->ncols++] = up;
        if (!strcmp(up, "RQ")) {
            c->rq_col = (int)i;
        } else if (tged_name_reserved(up, len)) {
            snprintf(c->bad, sizeof(c->bad),
                     "column '%s' is a reserved name (rename it with AS)", up);
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->a->cols[j], up)) {
                snprintf(c->bad, sizeof(c->bad),
                         "two columns are named %s (rename one with AS)", up);
                return;
            }
    }
}

static void skip_row(struct collect *c, const char *fmt, const char *col)
{
    if (!c->skipped++)
        snprintf(c->skipped_why, sizeof(c->skipped_why), fmt, col);
}

static void on_row(void *arg, const char *const *vals, const size_t *lens)
{
    struct collect *c = arg;
    struct sql_answer *a = c->a;
    if (c->bad[0] || c->oom || !a->cols || a->nrows >= c->b->max_rows)
        return;
    size_t n = c->ncols, bytes = 0, nf = 0;
    const char *tv = NULL;
    size_t tl = 0;
    for (size_t i = 0; i < n; i++) {
        if (!vals[i])
            continue;
        const char *v = vals[i];
        size_t len = lens[i];
        trim(&v, &len);
        if ((int)i == c->rq_col) {
            if (!tged_type_valid(v, len))
                return skip_row(c, "its %s is not a valid type", "RQ");
            /* A row of another type: the query may list several. */
            if (!tged_name_eq(v, len, c->type, c->type_len))
                return;
            tv = v;
            tl = len;
            continue;
        }
        if (!tged_value_valid(v, len))
            return skip_row(c,
                            "the value of %s is not valid TGED (a control "
                            "character, or longer than 255 bytes)",
                            a->cols[i]);
        bytes += len + 1;
        nf++;
    }
    if (a->nrows == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct sql_row *r = realloc(a->rows, cap * sizeof(*r));
        if (!r) {
            c->oom = 1;
            return;
        }
        a->rows = r;
        c->cap = cap;
    }
    /* One block per row: the fields, then their values. */
    char *mem = malloc(nf * sizeof(struct tged_field) + tl + 1 + bytes + 1);
    if (!mem) {
        c->oom = 1;
        return;
    }
    struct tged_field *f = (struct tged_field *)mem;
    char *p = mem + nf * sizeof(struct tged_field);
    struct sql_row *row = &a->rows[a->nrows];
    row->fields = f;
    row->nfields = 0;
    row->type = NULL;
    row->type_len = 0;
    if (tv) {
        memcpy(p, tv, tl);
        p[tl] = 0;
        row->type = p;
        row->type_len = tl;
        p += tl + 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!vals[i] || (int)i == c->rq_col)
            continue;
        const char *v = vals[i];
        size_t len = lens[i];
        trim(&v, &len);
        memcpy(p, v, len);
        p[len] = 0;
        f[row->nfields++] =
            (struct tged_field){a->cols[i], strlen(a->cols[i]), p, len};
        p += len + 1;
    }
    a->nrows++;
}

struct collect_types {
    char **names;
    size_t n, cap;
    size_t bad, ncols;
    int oom;
};

static void on_type_columns(void *arg, size_t n, const char *const *names)
{
    struct collect_types *c = arg;
    c->ncols = n;
}

static void on_type_row(void *arg, const char *const *vals, const size_t *lens)
{
    struct collect_types *c = arg;
    if (!c->ncols)
        return;
    const char *v = vals[0];
    size_t len = lens[0];
    if (!v)
        return;
    trim(&v, &len);
    if (!tged_type_valid(v, len)) {
        c->bad++;
        return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        char **r = realloc(c->names, cap * sizeof(char *));
        if (!r) {
            c->oom = 1;
            return;
        }
        c->names = r;
        c->cap = cap;
    }
    char *s = strndup(v, len);
    if (!s) {
        c->oom = 1;
        return;
    }
    c->names[c->n++] = s;
}

/* ---- bringing a connection up --------------------------------------- */

static void log_query_error(struct sql_backend *b, struct sql_env *env,
                            const char *what)
{
    int64_t now = sql_now_ms();
    int64_t last = __atomic_load_n(&b->query_error_logged_ms, __ATOMIC_RELAXED);
    if (last && now - last < 10000)
        return;
    __atomic_store_n(&b->query_error_logged_ms, now, __ATOMIC_RELAXED);
    tged_log(b->ctx, LOG_ERR, "%s%s: %s (logged once per 10 s)",
             what[0] == 't' ? b->types_at : b->query_at, what, env->err);
}

/* Run the types_query and publish its list; an enum sql_rc. */
static int load_types(struct sql_backend *b, struct sql_env *env, void *conn)
{
    struct collect_types c = {0};
    struct sql_rows out = {on_type_columns, on_type_row, &c};
    int64_t timeout = b->timeout_ms > 1000 ? b->timeout_ms : 1000;
    int rc = b->drv->execute(conn, SQL_STMT_TYPES, &b->types, NULL, &out, env,
                             sql_now_ms() + timeout);
    if (rc == SQL_OK && c.oom) {
        sql_seterr(env, "out of memory");
        rc = SQL_E_QUERY;
    }
    if (rc == SQL_OK) {
        if (c.bad)
            tged_log(b->ctx, LOG_WARNING,
                     "%stypes_query: %zu values are not valid types (1 to 63 "
                     "of A-Z a-z 0-9 . _ -): ignored",
                     b->types_at, c.bad);
        struct sql_types *t = sql_types_build(b->ctx, c.names, c.n);
        if (t)
            tged_snapshot_publish(b->ctx, &b->types_snap, t, sql_types_free);
        return SQL_OK;
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.names[i]);
    free(c.names);
    return rc;
}

int sql_bring_up(struct sql_backend *b, struct sql_env *env, void **conn)
{
    const struct sql_driver *drv = b->drv;
    int64_t deadline =
        sql_now_ms() + (b->timeout_ms > 2000 ? b->timeout_ms : 2000);
    int rc = SQL_OK;
    if (!*conn) {
        rc = drv->connect(b->drvcfg, env, sql_now_ms() + 3600000, conn);
        if (rc) {
            *conn = NULL;
            return rc;
        }
    }
    const char *at = b->query_at, *what = "query";
    rc = drv->prepare(*conn, SQL_STMT_QUERY, &b->query, env, deadline);
    if (!rc && b->has_types) {
        at = b->types_at;
        what = "types_query";
        rc = drv->prepare(*conn, SQL_STMT_TYPES, &b->types, env, deadline);
    }
    if (!rc && b->has_types) {
        rc = load_types(b, env, *conn);
        if (rc == SQL_E_QUERY || rc == SQL_E_DATA) {
            /* The query may still answer: every type is tried then. */
            log_query_error(b, env, "types_query");
            rc = SQL_OK;
        }
    }
    if (rc == SQL_E_QUERY || rc == SQL_E_DATA) {
        char msg[sizeof(env->err)];
        snprintf(msg, sizeof(msg), "%.480s%s: %.500s", at, what, env->err);
        memcpy(env->err, msg, sizeof(msg));
        rc = SQL_E_QUERY;
    }
    if (rc) {
        drv->disconnect(*conn);
        *conn = NULL;
    }
    return rc;
}

/* ---- the thread --------------------------------------------------------- */

struct worker {
    struct sql_backend *b;
    struct sql_env env;
    void *conn;
    int64_t backoff_ms, next_try_ms, types_due_ms;
    int64_t down_logged_ms;
    char down_err[sizeof(((struct sql_env *)0)->err)];
    int ever_up;
};

static int stopping(const struct sql_backend *b)
{
    return __atomic_load_n(&b->stopping, __ATOMIC_ACQUIRE);
}

static void drop_conn(struct worker *w)
{
    if (w->conn) {
        w->b->drv->disconnect(w->conn);
        w->conn = NULL;
    }
}

static void went_down(struct worker *w, int64_t now)
{
    struct sql_backend *b = w->b;
    int was = __atomic_exchange_n(&b->health, SQL_DOWN, __ATOMIC_ACQ_REL);
    queue_flush(b);
    drop_conn(w);
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : 100;
    if (w->backoff_ms > b->reconnect_max_ms)
        w->backoff_ms = b->reconnect_max_ms;
    w->next_try_ms = now + w->backoff_ms;
    /* Say it when it happens, when the reason changes, and once a minute
     * while it lasts. */
    if (was != SQL_DOWN || !w->ever_up || strcmp(w->down_err, w->env.err) ||
        now - w->down_logged_ms >= 60000) {
        if (strcmp(w->down_err, w->env.err) || now - w->down_logged_ms >= 60000)
            tged_log(b->ctx, LOG_ERR,
                     "database unavailable: %s; answering %s, retrying "
                     "every %.3g s at most",
                     w->env.err,
                     b->stale_ttl_ms ? "stale answers or unavailable"
                                     : "unavailable",
                     (double)b->reconnect_max_ms / 1000);
        w->down_logged_ms = now;
        snprintf(w->down_err, sizeof(w->down_err), "%s", w->env.err);
    }
}

static void came_up(struct worker *w)
{
    struct sql_backend *b = w->b;
    /* A new connection to a slow database is still slow: only a query
     * completed in time says otherwise. */
    int was = SQL_DOWN;
    __atomic_compare_exchange_n(&b->health, &was, SQL_UP, 0, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    w->backoff_ms = 0;
    w->types_due_ms = sql_now_ms() + b->types_period_ms;
    if (!w->ever_up)
        tged_log(b->ctx, LOG_INFO, "connected to %s",
                 b->drv->describe(b->drvcfg));
    else if (was == SQL_DOWN)
        tged_log(b->ctx, LOG_NOTICE, "connected again to %s",
                 b->drv->describe(b->drvcfg));
    w->ever_up = 1;
    w->down_err[0] = 0;
}

static void answered_in_time(struct worker *w)
{
    int slow = SQL_SLOW;
    if (__atomic_compare_exchange_n(&w->b->health, &slow, SQL_UP, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        tged_log(w->b->ctx, LOG_NOTICE, "database answers in time again");
}

static void timed_out(struct worker *w)
{
    struct sql_backend *b = w->b;
    int up = SQL_UP;
    if (__atomic_compare_exchange_n(&b->health, &up, SQL_SLOW, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        tged_log(b->ctx, LOG_WARNING,
                 "database slow: a query took more than %.3g s (%s); "
                 "answering from the cache or unavailable until one "
                 "completes in time",
                 (double)b->timeout_ms / 1000, w->env.err);
    if (b->drv->flags & SQL_DRV_DROP_ON_TIMEOUT)
        drop_conn(w);
}

/* Run the query of one key and store its answer; an enum sql_rc. */
static int run_query(struct worker *w, const char *key, size_t len)
{
    struct sql_backend *b = w->b;
    const char *params[SQL_MAX_PARAMS];
    struct collect c = {.b = b, .rq_col = -1};
    if (sql_key_decode(b, key, len, &c.type, &c.type_len, params))
        return SQL_E_QUERY;
    c.a = sql_answer_new();
    if (!c.a)
        return SQL_E_QUERY;
    struct sql_rows out = {on_columns, on_row, &c};
    int64_t start = sql_now_ms();
    int rc = b->drv->execute(w->conn, SQL_STMT_QUERY, &b->query, params, &out,
                             &w->env, start + b->timeout_ms);
    if (rc == SQL_OK && (c.bad[0] || c.oom)) {
        sql_seterr(&w->env, "%s", c.oom ? "out of memory" : c.bad);
        rc = SQL_E_QUERY;
    } else if (rc == SQL_OK || rc == SQL_E_DATA) {
        if (c.skipped) {
            sql_seterr(&w->env, "%zu rows skipped for %.*s: %s", c.skipped,
                       (int)c.type_len, c.type, c.skipped_why);
            log_query_error(b, &w->env, "query");
        }
        c.a->fetched_ms = start;
        c.a->status = c.a->nrows ? TGED_FOUND : TGED_NO_MATCH;
        sql_cache_store(&b->cache, key, len, c.a);
        answered_in_time(w);
        return SQL_OK;
    }
    sql_answer_unref(c.a);
    if (rc == SQL_E_QUERY)
        log_query_error(b, &w->env, "query");
    return rc;
}

/* The next queued key, waiting until `until` (monotonic ms) at most. */
static int pop(struct worker *w, int64_t until, char **key, size_t *len)
{
    struct sql_backend *b = w->b;
    pthread_mutex_lock(&b->qlock);
    while (!b->qcount && !b->fresh_conn && !stopping(b)) {
        struct timespec ts = {.tv_sec = until / 1000,
                              .tv_nsec = (until % 1000) * 1000000};
        if (pthread_cond_timedwait(&b->qcond, &b->qlock, &ts) == ETIMEDOUT)
            break;
    }
    int got = 0;
    if (b->qcount && !stopping(b)) {
        *key = b->queue[b->qhead].key;
        *len = b->queue[b->qhead].len;
        b->qhead = (b->qhead + 1) % SQL_QUEUE;
        b->qcount--;
        got = 1;
    }
    pthread_mutex_unlock(&b->qlock);
    return got;
}

/* Bring a connection up now; 0 when it is. */
static int connect_now(struct worker *w)
{
    int rc = sql_bring_up(w->b, &w->env, &w->conn);
    if (rc == SQL_OK)
        came_up(w);
    else if (rc != SQL_E_STOP)
        went_down(w, sql_now_ms());
    return rc;
}

static void serve(struct worker *w, char *key, size_t len)
{
    struct sql_backend *b = w->b;
    int rc = SQL_E_CONN;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!w->conn && connect_now(w))
            break;
        rc = run_query(w, key, len);
        if (rc != SQL_E_CONN)
            break;
        /* The connection was lost: a server restart, or an idle
         * connection the server closed. Try once more on a new one
         * before calling the database down. */
        drop_conn(w);
    }
    if (rc != SQL_OK)
        sql_cache_cancel(&b->cache, key, len);
    free(key);
    if (stopping(b))
        return;
    /* connect_now() has said it when it failed; a second lost
     * connection has not been said yet. */
    if (rc == SQL_E_CONN &&
        __atomic_load_n(&b->health, __ATOMIC_ACQUIRE) != SQL_DOWN)
        went_down(w, sql_now_ms());
    else if (rc == SQL_E_TIMEOUT)
        timed_out(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct sql_backend *b = w->b;
    if (w->conn)
        came_up(w);
    while (!stopping(b)) {
        pthread_mutex_lock(&b->qlock);
        void *fresh = b->fresh_conn;
        b->fresh_conn = NULL;
        pthread_mutex_unlock(&b->qlock);
        if (fresh) {
            /* reload() built and checked new data: what the cache holds
             * is of the old. */
            drop_conn(w);
            w->conn = fresh;
            sql_cache_clear(&b->cache);
            came_up(w);
            /* The new data's types too, before saying it serves: a type
             * it adds must not answer unknown-type after "reloaded". */
            if (b->has_types) {
                int rc = load_types(b, &w->env, w->conn);
                w->types_due_ms = sql_now_ms() + b->types_period_ms;
                if (rc == SQL_E_QUERY || rc == SQL_E_DATA)
                    log_query_error(b, &w->env, "types_query");
            }
            tged_log(b->ctx, LOG_INFO, "%s: reloaded",
                     b->drv->watch(b->drvcfg));
            continue;
        }
        int64_t now = sql_now_ms();
        if (!w->conn) {
            if (now < w->next_try_ms) {
                char *key;
                size_t len;
                /* Nothing is queued while down; this only waits. */
                if (pop(w, w->next_try_ms, &key, &len)) {
                    sql_cache_cancel(&b->cache, key, len);
                    free(key);
                }
                continue;
            }
            connect_now(w);
            continue;
        }
        if (b->has_types && now >= w->types_due_ms) {
            int rc = load_types(b, &w->env, w->conn);
            w->types_due_ms = sql_now_ms() + b->types_period_ms;
            if (rc == SQL_E_QUERY || rc == SQL_E_DATA)
                log_query_error(b, &w->env, "types_query");
            else if (rc == SQL_E_TIMEOUT)
                timed_out(w);
            else if (rc == SQL_E_CONN)
                went_down(w, sql_now_ms());
            continue;
        }
        int64_t until = b->has_types ? w->types_due_ms : now + 60000;
        char *key;
        size_t len;
        if (pop(w, until, &key, &len))
            serve(w, key, len);
    }
    drop_conn(w);
    queue_flush(b);
    return NULL;
}

int sql_worker_start(struct sql_backend *b, void *conn)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->b = b;
    w->conn = conn;
    w->env.ctx = b->ctx;
    w->env.stop_fd = b->stop_fd;
    w->env.stopping = &b->stopping;
    if (conn) {
        /* Up from the start: the first requests need not race it. */
        __atomic_store_n(&b->health, SQL_UP, __ATOMIC_RELEASE);
    }
    /* Signals belong to tgedd's control thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&b->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        __atomic_store_n(&b->health, SQL_DOWN, __ATOMIC_RELEASE);
        free(w);
        return -rc;
    }
    b->worker = w;
    b->started = 1;
    return 0;
}

void sql_worker_stop(struct sql_backend *b)
{
    if (!b->started)
        return;
    pthread_mutex_lock(&b->qlock);
    __atomic_store_n(&b->stopping, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&b->qcond);
    pthread_mutex_unlock(&b->qlock);
    uint64_t one = 1;
    if (write(b->stop_fd, &one, sizeof(one)) < 0) {
        /* An eventfd only fails to count past 2^64 - 2. */
    }
    pthread_join(b->thread, NULL);
    free(b->worker);
    b->worker = NULL;
    b->started = 0;
}
