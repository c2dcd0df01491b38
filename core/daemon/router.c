/* core/daemon/router.c - which backends answer which type, and how.
 * SPDX-License-Identifier: MIT */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "../lib/fold.h"
#include "config.h"
#include "log.h"

static const struct key_spec route_keys[] = {
    {"type", TGED_SETTING_STRING, TGED_SETTING_REQUIRED},
    {"backends", TGED_SETTING_LIST, TGED_SETTING_REQUIRED},
    {"policy", TGED_SETTING_STRING, 0},
    {"allow", TGED_SETTING_LIST, 0},
    {"deny", TGED_SETTING_LIST, 0},
    {"on_link_only", TGED_SETTING_BOOL, 0},
    {"auth", TGED_SETTING_STRING, 0},
    {0},
};

static int route_fill(struct route *rt, const config_setting_t *rs,
                      struct tged_instance **backends, size_t nbackends,
                      int have_keys)
{
    const config_setting_t *list = config_setting_get_member(rs, "backends");
    unsigned n = (unsigned)config_setting_length(list);
    rt->backends = calloc(n ? n : 1, sizeof(*rt->backends));
    if (!rt->backends)
        return -1;
    int bad = 0;
    for (unsigned i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(list, i);
        const char *name = config_setting_get_string(e);
        if (!name) {
            conf_err(e, "route %s: backends must be names (strings)", rt->type);
            bad = 1;
            continue;
        }
        size_t j;
        for (j = 0; j < nbackends; j++)
            if (!strcmp(backends[j]->name, name))
                break;
        if (j == nbackends) {
            conf_err(e, "route %s: no backend is named '%s'", rt->type, name);
            bad = 1;
            continue;
        }
        for (size_t k = 0; k < rt->nbackends; k++)
            if (rt->backends[k] == backends[j]) {
                conf_err(e, "route %s: backend '%s' is listed twice", rt->type,
                         name);
                bad = 1;
            }
        rt->backends[rt->nbackends++] = backends[j];
    }
    if (n == 0) {
        conf_err(list, "route %s: names no backend", rt->type);
        bad = 1;
    }
    const char *policy = NULL;
    config_setting_lookup_string(rs, "policy", &policy);
    if (!policy || !strcmp(policy, "first"))
        rt->policy = POLICY_FIRST;
    else if (!strcmp(policy, "merge"))
        rt->policy = POLICY_MERGE;
    else {
        conf_err(config_setting_get_member(rs, "policy"),
                 "route %s: policy must be \"first\" or \"merge\", not \"%s\"",
                 rt->type, policy);
        bad = 1;
    }
    const char *auth = NULL;
    config_setting_lookup_string(rs, "auth", &auth);
    if (auth && !strcmp(auth, "required")) {
        rt->auth_required = 1;
        if (!have_keys) {
            conf_err(config_setting_get_member(rs, "auth"),
                     "route %s: auth = \"required\" needs responder.keys "
                     "(a key file)",
                     rt->type);
            bad = 1;
        }
    } else if (auth && strcmp(auth, "optional")) {
        conf_err(config_setting_get_member(rs, "auth"),
                 "route %s: auth must be \"optional\" or \"required\", not "
                 "\"%s\"",
                 rt->type, auth);
        bad = 1;
    }
    return bad ? -1 : 0;
}

int router_build(struct router *r, const config_setting_t *const *routes,
                 size_t n, int have_routes, struct tged_instance **backends,
                 size_t nbackends, int have_keys)
{
    memset(r, 0, sizeof(*r));
    if (!have_routes) {
        r->implicit.type = strdup("*");
        r->implicit.type_len = 1;
        r->implicit.backends =
            calloc(nbackends ? nbackends : 1, sizeof(*r->implicit.backends));
        if (!r->implicit.type || !r->implicit.backends) {
            log_err("out of memory");
            return -1;
        }
        memcpy(r->implicit.backends, backends, nbackends * sizeof(*backends));
        r->implicit.nbackends = nbackends;
        r->fallback = &r->implicit;
        return 0;
    }
    r->routes = calloc(n ? n : 1, sizeof(*r->routes));
    if (!r->routes)
        return -1;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *rs = routes[i];
        if (!config_setting_is_group(rs)) {
            conf_err(rs, "routes: each route must be a group { ... }");
            bad = 1;
            continue;
        }
        if (conf_check_keys(rs, "route", route_keys, NULL,
                            "(a route takes type, backends, policy, allow, "
                            "deny, on_link_only, auth)")) {
            bad = 1;
            continue;
        }
        const char *type = NULL;
        config_setting_lookup_string(rs, "type", &type);
        size_t tl = strlen(type);
        int wild = !strcmp(type, "*");
        if (!wild && !tged_type_valid(type, tl)) {
            conf_err(config_setting_get_member(rs, "type"),
                     "route: type '%s' is not valid (1 to 63 of A-Z a-z 0-9 "
                     ". _ -, or \"*\")",
                     type);
            bad = 1;
            continue;
        }
        uint64_t h = fold_hash(type, tl);
        int dup = wild ? r->fallback != NULL : 0;
        for (size_t k = 0; !wild && k < r->nroutes; k++)
            if (fold_name_eq(r->routes[k].type, r->routes[k].type_len, type,
                             tl))
                dup = 1;
        if (dup) {
            conf_err(rs, "route: type '%s' has a route already", type);
            bad = 1;
            continue;
        }
        struct route *rt = wild ? &r->implicit : &r->routes[r->nroutes++];
        rt->type = strdup(type);
        rt->type_len = tl;
        rt->hash = h;
        if (!rt->type || route_fill(rt, rs, backends, nbackends, have_keys))
            bad = 1;
        /* A route's own rules come on top of the responder's; without
         * any, the route adds nothing (on-link is checked once, there). */
        rt->has_acl = config_setting_get_member(rs, "allow") ||
                      config_setting_get_member(rs, "deny") ||
                      config_setting_get_member(rs, "on_link_only");
        if (acl_read(&rt->acl, rs, "route", 0))
            bad = 1;
        if (wild)
            r->fallback = &r->implicit;
    }
    return bad ? -1 : 0;
}

void router_free(struct router *r)
{
    for (size_t i = 0; i < r->nroutes; i++) {
        free(r->routes[i].type);
        free(r->routes[i].backends);
        acl_free(&r->routes[i].acl);
    }
    free(r->routes);
    free(r->implicit.type);
    free(r->implicit.backends);
    acl_free(&r->implicit.acl);
    memset(r, 0, sizeof(*r));
}

const struct route *router_find(const struct router *r, const char *type,
                                size_t len, uint64_t hash)
{
    /* Sites name a handful of types; a scan of hashes beats a table. */
    for (size_t i = 0; i < r->nroutes; i++) {
        const struct route *rt = &r->routes[i];
        if (rt->hash == hash && fold_name_eq(rt->type, rt->type_len, type, len))
            return rt;
    }
    return r->fallback;
}

static inline void count(uint64_t *c)
{
    __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

int route_lookup(const struct route *rt, const struct tged_query *q,
                 struct tged_sink *sink)
{
    int no_match = 0, failed = 0;
    for (size_t i = 0; i < rt->nbackends && !sink_full(sink); i++) {
        struct tged_instance *b = rt->backends[i];
        struct backend_stats *bs = &b->stats;
        sink->inst = b;
        size_t before = sink->count;
        /* Time one lookup in 64: enough for an average, cheap enough for
         * the request path. */
        uint64_t n = __atomic_fetch_add(&bs->lookups, 1, __ATOMIC_RELAXED);
        uint64_t t0 = (n & 63) == 0 ? now_ns() : 0;
        int st = b->mod->desc->lookup(b->state, q, sink);
        if (t0) {
            __atomic_add_fetch(&bs->timed_ns, now_ns() - t0, __ATOMIC_RELAXED);
            count(&bs->timed);
        }
        if (st == TGED_FOUND && sink->count == before)
            st = TGED_NO_MATCH; /* every record it had was skipped */
        switch (st) {
        case TGED_FOUND:
            count(&bs->found);
            if (rt->policy == POLICY_FIRST)
                return -1;
            break;
        case TGED_NO_MATCH:
            count(&bs->no_match);
            no_match = 1;
            break;
        case TGED_NOT_MINE:
            count(&bs->not_mine);
            break;
        default:
            count(&bs->failed);
            failed = 1;
            break;
        }
    }
    if (sink->count)
        return -1;
    /* A failed backend might have served the type: unavailable only when
     * no backend could say "known, but nothing matches". */
    if (no_match)
        return TGED_REASON_NO_MATCH;
    if (failed)
        return TGED_REASON_UNAVAILABLE;
    return TGED_REASON_UNKNOWN_TYPE;
}
