/* docs/examples/hello/hello.c - the smallest useful tged plugin.
 *
 * Answers one type (HELLO unless the `type` setting says otherwise) with one
 * record made per request: GREETING (the `greeting` setting) and HOST (this
 * machine's name). Build:
 *   cc -shared -fPIC -I/usr/local/include hello.c -o hello.so
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* gethostname() under any -std */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tged/plugin.h>

struct hello {
    const char *type, *greeting; /* owned by tgedd until close() */
    size_t type_len, greeting_len, host_len;
    char host[65];
};

static int hello_init(struct tged_instance *ctx, void **state)
{
    struct hello *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->type = tged_get_string(ctx, "type", "HELLO");
    h->greeting = tged_get_string(ctx, "greeting", "hello");
    if (gethostname(h->host, sizeof(h->host) - 1) != 0)
        strcpy(h->host, "unknown");
    h->type_len = strlen(h->type);
    h->greeting_len = strlen(h->greeting);
    h->host_len = strlen(h->host);
    /* Check once here, so that lookup() never makes a record tgedd skips. */
    if (!tged_type_valid(h->type, h->type_len) ||
        !tged_value_valid(h->greeting, h->greeting_len) ||
        !tged_value_valid(h->host, h->host_len)) {
        tged_log(ctx, LOG_ERR, "type '%s' or greeting '%s' is not valid TGED",
                 h->type, h->greeting);
        free(h);
        return -EINVAL;
    }
    tged_log(ctx, LOG_INFO, "answering %s from %s", h->type, h->host);
    *state = h;
    return 0;
}

/* Worker threads, several at once: reads the immutable state only. */
static int hello_lookup(void *state, const struct tged_query *q,
                        struct tged_sink *sink)
{
    const struct hello *h = state;
    if (!tged_name_eq(q->type, q->type_len, h->type, h->type_len))
        return TGED_NOT_MINE;
    const struct tged_field rec[] = {
        {"GREETING", 8, h->greeting, h->greeting_len},
        {"HOST", 4, h->host, h->host_len},
    };
    if (!tged_query_match(q, rec, 2))
        return TGED_NO_MATCH;
    tged_sink_add_fields(sink, h->type, h->type_len, rec, 2);
    return TGED_FOUND;
}

static void hello_close(void *state)
{
    free(state);
}

static const struct tged_setting settings[] = {
    {"type", TGED_SETTING_STRING, 0, "the type answered (default HELLO)"},
    {"greeting", TGED_SETTING_STRING, 0, "the GREETING field (default hello)"},
    {0},
};

TGED_PLUGIN(.name = "hello", .version = "1.0",
            .description = "one record made per request, from its settings",
            .settings = settings, .init = hello_init, .lookup = hello_lookup,
            .close = hello_close);
