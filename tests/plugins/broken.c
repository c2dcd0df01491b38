/* tests/plugins/broken.c - plugins that are wrong on purpose, one way each,
 * chosen by a macro, so the loader's refusals can be tested.
 * SPDX-License-Identifier: MIT */
#include <errno.h>

#include <tged/plugin.h>

#ifdef BROKEN_NO_DESCRIPTOR
TGED_API int not_a_descriptor = 1;
#else

#ifndef BROKEN_NAME
#define BROKEN_NAME "broken"
#endif
#ifndef BROKEN_ABI
#define BROKEN_ABI TGED_PLUGIN_ABI
#endif

static int broken_init(struct tged_instance *ctx, void **state)
{
#ifdef BROKEN_INIT_FAILS
    tged_log(ctx, LOG_ERR, "refusing to start, as this test plugin must");
    return -EINVAL;
#else
    *state = NULL;
    return 0;
#endif
}

static int broken_lookup(void *state, const struct tged_query *q,
                         struct tged_sink *sink)
{
    return TGED_NOT_MINE;
}

TGED_API const struct tged_plugin tged_plugin = {
    .abi = BROKEN_ABI,
    .size = sizeof(struct tged_plugin),
    .name = BROKEN_NAME,
    .version = "0",
    .init = broken_init,
    .lookup = broken_lookup,
};
#endif
