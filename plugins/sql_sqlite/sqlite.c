/* plugins/sql_sqlite/sqlite.c - records from an SQLite database.
 *
 * The database is a file another program writes: it is opened read-only,
 * waits up to `timeout` for that program's locks, and is opened again when
 * the file is replaced (a new inode under the same name). With `init_sql`
 * alone, the database lives in memory, built from that SQL file at start
 * and again whenever the file changes, so a site (or a checkout) can keep
 * its records as SQL text with nothing written anywhere.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../sql/sql.h"

/* An init_sql file larger than this is refused. */
#define INIT_SQL_MAX (64u << 20)

struct cfg {
    struct tged_instance *ctx;
    const char *database; /* NULL: in memory, from init_sql */
    const char *init_sql;
    char desc[PATH_MAX + 64];
};

struct conn {
    struct cfg *cfg;
    sqlite3 *db;
    dev_t dev;
    ino_t ino;
    sqlite3_stmt *st[2];
    const struct sql_text *text[2];
    int64_t deadline;
    int *stopping;
};

/* 1-based line of byte `off` in text. */
static unsigned line_of(const char *text, size_t off)
{
    unsigned line = 1;
    for (size_t i = 0; i < off && text[i]; i++)
        line += text[i] == '\n';
    return line;
}

static char *read_file(const char *path, struct sql_env *env)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        sql_seterr(env, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > INIT_SQL_MAX) {
        sql_seterr(env, "%s: not a regular file of at most %u MiB", path,
                   INIT_SQL_MAX >> 20);
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (buf && n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    int e = errno;
    close(fd);
    if (!buf || n != (size_t)st.st_size) {
        sql_seterr(env, "%s: %s", path,
                   buf ? "changed while read" : strerror(e));
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (strlen(buf) != n) {
        sql_seterr(env, "%s:%u: a NUL byte in SQL text", path,
                   line_of(buf, strlen(buf)));
        free(buf);
        return NULL;
    }
    return buf;
}

/* Run every statement of an SQL file; errors name file:line. */
static int run_script(sqlite3 *db, const char *path, struct sql_env *env)
{
    char *text = read_file(path, env);
    if (!text)
        return -1;
    const char *p = text;
    int rc = 0;
    while (*p) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(db, p, -1, &st, &tail) != SQLITE_OK) {
            int off = sqlite3_error_offset(db);
            size_t at = (size_t)(p - text) + (off > 0 ? (size_t)off : 0);
            while (off < 0 && text[at] &&
                   (text[at] == ' ' || text[at] == '\n' || text[at] == '\t' ||
                    text[at] == '\r'))
                at++;
            sql_seterr(env, "%s:%u: %s", path, line_of(text, at),
                       sqlite3_errmsg(db));
            rc = -1;
            break;
        }
        if (st) {
            int s;
            while ((s = sqlite3_step(st)) == SQLITE_ROW)
                ;
            if (s != SQLITE_DONE) {
                size_t at = (size_t)(p - text);
                while (text[at] == ' ' || text[at] == '\n' ||
                       text[at] == '\t' || text[at] == '\r')
                    at++;
                sql_seterr(env, "%s:%u: %s", path, line_of(text, at),
                           sqlite3_errmsg(db));
                sqlite3_finalize(st);
                rc = -1;
                break;
            }
            sqlite3_finalize(st);
        }
        p = tail;
    }
    free(text);
    return rc;
}

static int progress(void *arg)
{
    struct conn *c = arg;
    return __atomic_load_n(c->stopping, __ATOMIC_ACQUIRE) ||
           sql_now_ms() >= c->deadline;
}

static int open_db(struct conn *c, struct sql_env *env)
{
    struct cfg *cfg = c->cfg;
    int rc;
    if (cfg->database) {
        struct stat st;
        if (stat(cfg->database, &st)) {
            sql_seterr(env, "%s: %s", cfg->database, strerror(errno));
            return SQL_E_CONN;
        }
        c->dev = st.st_dev;
        c->ino = st.st_ino;
        rc = sqlite3_open_v2(cfg->database, &c->db, SQLITE_OPEN_READONLY, NULL);
    } else {
        rc = sqlite3_open_v2(":memory:", &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    }
    if (rc != SQLITE_OK) {
        sql_seterr(env, "%s: %s", cfg->database ? cfg->database : "memory",
                   c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        c->db = NULL;
        return SQL_E_CONN;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_progress_handler(c->db, 1000, progress, c);
    if (!cfg->database) {
        c->deadline = INT64_MAX;
        if (run_script(c->db, cfg->init_sql, env)) {
            sqlite3_close(c->db);
            c->db = NULL;
            return SQL_E_CONN;
        }
        /* Lookups read; nothing a query says may change the records. */
        sqlite3_exec(c->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    }
    return SQL_OK;
}

static void close_db(struct conn *c)
{
    for (int i = 0; i < 2; i++) {
        sqlite3_finalize(c->st[i]);
        c->st[i] = NULL;
    }
    sqlite3_close(c->db);
    c->db = NULL;
}

static int sq_connect(void *cfgp, struct sql_env *env, int64_t deadline,
                      void **out)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        sql_seterr(env, "out of memory");
        return SQL_E_CONN;
    }
    c->cfg = cfgp;
    c->stopping = env->stopping;
    int rc = open_db(c, env);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return SQL_OK;
}

static void sq_disconnect(void *p)
{
    struct conn *c = p;
    if (!c)
        return;
    close_db(c);
    free(c);
}

static int prepare_one(struct conn *c, enum sql_stmt_id id, struct sql_env *env)
{
    const char *tail = NULL;
    int rc = sqlite3_prepare_v3(c->db, c->text[id]->sql, -1,
                                SQLITE_PREPARE_PERSISTENT, &c->st[id], &tail);
    if (rc != SQLITE_OK) {
        sql_seterr(env, "%s", sqlite3_errmsg(c->db));
        return (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT ||
                       (rc & 0xff) == SQLITE_IOERR ||
                       (rc & 0xff) == SQLITE_CANTOPEN
                   ? SQL_E_CONN
                   : SQL_E_QUERY;
    }
    if (!c->st[id]) {
        sql_seterr(env, "the %s is empty",
                   id == SQL_STMT_QUERY ? "query" : "types_query");
        return SQL_E_QUERY;
    }
    if (tail && tail[strspn(tail, " \t\r\n;")]) {
        sql_seterr(env, "only one statement may be given: \"%.40s\" follows",
                   tail + strspn(tail, " \t\r\n;"));
        return SQL_E_QUERY;
    }
    if (!sqlite3_stmt_readonly(c->st[id])) {
        sql_seterr(env, "the statement would write to the database");
        return SQL_E_QUERY;
    }
    return SQL_OK;
}

static int sq_prepare(void *p, enum sql_stmt_id id, const struct sql_text *t,
                      struct sql_env *env, int64_t deadline)
{
    struct conn *c = p;
    c->text[id] = t;
    c->deadline = deadline;
    return prepare_one(c, id, env);
}

/* The file was replaced (or removed): open what is there now. */
static int reopen_if_replaced(struct conn *c, struct sql_env *env)
{
    struct stat st;
    if (!c->cfg->database)
        return SQL_OK;
    if (stat(c->cfg->database, &st) == 0 && st.st_dev == c->dev &&
        st.st_ino == c->ino)
        return SQL_OK;
    close_db(c);
    int rc = open_db(c, env);
    for (int i = 0; !rc && i < 2; i++)
        if (c->text[i])
            rc = prepare_one(c, i, env);
    return rc;
}

static int classify(int rc, struct conn *c)
{
    switch (rc & 0xff) {
    case SQLITE_INTERRUPT:
        return __atomic_load_n(c->stopping, __ATOMIC_ACQUIRE) ? SQL_E_STOP
                                                              : SQL_E_TIMEOUT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SQL_E_TIMEOUT; /* a writer held its lock past our time */
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_SCHEMA:
        return SQL_E_CONN;
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return SQL_E_DATA;
    default:
        return SQL_E_QUERY;
    }
}

static int sq_execute(void *p, enum sql_stmt_id id, const struct sql_text *t,
                      const char *const *params, const struct sql_rows *out,
                      struct sql_env *env, int64_t deadline)
{
    struct conn *c = p;
    int rc = reopen_if_replaced(c, env);
    if (rc) {
        if (c->db)
            close_db(c);
        return rc == SQL_E_QUERY ? SQL_E_CONN : rc;
    }
    if (!c->db)
        return SQL_E_CONN;
    sqlite3_stmt *st = c->st[id];
    c->deadline = deadline;
    int64_t left = deadline - sql_now_ms();
    sqlite3_busy_timeout(c->db,
                         left > 0 ? (int)(left > INT_MAX ? INT_MAX : left) : 1);
    for (size_t i = 0; i < t->nparams; i++) {
        int b = params && params[i]
                    ? sqlite3_bind_text(st, (int)i + 1, params[i], -1,
                                        SQLITE_STATIC)
                    : sqlite3_bind_null(st, (int)i + 1);
        if (b != SQLITE_OK) {
            sql_seterr(env, "binding :%s: %s", t->names[i],
                       sqlite3_errmsg(c->db));
            sqlite3_clear_bindings(st);
            return classify(b, c);
        }
    }
    int n = sqlite3_column_count(st);
    if (n > TGED_MSG_HEADERS)
        n = TGED_MSG_HEADERS;
    const char *names[TGED_MSG_HEADERS];
    const char *vals[TGED_MSG_HEADERS];
    size_t lens[TGED_MSG_HEADERS];
    for (int i = 0; i < n; i++)
        names[i] = sqlite3_column_name(st, i);
    out->columns(out->arg, (size_t)n, names);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (!n)
            continue;
        for (int i = 0; i < n; i++) {
            if (sqlite3_column_type(st, i) == SQLITE_NULL) {
                vals[i] = NULL;
                lens[i] = 0;
                continue;
            }
            vals[i] = (const char *)sqlite3_column_text(st, i);
            lens[i] = (size_t)sqlite3_column_bytes(st, i);
            if (!vals[i])
                vals[i] = "";
        }
        out->row(out->arg, vals, lens);
    }
    rc = SQL_OK;
    if (s != SQLITE_DONE) {
        rc = classify(s, c);
        if (rc == SQL_E_TIMEOUT)
            sql_seterr(env, "interrupted after %.3g s: %s",
                       (double)(sql_now_ms() - (deadline - left)) / 1000,
                       sqlite3_errmsg(c->db));
        else
            sql_seterr(env, "%s", sqlite3_errmsg(c->db));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Make the database file from init_sql, whole or not at all. */
static int create_database(struct cfg *cfg)
{
    char tmp[PATH_MAX];
    int k =
        snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", cfg->database, (long)getpid());
    if (k < 0 || (size_t)k >= sizeof(tmp))
        return -ENAMETOOLONG;
    unlink(tmp);
    struct sql_env env = {.ctx = cfg->ctx};
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(tmp, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        tged_log(cfg->ctx, LOG_ERR, "%s: cannot create: %s", cfg->database,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        unlink(tmp);
        return -EIO;
    }
    if (run_script(db, cfg->init_sql, &env)) {
        tged_log(cfg->ctx, LOG_ERR, "%s (%s not created)", env.err,
                 cfg->database);
        sqlite3_close(db);
        unlink(tmp);
        return -EINVAL;
    }
    sqlite3_close(db);
    /* link() fails when another program made the file meanwhile: theirs
     * wins. */
    if (link(tmp, cfg->database) && errno != EEXIST) {
        tged_log(cfg->ctx, LOG_ERR, "%s: cannot create: %s", cfg->database,
                 strerror(errno));
        unlink(tmp);
        return -EIO;
    }
    unlink(tmp);
    tged_log(cfg->ctx, LOG_NOTICE, "%s: created from %s", cfg->database,
             cfg->init_sql);
    return 0;
}

static int sq_configure(struct tged_instance *ctx, void **out)
{
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    cfg->ctx = ctx;
    cfg->database = tged_get_path(ctx, "database", NULL);
    cfg->init_sql = tged_get_path(ctx, "init_sql", NULL);
    if (!cfg->database && !cfg->init_sql) {
        tged_log(ctx, LOG_ERR,
                 "needs 'database' (an SQLite file), 'init_sql' (an SQL "
                 "file loaded in memory), or both");
        free(cfg);
        return -EINVAL;
    }
    if (cfg->database && cfg->init_sql && access(cfg->database, F_OK) &&
        errno == ENOENT) {
        int rc = create_database(cfg);
        if (rc) {
            free(cfg);
            return rc;
        }
    }
    if (cfg->database)
        snprintf(cfg->desc, sizeof(cfg->desc), "SQLite database %s",
                 cfg->database);
    else
        snprintf(cfg->desc, sizeof(cfg->desc),
                 "SQLite database in memory, from %s", cfg->init_sql);
    *out = cfg;
    return 0;
}

static void sq_unconfigure(void *cfg)
{
    free(cfg);
}

static const char *sq_describe(void *cfg)
{
    return ((struct cfg *)cfg)->desc;
}

static const char *sq_watch(void *p)
{
    struct cfg *cfg = p;
    return cfg->database ? NULL : cfg->init_sql;
}

static const struct sql_driver driver = {
    .name = "SQLite",
    .style = SQL_STYLE_QMARK_NUM,
    .flags = SQL_DRV_LOCAL,
    .lex = SQL_LEX_BACKTICK | SQL_LEX_BRACKET | SQL_LEX_NO_QMARK |
           SQL_LEX_NO_AT_DOLLAR,
    .configure = sq_configure,
    .unconfigure = sq_unconfigure,
    .describe = sq_describe,
    .watch = sq_watch,
    .connect = sq_connect,
    .prepare = sq_prepare,
    .execute = sq_execute,
    .disconnect = sq_disconnect,
};

static int sq_init(struct tged_instance *ctx, void **state)
{
    return sql_plugin_init(ctx, state, &driver);
}

static const struct tged_setting settings[] = {
    SQL_COMMON_SETTINGS,
    {"database", TGED_SETTING_PATH, 0,
     "the SQLite file, opened read-only (another program writes it)"},
    {"init_sql", TGED_SETTING_PATH, 0,
     "SQL run to create the database when the file does not exist; "
     "without database: the database, in memory, rebuilt on change"},
    {0},
};

TGED_PLUGIN(.name = "sql_sqlite", .version = "1.0",
            .description = "records from an SQLite database",
            .settings = settings, .init = sq_init, .lookup = sql_plugin_lookup,
            .reload = sql_plugin_reload, .close = sql_plugin_close);
