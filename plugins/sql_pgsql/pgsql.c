/* plugins/sql_pgsql/pgsql.c - records from a PostgreSQL database.
 *
 * libpq is used through its asynchronous calls only, polled together with
 * the backend's stop descriptor: a connection attempt or a query ends by
 * its deadline or when tgedd closes the backend, whatever the server does
 * (a blocking call, or PQcancel(), could wait forever on a server that
 * stopped answering). A query out of time costs the connection: a new one
 * is made for the next, and the server's own statement_timeout ends the
 * query on its side.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../sql/sql.h"

#define BOOLOID 16
#define TEXTOID 25

struct cfg {
    struct sql_server s;
    char sockdir[4096];
    char port[16];
    char options[64];
};

struct conn {
    struct cfg *cfg;
    PGconn *pg;
};

static const char *const stmt_name[2] = {"tged_query", "tged_types"};

static void no_notices(void *arg, const char *msg)
{
}

static int fail_conn(struct conn *c, struct sql_env *env, const char *what)
{
    sql_seterr(env, "%s%s", what, c->pg ? PQerrorMessage(c->pg) : "");
    return SQL_E_CONN;
}

static int pg_connect(void *cfgp, struct sql_env *env, int64_t deadline,
                      void **out)
{
    struct cfg *cfg = cfgp;
    const struct sql_server *s = &cfg->s;
    char password[1024];
    if (sql_server_password(s, env, password, sizeof(password)))
        return SQL_E_CONN;
    static const char *const tls_modes[] = {
        [SQL_TLS_DISABLE] = "disable",
        [SQL_TLS_PREFER] = "prefer",
        [SQL_TLS_REQUIRE] = "require",
        [SQL_TLS_VERIFY_CA] = "verify-ca",
        [SQL_TLS_VERIFY_FULL] = "verify-full",
    };
    const char *keys[20], *vals[20];
    int n = 0;
#define KV(k, v)                                                               \
    do {                                                                       \
        const char *v_ = (v);                                                  \
        if (v_) {                                                              \
            keys[n] = (k);                                                     \
            vals[n++] = v_;                                                    \
        }                                                                      \
    } while (0)
    KV("host", s->socket ? cfg->sockdir : s->host);
    KV("port", cfg->port[0] ? cfg->port : NULL);
    KV("dbname", s->database);
    KV("user", s->user);
    KV("password", password[0] ? password : NULL);
    KV("sslmode", s->tls ? tls_modes[s->tls] : NULL);
    KV("sslrootcert", s->tls_ca);
    KV("sslcert", s->tls_cert);
    KV("sslkey", s->tls_key);
    KV("application_name", "tgedd");
    KV("client_encoding", "UTF8");
    KV("options", cfg->options[0] ? cfg->options : NULL);
#undef KV
    keys[n] = vals[n] = NULL;

    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        sql_seterr(env, "out of memory");
        return SQL_E_CONN;
    }
    c->cfg = cfg;
    c->pg = PQconnectStartParams(keys, vals, 0);
    explicit_bzero(password, sizeof(password));
    int rc = SQL_OK;
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        rc = fail_conn(c, env, "");
        goto out;
    }
    int64_t dl = sql_now_ms() + s->connect_timeout_ms;
    if (dl > deadline)
        dl = deadline;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            rc = fail_conn(c, env, "");
            goto out;
        }
        short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int r = sql_wait_fd(env, PQsocket(c->pg), ev, dl);
        if (r < 0) {
            rc = SQL_E_STOP;
            goto out;
        }
        if (r == 0) {
            sql_seterr(env, "no connection within %.3g s",
                       (double)s->connect_timeout_ms / 1000);
            rc = SQL_E_CONN;
            goto out;
        }
        st = PQconnectPoll(c->pg);
    }
    PQsetNoticeProcessor(c->pg, no_notices, NULL);
    if (PQsetnonblocking(c->pg, 1)) {
        rc = fail_conn(c, env, "");
        goto out;
    }
out:
    if (rc) {
        PQfinish(c->pg);
        free(c);
        return rc;
    }
    *out = c;
    return SQL_OK;
}

static void pg_disconnect(void *p)
{
    struct conn *c = p;
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

static int classify(struct conn *c, const PGresult *res, struct sql_env *env)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    sql_seterr(env, "%s", PQresultErrorMessage(res));
    if (PQstatus(c->pg) == CONNECTION_BAD)
        return SQL_E_CONN;
    if (!state)
        return SQL_E_QUERY;
    if (!strncmp(state, "22", 2))
        return SQL_E_DATA;
    if (!strcmp(state, "57014"))
        return SQL_E_TIMEOUT;
    if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3) ||
        !strncmp(state, "53", 2) || !strcmp(state, "26000"))
        return SQL_E_CONN;
    return SQL_E_QUERY;
}

/* Send what libpq holds, then read results until the last, giving each
 * to on_result; an enum sql_rc (the first error seen). */
static int results(struct conn *c, struct sql_env *env, int64_t deadline,
                   int (*on_result)(void *arg, PGresult *res), void *arg)
{
    int sock = PQsocket(c->pg);
    int rc = SQL_OK;
    for (;;) {
        int f = PQflush(c->pg);
        if (f == 0)
            break;
        if (f < 0)
            return fail_conn(c, env, "");
        int r = sql_wait_fd(env, sock, POLLOUT | POLLIN, deadline);
        if (r <= 0)
            goto timeout;
        if ((r & POLLIN) && !PQconsumeInput(c->pg))
            return fail_conn(c, env, "");
    }
    for (;;) {
        while (!PQisBusy(c->pg)) {
            PGresult *res = PQgetResult(c->pg);
            if (!res)
                return rc;
            int r = on_result(arg, res);
            if (!rc)
                rc = r;
            PQclear(res);
        }
        int r = sql_wait_fd(env, sock, POLLIN, deadline);
        if (r <= 0)
            goto timeout;
        if (!PQconsumeInput(c->pg))
            return fail_conn(c, env, "");
    }
timeout:
    if (__atomic_load_n(env->stopping, __ATOMIC_ACQUIRE))
        return SQL_E_STOP;
    sql_seterr(env, "no answer in time");
    return SQL_E_TIMEOUT;
}

struct prep {
    struct conn *c;
    struct sql_env *env;
};

static int on_prepared(void *arg, PGresult *res)
{
    struct prep *p = arg;
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        return SQL_OK;
    int rc = classify(p->c, res, p->env);
    return rc == SQL_E_DATA ? SQL_E_QUERY : rc;
}

static int pg_prepare(void *p, enum sql_stmt_id id, const struct sql_text *t,
                      struct sql_env *env, int64_t deadline)
{
    struct conn *c = p;
    /* Every value a request carries is text: declared so, `:host IS NULL`
     * needs no cast, and another column type takes CAST(:port AS integer),
     * whose failure on a bad value is a data error (no match). */
    Oid types[SQL_MAX_PARAMS];
    for (size_t i = 0; i < t->nparams; i++)
        types[i] = TEXTOID;
    if (!PQsendPrepare(c->pg, stmt_name[id], t->sql, (int)t->nparams, types))
        return fail_conn(c, env, "");
    struct prep pr = {c, env};
    return results(c, env, deadline, on_prepared, &pr);
}

struct exec {
    struct conn *c;
    struct sql_env *env;
    const struct sql_rows *out;
    int described;
};

static int on_rows(void *arg, PGresult *res)
{
    struct exec *e = arg;
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK)
        return classify(e->c, res, e->env);
    int n = PQnfields(res);
    if (n > TGED_MSG_HEADERS)
        n = TGED_MSG_HEADERS;
    if (!e->described) {
        const char *names[TGED_MSG_HEADERS];
        for (int i = 0; i < n; i++)
            names[i] = PQfname(res, i);
        e->out->columns(e->out->arg, (size_t)n, names);
        e->described = 1;
    }
    const char *vals[TGED_MSG_HEADERS];
    size_t lens[TGED_MSG_HEADERS];
    for (int r = 0; n && r < PQntuples(res); r++) {
        for (int i = 0; i < n; i++) {
            if (PQgetisnull(res, r, i)) {
                vals[i] = NULL;
                lens[i] = 0;
                continue;
            }
            vals[i] = PQgetvalue(res, r, i);
            lens[i] = (size_t)PQgetlength(res, r, i);
            if (PQftype(res, i) == BOOLOID && lens[i] == 1) {
                /* As the static plugin writes booleans. */
                int t = vals[i][0] == 't';
                vals[i] = t ? "true" : "false";
                lens[i] = t ? 4 : 5;
            }
        }
        e->out->row(e->out->arg, vals, lens);
    }
    return SQL_OK;
}

static int pg_execute(void *p, enum sql_stmt_id id, const struct sql_text *t,
                      const char *const *params, const struct sql_rows *out,
                      struct sql_env *env, int64_t deadline)
{
    struct conn *c = p;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return fail_conn(c, env, "");
    if (!PQsendQueryPrepared(c->pg, stmt_name[id], (int)t->nparams, params,
                             NULL, NULL, 0))
        return fail_conn(c, env, "");
    /* Rows one by one: memory stays bounded whatever the query returns. */
    PQsetSingleRowMode(c->pg);
    struct exec e = {c, env, out, 0};
    return results(c, env, deadline, on_rows, &e);
}

static int pg_configure(struct tged_instance *ctx, void **out)
{
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    if (sql_server_configure(ctx, &cfg->s, "PostgreSQL")) {
        sql_server_release(&cfg->s);
        free(cfg);
        return -EINVAL;
    }
    const struct sql_server *s = &cfg->s;
    if (s->port)
        snprintf(cfg->port, sizeof(cfg->port), "%lld", s->port);
    if (s->socket) {
        /* libpq wants the socket's folder; a path to the socket itself
         * (.s.PGSQL.PORT) gives the port as well. */
        snprintf(cfg->sockdir, sizeof(cfg->sockdir), "%s", s->socket);
        char *slash = strrchr(cfg->sockdir, '/');
        const char *base = slash ? slash + 1 : cfg->sockdir;
        if (slash && !strncmp(base, ".s.PGSQL.", 9)) {
            if (!s->port)
                snprintf(cfg->port, sizeof(cfg->port), "%s", base + 9);
            *slash = 0;
            if (!cfg->sockdir[0])
                strcpy(cfg->sockdir, "/");
        }
    }
    double timeout = tged_get_float(ctx, "timeout", 0.2);
    if (timeout > 0)
        snprintf(cfg->options, sizeof(cfg->options),
                 "-c statement_timeout=%lld",
                 (long long)(timeout * 1000 + 0.5) + 1);
    *out = cfg;
    return 0;
}

static void pg_unconfigure(void *p)
{
    struct cfg *cfg = p;
    sql_server_release(&cfg->s);
    free(cfg);
}

static const char *pg_describe(void *cfg)
{
    return ((struct cfg *)cfg)->s.desc;
}

static const struct sql_driver driver = {
    .name = "PostgreSQL",
    .style = SQL_STYLE_DOLLAR,
    .lex = SQL_LEX_DOLLAR_QUOTE | SQL_LEX_NO_DOLLAR_NUM,
    .flags = SQL_DRV_DROP_ON_TIMEOUT,
    .configure = pg_configure,
    .unconfigure = pg_unconfigure,
    .describe = pg_describe,
    .connect = pg_connect,
    .prepare = pg_prepare,
    .execute = pg_execute,
    .disconnect = pg_disconnect,
};

static int pg_init(struct tged_instance *ctx, void **state)
{
    return sql_plugin_init(ctx, state, &driver);
}

static const struct tged_setting settings[] = {
    SQL_COMMON_SETTINGS,
    SQL_SERVER_SETTINGS,
    {0},
};

TGED_PLUGIN(.name = "sql_pgsql", .version = "1.0",
            .description = "records from a PostgreSQL database",
            .settings = settings, .init = pg_init, .lookup = sql_plugin_lookup,
            .reload = sql_plugin_reload, .close = sql_plugin_close);
