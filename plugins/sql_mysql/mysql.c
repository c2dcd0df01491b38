/* plugins/sql_mysql/mysql.c - records from a MariaDB or MySQL database,
 * through MariaDB Connector/C.
 *
 * The connector's non-blocking calls are polled together with the
 * backend's stop descriptor, so a connection attempt or a query ends by
 * its deadline or when tgedd closes the backend, whatever the server does.
 * A query out of time costs the connection (its protocol state is then
 * unknown); max_statement_time ends it on a MariaDB server's side.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "../sql/sql.h"

/* A value longer than this cannot be a TGED value anyway (255 bytes,
 * plus white space that is trimmed). */
#define VALUE_BUF 1024

struct cfg {
    struct sql_server s;
    double timeout;
};

struct conn {
    struct cfg *cfg;
    MYSQL *my;
    MYSQL_STMT *st[2];
};

/* Wait for what the connector asked; the ready status for its _cont()
 * call, or -1 at our deadline, -2 when closing. */
static int my_wait(struct conn *c, struct sql_env *env, int status,
                   int64_t deadline)
{
    short ev = 0;
    if (status & MYSQL_WAIT_READ)
        ev |= POLLIN;
    if (status & MYSQL_WAIT_WRITE)
        ev |= POLLOUT;
    if (status & MYSQL_WAIT_EXCEPT)
        ev |= POLLPRI;
    int64_t dl = deadline;
    int own = 0;
    if (status & MYSQL_WAIT_TIMEOUT) {
        int64_t t = sql_now_ms() + mysql_get_timeout_value_ms(c->my);
        if (t < dl) {
            dl = t;
            own = 1;
        }
    }
    int r = sql_wait_fd(env, mysql_get_socket(c->my), ev, dl);
    if (r < 0)
        return -2;
    if (r == 0)
        return own ? MYSQL_WAIT_TIMEOUT : -1;
    int ready = 0;
    if (r & (POLLIN | POLLERR | POLLHUP))
        ready |= MYSQL_WAIT_READ;
    if (r & (POLLOUT | POLLERR | POLLHUP))
        ready |= MYSQL_WAIT_WRITE;
    if (r & POLLPRI)
        ready |= MYSQL_WAIT_EXCEPT;
    return ready & (status | MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
}

/* Drive one non-blocking call: START is the _start() call, CONT the
 * _cont() call, which may use `ready`. Sets rc to SQL_E_TIMEOUT or
 * SQL_E_STOP when it could not finish. */
#define RUN(c, env, deadline, rc, START, CONT)                                 \
    do {                                                                       \
        int st_ = (START);                                                     \
        while (st_) {                                                          \
            int ready = my_wait((c), (env), st_, (deadline));                  \
            if (ready < 0) {                                                   \
                (rc) = ready == -2 ? SQL_E_STOP : SQL_E_TIMEOUT;               \
                break;                                                         \
            }                                                                  \
            st_ = (CONT);                                                      \
        }                                                                      \
    } while (0)

static int classify(unsigned err)
{
    switch (err) {
    case ER_QUERY_INTERRUPTED:
    case ER_STATEMENT_TIMEOUT:
    case 3024: /* MySQL: max_execution_time exceeded */
        return SQL_E_TIMEOUT;
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_UNKNOWN_STMT_HANDLER:
    case ER_CON_COUNT_ERROR:
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
        return SQL_E_CONN;
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_DATA_TOO_LONG:
    case ER_WARN_DATA_OUT_OF_RANGE:
        return SQL_E_DATA;
    default:
        /* Client errors (CR_*, 2000 to 2999) are about the connection. */
        return err >= 2000 && err < 3000 ? SQL_E_CONN : SQL_E_QUERY;
    }
}

/* After a timeout the connection is mid-protocol: make sure closing it
 * cannot wait on the server. */
static void cut(struct conn *c)
{
    int fd = (int)mysql_get_socket(c->my);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

static void my_disconnect(void *p)
{
    struct conn *c = p;
    if (!c)
        return;
    for (int i = 0; i < 2; i++)
        if (c->st[i])
            mysql_stmt_close(c->st[i]);
    if (c->my)
        mysql_close(c->my);
    free(c);
}

static int my_connect(void *cfgp, struct sql_env *env, int64_t deadline,
                      void **out)
{
    struct cfg *cfg = cfgp;
    const struct sql_server *s = &cfg->s;
    char password[1024];
    if (sql_server_password(s, env, password, sizeof(password)))
        return SQL_E_CONN;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c || !(c->my = mysql_init(NULL))) {
        free(c);
        sql_seterr(env, "out of memory");
        return SQL_E_CONN;
    }
    c->cfg = cfg;
    MYSQL *my = c->my;
    unsigned ct = (unsigned)((s->connect_timeout_ms + 999) / 1000);
    mysql_options(my, MYSQL_OPT_NONBLOCK, 0);
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(my, MYSQL_READ_DEFAULT_GROUP, NULL);
    if (s->tls_ca)
        mysql_options(my, MYSQL_OPT_SSL_CA, s->tls_ca);
    if (s->tls_cert)
        mysql_options(my, MYSQL_OPT_SSL_CERT, s->tls_cert);
    if (s->tls_key)
        mysql_options(my, MYSQL_OPT_SSL_KEY, s->tls_key);
    my_bool yes = 1;
    if (s->tls >= SQL_TLS_REQUIRE)
        mysql_options(my, MYSQL_OPT_SSL_ENFORCE, &yes);
    if (s->tls >= SQL_TLS_VERIFY_CA)
        mysql_options(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);

    int64_t dl = sql_now_ms() + s->connect_timeout_ms;
    if (dl > deadline)
        dl = deadline;
    MYSQL *ret = NULL;
    int rc = SQL_OK;
    const char *host = s->socket ? "localhost" : s->host;
    RUN(c, env, dl, rc,
        mysql_real_connect_start(&ret, my, host, s->user,
                                 password[0] ? password : NULL, s->database,
                                 (unsigned)s->port, s->socket, 0),
        mysql_real_connect_cont(&ret, my, ready));
    explicit_bzero(password, sizeof(password));
    if (rc == SQL_E_TIMEOUT) {
        sql_seterr(env, "no connection within %.3g s",
                   (double)s->connect_timeout_ms / 1000);
        rc = SQL_E_CONN;
    } else if (!rc && !ret) {
        sql_seterr(env, "%s", mysql_error(my));
        rc = SQL_E_CONN;
    }
    if (!rc && cfg->timeout > 0) {
        /* MariaDB ends a statement past this on its side; a MySQL server
         * does not know the variable, and our deadline still holds. */
        char q[64];
        int qr = 0;
        snprintf(q, sizeof(q), "SET SESSION max_statement_time = %.3f",
                 cfg->timeout + 0.001);
        RUN(c, env, dl, rc, mysql_real_query_start(&qr, my, q, strlen(q)),
            mysql_real_query_cont(&qr, my, ready));
        if (rc == SQL_E_TIMEOUT) {
            sql_seterr(env, "no answer within %.3g s after connecting",
                       (double)s->connect_timeout_ms / 1000);
            rc = SQL_E_CONN;
        }
    }
    if (rc) {
        my_disconnect(c);
        return rc;
    }
    *out = c;
    return SQL_OK;
}

static int stmt_error(MYSQL_STMT *st, struct sql_env *env)
{
    sql_seterr(env, "%s", mysql_stmt_error(st));
    return classify(mysql_stmt_errno(st));
}

static int my_prepare(void *p, enum sql_stmt_id id, const struct sql_text *t,
                      struct sql_env *env, int64_t deadline)
{
    struct conn *c = p;
    MYSQL_STMT *st = mysql_stmt_init(c->my);
    if (!st) {
        sql_seterr(env, "out of memory");
        return SQL_E_CONN;
    }
    c->st[id] = st;
    int rc = SQL_OK, ret = 0;
    RUN(c, env, deadline, rc,
        mysql_stmt_prepare_start(&ret, st, t->sql, strlen(t->sql)),
        mysql_stmt_prepare_cont(&ret, st, ready));
    if (rc == SQL_E_TIMEOUT) {
        sql_seterr(env, "no answer in time to PREPARE");
        return SQL_E_CONN;
    }
    if (rc)
        return rc;
    if (ret) {
        rc = stmt_error(st, env);
        return rc == SQL_E_DATA ? SQL_E_QUERY : rc;
    }
    if (mysql_stmt_param_count(st) != t->nbinds) {
        sql_seterr(env, "the server counts %lu placeholders, not %zu",
                   mysql_stmt_param_count(st), t->nbinds);
        return SQL_E_QUERY;
    }
    return SQL_OK;
}

static int my_execute(void *p, enum sql_stmt_id id, const struct sql_text *t,
                      const char *const *params, const struct sql_rows *out,
                      struct sql_env *env, int64_t deadline)
{
    struct conn *c = p;
    MYSQL_STMT *st = c->st[id];
    MYSQL_BIND pb[SQL_MAX_BINDS];
    unsigned long plen[SQL_MAX_BINDS];
    memset(pb, 0, sizeof(pb[0]) * (t->nbinds ? t->nbinds : 1));
    for (size_t i = 0; i < t->nbinds; i++) {
        const char *v = params ? params[t->bind[i]] : NULL;
        if (!v) {
            pb[i].buffer_type = MYSQL_TYPE_NULL;
            continue;
        }
        plen[i] = (unsigned long)strlen(v);
        pb[i].buffer_type = MYSQL_TYPE_STRING;
        pb[i].buffer = (void *)v;
        pb[i].buffer_length = plen[i];
        pb[i].length = &plen[i];
    }
    if (t->nbinds && mysql_stmt_bind_param(st, pb))
        return stmt_error(st, env);

    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    size_t n = meta ? mysql_num_fields(meta) : 0;
    if (n > TGED_MSG_HEADERS)
        n = TGED_MSG_HEADERS;
    const char *names[TGED_MSG_HEADERS];
    MYSQL_FIELD *fields = meta ? mysql_fetch_fields(meta) : NULL;
    for (size_t i = 0; i < n; i++)
        names[i] = fields[i].name;
    out->columns(out->arg, n, names);

    MYSQL_BIND *rb = NULL;
    char *bufs = NULL;
    unsigned long rlen[TGED_MSG_HEADERS];
    my_bool isnull[TGED_MSG_HEADERS], err[TGED_MSG_HEADERS];
    int rc = SQL_OK, ret = 0;
    if (n) {
        rb = calloc(n, sizeof(*rb));
        bufs = malloc(n * VALUE_BUF);
        if (!rb || !bufs) {
            sql_seterr(env, "out of memory");
            rc = SQL_E_QUERY;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            rb[i].buffer_type = MYSQL_TYPE_STRING;
            rb[i].buffer = bufs + i * VALUE_BUF;
            rb[i].buffer_length = VALUE_BUF;
            rb[i].length = &rlen[i];
            rb[i].is_null = &isnull[i];
            rb[i].error = &err[i];
        }
    }
    RUN(c, env, deadline, rc, mysql_stmt_execute_start(&ret, st),
        mysql_stmt_execute_cont(&ret, st, ready));
    if (rc)
        goto out;
    if (ret) {
        rc = stmt_error(st, env);
        goto out;
    }
    if (n && mysql_stmt_bind_result(st, rb)) {
        rc = stmt_error(st, env);
        goto out;
    }
    while (n) {
        RUN(c, env, deadline, rc, mysql_stmt_fetch_start(&ret, st),
            mysql_stmt_fetch_cont(&ret, st, ready));
        if (rc)
            goto out;
        if (ret == MYSQL_NO_DATA)
            break;
        if (ret == 1) {
            rc = stmt_error(st, env);
            goto out;
        }
        const char *vals[TGED_MSG_HEADERS];
        size_t lens[TGED_MSG_HEADERS];
        for (size_t i = 0; i < n; i++) {
            vals[i] = isnull[i] ? NULL : bufs + i * VALUE_BUF;
            /* Cut short: too long to be a value, and seen as such. */
            lens[i] = rlen[i] < VALUE_BUF ? rlen[i] : VALUE_BUF;
        }
        out->row(out->arg, vals, lens);
    }
out:
    if (rc == SQL_E_TIMEOUT) {
        cut(c);
        sql_seterr(env, "no answer in time");
    } else if (rc != SQL_OK && rc != SQL_E_STOP && rc != SQL_E_CONN) {
        /* Read what is left of the result so the connection can go on. */
        my_bool r = 0;
        int rr = SQL_OK;
        RUN(c, env, deadline, rr, mysql_stmt_reset_start(&r, st),
            mysql_stmt_reset_cont(&r, st, ready));
        if (rr || r)
            rc = SQL_E_CONN;
    }
    if (meta)
        mysql_free_result(meta);
    free(rb);
    free(bufs);
    return rc;
}

static int my_configure(struct tged_instance *ctx, void **out)
{
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    if (sql_server_configure(ctx, &cfg->s, "MariaDB")) {
        sql_server_release(&cfg->s);
        free(cfg);
        return -EINVAL;
    }
    cfg->timeout = tged_get_float(ctx, "timeout", 0.2);
    *out = cfg;
    return 0;
}

static void my_unconfigure(void *p)
{
    struct cfg *cfg = p;
    sql_server_release(&cfg->s);
    free(cfg);
}

static const char *my_describe(void *cfg)
{
    return ((struct cfg *)cfg)->s.desc;
}

static const struct sql_driver driver = {
    .name = "MariaDB",
    .style = SQL_STYLE_QMARK,
    .lex = SQL_LEX_BACKSLASH | SQL_LEX_BACKTICK | SQL_LEX_HASH_COMMENT |
           SQL_LEX_NO_QMARK,
    .flags = SQL_DRV_DROP_ON_TIMEOUT,
    .configure = my_configure,
    .unconfigure = my_unconfigure,
    .describe = my_describe,
    .connect = my_connect,
    .prepare = my_prepare,
    .execute = my_execute,
    .disconnect = my_disconnect,
};

static int my_init(struct tged_instance *ctx, void **state)
{
    /* The connector's global state is made once, here on the control
     * thread rather than by the first mysql_init() on a backend's thread. */
    if (mysql_library_init(0, NULL, NULL)) {
        tged_log(ctx, LOG_ERR, "MariaDB Connector/C cannot start");
        return -ENOMEM;
    }
    return sql_plugin_init(ctx, state, &driver);
}

/* When tgedd unloads the plugin (every backend of it closed): free what
 * the connector keeps for the whole process. */
__attribute__((destructor)) static void my_unload(void)
{
    mysql_library_end();
}

static const struct tged_setting settings[] = {
    SQL_COMMON_SETTINGS,
    SQL_SERVER_SETTINGS,
    {0},
};

TGED_PLUGIN(.name = "sql_mysql", .version = "1.0",
            .description = "records from a MariaDB or MySQL database",
            .settings = settings, .init = my_init, .lookup = sql_plugin_lookup,
            .reload = sql_plugin_reload, .close = sql_plugin_close);
