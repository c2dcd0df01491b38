/* core/lib/auth.c - authenticated discovery: the AUTH header and key files.
 * SPDX-License-Identifier: MIT */
#include <tged/auth.h>

#include <errno.h>
#include <libconfig.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void sodium_setup(void)
{
    sodium_ok = sodium_init() >= 0;
}

/* libsodium wants sodium_init() before any use; pthread_once keeps the
 * cost of asking to one load after the first call. */
static int sodium_ready(void)
{
    pthread_once(&sodium_once, sodium_setup);
    return sodium_ok;
}

static int id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

TGED_API int tged_auth_key_id_valid(const char *id, size_t len)
{
    if (!id || len < 1 || len > TGED_AUTH_MAX_KEY_ID)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!id_char((unsigned char)id[i]))
            return 0;
    return 1;
}

/* Lower-case hex only: one spelling per value, so that what is signed and
 * what is compared are the same bytes. */
static int lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Any case, exactly 2 * n digits; 0 or -1. */
static int hex_decode(const char *s, size_t len, unsigned char *out, size_t n)
{
    if (len != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

static void mac_of(const struct tged_key *key, const char *buf, size_t len,
                   unsigned char out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->secret, sizeof(key->secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)buf, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

TGED_API int tged_auth_find(const char *buf, size_t len,
                            const struct tged_message *msg,
                            struct tged_auth *out)
{
    const struct tged_header *h = NULL;
    size_t at = 0;
    for (size_t i = 0; i < msg->nheaders; i++)
        if (tged_name_eq(msg->headers[i].name.ptr, msg->headers[i].name.len,
                         "AUTH", 4)) {
            h = &msg->headers[i];
            at = i;
            break;
        }
    if (!h)
        return -ENOENT;
    if (at + 1 != msg->nheaders)
        return -EINVAL;

    const char *v = h->value.ptr, *end = v + h->value.len;
    /* Nothing after the AUTH line but the empty line: every other byte of
     * the datagram is covered by the MAC or is the MAC. */
    if (end + 4 != buf + len || memcmp(end, "\r\n\r\n", 4) != 0)
        return -EINVAL;
    if (end - v < 3 || memcmp(v, "v1 ", 3) != 0)
        return -EINVAL;
    const char *p = v + 3, *id = p;
    while (p < end && id_char((unsigned char)*p))
        p++;
    if (p == end || *p != ' ' || !tged_auth_key_id_valid(id, (size_t)(p - id)))
        return -EINVAL;
    out->key_id.ptr = id;
    out->key_id.len = (size_t)(p - id);
    p++;
    const char *t = p;
    int64_t secs = 0;
    while (p < end && *p >= '0' && *p <= '9' &&
           p - t < TGED_AUTH_MAX_TIME_DIGITS) {
        secs = secs * 10 + (*p - '0');
        p++;
    }
    if (p == t || p == end || *p != ' ')
        return -EINVAL;
    out->time = secs;
    p++;
    if (end - p != TGED_AUTH_NONCE_LEN + 1 + TGED_AUTH_MAC_LEN ||
        !lower_hex(p, TGED_AUTH_NONCE_LEN) || p[TGED_AUTH_NONCE_LEN] != ' ')
        return -EINVAL;
    out->nonce.ptr = p;
    out->nonce.len = TGED_AUTH_NONCE_LEN;
    p += TGED_AUTH_NONCE_LEN + 1;
    if (!lower_hex(p, TGED_AUTH_MAC_LEN) ||
        hex_decode(p, TGED_AUTH_MAC_LEN, out->mac, sizeof(out->mac)))
        return -EINVAL;
    out->signed_len = (size_t)(p - buf);
    return 0;
}

TGED_API int tged_auth_verify(const struct tged_key *key, const char *buf,
                              const struct tged_auth *a)
{
    unsigned char mac[32];
    size_t idlen = strnlen(key->id, sizeof(key->id));
    if (!sodium_ready() || a->key_id.len != idlen ||
        memcmp(a->key_id.ptr, key->id, idlen) != 0)
        return 0;
    mac_of(key, buf, a->signed_len, mac);
    return crypto_verify_32(mac, a->mac) == 0;
}

static size_t digits_of(int64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

#define MAX_TIME 9999999999LL

TGED_API size_t tged_auth_size(const struct tged_key *key, int64_t now)
{
    size_t idlen = strnlen(key->id, sizeof(key->id));
    if (now < 0 || now > MAX_TIME || !tged_auth_key_id_valid(key->id, idlen))
        return 0;
    return 9 + idlen + 1 + digits_of(now) + 1 + TGED_AUTH_NONCE_LEN + 1 +
           TGED_AUTH_MAC_LEN + 2 + 2;
}

TGED_API size_t tged_auth_sign(const struct tged_key *key, char *buf,
                               size_t len, size_t cap, int64_t now,
                               const char *nonce)
{
    size_t add = tged_auth_size(key, now);
    if (!add || !nonce || !lower_hex(nonce, TGED_AUTH_NONCE_LEN) || len > cap ||
        add > cap - len || !sodium_ready())
        return 0;
    char *p = buf + len;
    int n = snprintf(p, cap - len, "AUTH: v1 %s %lld %.*s ", key->id,
                     (long long)now, TGED_AUTH_NONCE_LEN, nonce);
    if (n < 0)
        return 0;
    p += n;
    unsigned char mac[32];
    mac_of(key, buf, (size_t)(p - buf), mac);
    hex_encode(mac, sizeof(mac), p);
    p += TGED_AUTH_MAC_LEN;
    memcpy(p, "\r\n\r\n", 4);
    p += 4;
    return (size_t)(p - buf);
}

TGED_API void tged_key_wipe(struct tged_key *key)
{
    if (key)
        sodium_memzero(key, sizeof(*key));
}

TGED_API void tged_keys_free(struct tged_key *keys, size_t n)
{
    if (!keys)
        return;
    sodium_memzero(keys, n * sizeof(*keys));
    free(keys);
}

/* ------------------------------------------------------------------ */
/* Key files                                                           */

static void say(char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *msg, size_t len, const char *fmt, ...)
{
    if (!msg || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
}

static const char *src_file(const config_setting_t *s, const char *path)
{
    const char *f = config_setting_source_file(s);
    return f ? f : path;
}

/* Check one { id = ...; secret = ...; } group into *out. */
static int read_key(const config_setting_t *g, const char *path,
                    struct tged_key *out, char *msg, size_t msglen)
{
    unsigned line = config_setting_source_line(g);
    const char *file = src_file(g, path);
    if (!config_setting_is_group(g)) {
        say(msg, msglen,
            "%s:%u: keys: each key must be a group { id = \"...\"; secret "
            "= \"...\"; }",
            file, line);
        return -EINVAL;
    }
    unsigned n = (unsigned)config_setting_length(g);
    for (unsigned i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, i);
        const char *name = config_setting_name(m);
        if (strcmp(name, "id") && strcmp(name, "secret")) {
            say(msg, msglen,
                "%s:%u: key: unknown setting '%s' (a key takes id, secret)",
                src_file(m, path), config_setting_source_line(m), name);
            return -EINVAL;
        }
        if (config_setting_type(m) != CONFIG_TYPE_STRING) {
            say(msg, msglen, "%s:%u: key: setting '%s' must be a string",
                src_file(m, path), config_setting_source_line(m), name);
            return -EINVAL;
        }
    }
    const char *id = NULL, *secret = NULL;
    config_setting_lookup_string(g, "id", &id);
    config_setting_lookup_string(g, "secret", &secret);
    if (!id || !secret) {
        say(msg, msglen, "%s:%u: key: 'id' and 'secret' (strings) are required",
            file, line);
        return -EINVAL;
    }
    const config_setting_t *sid = config_setting_get_member(g, "id");
    const config_setting_t *ssec = config_setting_get_member(g, "secret");
    size_t idlen = strlen(id);
    if (!tged_auth_key_id_valid(id, idlen)) {
        /* The id may hold anything: quote a bounded, printable part. */
        char shown[41];
        size_t k = 0;
        for (size_t i = 0; id[i] && k + 1 < sizeof(shown); i++)
            shown[k++] = (id[i] >= 0x20 && id[i] < 0x7f) ? id[i] : '?';
        shown[k] = '\0';
        say(msg, msglen,
            "%s:%u: key: id '%s%s' is not valid (1 to 32 of A-Z a-z 0-9 . "
            "_ -)",
            src_file(sid, path), config_setting_source_line(sid), shown,
            idlen > 40 ? "..." : "");
        return -EINVAL;
    }
    size_t slen = strlen(secret);
    if (slen != 2 * TGED_AUTH_KEY_BYTES ||
        hex_decode(secret, slen, out->secret, sizeof(out->secret))) {
        /* Never quote the secret: the log is less guarded than the file. */
        say(msg, msglen,
            "%s:%u: key '%s': secret must be %d hex digits (%d bytes, e.g. "
            "from `openssl rand -hex 32`), not %zu characters%s",
            src_file(ssec, path), config_setting_source_line(ssec), id,
            2 * TGED_AUTH_KEY_BYTES, TGED_AUTH_KEY_BYTES, slen,
            slen == 2 * TGED_AUTH_KEY_BYTES ? " with a non-hex digit" : "");
        return -EINVAL;
    }
    memcpy(out->id, id, idlen + 1);
    return 0;
}

TGED_API int tged_keys_load(const char *path, struct tged_key **keys, size_t *n,
                            char *msg, size_t msglen)
{
    config_t cfg;
    struct tged_key *out = NULL;
    unsigned count = 0;
    int rc = -EINVAL;

    *keys = NULL;
    *n = 0;
    say(msg, msglen, "%s", "");
    if (!sodium_ready()) {
        say(msg, msglen, "%s: libsodium cannot start", path);
        return -ENOSYS;
    }
    config_init(&cfg);
    errno = 0;
    if (config_read_file(&cfg, path) != CONFIG_TRUE) {
        if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
            rc = errno ? -errno : -ENOENT;
            say(msg, msglen, "%s: cannot read the key file: %s", path,
                strerror(-rc));
        } else {
            say(msg, msglen, "%s:%d: %s",
                config_error_file(&cfg) ? config_error_file(&cfg) : path,
                config_error_line(&cfg), config_error_text(&cfg));
        }
        goto out;
    }
    const config_setting_t *root = config_root_setting(&cfg);
    unsigned nroot = (unsigned)config_setting_length(root);
    for (unsigned i = 0; i < nroot; i++) {
        const config_setting_t *s = config_setting_get_elem(root, i);
        if (strcmp(config_setting_name(s), "keys") != 0) {
            say(msg, msglen,
                "%s:%u: unknown setting '%s' (a key file holds keys = ( { id "
                "= ...; secret = ...; }, ... ))",
                src_file(s, path), config_setting_source_line(s),
                config_setting_name(s));
            goto out;
        }
    }
    const config_setting_t *list = config_setting_get_member(root, "keys");
    if (!list) {
        say(msg, msglen,
            "%s: no 'keys' setting (a key file holds keys = ( { id = ...; "
            "secret = ...; }, ... ))",
            path);
        goto out;
    }
    if (!config_setting_is_list(list)) {
        say(msg, msglen,
            "%s:%u: keys must be a list ( { id = ...; secret = "
            "...; }, ... )",
            src_file(list, path), config_setting_source_line(list));
        goto out;
    }
    count = (unsigned)config_setting_length(list);
    if (count == 0) {
        say(msg, msglen, "%s:%u: keys: the list holds no key",
            src_file(list, path), config_setting_source_line(list));
        goto out;
    }
    out = calloc(count, sizeof(*out));
    if (!out) {
        rc = -ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < count; i++) {
        const config_setting_t *g = config_setting_get_elem(list, i);
        if (read_key(g, path, &out[i], msg, msglen))
            goto out;
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(out[j].id, out[i].id)) {
                say(msg, msglen,
                    "%s:%u: key '%s': the id is used by another key (line "
                    "%u)",
                    src_file(g, path), config_setting_source_line(g), out[i].id,
                    config_setting_source_line(
                        config_setting_get_elem(list, j)));
                goto out;
            }
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)))
        say(msg, msglen,
            "%s: the key file is %s (mode %04o): anyone on this host can "
            "%s; chmod 600 it (640 for a group that must read it)",
            path,
            (st.st_mode & S_IROTH) ? "readable by others"
                                   : "writable by group or others",
            (unsigned)(st.st_mode & 07777),
            (st.st_mode & S_IROTH) ? "sign as these keys"
                                   : "replace these keys");
    *keys = out;
    *n = count;
    out = NULL;
    rc = 0;
out:
    tged_keys_free(out, count);
    config_destroy(&cfg);
    return rc;
}

TGED_API int tged_key_load(const char *path, const char *id,
                           struct tged_key *out, char *msg, size_t msglen)
{
    struct tged_key *keys;
    size_t n;
    int rc = tged_keys_load(path, &keys, &n, msg, msglen);
    if (rc < 0)
        return rc;
    size_t i = 0;
    if (id) {
        for (i = 0; i < n && strcmp(keys[i].id, id) != 0; i++)
            ;
        if (i == n) {
            /* Name the ids the file has: the usual mistake is a typo. */
            size_t at = 0;
            if (msg && msglen) {
                int w = snprintf(msg, msglen, "%s: no key '%s' (the file has",
                                 path, id);
                at = w > 0 ? (size_t)w : 0;
                for (size_t j = 0; j < n && at < msglen; j++) {
                    w = snprintf(msg + at, msglen - at, "%s '%s'", j ? "," : "",
                                 keys[j].id);
                    at += w > 0 ? (size_t)w : 0;
                }
                if (at < msglen)
                    snprintf(msg + at, msglen - at, ")");
            }
            tged_keys_free(keys, n);
            return -ESRCH;
        }
    }
    *out = keys[i];
    tged_keys_free(keys, n);
    return 0;
}
