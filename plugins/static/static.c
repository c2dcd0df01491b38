/* plugins/static/static.c - records written in libconfig syntax.
 *
 * Records come from the backend's own `records` list and from a `file`
 * holding a `records` list of the same form; the file is watched and
 * re-read whole on every change. A file with any error is refused whole
 * and the records loaded before keep serving.
 *
 * The file is read by a fast reader first (records_reader.c), which takes
 * the common subset of the syntax and gives up on anything else; the file
 * is then read with libconfig, whose messages name the file and line.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tged/plugin.h>

#include "records_reader.h"

struct state {
    struct tged_instance *ctx;
    const struct tged_cfg *inline_records; /* lives as long as the instance */
    const char *file;                      /* NULL: no file */
    void *records;                         /* struct tged_recset * */
};

static void free_records(void *rs)
{
    tged_recset_free(rs);
}

/* Format a scalar as a field value into buf; NULL when not a scalar. */
static const char *scalar(const struct tged_cfg *v, char *buf, size_t len)
{
    switch (tged_cfg_kind(v)) {
    case TGED_CFG_STRING:
        return tged_cfg_string(v);
    case TGED_CFG_INT:
        snprintf(buf, len, "%lld", tged_cfg_int(v));
        return buf;
    case TGED_CFG_BOOL:
        return tged_cfg_bool(v) ? "true" : "false";
    default:
        return NULL;
    }
}

static int add_record(struct tged_instance *ctx, struct tged_recset_builder *b,
                      const struct tged_cfg *rec, size_t index)
{
    const char *file = tged_cfg_file(rec);
    unsigned line = tged_cfg_line(rec);
    if (tged_cfg_kind(rec) != TGED_CFG_GROUP) {
        tged_log(ctx, LOG_ERR,
                 "%s:%u: records: record %zu must be a group { type = ...; "
                 "fields = { ... }; }",
                 file, line, index + 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < tged_cfg_count(rec); i++) {
        const char *k = tged_cfg_name(tged_cfg_elem(rec, i));
        if (strcmp(k, "type") && strcmp(k, "fields")) {
            tged_log(ctx, LOG_ERR,
                     "%s:%u: records: record %zu: unknown setting '%s' (a "
                     "record takes type and fields)",
                     file, tged_cfg_line(tged_cfg_elem(rec, i)), index + 1, k);
            return -EINVAL;
        }
    }
    const char *type = tged_cfg_string(tged_cfg_member(rec, "type"));
    const struct tged_cfg *fields = tged_cfg_member(rec, "fields");
    if (!type) {
        tged_log(ctx, LOG_ERR,
                 "%s:%u: records: record %zu: 'type' (a string) is required",
                 file, line, index + 1);
        return -EINVAL;
    }
    if (tged_cfg_kind(fields) != TGED_CFG_GROUP || !tged_cfg_count(fields)) {
        tged_log(ctx, LOG_ERR,
                 "%s:%u: records: record %zu (%s): 'fields' must be a group "
                 "of at least one NAME = value",
                 file, line, index + 1, type);
        return -EINVAL;
    }
    size_t n = tged_cfg_count(fields);
    if (n > TGED_MSG_HEADERS - 2) {
        tged_log(ctx, LOG_ERR,
                 "%s:%u: records: record %zu (%s): more than %d "
                 "fields",
                 file, line, index + 1, type, TGED_MSG_HEADERS - 2);
        return -E2BIG;
    }
    struct tged_field f[TGED_MSG_HEADERS];
    char num[TGED_MSG_HEADERS][24];
    for (size_t i = 0; i < n; i++) {
        const struct tged_cfg *v = tged_cfg_elem(fields, i);
        const char *val = scalar(v, num[i], sizeof(num[i]));
        if (!val) {
            tged_log(ctx, LOG_ERR,
                     "%s:%u: records: record %zu (%s): field '%s' must be a "
                     "string, an integer or a boolean (write a decimal "
                     "number as a string)",
                     file, tged_cfg_line(v), index + 1, type, tged_cfg_name(v));
            return -EINVAL;
        }
        f[i] = (struct tged_field){tged_cfg_name(v), strlen(tged_cfg_name(v)),
                                   val, strlen(val)};
    }
    int rc = tged_recset_add(b, type, strlen(type), f, n);
    if (rc < 0)
        tged_log(ctx, LOG_ERR, "%s:%u: records: record %zu (%s): %s", file,
                 line, index + 1, type, tged_recset_builder_error(b));
    return rc;
}

static int add_list(struct tged_instance *ctx, struct tged_recset_builder *b,
                    const struct tged_cfg *list)
{
    if (tged_cfg_kind(list) != TGED_CFG_LIST) {
        tged_log(ctx, LOG_ERR,
                 "%s:%u: 'records' must be a list ( { ... }, "
                 "... )",
                 tged_cfg_file(list), tged_cfg_line(list));
        return -EINVAL;
    }
    for (size_t i = 0; i < tged_cfg_count(list); i++) {
        int rc = add_record(ctx, b, tged_cfg_elem(list, i), i);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Read every record into a new set with libconfig; NULL (after logging) on
 * any error. */
static struct tged_recset *load_libconfig(struct state *st)
{
    struct tged_recset_builder *b = tged_recset_builder_new(st->ctx);
    if (!b)
        return NULL;
    if (st->inline_records && add_list(st->ctx, b, st->inline_records) < 0)
        goto fail;
    if (st->file) {
        char err[512];
        struct tged_cfg_file *f =
            tged_cfg_read_file(st->file, err, sizeof(err));
        if (!f) {
            tged_log(st->ctx, LOG_ERR, "%s", err);
            goto fail;
        }
        const struct tged_cfg *root = tged_cfg_root(f);
        int bad = 0;
        for (size_t i = 0; i < tged_cfg_count(root); i++) {
            const struct tged_cfg *e = tged_cfg_elem(root, i);
            if (strcmp(tged_cfg_name(e), "records")) {
                tged_log(st->ctx, LOG_ERR,
                         "%s:%u: unknown setting '%s' (the file holds "
                         "records = ( ... );)",
                         st->file, tged_cfg_line(e), tged_cfg_name(e));
                bad = 1;
            }
        }
        const struct tged_cfg *list = tged_cfg_member(root, "records");
        if (!bad && list && add_list(st->ctx, b, list) < 0)
            bad = 1;
        tged_cfg_file_free(f);
        if (bad)
            goto fail;
    }
    struct tged_recset *rs = tged_recset_build(b);
    if (!rs)
        tged_log(st->ctx, LOG_ERR, "out of memory");
    return rs;
fail:
    tged_recset_builder_free(b);
    return NULL;
}

/* Read every record into a new set; NULL (after logging) on any error.
 * The fast reader's set is kept only when it read the whole file; else
 * everything is read again the libconfig way. */
static struct tged_recset *load(struct state *st)
{
    if (!st->file)
        return load_libconfig(st);
    struct tged_recset_builder *b = tged_recset_builder_new(st->ctx);
    if (!b)
        return NULL;
    if (st->inline_records && add_list(st->ctx, b, st->inline_records) < 0) {
        tged_recset_builder_free(b);
        return NULL;
    }
    unsigned line;
    if (static_records_read(st->file, b, &line) != STATIC_READ_DONE) {
        tged_recset_builder_free(b);
        if (line)
            tged_log(st->ctx, LOG_DEBUG,
                     "%s:%u: not for the fast reader; reading it with "
                     "libconfig",
                     st->file, line);
        else
            tged_log(st->ctx, LOG_DEBUG,
                     "%s: not for the fast reader; reading it with libconfig",
                     st->file);
        return load_libconfig(st);
    }
    tged_log(st->ctx, LOG_DEBUG, "%s: read by the fast reader", st->file);
    struct tged_recset *rs = tged_recset_build(b);
    if (!rs)
        tged_log(st->ctx, LOG_ERR, "out of memory");
    return rs;
}

static int static_init(struct tged_instance *ctx, void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->ctx = ctx;
    st->inline_records = tged_get_cfg(ctx, "records");
    st->file = tged_get_path(ctx, "file", NULL);
    if (!st->inline_records && !st->file) {
        tged_log(ctx, LOG_ERR, "needs 'records' or 'file' (or both)");
        free(st);
        return -EINVAL;
    }
    struct tged_recset *rs = load(st);
    if (!rs) {
        free(st);
        return -EINVAL;
    }
    tged_snapshot_publish(ctx, &st->records, rs, free_records);
    if (st->file) {
        int rc = tged_watch(ctx, st->file);
        if (rc < 0)
            tged_log(ctx, LOG_WARNING, "%s: cannot watch: %s", st->file,
                     strerror(-rc));
    }
    tged_log(ctx, LOG_INFO, "%zu records of %zu types", tged_recset_count(rs),
             tged_recset_types(rs));
    *state = st;
    return 0;
}

static int static_reload(struct tged_instance *ctx, void *state)
{
    struct state *st = state;
    struct tged_recset *rs = load(st);
    if (!rs)
        return -EINVAL;
    tged_snapshot_publish(ctx, &st->records, rs, free_records);
    tged_log(ctx, LOG_INFO, "%s: reloaded, %zu records of %zu types",
             st->file ? st->file : "records", tged_recset_count(rs),
             tged_recset_types(rs));
    return 0;
}

static int static_lookup(void *state, const struct tged_query *q,
                         struct tged_sink *sink)
{
    struct state *st = state;
    return tged_recset_lookup(tged_snapshot_get(&st->records), q, sink);
}

static void static_close(void *state)
{
    struct state *st = state;
    tged_recset_free(st->records);
    free(st);
}

static const struct tged_setting settings[] = {
    {"records", TGED_SETTING_LIST, 0,
     "records: ( { type = \"SQL\"; fields = { HOST = \"db\"; PORT = 3306; }; "
     "}, ... )"},
    {"file", TGED_SETTING_PATH, 0,
     "a file holding records = ( ... ); watched and re-read on change"},
    {0},
};

TGED_PLUGIN(.name = "static", .version = "1.0",
            .description = "records written in libconfig syntax, inline or "
                           "in a watched file",
            .settings = settings, .init = static_init, .lookup = static_lookup,
            .reload = static_reload, .close = static_close);
