/* core/daemon/ratelimit.h - per-source request limits and a limit on the
 * bytes sent, so that tgedd cannot be used to flood a third party. */
#ifndef TGEDD_RATELIMIT_H
#define TGEDD_RATELIMIT_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"

/* The settings (responder.rate_limit), part of a snapshot. */
struct rl_conf {
    double requests; /* per source and second; 0 = no limit */
    double burst;    /* requests a quiet source may send at once */
    double bytes;    /* sent per second by all workers; 0 = no limit */
    struct prefix *exempt;
    size_t nexempt;
};

int rl_conf_read(struct rl_conf *c, const config_setting_t *group);
void rl_conf_free(struct rl_conf *c);
int rl_exempt(const struct rl_conf *c, int family, const uint8_t *addr);

/* A worker's table of recent sources: fixed size, no allocation after
 * rl_init(); an old source is forgotten when a new one needs its slot. */
struct rl_entry {
    uint8_t addr[16];
    uint8_t family;
    float tokens;
    uint64_t last_ns;
};

struct rl_state {
    struct rl_entry *tab;
    size_t mask;
    double byte_tokens;
    uint64_t byte_last_ns;
};

int rl_init(struct rl_state *st, size_t entries);
void rl_free(struct rl_state *st);

/* 1 when a request from this source may be served now (takes a token). */
int rl_request(struct rl_state *st, const struct rl_conf *c, int family,
               const uint8_t *addr, uint64_t now_ns);

/* 1 when len more bytes may be sent now by this worker (out of
 * workers). */
int rl_bytes(struct rl_state *st, const struct rl_conf *c, unsigned workers,
             size_t len, uint64_t now_ns);

#endif
