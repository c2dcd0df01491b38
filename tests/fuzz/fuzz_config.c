/* tests/fuzz/fuzz_config.c - the configuration loader, as `tgedd -t` runs
 * it.
 *
 * The input is tged.conf. snapshot_load(path, 0) reads it with libconfig,
 * checks the schema (responder, access rules, rate limits, listen
 * addresses, backends and their modules' settings, routes), opens the
 * modules it names and starts the backends. plugin_dir is set by a first
 * line the target writes before the input, to a folder holding only the
 * static plugin, built with coverage for this target, so that static's
 * inline records are fuzzed too. The target keeps it loaded: libFuzzer's
 * counters of a library must outlive it, and the loader's dlopen and
 * dlclose then only count references. A loaded configuration is checked
 * against its own limits and asked for every type it routes.
 *
 * SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "qsbr.h"
#include "sink.h"
#include "snapshot.h"

static const char prefix[] = "plugin_dir = \"" FUZZ_PLUGIN_DIR "\";\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    log_set_level(LOG_DEBUG);
    void *keep = dlopen(FUZZ_PLUGIN_DIR "/static.so", RTLD_NOW | RTLD_LOCAL);
    if (!keep)
        fprintf(fuzz_err, "%s\n", dlerror());
    FUZZ_CHECK(keep != NULL);
    return 0;
}

static void ask_routes(const struct snapshot *s)
{
    static struct outq q;
    static struct tged_message m;
    if (!q.slots)
        FUZZ_CHECK(outq_init(&q, 1024, TGED_MAX_DATAGRAM) == 0);
    const struct router *r = &s->router;
    for (size_t i = 0; i < r->nroutes && i < 16; i++) {
        const struct route *rt = &r->routes[i];
        FUZZ_CHECK(tged_type_valid(rt->type, rt->type_len));
        FUZZ_CHECK(router_find(r, rt->type, rt->type_len, rt->hash) == rt);
        struct tged_query query = {rt->type, rt->type_len, rt->hash, NULL, 0};
        struct tged_sink sink;
        q.n = 0;
        sink_init(&sink, &q, NULL, 0, s->set.max_replies,
                  s->set.max_reply_size);
        int rc = route_lookup(rt, &query, &sink);
        FUZZ_CHECK(rc == -1 || (rc >= TGED_REASON_BAD_REQUEST &&
                                rc <= TGED_REASON_UNAVAILABLE));
        FUZZ_CHECK((rc == -1) == (sink.count > 0));
        FUZZ_CHECK(sink.count <= s->set.max_replies);
        for (size_t k = 0; k < q.n; k++) {
            FUZZ_CHECK(q.slots[k].len <= s->set.max_reply_size);
            FUZZ_CHECK(tged_parse(q.slots[k].buf, q.slots[k].len, 0, &m) ==
                       TGED_PARSE_OK);
            FUZZ_CHECK(m.method == TGED_METHOD_REPLY);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t plen = sizeof(prefix) - 1;
    uint8_t *text = malloc(plen + size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, prefix, plen);
    if (size)
        memcpy(text + plen, data, size);
    const char *path = fuzz_dir_file("tged.conf", text, plen + size);
    fuzz_watch_positions(path, text, plen + size);
    struct snapshot *s = snapshot_load(path, 0);
    fuzz_watch_positions(NULL, NULL, 0);
    free(text);
    if (s) {
        const struct settings *set = &s->set;
        FUZZ_CHECK(s->nbackends > 0);
        for (size_t i = 0; i < s->nbackends; i++)
            FUZZ_CHECK(s->backends[i]->live);
        FUZZ_CHECK(set->max_replies >= 1 && set->max_replies <= 1024);
        FUZZ_CHECK(set->max_reply_size >= 512 &&
                   set->max_reply_size <= TGED_MAX_DATAGRAM);
        FUZZ_CHECK(set->workers >= 1 && set->workers <= 64);
        FUZZ_CHECK(set->nlisten >= 1);
        FUZZ_CHECK(!strcmp(s->plugin_dir, FUZZ_PLUGIN_DIR));
        ask_routes(s);
        snapshot_free(s);
    }
    /* No worker is registered: what the snapshot retired (the plugin
     * handles, a backend's data) is freed now. */
    FUZZ_CHECK(qsbr_reclaim(1) == 0);
    return 0;
}
