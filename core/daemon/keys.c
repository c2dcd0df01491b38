/* core/daemon/keys.c - authenticated discovery in the responder.
 *
 * Only signed requests, and requests to routes that require a signature,
 * come here: the unsigned path never touches this file. The replay cache
 * is one table for every worker, behind a mutex taken only on this path,
 * because a replayed request may reach any worker (SO_REUSEPORT spreads
 * sources, and an attacker picks its source port). It is static, so it
 * outlives reloads: a reload must not let an old request in again.
 *
 * SPDX-License-Identifier: MIT
 */
#include "keys.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "host.h"
#include "log.h"

struct auth_stats auth_stats;

struct keyring *keyring_load(const config_setting_t *setting, unsigned window)
{
    char dir[PATH_MAX], msg[1024];
    const char *file = config_setting_get_string(setting);
    char *path = path_join(setting_dir(setting, dir, sizeof(dir)), file);
    struct keyring *k = calloc(1, sizeof(*k));
    if (!path || !k) {
        log_err("out of memory");
        goto fail;
    }
    k->window = window;
    if (tged_keys_load(path, &k->keys, &k->n, msg, sizeof(msg)) < 0) {
        log_err("%s", msg);
        conf_err(setting, "responder.keys: the key file %s cannot be used",
                 path);
        goto fail;
    }
    if (msg[0])
        log_warn("%s", msg);
    log_info("authenticated discovery: %zu key%s from %s", k->n,
             k->n == 1 ? "" : "s", path);
    free(path);
    return k;
fail:
    free(path);
    keyring_free(k);
    return NULL;
}

void keyring_free(struct keyring *k)
{
    if (!k)
        return;
    tged_keys_free(k->keys, k->n);
    free(k);
}

static const char *const refusal_names[AUTH_NREFUSALS] = {
    [AUTH_OK] = "ok",
    [AUTH_BAD] = "bad",
    [AUTH_UNKNOWN_KEY] = "unknown-key",
    [AUTH_TIME] = "time",
    [AUTH_MAC] = "mac",
    [AUTH_REPLAY] = "replay",
    [AUTH_CACHE_FULL] = "cache-full",
    [AUTH_UNSIGNED] = "unsigned",
};

const char *auth_refusal_name(int r)
{
    return r > AUTH_OK && r < AUTH_NREFUSALS ? refusal_names[r] : "?";
}

/* ------------------------------------------------------------------ */
/* The replay cache                                                    */

/* 16384 nonces: at the default window of 30 s a nonce is kept at most
 * 60 s (a time 30 s ahead, accepted until 30 s after it), so the cache
 * holds over 270 signed requests a second. */
#define REPLAY_SLOTS 16384u
#define REPLAY_PROBES 32u

struct replay_slot {
    uint64_t tag, nonce;
    int64_t t; /* the request's time */
    int used;
};

static struct replay_slot slots[REPLAY_SLOTS];
/* The newest time of a nonce the cache has forgotten: a request that old
 * or older is refused, whatever the window says. A slot is only reused
 * once its request is out of the window, so this never refuses a request
 * inside it; it closes the gap a reload that widens auth_window would
 * otherwise open for requests whose nonces were already forgotten. */
static int64_t forgotten = INT64_MIN;
static uint64_t seed;
static int seeded;
static pthread_mutex_t replay_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

int replay_remember(uint64_t tag, uint64_t nonce, int64_t t, int64_t now,
                    unsigned window)
{
    int rc = AUTH_CACHE_FULL;
    pthread_mutex_lock(&replay_lock);
    if (!seeded) {
        /* Spreads nonces that a key holder could choose to collide. */
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
            seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&seed;
        seeded = 1;
    }
    if (t <= forgotten) {
        rc = AUTH_REPLAY;
        goto out;
    }
    uint64_t h = mix(nonce ^ mix(tag ^ seed));
    struct replay_slot *free_slot = NULL;
    for (unsigned i = 0; i < REPLAY_PROBES; i++) {
        struct replay_slot *s = &slots[(h + i) & (REPLAY_SLOTS - 1)];
        if (!s->used) {
            /* Slots are never emptied, so nothing of this chain lies
             * beyond one that was never used. */
            if (!free_slot)
                free_slot = s;
            break;
        }
        if (s->nonce == nonce && s->tag == tag) {
            rc = AUTH_REPLAY;
            goto out;
        }
        if (!free_slot && s->t + (int64_t)window < now)
            free_slot = s;
    }
    if (!free_slot)
        goto out;
    if (free_slot->used && free_slot->t > forgotten)
        forgotten = free_slot->t;
    free_slot->used = 1;
    free_slot->tag = tag;
    free_slot->nonce = nonce;
    free_slot->t = t;
    rc = 0;
out:
    pthread_mutex_unlock(&replay_lock);
    return rc;
}

void replay_reset(void)
{
    pthread_mutex_lock(&replay_lock);
    memset(slots, 0, sizeof(slots));
    forgotten = INT64_MIN;
    pthread_mutex_unlock(&replay_lock);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static inline void count(uint64_t *c)
{
    __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* FNV-1a of the key id: nonces are remembered per key. */
static uint64_t key_tag(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 0x100000001b3ull;
    return h;
}

static uint64_t nonce_bits(const char *hex)
{
    uint64_t v = 0;
    for (int i = 0; i < TGED_AUTH_NONCE_LEN; i++) {
        char c = hex[i];
        v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
}

static int refuse(int r, const char **why, const char *text)
{
    count(&auth_stats.refused[r]);
    *why = text;
    return r;
}

static int name_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int auth_line_present(const char *buf, size_t len)
{
    /* The word AUTH, any case, standing alone ("\nAUTH:", "\r\vAUTH :",
     * but not AUTHOR or X-AUTH), anywhere: in a datagram that cannot be
     * parsed, a line end may be what is broken. */
    for (size_t i = 1; i + 5 <= len; i++)
        if ((buf[i] | 0x20) == 'a' && tged_name_eq(buf + i, 4, "AUTH", 4) &&
            !name_byte((unsigned char)buf[i - 1]) &&
            !name_byte((unsigned char)buf[i + 4]))
            return 1;
    return 0;
}

int auth_check_request(const struct keyring *k, const char *buf, size_t len,
                       const struct tged_message *m, struct auth_reply *out,
                       const char **why)
{
    struct tged_auth a;
    if (tged_auth_find(buf, len, m, &a) != 0)
        return refuse(AUTH_BAD, why,
                      "malformed AUTH header, or not the last line");
    const struct tged_key *key = NULL;
    for (size_t i = 0; i < k->n && !key; i++)
        if (strlen(k->keys[i].id) == a.key_id.len &&
            !memcmp(k->keys[i].id, a.key_id.ptr, a.key_id.len))
            key = &k->keys[i];
    if (!key)
        return refuse(AUTH_UNKNOWN_KEY, why, "unknown key id");
    int64_t now = (int64_t)time(NULL);
    size_t size = tged_auth_size(key, now);
    if (a.time < now - (int64_t)k->window ||
        a.time > now + (int64_t)k->window || !size)
        return refuse(AUTH_TIME, why,
                      "its time is outside responder.auth_window of this "
                      "host's clock");
    if (!tged_auth_verify(key, buf, &a))
        return refuse(AUTH_MAC, why, "wrong MAC (another secret, or altered)");
    int r = replay_remember(key_tag(key->id), nonce_bits(a.nonce.ptr), a.time,
                            now, k->window);
    if (r == AUTH_REPLAY)
        return refuse(r, why, "replayed (its nonce was seen)");
    if (r != 0)
        return refuse(r, why,
                      "the replay cache is full (too many signed requests "
                      "within auth_window)");
    count(&auth_stats.verified);
    *why = NULL;
    out->key = key;
    out->nonce = a.nonce.ptr;
    out->now = now;
    out->extra = size - 2;
    return AUTH_OK;
}
