/* core/daemon/router.h - which backends answer which type, and how. */
#ifndef TGEDD_ROUTER_H
#define TGEDD_ROUTER_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "host.h"
#include "sink.h"

enum route_policy {
    POLICY_FIRST = 0, /* the first backend with records answers */
    POLICY_MERGE,     /* the records of every backend, in route order */
};

struct route {
    char *type; /* "*" for the default route */
    size_t type_len;
    uint64_t hash;
    int policy;
    struct tged_instance **backends;
    size_t nbackends;
    struct acl acl; /* who may ask for this type */
    int has_acl;
    int auth_required; /* auth = "required": unsigned requests get silence */
};

struct router {
    struct route *routes; /* routes naming a type */
    size_t nroutes;
    struct route *fallback; /* "*", or every backend when no routes */
    struct route implicit;
};

/* Build from route groups gathered from every configuration file; with no
 * `routes` setting anywhere (have_routes 0), every type asks every backend
 * in order. have_keys: responder.keys is set (auth = "required" needs it).
 * Logs each error with file and line; 0 or -1. */
int router_build(struct router *r, const config_setting_t *const *routes,
                 size_t n, int have_routes, struct tged_instance **backends,
                 size_t nbackends, int have_keys);
void router_free(struct router *r);

/* The route for a type, or NULL (then the answer is unknown-type). */
const struct route *router_find(const struct router *r, const char *type,
                                size_t len, uint64_t hash);

/* Ask the route's backends. Returns -1 when REPLYs were added, else the
 * enum tged_reason of the INVALID to send. */
int route_lookup(const struct route *rt, const struct tged_query *q,
                 struct tged_sink *sink);

#endif
