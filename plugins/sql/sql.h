/* plugins/sql/sql.h - the SQL layer every sql_* plugin is built with, and
 * the interface its database driver implements.
 *
 * The layer (compiled into each plugin, so each shared object links only
 * its own client library) reads the common settings, turns the query's
 * :name parameters into the driver's placeholders, keeps the answer cache,
 * and runs one thread per backend that owns the connection: it connects
 * with backoff, prepares, runs the queries lookups asked for and stores
 * their answers. Lookups never touch the database (see lookup in
 * backend.c, and docs/backends/sql.md for the behaviour it gives).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_SQL_H
#define TGED_SQL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <tged/plugin.h>

#include "cache.h"
#include "params.h"

/* What a driver call came to. */
enum sql_rc {
    SQL_OK = 0,
    SQL_E_DATA,    /* a parameter's value does not suit the query: no row */
    SQL_E_QUERY,   /* the statement failed; the connection is still good */
    SQL_E_CONN,    /* no connection (lost, refused, file missing, ...) */
    SQL_E_TIMEOUT, /* ran out of time and was cut short */
    SQL_E_STOP,    /* the backend is closing */
};

/* What the layer lends a driver on the backend's thread. */
struct sql_env {
    struct tged_instance *ctx;
    int stop_fd;    /* readable once the backend is closing */
    int *stopping;  /* read atomically */
    char err[1024]; /* the driver says here why a call failed */
};

TGED_PRINTF(2, 3) void sql_seterr(struct sql_env *env, const char *fmt, ...);

/* Wait until fd has one of `events` (POLLIN, POLLOUT), the deadline
 * (monotonic ms) passes, or the backend closes: the revents (> 0), 0 at
 * the deadline, -1 when closing. */
int sql_wait_fd(struct sql_env *env, int fd, short events, int64_t deadline);

/* Read a password from the first line of a file into buf; 0 or -1 with
 * the reason in env->err. */
int sql_read_password(struct sql_env *env, const char *path, char *buf,
                      size_t len);

/* Statements a driver prepares on each connection. */
enum sql_stmt_id {
    SQL_STMT_QUERY = 0,
    SQL_STMT_TYPES = 1,
};

/* Where a driver sends what a statement returned. */
struct sql_rows {
    /* The result's column names, once, before any row. */
    void (*columns)(void *arg, size_t n, const char *const *names);
    /* One row; vals[i] NULL for SQL NULL, not NUL-terminated (lens). */
    void (*row)(void *arg, const char *const *vals, const size_t *lens);
    void *arg;
};

/* Driver flags. */
enum {
    /* A timed-out connection cannot be reused: drop it (servers). */
    SQL_DRV_DROP_ON_TIMEOUT = 1u << 0,
    /* The database is local and quick to open (a file): init() and
     * reload() bring it up at once, so a query that cannot be prepared
     * stops the start (or the reload) with file:line. */
    SQL_DRV_LOCAL = 1u << 1,
};

struct sql_driver {
    const char *name; /* "SQLite", for messages */
    enum sql_style style;
    unsigned lex; /* SQL_LEX_* */
    unsigned flags;
    /* Control thread, from init: read and check the driver's own
     * settings into *cfg. Log (file:line, setting) and -errno on error. */
    int (*configure)(struct tged_instance *ctx, void **cfg);
    void (*unconfigure)(void *cfg);
    /* One line naming the database, for logs. */
    const char *(*describe)(void *cfg);
    /* Optional: a file whose change rebuilds the connection, and whose
     * rebuild runs on the control thread in reload() (connect() must then
     * be callable there), and then passes to the thread. */
    const char *(*watch)(void *cfg);
    /* The rest runs on the backend's thread (and connect() also in
     * reload() when watch is set). Every call returns an enum sql_rc and
     * ends by the deadline (monotonic ms). */
    int (*connect)(void *cfg, struct sql_env *env, int64_t deadline,
                   void **conn);
    int (*prepare)(void *conn, enum sql_stmt_id id, const struct sql_text *t,
                   struct sql_env *env, int64_t deadline);
    /* Run a prepared statement with one value per distinct parameter
     * (NULL for SQL NULL; NUL-terminated). */
    int (*execute)(void *conn, enum sql_stmt_id id, const struct sql_text *t,
                   const char *const *params, const struct sql_rows *out,
                   struct sql_env *env, int64_t deadline);
    void (*disconnect)(void *conn);
};

/* Settings every sql_* plugin takes; a driver lists them first. */
#define SQL_COMMON_SETTINGS                                                    \
    {"query", TGED_SETTING_STRING, TGED_SETTING_REQUIRED,                      \
     "the SELECT answering a request; :rq is the type asked, :host the "       \
     "value of the HOST filter (NULL when absent), ..."},                      \
        {"types_query", TGED_SETTING_STRING, 0,                                \
         "a SELECT whose first column lists the types served (else every "     \
         "type is tried)"},                                                    \
        {"timeout", TGED_SETTING_FLOAT, 0,                                     \
         "seconds a query may take, and a lookup may wait (0.2)"},             \
        {"cache_ttl", TGED_SETTING_FLOAT, 0,                                   \
         "seconds an answer is served from the cache (5)"},                    \
        {"stale_ttl", TGED_SETTING_FLOAT, 0,                                   \
         "seconds past cache_ttl an answer is still served while the "         \
         "database is unavailable (0)"},                                       \
        {"cache_size", TGED_SETTING_INT, 0, "answers kept at most (1024)"},    \
        {"max_rows", TGED_SETTING_INT, 0,                                      \
         "rows kept of one answer at most (64)"},                              \
    {                                                                          \
        "reconnect_max", TGED_SETTING_FLOAT, 0,                                \
            "longest wait in seconds between two connection attempts (5)"      \
    }

/* Settings of a database server (PostgreSQL, MariaDB). */
#define SQL_SERVER_SETTINGS                                                    \
    {"database", TGED_SETTING_STRING, 0, "database name"},                     \
        {"host", TGED_SETTING_STRING, 0, "server host name or address"},       \
        {"port", TGED_SETTING_INT, 0, "server TCP port"},                      \
        {"socket", TGED_SETTING_PATH, 0, "server Unix socket"},                \
        {"user", TGED_SETTING_STRING, 0, "user name"},                         \
        {"password", TGED_SETTING_STRING, 0, "password"},                      \
        {"password_file", TGED_SETTING_PATH, 0,                                \
         "file whose first line is the password (read at each connection)"},   \
        {"connect_timeout", TGED_SETTING_FLOAT, 0,                             \
         "seconds a connection attempt may take (2)"},                         \
        {"tls", TGED_SETTING_STRING, 0,                                        \
         "disable, prefer, require, verify-ca or verify-full"},                \
        {"tls_ca", TGED_SETTING_PATH, 0, "CA certificates to verify with"},    \
        {"tls_cert", TGED_SETTING_PATH, 0, "client certificate"},              \
    {                                                                          \
        "tls_key", TGED_SETTING_PATH, 0, "client certificate's key"            \
    }

/* Server settings, read and checked by sql_server_configure(). */
struct sql_server {
    const char *database, *host, *socket, *user, *password, *password_file;
    long long port; /* 0: the driver's default */
    int64_t connect_timeout_ms;
    int tls; /* enum sql_tls */
    const char *tls_ca, *tls_cert, *tls_key;
    char desc[512];
    /* password_file as read in init, before tgedd gave up root: used when
     * the file cannot be read at a later connection. */
    char *password_read;
};

enum sql_tls {
    SQL_TLS_DEFAULT = 0, /* not set: the client library's default */
    SQL_TLS_DISABLE,
    SQL_TLS_PREFER,
    SQL_TLS_REQUIRE,
    SQL_TLS_VERIFY_CA,
    SQL_TLS_VERIFY_FULL,
};

int sql_server_configure(struct tged_instance *ctx, struct sql_server *s,
                         const char *what);
void sql_server_release(struct sql_server *s);
/* The password to use now (from password or password_file) into buf;
 * buf[0] == 0 when none. 0 or -1 with env->err set. */
int sql_server_password(const struct sql_server *s, struct sql_env *env,
                        char *buf, size_t len);

/* The plugin's entry points, given the driver. */
int sql_plugin_init(struct tged_instance *ctx, void **state,
                    const struct sql_driver *drv);
int sql_plugin_lookup(void *state, const struct tged_query *q,
                      struct tged_sink *sink);
int sql_plugin_reload(struct tged_instance *ctx, void *state);
void sql_plugin_close(void *state);

/* ---- inside the layer ------------------------------------------------ */

enum sql_health {
    SQL_DOWN = 0, /* no connection: misses answer at once */
    SQL_UP,       /* answering in time: a miss waits up to timeout */
    SQL_SLOW,     /* the last query ran out of time: misses answer at once */
};

/* Requests the lookups queued for the backend's thread, at most. */
#define SQL_QUEUE 256
/* The key of a request: type and parameter values (see make_key). */
#define SQL_KEY_MAX (2 + TGED_MAX_TYPE + 1 + SQL_MAX_PARAMS * (3 + 256))

struct worker;
struct sql_types; /* the types_query's answer, see backend.c */

struct sql_backend {
    struct tged_instance *ctx;
    const struct sql_driver *drv;
    void *drvcfg;
    struct sql_text query, types;
    int has_types;
    int rq_param;                  /* index of :rq, or -1 */
    char query_at[512];            /* "file:line: " of the query setting */
    char types_at[512];            /* and of types_query */
    int64_t query_error_logged_ms; /* the thread's rate limit */
    int64_t timeout_ms, cache_ttl_ms, stale_ttl_ms, reconnect_max_ms;
    int64_t types_period_ms;
    size_t max_rows;

    struct sql_cache cache;
    void *types_snap; /* struct sql_types *, read with tged_snapshot_get */
    int health;       /* enum sql_health, atomic */

    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct {
        char *key;
        size_t len;
    } queue[SQL_QUEUE];
    size_t qhead, qcount;
    void *fresh_conn; /* a connection rebuilt by reload(), under qlock */
    int stopping;     /* atomic */
    int stop_fd;
    pthread_t thread;
    struct worker *worker;
    int started;

    int64_t stale_logged_ms; /* atomic, rate limit of the stale notice */
};

/* worker.c */
/* Start the thread, with a connection sql_bring_up() made, or NULL. */
int sql_worker_start(struct sql_backend *b, void *conn);
void sql_worker_stop(struct sql_backend *b);
/* Connect (unless *conn is given), prepare and load the types: an enum
 * sql_rc, with *conn ready or NULL (freed). Any thread. */
int sql_bring_up(struct sql_backend *b, struct sql_env *env, void **conn);
/* Queue a key for the thread; 0 when the queue is full. Any thread. */
int sql_queue_push(struct sql_backend *b, const char *key, size_t len);
/* Decode a key into the type and the parameter values. */
int sql_key_decode(const struct sql_backend *b, const char *key, size_t len,
                   const char **type, size_t *type_len,
                   const char *params[SQL_MAX_PARAMS]);
void sql_types_free(void *types);
struct sql_types *sql_types_build(struct tged_instance *ctx, char **names,
                                  size_t n);

#endif
