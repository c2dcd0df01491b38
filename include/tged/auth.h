/*
 * tged/auth.h - authenticated discovery: pre-shared keys and the AUTH
 * header (docs/protocol.md, "Authenticated discovery").
 *
 * A signed message ends with one header line
 *
 *     AUTH: v1 <key-id> <unix-time> <nonce> <mac>
 *
 * followed by the empty line, and nothing after it. <mac> is the
 * HMAC-SHA256, with the key named by <key-id>, of every byte of the
 * datagram before <mac> (start line, headers, and the AUTH line up to and
 * including the space before <mac>), as 64 lower-case hex digits. A
 * request carries a fresh random <nonce>; each answer to it carries the
 * request's nonce, so an answer is bound to the request it answers.
 *
 * These functions work on caller memory and keep no global state; they
 * are thread-safe. Link with libtged.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_AUTH_H
#define TGED_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <tged/protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes of a key's secret (HMAC-SHA256 key). */
#define TGED_AUTH_KEY_BYTES 32
/** A key id: 1 to 32 of A-Z a-z 0-9 . _ - (compared case-sensitively). */
#define TGED_AUTH_MAX_KEY_ID 32
/** Hex digits of a nonce (8 random bytes) and of a MAC (32 bytes). */
#define TGED_AUTH_NONCE_LEN 16
#define TGED_AUTH_MAC_LEN 64
/** Digits of the time at most: 1 to 10 (seconds since 1970, UTC). */
#define TGED_AUTH_MAX_TIME_DIGITS 10
/** Default tolerance, in seconds, between the sender's and our clock. */
#define TGED_AUTH_WINDOW 30
/** Longest AUTH line with its CRLF: "AUTH: v1 " + id + SP + time + SP +
 *  nonce + SP + mac + CRLF = 136 bytes. */
#define TGED_AUTH_MAX_LINE                                                     \
    (9 + TGED_AUTH_MAX_KEY_ID + 1 + TGED_AUTH_MAX_TIME_DIGITS + 1 +            \
     TGED_AUTH_NONCE_LEN + 1 + TGED_AUTH_MAC_LEN + 2)

/** A pre-shared key. Wipe it with tged_key_wipe() when done. */
struct tged_key {
    char id[TGED_AUTH_MAX_KEY_ID + 1]; /**< NUL-terminated */
    unsigned char secret[TGED_AUTH_KEY_BYTES];
};

/** The AUTH header of a message, as tged_auth_find() reads it. The
 *  tged_str members point into the message. */
struct tged_auth {
    struct tged_str key_id;
    int64_t time;          /**< seconds since 1970, as sent */
    struct tged_str nonce; /**< TGED_AUTH_NONCE_LEN lower-case hex digits */
    unsigned char mac[32];
    size_t signed_len; /**< the MAC covers the message's first bytes */
};

/** 1 when id[0..len) is a valid key id. */
TGED_API int tged_auth_key_id_valid(const char *id, size_t len);

/**
 * Find and check the AUTH header of a message parsed with tged_parse()
 * (status TGED_PARSE_OK) from buf[0..len).
 * It must be the last header, its value exactly
 * "v1 KEYID TIME NONCE MAC" (single spaces, lower-case hex), and the
 * datagram must end right after it with CRLF CRLF (no body).
 * @return 0 (out filled), -ENOENT when there is no AUTH header, -EINVAL
 *         when there is one that breaks these rules
 */
TGED_API int tged_auth_find(const char *buf, size_t len,
                            const struct tged_message *msg,
                            struct tged_auth *out);

/** 1 when a->key_id is key's id and a->mac is the MAC of
 *  buf[0..a->signed_len) with key's secret (compared in constant time);
 *  else 0. The caller checks the time and the nonce. */
TGED_API int tged_auth_verify(const struct tged_key *key, const char *buf,
                              const struct tged_auth *a);

/** Bytes tged_auth_sign() appends for this key at time now (the AUTH line
 *  and the empty line), or 0 when now is out of range (below 0, above 10
 *  digits). */
TGED_API size_t tged_auth_size(const struct tged_key *key, int64_t now);

/**
 * Sign a message: append "AUTH: v1 ID NOW NONCE MAC\r\n\r\n" to buf, which
 * holds the start line and header lines (each ending with CRLF) in its first
 * len bytes, without the empty line.
 * @param cap    bytes available in buf
 * @param nonce  TGED_AUTH_NONCE_LEN lower-case hex digits (not NUL-terminated)
 * @return the new length of the message, or 0 when it does not fit cap or
 *         an argument is not valid (buf is then left as it was up to len)
 */
TGED_API size_t tged_auth_sign(const struct tged_key *key, char *buf,
                               size_t len, size_t cap, int64_t now,
                               const char *nonce);

/**
 * Read a key file, in libconfig syntax:
 *
 *     keys = ( { id = "office"; secret = "<64 hex digits>"; }, ... );
 *
 * Every key is checked: id syntax, ids unique, secret exactly 64 hex
 * digits (32 bytes); at least one key.
 * @param keys  on success a malloc'd array of *n keys, in file order; free
 *              it with tged_keys_free()
 * @param msg   on error, "FILE:LINE: what is wrong"; on success "" or a
 *              warning (the file is readable by others, or writable by
 *              group or others); may be NULL
 * @return 0, -ENOENT / -EACCES / ... when the file cannot be read, -EINVAL
 *         when it is not a valid key file, -ENOMEM
 */
TGED_API int tged_keys_load(const char *path, struct tged_key **keys, size_t *n,
                            char *msg, size_t msglen);

/** Wipe and free what tged_keys_load() returned. */
TGED_API void tged_keys_free(struct tged_key *keys, size_t n);

/** Read one key of a key file: the one named id, or the first when id is
 *  NULL. Returns as tged_keys_load(), and -ESRCH (msg says which ids the
 *  file has) when no key has this id. */
TGED_API int tged_key_load(const char *path, const char *id,
                           struct tged_key *out, char *msg, size_t msglen);

/** Overwrite a key's secret and id with zeros. */
TGED_API void tged_key_wipe(struct tged_key *key);

#ifdef __cplusplus
}
#endif
#endif /* TGED_AUTH_H */
