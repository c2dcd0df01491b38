/* tests/plugins/scripted.c - a backend whose answer is set in its
 * configuration, so tests can make a backend fail, find nothing, or answer
 * many records, and watch what the router makes of it.
 *
 *   { name = "x"; module = "/path/scripted.so"; status = "failed";
 *     types = ( "SQL" ); count = 3; fields = { HOST = "h"; }; }
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tged/plugin.h>

struct state {
    int status;
    const struct tged_cfg *types;
    long long count;
    struct tged_field fields[16];
    size_t nfields;
    char seq[16][24];
};

static int scripted_init(struct tged_instance *ctx, void **out)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    const char *status = tged_get_string(ctx, "status", "found");
    if (!strcmp(status, "found"))
        st->status = TGED_FOUND;
    else if (!strcmp(status, "no-match"))
        st->status = TGED_NO_MATCH;
    else if (!strcmp(status, "not-mine"))
        st->status = TGED_NOT_MINE;
    else if (!strcmp(status, "failed"))
        st->status = TGED_FAILED;
    else {
        tged_log(ctx, LOG_ERR,
                 "status '%s' is not found, no-match, "
                 "not-mine or failed",
                 status);
        free(st);
        return -EINVAL;
    }
    st->types = tged_get_cfg(ctx, "types");
    st->count = tged_get_int(ctx, "count", 1);
    const struct tged_cfg *f = tged_get_cfg(ctx, "fields");
    for (size_t i = 0; i < tged_cfg_count(f) && i < 15; i++) {
        const struct tged_cfg *e = tged_cfg_elem(f, i);
        const char *v = tged_cfg_string(e);
        if (!v)
            v = "";
        st->fields[i] = (struct tged_field){
            tged_cfg_name(e), strlen(tged_cfg_name(e)), v, strlen(v)};
        st->nfields++;
    }
    *out = st;
    return 0;
}

static int scripted_lookup(void *state, const struct tged_query *q,
                           struct tged_sink *sink)
{
    struct state *st = state;
    int mine = !st->types;
    for (size_t i = 0; i < tged_cfg_count(st->types); i++) {
        const char *t = tged_cfg_string(tged_cfg_elem(st->types, i));
        if (t && tged_name_eq(t, strlen(t), q->type, q->type_len))
            mine = 1;
    }
    if (!mine)
        return TGED_NOT_MINE;
    if (st->status != TGED_FOUND)
        return st->status;
    /* Each record gets SEQ = its number, after the configured fields. */
    for (long long n = 0; n < st->count; n++) {
        struct tged_field f[17];
        memcpy(f, st->fields, st->nfields * sizeof(f[0]));
        char seq[24];
        int len = snprintf(seq, sizeof(seq), "%lld", n + 1);
        f[st->nfields] = (struct tged_field){"SEQ", 3, seq, (size_t)len};
        if (!tged_query_match(q, f, st->nfields + 1))
            continue;
        if (tged_sink_add_fields(sink, q->type, q->type_len, f,
                                 st->nfields + 1) > 0)
            break;
    }
    return TGED_FOUND;
}

static void scripted_close(void *state)
{
    free(state);
}

static const struct tged_setting settings[] = {
    {"status", TGED_SETTING_STRING, 0, "found, no-match, not-mine, failed"},
    {"types", TGED_SETTING_LIST, 0, "types served (default: every type)"},
    {"count", TGED_SETTING_INT, 0, "records per answer"},
    {"fields", TGED_SETTING_GROUP, 0, "fields of each record"},
    {0},
};

TGED_PLUGIN(.name = "scripted", .version = "1.0", .settings = settings,
            .init = scripted_init, .lookup = scripted_lookup,
            .close = scripted_close);
