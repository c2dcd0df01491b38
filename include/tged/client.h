/*
 * tged/client.h - discover a service in one call.
 *
 * The client broadcasts (or sends to the address given) a TGED DISCOVERY,
 * repeats it during the wait with one ID, ignores answers that carry
 * another ID, and adds SVR, the address the answer came from. It is the
 * library the `tged` command is built on. Functions are thread-safe: each
 * call uses its own socket.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_CLIENT_H
#define TGED_CLIENT_H

#include <stddef.h>

#include <tged/auth.h>
#include <tged/protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A filter of a request: NUL-terminated name and value. */
struct tged_kv {
    const char *name;
    const char *value;
};

struct tged_client_options {
    /** Where to send: NULL for "255.255.255.255:4745"; else "ADDR",
     *  "ADDR:PORT", "[ADDR6]:PORT", "ADDR6" or "ff02::4745%eth0" (unicast,
     *  directed broadcast or IPv6 multicast). */
    const char *server;
    /** How long to wait, in milliseconds; 0 means 2000. */
    unsigned timeout_ms;
    /** 0: stop at the first REPLY. 1: collect every distinct REPLY until
     *  the timeout. */
    int all;
    /** The request's ID: NULL for a random one. */
    const char *id;
    /** Authenticated discovery (docs/protocol.md, "Authenticated
     *  discovery"): NULL for an unsigned request. With a key (see
     *  tged_key_load() in <tged/auth.h>), every copy of the request is
     *  signed with a fresh nonce, and only answers signed with this key,
     *  for one of these copies, at a time within auth_window of our clock,
     *  are handed to fn: unsigned and badly signed answers are dropped.
     *  The AUTH header is removed from the answers handed. The key is
     *  only read during the call. */
    const struct tged_key *key;
    /** With a key: the seconds an answer's time may differ from our
     *  clock; 0 means TGED_AUTH_WINDOW (30). */
    unsigned auth_window;
    /** With a key, if not NULL: set to the number of answers dropped
     *  because they were not signed, or not correctly, with the key. */
    unsigned *auth_dropped;
};

/** One answer, NUL-terminated copies of its headers in the order sent. */
struct tged_answer {
    int invalid; /**< 1 for an INVALID answer, 0 for a REPLY */
    /** Source address of the datagram (IPv6 with "%ifname" when scoped). */
    char svr[64];
    size_t nfields;
    struct {
        char name[TGED_MAX_NAME + 1];
        char value[TGED_MAX_VALUE + 1];
    } fields[TGED_MSG_HEADERS];
};

/** Result of tged_discover(); errors are negative errno values. */
enum tged_client_result {
    TGED_CLIENT_REPLY = 0,   /**< at least one REPLY */
    TGED_CLIENT_INVALID = 1, /**< only INVALID answers */
    TGED_CLIENT_TIMEOUT = 2, /**< no answer at all */
};

/** Called for each answer given to the caller; return non-zero to stop
 *  waiting at once. `answer` is valid only during the call: copy what you
 *  keep. */
typedef int (*tged_answer_fn)(const struct tged_answer *answer, void *arg);

/**
 * Ask for a service.
 *
 * REPLYs are handed to `fn` as they come (the first only, unless
 * opts->all; duplicates from one server are dropped). An INVALID ends the
 * wait only when no REPLY has come by the timeout (another responder may
 * still serve the type), then the first INVALID is handed to `fn`. When
 * the request went to a unicast address, an INVALID ends the wait at once:
 * no other responder will answer.
 *
 * @param type      the RQ, 1-63 of A-Z a-z 0-9 . _ -
 * @param filters   fields the record must have, may be NULL when nfilters
 *                  is 0
 * @param opts      NULL for the defaults
 * @param fn        may be NULL (then only the result counts)
 * @return an enum tged_client_result, or -EINVAL (bad type, filter,
 *         address or key, or a request too long), -ENOMEM, -errno of a
 *         socket call
 */
TGED_API int tged_discover(const char *type, const struct tged_kv *filters,
                           size_t nfilters,
                           const struct tged_client_options *opts,
                           tged_answer_fn fn, void *arg);

/** One call for the common case: the first REPLY (or the INVALID) into
 *  *out. Same results as tged_discover(). struct tged_answer is about
 *  37 KiB: on a small thread stack, allocate it. */
TGED_API int tged_discover_one(const char *type, const struct tged_kv *filters,
                               size_t nfilters,
                               const struct tged_client_options *opts,
                               struct tged_answer *out);

/** The value of a header of an answer (case-insensitive), or NULL. */
TGED_API const char *tged_answer_get(const struct tged_answer *answer,
                                     const char *name);

/** Fill *out from a received datagram; svr is copied as given.
 *  Returns 0, or -EINVAL when the datagram is not a TGED REPLY or
 *  INVALID. */
TGED_API int tged_answer_parse(const char *buf, size_t len, const char *svr,
                               struct tged_answer *out);

#ifdef __cplusplus
}
#endif
#endif /* TGED_CLIENT_H */
