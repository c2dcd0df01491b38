/* plugins/sql/backend.c - the entry points every sql_* plugin shares:
 * settings, lookups from the cache, reloads, close.
 *
 * lookup() runs on the responder's threads and never talks to the
 * database. A fresh answer in the cache is emitted at once. On a miss, the
 * key is queued for the backend's thread and the lookup waits for it only
 * while the database is known to answer in time (health SQL_UP), and never
 * longer than `timeout`; a lookup that runs out of time marks the database
 * slow, so the next misses answer at once (stale or unavailable) instead of
 * holding up the responder's thread, and therefore the other types, until
 * a query completes in time again.
 *
 * SPDX-License-Identifier: MIT
 */
#include "sql.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers for drivers --------------------------------------------- */

void sql_seterr(struct sql_env *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(env->err, sizeof(env->err), fmt, ap);
    va_end(ap);
    /* Server messages end with a newline and may hold several lines; a
     * log line is one line. */
    size_t n = strlen(env->err);
    while (n && (env->err[n - 1] == '\n' || env->err[n - 1] == ' '))
        env->err[--n] = 0;
    char *w = env->err;
    for (const char *r = env->err; *r; r++) {
        if (*r == '\n') {
            while (r[1] == '\t' || r[1] == ' ')
                r++;
            if (w + 2 <= r) {
                *w++ = ';';
                *w++ = ' ';
            } else {
                *w++ = ' ';
            }
            continue;
        }
        *w++ = *r == '\t' ? ' ' : *r;
    }
    *w = 0;
}

int sql_wait_fd(struct sql_env *env, int fd, short events, int64_t deadline)
{
    for (;;) {
        if (__atomic_load_n(env->stopping, __ATOMIC_ACQUIRE))
            return -1;
        int64_t left = deadline - sql_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p[2] = {{.fd = fd, .events = events},
                              {.fd = env->stop_fd, .events = POLLIN}};
        int n = poll(p, 2, left > 60000 ? 60000 : (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 0;
        if (p[1].revents)
            return -1;
        if (p[0].revents)
            return p[0].revents;
    }
}

int sql_read_password(struct sql_env *env, const char *path, char *buf,
                      size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        sql_seterr(env, "password_file %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, buf, len - 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        sql_seterr(env, "password_file %s: %s", path, strerror(e));
        return -1;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
    if ((size_t)n == len - 1 && !memchr(buf, 0, (size_t)n)) {
        sql_seterr(env,
                   "password_file %s: the first line is longer than "
                   "%zu bytes",
                   path, len - 2);
        return -1;
    }
    return 0;
}

/* "file:line: " of a setting, for messages. */
static void setting_at(struct tged_instance *ctx, const char *name, char *buf,
                       size_t len)
{
    const struct tged_cfg *c = tged_get_cfg(ctx, name);
    if (c)
        snprintf(buf, len, "%s:%u: ", tged_cfg_file(c), tged_cfg_line(c));
    else
        buf[0] = 0;
}

static int duration(struct tged_instance *ctx, const char *name, double dflt,
                    double min, double max, int64_t *ms)
{
    double v = tged_get_float(ctx, name, dflt);
    if (!(v >= min && v <= max)) {
        char at[512];
        setting_at(ctx, name, at, sizeof(at));
        tged_log(ctx, LOG_ERR, "%s%s must be from %g to %g seconds, not %g", at,
                 name, min, max, v);
        return -EINVAL;
    }
    *ms = (int64_t)(v * 1000 + 0.5);
    return 0;
}

static int count_setting(struct tged_instance *ctx, const char *name,
                         long long dflt, long long min, long long max,
                         size_t *out)
{
    long long v = tged_get_int(ctx, name, dflt);
    if (v < min || v > max) {
        char at[512];
        setting_at(ctx, name, at, sizeof(at));
        tged_log(ctx, LOG_ERR, "%s%s must be from %lld to %lld, not %lld", at,
                 name, min, max, v);
        return -EINVAL;
    }
    *out = (size_t)v;
    return 0;
}

int sql_server_configure(struct tged_instance *ctx, struct sql_server *s,
                         const char *what)
{
    memset(s, 0, sizeof(*s));
    char at[512];
    s->database = tged_get_string(ctx, "database", NULL);
    s->host = tged_get_string(ctx, "host", NULL);
    s->socket = tged_get_path(ctx, "socket", NULL);
    s->user = tged_get_string(ctx, "user", NULL);
    s->password = tged_get_string(ctx, "password", NULL);
    s->password_file = tged_get_path(ctx, "password_file", NULL);
    s->port = tged_get_int(ctx, "port", 0);
    s->tls_ca = tged_get_path(ctx, "tls_ca", NULL);
    s->tls_cert = tged_get_path(ctx, "tls_cert", NULL);
    s->tls_key = tged_get_path(ctx, "tls_key", NULL);
    if (s->port < 0 || s->port > 65535) {
        setting_at(ctx, "port", at, sizeof(at));
        tged_log(ctx, LOG_ERR, "%sport must be from 1 to 65535, not %lld", at,
                 s->port);
        return -EINVAL;
    }
    if (s->host && s->socket) {
        setting_at(ctx, "socket", at, sizeof(at));
        tged_log(ctx, LOG_ERR, "%sset host or socket, not both", at);
        return -EINVAL;
    }
    if (s->password && s->password_file) {
        setting_at(ctx, "password_file", at, sizeof(at));
        tged_log(ctx, LOG_ERR, "%sset password or password_file, not both", at);
        return -EINVAL;
    }
    if (s->password_file) {
        struct stat st;
        if (stat(s->password_file, &st) == 0 && (st.st_mode & 0077))
            tged_log(ctx, LOG_WARNING,
                     "password_file %s can be read by others (chmod 600 it)",
                     s->password_file);
        /* Read now too: tgedd may give up root after init, and a file
         * only root can read must still give the password then. */
        struct sql_env env = {.ctx = ctx};
        char buf[1024];
        if (sql_read_password(&env, s->password_file, buf, sizeof(buf)))
            tged_log(ctx, LOG_WARNING, "%s (read again at each connection)",
                     env.err);
        else if (!(s->password_read = strdup(buf)))
            return -ENOMEM;
        explicit_bzero(buf, sizeof(buf));
    }
    if ((s->tls_cert != NULL) != (s->tls_key != NULL)) {
        setting_at(ctx, s->tls_cert ? "tls_cert" : "tls_key", at, sizeof(at));
        tged_log(ctx, LOG_ERR, "%stls_cert and tls_key go together", at);
        return -EINVAL;
    }
    static const char *const modes[] = {"disable", "prefer", "require",
                                        "verify-ca", "verify-full"};
    const char *tls = tged_get_string(ctx, "tls", NULL);
    if (tls) {
        for (int i = 0; i < 5; i++)
            if (!strcmp(tls, modes[i]))
                s->tls = SQL_TLS_DISABLE + i;
        if (!s->tls) {
            setting_at(ctx, "tls", at, sizeof(at));
            tged_log(ctx, LOG_ERR,
                     "%stls must be disable, prefer, require, verify-ca or "
                     "verify-full, not \"%s\"",
                     at, tls);
            return -EINVAL;
        }
    }
    if (duration(ctx, "connect_timeout", 2, 0.01, 3600, &s->connect_timeout_ms))
        return -EINVAL;
    char where[300];
    if (s->socket)
        snprintf(where, sizeof(where), "socket %s", s->socket);
    else if (s->host && s->port)
        snprintf(where, sizeof(where), "%s port %lld", s->host, s->port);
    else if (s->host)
        snprintf(where, sizeof(where), "%s", s->host);
    else
        snprintf(where, sizeof(where), "the default socket");
    snprintf(s->desc, sizeof(s->desc), "%s database %s on %s%s%s", what,
             s->database ? s->database : "(default)", where,
             s->user ? " as " : "", s->user ? s->user : "");
    return 0;
}

void sql_server_release(struct sql_server *s)
{
    if (s->password_read) {
        explicit_bzero(s->password_read, strlen(s->password_read));
        free(s->password_read);
        s->password_read = NULL;
    }
}

int sql_server_password(const struct sql_server *s, struct sql_env *env,
                        char *buf, size_t len)
{
    buf[0] = 0;
    if (s->password_file) {
        /* Read at each connection, so a new password needs no restart. */
        if (sql_read_password(env, s->password_file, buf, len) == 0)
            return 0;
        if (!s->password_read || strlen(s->password_read) >= len)
            return -1;
        strcpy(buf, s->password_read);
        return 0;
    }
    if (s->password) {
        if (strlen(s->password) >= len) {
            sql_seterr(env, "password longer than %zu bytes", len - 1);
            return -1;
        }
        strcpy(buf, s->password);
    }
    return 0;
}

/* ---- types ------------------------------------------------------------ */

struct sql_type {
    uint64_t hash;
    size_t len;
    char *name;
};

struct sql_types {
    size_t n;
    struct sql_type v[];
};

static int type_cmp(const void *a, const void *b)
{
    const struct sql_type *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

void sql_types_free(void *p)
{
    struct sql_types *t = p;
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t);
}

/* Takes the names (malloc'ed strings, valid types) and the array. */
struct sql_types *sql_types_build(struct tged_instance *ctx, char **names,
                                  size_t n)
{
    struct sql_types *t = malloc(sizeof(*t) + n * sizeof(t->v[0]));
    if (!t) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return NULL;
    }
    t->n = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        uint64_t h = tged_hash_ci(names[i], len);
        int dup = 0;
        for (size_t j = 0; j < t->n && !dup; j++)
            dup = t->v[j].hash == h &&
                  tged_name_eq(t->v[j].name, t->v[j].len, names[i], len);
        if (dup) {
            free(names[i]);
            continue;
        }
        t->v[t->n++] = (struct sql_type){h, len, names[i]};
    }
    free(names);
    qsort(t->v, t->n, sizeof(t->v[0]), type_cmp);
    (void)ctx;
    return t;
}

static const struct sql_type *types_find(const struct sql_types *t,
                                         const struct tged_query *q)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->v[mid].hash < q->type_hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < t->n && t->v[lo].hash == q->type_hash; lo++)
        if (tged_name_eq(t->v[lo].name, t->v[lo].len, q->type, q->type_len))
            return &t->v[lo];
    return NULL;
}

/* ---- keys --------------------------------------------------------------- */

/* The value a request gives parameter p (not :rq); NULL when absent. */
static const struct tged_field *
param_filter(const struct sql_backend *b, const struct tged_query *q, size_t p)
{
    for (size_t i = 0; i < q->nfilters; i++)
        if (sql_param_is_header(b->query.names[p], q->filters[i].name,
                                q->filters[i].name_len))
            return &q->filters[i];
    return NULL;
}

/*
 * A key holds what the database sees of a request, so two requests that
 * bind the same values share an answer: the type's length, the type, NUL,
 * then for each parameter but :rq, 0 (NULL) or 1, length, value, NUL.
 * Filters the query does not name are no part of it: they are applied to
 * the cached rows.
 */
static size_t make_key(const struct sql_backend *b, const struct tged_query *q,
                       const char *type, size_t type_len, char *key)
{
    size_t n = 0;
    key[n++] = (char)type_len;
    memcpy(key + n, type, type_len);
    n += type_len;
    key[n++] = 0;
    for (size_t p = 0; p < b->query.nparams; p++) {
        if ((int)p == b->rq_param)
            continue;
        const struct tged_field *f = param_filter(b, q, p);
        if (!f) {
            key[n++] = 0;
            continue;
        }
        key[n++] = 1;
        key[n++] = (char)f->value_len;
        memcpy(key + n, f->value, f->value_len);
        n += f->value_len;
        key[n++] = 0;
    }
    return n;
}

int sql_key_decode(const struct sql_backend *b, const char *key, size_t len,
                   const char **type, size_t *type_len,
                   const char *params[SQL_MAX_PARAMS])
{
    size_t n = 0;
    if (len < 2)
        return -1;
    *type_len = (unsigned char)key[n++];
    *type = key + n;
    n += *type_len + 1;
    for (size_t p = 0; p < b->query.nparams; p++) {
        if ((int)p == b->rq_param) {
            params[p] = *type;
            continue;
        }
        if (n >= len)
            return -1;
        if (!key[n++]) {
            params[p] = NULL;
            continue;
        }
        size_t vl = (unsigned char)key[n++];
        params[p] = key + n;
        n += vl + 1;
    }
    return n == len ? 0 : -1;
}

/* ---- lookups ---------------------------------------------------------- */

static int emit(struct sql_backend *b, const struct sql_answer *a,
                const struct tged_query *q, const char *type, size_t type_len,
                struct tged_sink *sink)
{
    /* Filters the query binds were applied by the database; the others
     * select among the rows here. */
    struct tged_field rest[TGED_MAX_REQUEST_HEADERS];
    struct tged_query sub = *q;
    sub.filters = rest;
    sub.nfilters = 0;
    for (size_t i = 0; i < q->nfilters && i < TGED_MAX_REQUEST_HEADERS; i++) {
        size_t p;
        for (p = 0; p < b->query.nparams; p++)
            if ((int)p != b->rq_param &&
                sql_param_is_header(b->query.names[p], q->filters[i].name,
                                    q->filters[i].name_len))
                break;
        if (p == b->query.nparams)
            rest[sub.nfilters++] = q->filters[i];
    }
    int found = 0;
    for (size_t i = 0; i < a->nrows; i++) {
        const struct sql_row *r = &a->rows[i];
        if (!tged_query_match(&sub, r->fields, r->nfields))
            continue;
        int rc = r->type ? tged_sink_add_fields(sink, r->type, r->type_len,
                                                r->fields, r->nfields)
                         : tged_sink_add_fields(sink, type, type_len, r->fields,
                                                r->nfields);
        if (rc >= 0)
            found = 1;
        if (rc == 1)
            break;
    }
    return found ? TGED_FOUND : TGED_NO_MATCH;
}

static int emit_ref(struct sql_backend *b, struct sql_answer *a,
                    const struct tged_query *q, const char *type,
                    size_t type_len, struct tged_sink *sink)
{
    int rc = emit(b, a, q, type, type_len, sink);
    sql_answer_unref(a);
    return rc;
}

static void note_stale(struct sql_backend *b, const struct tged_query *q,
                       int64_t age_ms, int64_t now)
{
    int64_t last = __atomic_load_n(&b->stale_logged_ms, __ATOMIC_RELAXED);
    if (last && now - last < 10000)
        return;
    if (!__atomic_compare_exchange_n(&b->stale_logged_ms, &last, now, 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;
    tged_log(b->ctx, LOG_NOTICE,
             "database unavailable: serving the last good answer for %.*s "
             "(%.1f s old; logged once per 10 s)",
             (int)q->type_len, q->type, (double)age_ms / 1000);
}

int sql_plugin_lookup(void *state, const struct tged_query *q,
                      struct tged_sink *sink)
{
    struct sql_backend *b = state;
    const char *type = q->type;
    size_t type_len = q->type_len;
    const struct sql_types *types = tged_snapshot_get(&b->types_snap);
    if (types) {
        const struct sql_type *t = types_find(types, q);
        if (!t)
            return TGED_NOT_MINE;
        type = t->name;
        type_len = t->len;
    }
    if (type_len > TGED_MAX_TYPE)
        return TGED_FAILED;
    char key[SQL_KEY_MAX];
    size_t klen = make_key(b, q, type, type_len, key);
    uint64_t h = sql_key_hash(key, klen);
    int64_t now = sql_now_ms();
    struct sql_shard *sh;
    struct sql_entry *e = sql_cache_get(&b->cache, key, klen, h, 1, &sh);
    if (!e) {
        sql_shard_unlock(sh);
        return TGED_FAILED;
    }
    struct sql_answer *a = e->ans;
    if (a && now - a->fetched_ms < b->cache_ttl_ms) {
        sql_answer_ref(a);
        sql_shard_unlock(sh);
        return emit_ref(b, a, q, type, type_len, sink);
    }
    int health = __atomic_load_n(&b->health, __ATOMIC_ACQUIRE);
    if (!e->pending && health != SQL_DOWN && sql_queue_push(b, key, klen))
        e->pending = 1;
    if (e->pending && health == SQL_UP && b->timeout_ms > 0) {
        uint64_t gen = e->gen;
        int64_t deadline = now + b->timeout_ms;
        e->waiters++;
        while (e->gen == gen && e->pending) {
            if (sql_shard_wait(sh, deadline)) {
                if (e->gen == gen && e->pending) {
                    int up = SQL_UP;
                    if (__atomic_compare_exchange_n(&b->health, &up, SQL_SLOW,
                                                    0, __ATOMIC_ACQ_REL,
                                                    __ATOMIC_RELAXED))
                        tged_log(b->ctx, LOG_WARNING,
                                 "database slow: no answer within %.3g s; "
                                 "answering from the cache or unavailable "
                                 "until a query completes in time",
                                 (double)b->timeout_ms / 1000);
                }
                break;
            }
        }
        e->waiters--;
        if (e->gen != gen && e->ans) {
            a = e->ans;
            sql_answer_ref(a);
            sql_shard_unlock(sh);
            return emit_ref(b, a, q, type, type_len, sink);
        }
    }
    a = e->ans;
    if (a && now - a->fetched_ms < b->cache_ttl_ms + b->stale_ttl_ms) {
        sql_answer_ref(a);
        sql_shard_unlock(sh);
        if (now - a->fetched_ms >= b->cache_ttl_ms)
            note_stale(b, q, now - a->fetched_ms, now);
        return emit_ref(b, a, q, type, type_len, sink);
    }
    sql_shard_unlock(sh);
    return TGED_FAILED;
}

/* ---- life cycle --------------------------------------------------------- */

static int parse_query(struct sql_backend *b, const char *name,
                       const char *text, struct sql_text *t)
{
    char err[256], at[512];
    int rc =
        sql_text_parse(text, b->drv->style, b->drv->lex, t, err, sizeof(err));
    if (rc) {
        setting_at(b->ctx, name, at, sizeof(at));
        tged_log(b->ctx, LOG_ERR, "%s%s: %s", at, name, err);
    }
    return rc;
}

static void backend_free(struct sql_backend *b)
{
    sql_cache_destroy(&b->cache);
    sql_types_free(b->types_snap);
    sql_text_free(&b->query);
    sql_text_free(&b->types);
    if (b->drvcfg)
        b->drv->unconfigure(b->drvcfg);
    if (b->stop_fd >= 0)
        close(b->stop_fd);
    pthread_mutex_destroy(&b->qlock);
    pthread_cond_destroy(&b->qcond);
    free(b);
}

int sql_plugin_init(struct tged_instance *ctx, void **state,
                    const struct sql_driver *drv)
{
    struct sql_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->ctx = ctx;
    b->drv = drv;
    b->stop_fd = -1;
    b->rq_param = -1;
    pthread_mutex_init(&b->qlock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->qcond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = -EINVAL;
    char at[512];

    const char *query = tged_get_string(ctx, "query", NULL);
    const char *types = tged_get_string(ctx, "types_query", NULL);
    setting_at(ctx, "query", b->query_at, sizeof(b->query_at));
    setting_at(ctx, "types_query", b->types_at, sizeof(b->types_at));
    if (!query || parse_query(b, "query", query, &b->query))
        goto fail;
    for (size_t p = 0; p < b->query.nparams; p++) {
        const char *n = b->query.names[p];
        if (!strcmp(n, "rq")) {
            b->rq_param = (int)p;
        } else if (tged_name_reserved(n, strlen(n)) ||
                   !tged_name_valid(n, strlen(n))) {
            tged_log(ctx, LOG_ERR,
                     "%squery: parameter :%s names no filter a request can "
                     "carry (%s is reserved)",
                     b->query_at, n, n);
            goto fail;
        }
    }
    if (types) {
        if (parse_query(b, "types_query", types, &b->types))
            goto fail;
        if (b->types.nparams) {
            setting_at(ctx, "types_query", at, sizeof(at));
            tged_log(ctx, LOG_ERR, "%stypes_query takes no parameter (:%s)", at,
                     b->types.names[0]);
            goto fail;
        }
        b->has_types = 1;
    }
    size_t cache_size;
    if (duration(ctx, "timeout", 0.2, 0.001, 3600, &b->timeout_ms) ||
        duration(ctx, "cache_ttl", 5, 0, 86400 * 365, &b->cache_ttl_ms) ||
        duration(ctx, "stale_ttl", 0, 0, 86400 * 365, &b->stale_ttl_ms) ||
        duration(ctx, "reconnect_max", 5, 0.01, 86400, &b->reconnect_max_ms) ||
        count_setting(ctx, "cache_size", 1024, 1, 10000000, &cache_size) ||
        count_setting(ctx, "max_rows", 64, 1, 100000, &b->max_rows))
        goto fail;
    b->types_period_ms = b->cache_ttl_ms > 1000 ? b->cache_ttl_ms : 1000;
    if ((rc = sql_cache_init(&b->cache, cache_size)))
        goto fail;
    rc = -EINVAL;
    if (drv->configure(ctx, &b->drvcfg))
        goto fail;
    b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->stop_fd < 0) {
        rc = -errno;
        goto fail;
    }
    void *conn = NULL;
    const char *watch = drv->watch ? drv->watch(b->drvcfg) : NULL;
    if (drv->flags & SQL_DRV_LOCAL) {
        /* A file is quick to open: a query that cannot be prepared, or an
         * SQL file of ours with a mistake, stops the start here. */
        struct sql_env env = {
            .ctx = ctx, .stop_fd = b->stop_fd, .stopping = &b->stopping};
        int up = sql_bring_up(b, &env, &conn);
        if (up == SQL_E_QUERY || (up && watch)) {
            tged_log(ctx, LOG_ERR, "%s", env.err);
            goto fail;
        }
        if (up)
            tged_log(ctx, LOG_WARNING,
                     "%s; answering unavailable until it "
                     "can be opened",
                     env.err);
    }
    if (watch) {
        int w = tged_watch(ctx, watch);
        if (w < 0)
            tged_log(ctx, LOG_WARNING, "%s: cannot watch: %s", watch,
                     strerror(-w));
    }
    if ((rc = sql_worker_start(b, conn))) {
        if (conn)
            drv->disconnect(conn);
        goto fail;
    }
    tged_log(ctx, LOG_INFO, "%s; timeout %.3g s, cache_ttl %.3g s%s",
             drv->describe(b->drvcfg), (double)b->timeout_ms / 1000,
             (double)b->cache_ttl_ms / 1000,
             b->stale_ttl_ms ? ", stale answers while unavailable" : "");
    *state = b;
    return 0;
fail:
    backend_free(b);
    return rc;
}

int sql_plugin_reload(struct tged_instance *ctx, void *state)
{
    struct sql_backend *b = state;
    if (!b->drv->watch || !b->drv->watch(b->drvcfg))
        return 0;
    struct sql_env env = {
        .ctx = ctx, .stop_fd = b->stop_fd, .stopping = &b->stopping};
    void *conn = NULL;
    if (sql_bring_up(b, &env, &conn)) {
        tged_log(ctx, LOG_ERR, "%s", env.err);
        return -EINVAL;
    }
    pthread_mutex_lock(&b->qlock);
    void *old = b->fresh_conn;
    b->fresh_conn = conn;
    pthread_cond_signal(&b->qcond);
    pthread_mutex_unlock(&b->qlock);
    if (old)
        b->drv->disconnect(old);
    /* The database thread says "reloaded" once it serves the new data. */
    return 0;
}

void sql_plugin_close(void *state)
{
    struct sql_backend *b = state;
    sql_worker_stop(b);
    if (b->fresh_conn)
        b->drv->disconnect(b->fresh_conn);
    backend_free(b);
}
