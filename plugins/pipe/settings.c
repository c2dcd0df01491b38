/* plugins/pipe/settings.c - the pipe backend's settings, read and checked.
 * SPDX-License-Identifier: MIT */
#include "pipe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void where(const struct tged_cfg *c, char *buf, size_t len)
{
    if (c)
        snprintf(buf, len, "%s:%u: ", tged_cfg_file(c), tged_cfg_line(c));
    else
        buf[0] = '\0';
}

static int int_setting(struct tged_instance *ctx, const char *name,
                       long long dflt, long long min, long long max,
                       long long *out)
{
    long long v = tged_get_int(ctx, name, dflt);
    if (v < min || v > max) {
        char at[512];
        where(tged_get_cfg(ctx, name), at, sizeof(at));
        tged_log(ctx, LOG_ERR, "%s%s must be from %lld to %lld, not %lld", at,
                 name, min, max, v);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int read_command(struct tged_instance *ctx, struct pipe_settings *s)
{
    const struct tged_cfg *cmd = tged_get_cfg(ctx, "command");
    char at[512];
    where(cmd, at, sizeof(at));
    s->command_at = strdup(at);
    if (!s->command_at)
        return -ENOMEM;
    size_t n = tged_cfg_count(cmd);
    if (n == 0) {
        tged_log(ctx, LOG_ERR,
                 "%scommand must name the program: command = [ "
                 "\"backend.sh\", \"an argument\", ... ];",
                 at);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (!tged_cfg_string(tged_cfg_elem(cmd, i))) {
            tged_log(ctx, LOG_ERR,
                     "%scommand: element %zu must be a string (write "
                     "numbers in quotes)",
                     at, i + 1);
            return -EINVAL;
        }
    const char *prog = tged_cfg_string(tged_cfg_elem(cmd, 0));
    if (!prog[0]) {
        tged_log(ctx, LOG_ERR, "%scommand: the program's path is empty", at);
        return -EINVAL;
    }
    /* The folder of the file that holds `command`: tged_get_path()
     * resolves its default against it when the setting is not a string. */
    const char *dot = tged_get_path(ctx, "command", ".");
    if (!dot)
        return -ENOMEM;
    size_t dl = strlen(dot);
    s->dir = strndup(dot, dl >= 2 && !strcmp(dot + dl - 2, "/.") ? dl - 2 : dl);
    s->argv = calloc(n + 1, sizeof(char *));
    if (!s->dir || !s->argv)
        return -ENOMEM;
    if (prog[0] == '/')
        s->argv[0] = strdup(prog);
    else if (asprintf(&s->argv[0], "%s/%s", s->dir[0] ? s->dir : "/", prog) < 0)
        s->argv[0] = NULL;
    if (!s->argv[0])
        return -ENOMEM;
    for (size_t i = 1; i < n; i++)
        if (!(s->argv[i] = strdup(tged_cfg_string(tged_cfg_elem(cmd, i)))))
            return -ENOMEM;

    struct stat st;
    if (stat(s->argv[0], &st) != 0) {
        int e = errno;
        tged_log(ctx, LOG_ERR, "%scommand: %s: %s", at, s->argv[0],
                 strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        tged_log(ctx, LOG_ERR, "%scommand: %s is not a regular file", at,
                 s->argv[0]);
        return -EINVAL;
    }
    if (access(s->argv[0], X_OK) != 0) {
        tged_log(ctx, LOG_ERR,
                 "%scommand: %s is not executable (chmod +x "
                 "it, or name its interpreter first: [ \"/bin/sh\", "
                 "\"script.sh\" ])",
                 at, s->argv[0]);
        return -EACCES;
    }
    return 0;
}

static int env_value(const struct tged_cfg *v, char *buf, size_t len,
                     const char **out)
{
    switch (tged_cfg_kind(v)) {
    case TGED_CFG_STRING:
        *out = tged_cfg_string(v);
        return 0;
    case TGED_CFG_INT:
        snprintf(buf, len, "%lld", tged_cfg_int(v));
        *out = buf;
        return 0;
    case TGED_CFG_BOOL:
        *out = tged_cfg_bool(v) ? "true" : "false";
        return 0;
    default:
        return -EINVAL;
    }
}

/* Is NAME=... of entry e set by us (the env group or TGED_PIPE_*)? */
static int overridden(const char *e, const struct tged_cfg *env)
{
    const char *eq = strchr(e, '=');
    size_t n = eq ? (size_t)(eq - e) : strlen(e);
    if (n >= 10 && !memcmp(e, "TGED_PIPE_", 10))
        return 1;
    for (size_t i = 0; i < tged_cfg_count(env); i++) {
        const char *name = tged_cfg_name(tged_cfg_elem(env, i));
        if (strlen(name) == n && !memcmp(name, e, n))
            return 1;
    }
    return 0;
}

/* tgedd's environment, then the env group, then our own variables. */
static int read_env(struct tged_instance *ctx, struct pipe_settings *s)
{
    const struct tged_cfg *env = tged_get_cfg(ctx, "env");
    size_t have = 0, extra = tged_cfg_count(env) + 3;
    while (environ && environ[have])
        have++;
    s->envp = calloc(have + extra + 1, sizeof(char *));
    if (!s->envp)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < have; i++)
        if (!overridden(environ[i], env) &&
            !(s->envp[n++] = strdup(environ[i])))
            return -ENOMEM;
    for (size_t i = 0; i < tged_cfg_count(env); i++) {
        const struct tged_cfg *v = tged_cfg_elem(env, i);
        char num[32];
        const char *val;
        if (env_value(v, num, sizeof(num), &val)) {
            char at[512];
            where(v, at, sizeof(at));
            tged_log(ctx, LOG_ERR,
                     "%senv: %s must be a string, an integer or a boolean", at,
                     tged_cfg_name(v));
            return -EINVAL;
        }
        if (asprintf(&s->envp[n++], "%s=%s", tged_cfg_name(v), val) < 0) {
            s->envp[--n] = NULL;
            return -ENOMEM;
        }
    }
    if (asprintf(&s->envp[n++], "TGED_PIPE_BACKEND=%s",
                 tged_instance_name(ctx)) < 0 ||
        asprintf(&s->envp[n++], "TGED_PIPE_VERSION=%d", PIPE_PROTOCOL) < 0) {
        s->envp[--n] = NULL;
        return -ENOMEM;
    }
    /* Rewritten before each start: room for any slot number. */
    if (!(s->envp[n++] = strdup("TGED_PIPE_INSTANCE=000000")))
        return -ENOMEM;
    s->instance_var = s->envp[n - 1];
    return 0;
}

static int read_types(struct tged_instance *ctx, struct pipe_settings *s)
{
    const struct tged_cfg *types = tged_get_cfg(ctx, "types");
    if (!types)
        return 0;
    char at[512];
    where(types, at, sizeof(at));
    size_t n = tged_cfg_count(types);
    if (n == 0) {
        tged_log(ctx, LOG_ERR,
                 "%stypes names no type (leave it out to let the program "
                 "decide)",
                 at);
        return -EINVAL;
    }
    s->types = calloc(n, sizeof(char *));
    s->type_lens = calloc(n, sizeof(size_t));
    s->type_hashes = calloc(n, sizeof(uint64_t));
    if (!s->types || !s->type_lens || !s->type_hashes)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *t = tged_cfg_string(tged_cfg_elem(types, i));
        size_t len = t ? strlen(t) : 0;
        if (!t || !tged_type_valid(t, len)) {
            tged_log(ctx, LOG_ERR,
                     "%stypes: element %zu is not a valid type (a string of "
                     "1 to 63 of A-Z a-z 0-9 . _ -)",
                     at, i + 1);
            return -EINVAL;
        }
        for (size_t k = 0; k < s->ntypes; k++)
            if (tged_name_eq(s->types[k], s->type_lens[k], t, len)) {
                tged_log(ctx, LOG_ERR, "%stypes: %s is listed twice", at, t);
                return -EINVAL;
            }
        if (!(s->types[i] = strdup(t)))
            return -ENOMEM;
        s->type_lens[i] = len;
        s->type_hashes[i] = tged_hash_ci(t, len);
        s->ntypes++;
    }
    return 0;
}

int settings_read(struct tged_instance *ctx, struct pipe_settings *s)
{
    memset(s, 0, sizeof(*s));
    long long timeout, start, delay, conc, ttl, size;
    int rc;
    if ((rc = read_command(ctx, s)) ||
        (rc = int_setting(ctx, "timeout_ms", 500, 1, 60000, &timeout)) ||
        (rc = int_setting(ctx, "start_timeout_ms", 5000, 1, 600000, &start)) ||
        (rc = int_setting(ctx, "restart_delay_ms", 100, 1, 600000, &delay)) ||
        (rc = int_setting(ctx, "concurrency", 1, 1, 64, &conc)) ||
        (rc = int_setting(ctx, "cache_ttl_ms", 0, 0, 86400000, &ttl)) ||
        (rc = int_setting(ctx, "cache_size", 1024, 1, 1000000, &size)) ||
        (rc = read_env(ctx, s)) || (rc = read_types(ctx, s))) {
        if (rc == -ENOMEM)
            tged_log(ctx, LOG_ERR, "out of memory");
        return rc;
    }
    s->timeout_ms = (unsigned)timeout;
    s->start_timeout_ms = (unsigned)start;
    s->restart_delay_ms = (unsigned)delay;
    s->concurrency = (unsigned)conc;
    s->cache_ttl_ms = ttl;
    s->cache_size = (size_t)size;
    return 0;
}

static void free_list(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void settings_free(struct pipe_settings *s)
{
    free_list(s->argv);
    free_list(s->envp);
    for (size_t i = 0; i < s->ntypes; i++)
        free(s->types[i]);
    free(s->types);
    free(s->type_lens);
    free(s->type_hashes);
    free(s->dir);
    free(s->command_at);
    memset(s, 0, sizeof(*s));
}

const char *settings_type(const struct pipe_settings *s,
                          const struct tged_query *q, size_t *len)
{
    if (!s->types) {
        *len = q->type_len;
        return q->type;
    }
    for (size_t i = 0; i < s->ntypes; i++)
        if (s->type_hashes[i] == q->type_hash &&
            tged_name_eq(s->types[i], s->type_lens[i], q->type, q->type_len)) {
            *len = s->type_lens[i];
            return s->types[i];
        }
    return NULL;
}
