/* core/daemon/ratelimit.c - per-source token buckets and a byte budget.
 *
 * The per-source buckets are the DNS response-rate-limiting idea: a
 * source (the address a request claims to come from) earns `requests`
 * tokens a second up to `burst`, and a request costs one. A spoofed flood
 * aimed at a victim empties the victim's bucket, so the victim gets at
 * most `requests` answers a second, while every other source is served.
 *
 * SPDX-License-Identifier: MIT
 */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char *const default_exempt[] = {"127.0.0.0/8", "::1/128"};

int rl_conf_read(struct rl_conf *c, const config_setting_t *g)
{
    memset(c, 0, sizeof(*c));
    c->requests = 100;
    c->burst = 200;
    c->bytes = 10e6;
    int bad = 0;
    struct {
        const char *name;
        double *v;
        double max;
    } nums[] = {{"requests", &c->requests, 1e9},
                {"burst", &c->burst, 1e9},
                {"bytes", &c->bytes, 1e12}};
    for (size_t i = 0; g && i < sizeof(nums) / sizeof(nums[0]); i++) {
        const config_setting_t *s = config_setting_get_member(g, nums[i].name);
        if (!s)
            continue;
        double v = config_setting_type(s) == CONFIG_TYPE_FLOAT
                       ? config_setting_get_float(s)
                       : (double)config_setting_get_int64(s);
        if (v < 0 || v > nums[i].max) {
            conf_err(s, "responder.rate_limit.%s must be from 0 to %.0f",
                     nums[i].name, nums[i].max);
            bad = 1;
        }
        *nums[i].v = v;
    }
    if (c->requests > 0 && c->burst < 1) {
        conf_err(g, "responder.rate_limit.burst must be at least 1");
        bad = 1;
    }
    const config_setting_t *ex =
        g ? config_setting_get_member(g, "exempt") : NULL;
    size_t n = ex ? (size_t)config_setting_length(ex) : 2;
    c->exempt = calloc(n ? n : 1, sizeof(*c->exempt));
    if (!c->exempt)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e =
            ex ? config_setting_get_elem(ex, (unsigned)i) : NULL;
        const char *t = e ? config_setting_get_string(e) : default_exempt[i];
        if (!t || prefix_parse(t, &c->exempt[c->nexempt]) != 0) {
            conf_err(e,
                     "responder.rate_limit.exempt: '%s' is not an address "
                     "or prefix",
                     t ? t : "(not a string)");
            bad = 1;
            continue;
        }
        c->nexempt++;
    }
    return bad ? -1 : 0;
}

void rl_conf_free(struct rl_conf *c)
{
    free(c->exempt);
    memset(c, 0, sizeof(*c));
}

int rl_exempt(const struct rl_conf *c, int family, const uint8_t *addr)
{
    for (size_t i = 0; i < c->nexempt; i++)
        if (prefix_match(&c->exempt[i], family, addr))
            return 1;
    return 0;
}

int rl_init(struct rl_state *st, size_t entries)
{
    memset(st, 0, sizeof(*st));
    size_t n = 1;
    while (n < entries)
        n <<= 1;
    st->tab = calloc(n, sizeof(*st->tab));
    if (!st->tab)
        return -1;
    st->mask = n - 1;
    return 0;
}

void rl_free(struct rl_state *st)
{
    free(st->tab);
    memset(st, 0, sizeof(*st));
}

static size_t slot(const uint8_t *addr, int family, size_t mask)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < (family == AF_INET ? 4 : 16); i++)
        h = (h ^ addr[i]) * 0x100000001b3ULL;
    h ^= h >> 29;
    return (size_t)h & mask & ~(size_t)1;
}

int rl_request(struct rl_state *st, const struct rl_conf *c, int family,
               const uint8_t *addr, uint64_t now_ns)
{
    if (c->requests <= 0)
        return 1;
    size_t alen = family == AF_INET ? 4 : 16;
    /* Two slots a source may live in; a new source takes the one heard
     * from longest ago. */
    size_t i = slot(addr, family, st->mask);
    struct rl_entry *e = NULL;
    for (size_t k = i; k <= i + 1; k++)
        if (st->tab[k].family == family && !memcmp(st->tab[k].addr, addr, alen))
            e = &st->tab[k];
    if (!e) {
        e = st->tab[i].last_ns <= st->tab[i + 1].last_ns ? &st->tab[i]
                                                         : &st->tab[i + 1];
        memset(e->addr, 0, sizeof(e->addr));
        memcpy(e->addr, addr, alen);
        e->family = (uint8_t)family;
        e->tokens = (float)c->burst;
        e->last_ns = now_ns;
    }
    double t = e->tokens + (double)(now_ns - e->last_ns) * 1e-9 * c->requests;
    if (t > c->burst)
        t = c->burst;
    e->last_ns = now_ns;
    if (t < 1) {
        e->tokens = (float)t;
        return 0;
    }
    e->tokens = (float)(t - 1);
    return 1;
}

int rl_bytes(struct rl_state *st, const struct rl_conf *c, unsigned workers,
             size_t len, uint64_t now_ns)
{
    if (c->bytes <= 0)
        return 1;
    double rate = c->bytes / (workers ? workers : 1);
    double t = st->byte_tokens;
    if (st->byte_last_ns == 0)
        t = rate; /* a full second's budget to start with */
    else
        t += (double)(now_ns - st->byte_last_ns) * 1e-9 * rate;
    if (t > rate)
        t = rate;
    st->byte_last_ns = now_ns;
    if (t < (double)len) {
        st->byte_tokens = t;
        return 0;
    }
    st->byte_tokens = t - (double)len;
    return 1;
}
