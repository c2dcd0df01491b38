/* plugins/pipe/pipe.c - the pipe backend: records from a program of any
 * language, asked over its stdin and stdout (docs/backends/pipe.md).
 *
 * This file is the plugin's face: settings, init, reload, close. The
 * request path is request.c, the processes' lives supervise.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include "pipe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void backend_free(struct pipe_backend *b)
{
    for (unsigned i = 0; b->slots && i < b->nslots; i++)
        answer_free(&b->slots[i].ans);
    free(b->slots);
    cache_destroy(&b->cache);
    settings_free(&b->set);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static int pipe_init(struct tged_instance *ctx, void **state)
{
    struct pipe_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->ctx = ctx;
    pthread_mutex_init(&b->mu, NULL);
    int rc = settings_read(ctx, &b->set);
    if (rc)
        goto fail;
    rc = -ENOMEM;
    b->slots = calloc(b->set.concurrency, sizeof(*b->slots));
    if (!b->slots)
        goto fail;
    b->nslots = b->set.concurrency;
    for (unsigned i = 0; i < b->nslots; i++) {
        struct slot *s = &b->slots[i];
        s->index = i;
        s->in_fd = s->out_fd = -1;
        answer_init(&s->ans);
    }
    if (b->set.cache_ttl_ms &&
        cache_init(&b->cache, b->set.cache_size, b->set.cache_ttl_ms))
        goto fail;
    if ((rc = supervise_start(b)))
        goto fail;
    char cache[64] = "no cache";
    if (b->set.cache_ttl_ms)
        snprintf(cache, sizeof(cache), "answers cached %lld ms",
                 (long long)b->set.cache_ttl_ms);
    char types[64] = "asked every type";
    if (b->set.ntypes)
        snprintf(types, sizeof(types), "%zu type%s", b->set.ntypes,
                 b->set.ntypes == 1 ? "" : "s");
    tged_log(ctx, LOG_INFO, "%s: %u pipe%s, timeout %u ms, %s, %s",
             b->set.argv[0], b->nslots, b->nslots == 1 ? "" : "s",
             b->set.timeout_ms, types, cache);
    *state = b;
    return 0;
fail:
    if (rc == -ENOMEM)
        tged_log(ctx, LOG_ERR, "out of memory");
    backend_free(b);
    return rc;
}

static int pipe_reload(struct tged_instance *ctx, void *state)
{
    supervise_tick(state);
    return 0;
}

static void pipe_close(void *state)
{
    struct pipe_backend *b = state;
    supervise_stop(b);
    backend_free(b);
}

static const struct tged_setting settings[] = {
    {"command", TGED_SETTING_LIST, TGED_SETTING_REQUIRED,
     "the program and its arguments: [ \"backend.sh\", \"arg\", ... ]; a "
     "relative program is in the configuration file's folder"},
    {"timeout_ms", TGED_SETTING_INT, 0,
     "how long a program may take to answer one request (default 500); "
     "after that it is killed and started again"},
    {"start_timeout_ms", TGED_SETTING_INT, 0,
     "how long a starting program may take to answer the version line "
     "(default 5000)"},
    {"restart_delay_ms", TGED_SETTING_INT, 0,
     "wait before starting a program again (default 100), doubled at each "
     "failure up to 10 s"},
    {"concurrency", TGED_SETTING_INT, 0,
     "how many copies of the program run, each answering one request at a "
     "time (default 1)"},
    {"env", TGED_SETTING_GROUP, 0,
     "variables added to the program's environment: { NAME = \"value\"; }"},
    {"types", TGED_SETTING_LIST, 0,
     "the types the program serves; others are not asked (default: ask it "
     "every type)"},
    {"cache_ttl_ms", TGED_SETTING_INT, 0,
     "keep each answer this long and serve it again without asking (default "
     "0: off)"},
    {"cache_size", TGED_SETTING_INT, 0,
     "answers the cache holds at most (default 1024)"},
    {0},
};

TGED_PLUGIN(.name = "pipe", .version = "1.0",
            .description = "records from a program of any language, asked "
                           "over its stdin and stdout (pipe protocol 1)",
            .settings = settings, .init = pipe_init, .lookup = pipe_lookup,
            .reload = pipe_reload, .close = pipe_close);
