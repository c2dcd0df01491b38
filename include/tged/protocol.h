/*
 * tged/protocol.h - TGED 1.0 messages: parse in place, format into a buffer.
 *
 * The wire contract is docs/protocol.md. Everything here works on caller
 * memory: parsing never allocates and never copies, it records pointers into
 * the datagram; formatting writes into a buffer the caller owns and reports
 * overflow instead of truncating. The functions touch no global state:
 * they are thread-safe and may be called from a signal handler.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_PROTOCOL_H
#define TGED_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TGED_API __attribute__((visibility("default")))
#else
#define TGED_API
#endif

/** Default UDP port, for requests and for the source port of answers. */
#define TGED_PORT 4745
/** Default IPv6 link-local multicast group a responder joins. */
#define TGED_MCAST6 "ff02::4745"

/** Limits a responder enforces on a request (spec section 2). */
#define TGED_MAX_REQUEST 1472
#define TGED_MAX_REQUEST_HEADERS 32
#define TGED_MAX_NAME 32
#define TGED_MAX_VALUE 255
/** Limits of the RQ and ID headers (spec section 3). */
#define TGED_MAX_TYPE 63
#define TGED_MAX_ID 64
/** Default and largest sizes of one answer datagram. */
#define TGED_DEFAULT_REPLY_SIZE 1024
#define TGED_MAX_DATAGRAM 65507
/** Header slots in a parsed message (answers may carry more than requests). */
#define TGED_MSG_HEADERS 128

/** A byte range inside a buffer; not NUL-terminated. */
struct tged_str {
    const char *ptr;
    size_t len;
};

enum tged_method {
    TGED_METHOD_OTHER = 0, /**< well-formed start line, unknown method */
    TGED_METHOD_DISCOVERY,
    TGED_METHOD_REPLY,
    TGED_METHOD_INVALID,
};

/** What tged_parse() made of a datagram. */
enum tged_parse_status {
    TGED_PARSE_OK = 0,   /**< a well-formed message */
    TGED_PARSE_NOT_TGED, /**< not TGED at all (or empty): stay silent */
    TGED_PARSE_BAD,      /**< TGED, but breaks section 2 or 3 */
    TGED_PARSE_VERSION,  /**< well-formed start line, major version not 1 */
};

/** The REASON values of an INVALID answer (spec section 4). */
enum tged_reason {
    TGED_REASON_BAD_REQUEST = 0,
    TGED_REASON_VERSION,
    TGED_REASON_UNKNOWN_TYPE,
    TGED_REASON_NO_MATCH,
    TGED_REASON_UNAVAILABLE,
};

/** Parse flags. */
enum {
    /** Apply the responder's request rules: size, header count, RQ and ID
     *  syntax (sections 2 and 3). Without it, any well-formed message of up
     *  to TGED_MSG_HEADERS headers is accepted (what a client wants). */
    TGED_PARSE_REQUEST = 1u << 0,
};

struct tged_header {
    struct tged_str name;  /**< as sent; compare with tged_name_eq() */
    struct tged_str value; /**< white space around it removed */
};

/**
 * A parsed message. Every tged_str points into the parsed buffer, which must
 * outlive it. Fields are only meaningful as documented per status. It is
 * about 4 KiB: a program parsing often keeps one rather than one per call.
 */
struct tged_message {
    enum tged_method method; /**< set for OK, BAD and VERSION */
    unsigned major, minor;   /**< version; set for OK and VERSION */
    /** RQ and ID as sent (ptr NULL when absent). For OK, BAD and VERSION
     *  they are set whenever their header line is valid and not repeated,
     *  so an INVALID answer can echo them even when the rest is wrong. */
    struct tged_str rq, id;
    struct tged_str body; /**< what follows the empty line, may be empty */
    const char *error;    /**< static text saying why BAD, for logs */
    size_t nheaders;      /**< every header, RQ and ID included, in order */
    struct tged_header headers[TGED_MSG_HEADERS];
};

/**
 * Parse one datagram in place.
 * @param buf    the datagram; not modified, need not be NUL-terminated
 * @param len    its length in bytes
 * @param flags  TGED_PARSE_REQUEST for a responder, else 0
 * @param msg    filled as described at struct tged_message
 * @return an enum tged_parse_status
 */
TGED_API int tged_parse(const char *buf, size_t len, unsigned flags,
                        struct tged_message *msg);

/** Case-insensitive (ASCII) comparison of two names or values. */
TGED_API int tged_name_eq(const char *a, size_t alen, const char *b,
                          size_t blen);

/** 1 when a header name is reserved: never a record field, never a filter
 *  (RQ, ID, RP, REASON, SVR, AUTH and X-TGED-*). */
TGED_API int tged_name_reserved(const char *name, size_t len);

/** Syntax checks of section 2 and 3; each returns 1 when valid. */
TGED_API int tged_name_valid(const char *name, size_t len);
TGED_API int tged_value_valid(const char *value, size_t len);
TGED_API int tged_type_valid(const char *type, size_t len);
TGED_API int tged_id_valid(const char *id, size_t len);

/** A 64-bit hash of a string with ASCII letters folded to lower case, so
 *  that names equal under tged_name_eq() hash alike. It may differ between
 *  machines (byte order): use it in memory, never store or send it. */
TGED_API uint64_t tged_hash_ci(const char *s, size_t len);

/** "bad-request", "version", ... for an enum tged_reason; NULL if out of
 *  range. */
TGED_API const char *tged_reason_name(int reason);

/**
 * A writer formats one message into caller memory. Once a write does not
 * fit, the writer is marked overflowed and tged_writer_finish() returns 0:
 * a message is never sent cut short.
 */
struct tged_writer {
    char *buf;
    size_t cap;
    size_t len;
    int overflow;
};

/** Start a message "TGED <method> 1.0\r\n" in buf of cap bytes. */
TGED_API void tged_writer_start(struct tged_writer *w, char *buf, size_t cap,
                                enum tged_method method);
/** Append "NAME: value\r\n". Name and value are written as given; check
 *  them with tged_name_valid() / tged_value_valid() first. */
TGED_API void tged_writer_header(struct tged_writer *w, const char *name,
                                 size_t nlen, const char *value, size_t vlen);
/** Append raw, already formatted header lines. */
TGED_API void tged_writer_raw(struct tged_writer *w, const char *text,
                              size_t len);
/** End the head with the empty line; the length written, 0 on overflow. */
TGED_API size_t tged_writer_finish(struct tged_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* TGED_PROTOCOL_H */
