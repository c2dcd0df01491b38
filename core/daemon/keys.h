/* core/daemon/keys.h - authenticated discovery in the responder: the key
 * table of a configuration, the check of a signed request, the replay
 * cache and the signing of answers. */
#ifndef TGEDD_KEYS_H
#define TGEDD_KEYS_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#include <tged/auth.h>
#include <tged/protocol.h>

/* The keys of one configuration snapshot (immutable once loaded). */
struct keyring {
    struct tged_key *keys;
    size_t n;
    unsigned window; /* responder.auth_window, seconds */
};

/* Read the key file that `setting` (responder.keys) names, resolved
 * against the folder of the file holding it. Errors are logged with the
 * key file's file:line and the setting's; NULL on error. */
struct keyring *keyring_load(const config_setting_t *setting, unsigned window);
void keyring_free(struct keyring *k);

/* How to sign the answers to one signed request. */
struct auth_reply {
    const struct tged_key *key;
    const char *nonce; /* the request's, TGED_AUTH_NONCE_LEN hex digits */
    int64_t now;
    size_t extra; /* bytes signing adds beyond an unsigned answer's */
};

/* Why a signed request was refused; counted, never answered. */
enum auth_refusal {
    AUTH_OK = 0,
    AUTH_BAD, /* AUTH header malformed or not last */
    AUTH_UNKNOWN_KEY,
    AUTH_TIME, /* outside auth_window */
    AUTH_MAC,
    AUTH_REPLAY,     /* nonce seen, or older than the cache remembers */
    AUTH_CACHE_FULL, /* no room to remember the nonce */
    AUTH_UNSIGNED,   /* unsigned request to a route that requires auth */
    AUTH_NREFUSALS,
};

/* Counters, summed over workers (relaxed atomics: the auth path only). */
struct auth_stats {
    uint64_t verified; /* signed requests accepted */
    uint64_t refused[AUTH_NREFUSALS];
    uint64_t skipped; /* signed REPLYs that did not fit */
};
extern struct auth_stats auth_stats;

/* Check the AUTH header of a parsed request buf[0..len): AUTH_OK with *out
 * set to sign the answers, or an enum auth_refusal (counted). `why` gets a
 * short text for the log. */
int auth_check_request(const struct keyring *k, const char *buf, size_t len,
                       const struct tged_message *m, struct auth_reply *out,
                       const char **why);

/* 1 when a datagram holds the word AUTH (any case, not part of a longer
 * name): for a request that cannot be parsed, so cannot be verified. */
int auth_line_present(const char *buf, size_t len);

/* The name of a refusal, for logs and counters ("bad", "replay", ...). */
const char *auth_refusal_name(int r);

/* The replay cache, shared by every worker and kept across reloads: 0 when
 * (tag, nonce) is new and now remembered, else AUTH_REPLAY or
 * AUTH_CACHE_FULL. Exposed for the unit tests. */
int replay_remember(uint64_t tag, uint64_t nonce, int64_t t, int64_t now,
                    unsigned window);
/* Forget everything (unit tests). */
void replay_reset(void);

#endif
