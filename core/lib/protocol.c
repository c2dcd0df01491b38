/*
 * core/lib/protocol.c - TGED 1.0 framing: parse a datagram in place, format
 * a message into caller memory.
 *
 * The parser is the responder's hot path. It makes one forward pass over
 * the head, classifying bytes through one static table, or eight at a time
 * where values are scanned; it never allocates, never copies and never
 * touches a byte outside [buf, buf + len). Once a message is known to be bad
 * it keeps walking the head with the same line rules, but only to find RQ
 * and ID: the INVALID answer echoes them (spec section 4).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include <tged/protocol.h>

#include "fold.h"

_Static_assert(TGED_MAX_REQUEST_HEADERS <= TGED_MSG_HEADERS,
               "a request must fit in a parsed message");

/* Byte classes (spec sections 2 and 3). */
enum {
    C_WSP = 1 << 0,   /* SP / HTAB */
    C_VIS = 1 << 1,   /* %x21-7E / %x80-FF: a value byte that is not WSP */
    C_NAME = 1 << 2,  /* ALPHA / DIGIT / "-" / "_" */
    C_TYPE = 1 << 3,  /* ALPHA / DIGIT / "." / "_" / "-" */
    C_ID = 1 << 4,    /* %x21-7E */
    C_DIGIT = 1 << 5, /* DIGIT */
};

#define IS_ALNUM(c)                                                            \
    (((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z') ||               \
     ((c) >= '0' && (c) <= '9'))
#define CLS(c)                                                                 \
    ((((c) == ' ' || (c) == '\t') ? C_WSP : 0) |                               \
     ((((c) >= 0x21 && (c) <= 0x7e) || (c) >= 0x80) ? C_VIS : 0) |             \
     ((IS_ALNUM(c) || (c) == '-' || (c) == '_') ? C_NAME : 0) |                \
     ((IS_ALNUM(c) || (c) == '-' || (c) == '_' || (c) == '.') ? C_TYPE : 0) |  \
     (((c) >= 0x21 && (c) <= 0x7e) ? C_ID : 0) |                               \
     (((c) >= '0' && (c) <= '9') ? C_DIGIT : 0))
#define CLS4(c) CLS(c), CLS((c) + 1), CLS((c) + 2), CLS((c) + 3)
#define CLS16(c) CLS4(c), CLS4((c) + 4), CLS4((c) + 8), CLS4((c) + 12)
#define CLS64(c) CLS16(c), CLS16((c) + 16), CLS16((c) + 32), CLS16((c) + 48)

/* Computed at compile time: no range designators, so no overlapping
 * initialisers for -Woverride-init to trip on. */
static const unsigned char cls[256] = {CLS64(0), CLS64(64), CLS64(128),
                                       CLS64(192)};

static const struct tged_str no_str = {NULL, 0};

static inline int all_of(const unsigned char *p, size_t len, unsigned mask)
{
    for (size_t i = 0; i < len; i++)
        if (!(cls[p[i]] & mask))
            return 0;
    return 1;
}

static inline enum tged_method method_of(const unsigned char *t, size_t len)
{
    switch (len) {
    case 9:
        if (memcmp(t, "DISCOVERY", 9) == 0)
            return TGED_METHOD_DISCOVERY;
        break;
    case 5:
        if (memcmp(t, "REPLY", 5) == 0)
            return TGED_METHOD_REPLY;
        break;
    case 7:
        if (memcmp(t, "INVALID", 7) == 0)
            return TGED_METHOD_INVALID;
        break;
    }
    return TGED_METHOD_OTHER;
}

/* 1*3DIGIT; a fourth digit makes the version malformed, not truncated. */
static inline int parse_num(const unsigned char **pp, const unsigned char *end,
                            unsigned *out)
{
    const unsigned char *p = *pp;
    unsigned v = 0;
    int n = 0;

    while (p < end && (cls[*p] & C_DIGIT)) {
        if (++n > 3)
            return 0;
        v = v * 10 + (unsigned)(*p - '0');
        p++;
    }
    if (n == 0)
        return 0;
    *pp = p;
    *out = v;
    return 1;
}

#ifdef TGED_SWAR
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Bit 7 of each byte of the result is set when that byte of w cannot stand
 * in a value: a control byte other than HTAB (NUL, CR and LF included) or
 * DEL. Every byte is judged on its low seven bits, where the adds cannot
 * carry into the next byte, so the answer is exact for all eight. */
static inline uint64_t ctl_bytes(uint64_t w)
{
    uint64_t lo = w & ~HIGHS;
    uint64_t ge20 = lo + 0x60 * ONES;                  /* lo >= 0x20 */
    uint64_t del = lo + ONES;                          /* lo == 0x7f */
    uint64_t notab = (lo ^ 0x09 * ONES) + 0x7f * ONES; /* lo != 0x09 */
    return ((~ge20 & notab) | del) & ~w & HIGHS;
}

/* Bit 7 set for each byte that an ID refuses once the value has passed
 * ctl_bytes(): SP, HTAB and %x80-FF. */
static inline uint64_t non_id_bytes(uint64_t w)
{
    uint64_t lo = w & ~HIGHS;
    uint64_t sp = (lo ^ 0x20 * ONES) + 0x7f * ONES;
    uint64_t tab = (lo ^ 0x09 * ONES) + 0x7f * ONES;
    return (w | ~sp | ~tab) & HIGHS;
}
#endif

/* The first byte at or after p that cannot be part of a value, or end.
 * A last partial word is read as the eight bytes ending the datagram, which
 * the caller guarantees it has (the start line alone is longer). */
static inline const unsigned char *value_stop(const unsigned char *p,
                                              const unsigned char *end,
                                              const unsigned char *base)
{
#ifdef TGED_SWAR
    if (end - base >= 8) {
        uint64_t w, m;

        for (; end - p >= 8; p += 8) {
            memcpy(&w, p, 8);
            m = ctl_bytes(w);
            if (m)
                return p + (__builtin_ctzll(m) >> 3);
        }
        if (p == end)
            return p;
        /* The zero bytes shifted in read as NUL, so the stop found is at
         * most end. */
        memcpy(&w, end - 8, 8);
        m = ctl_bytes(w >> 8 * (8 - (size_t)(end - p)));
        return p + (__builtin_ctzll(m) >> 3);
    }
#endif
    (void)base;
    while (p < end && (cls[*p] & (C_VIS | C_WSP)))
        p++;
    return p;
}

/* An ID value as scanned: no control bytes, no WSP at either end, and at
 * least eight bytes of datagram before its end (the start line), so that
 * the last partial word can be read as the eight bytes ending the value. */
static inline int id_ok(const unsigned char *v, size_t len,
                        const unsigned char *base)
{
    if (len - 1 >= TGED_MAX_ID)
        return 0;
#ifdef TGED_SWAR
    if (v + len - base >= 8) {
        uint64_t w, m = 0;

        for (; len >= 8; v += 8, len -= 8) {
            memcpy(&w, v, 8);
            m |= non_id_bytes(w);
        }
        if (len > 0) {
            memcpy(&w, v + len - 8, 8);
            m |= non_id_bytes(w) >> 8 * (8 - len);
        }
        return m == 0;
    }
#endif
    (void)base;
    return all_of(v, len, C_ID);
}

static inline int type_ok(const unsigned char *v, size_t len)
{
    return len - 1 < TGED_MAX_TYPE && all_of(v, len, C_TYPE);
}

struct line {
    const unsigned char *name, *value;
    size_t nlen, vlen;
    int kind; /* 1: RQ, 2: ID, 0: any other name */
};

/* Parses the header line at p, which is neither empty nor past end. On
 * success fills l and returns the start of the next line. On failure
 * returns NULL and says why; the caller then skips to the next LF from the
 * line start, since a bare CR does not end a line. */
__attribute__((always_inline)) static inline const unsigned char *
parse_line(const unsigned char *p, const unsigned char *end,
           const unsigned char *base, struct line *l, const char **why)
{
    const unsigned char *const ns = p;
    const unsigned char *vs, *ve;
    int kind = 0;

    /* RQ and ID, on nearly every line of a request, need no name loop:
     * OR 0x20 folds letters, and only R, r, Q, q, I, i, D, d fold into
     * "rqid". */
    if (end - p > 2 && p[2] == ':') {
        unsigned ab = (p[0] | 0x20u) << 8 | (p[1] | 0x20u);
        kind = ab == ('r' << 8 | 'q') ? 1 : ab == ('i' << 8 | 'd') ? 2 : 0;
    }
    if (kind) {
        l->nlen = 2;
        p += 3;
    } else {
        while (p < end && (cls[*p] & C_NAME))
            p++;
        l->nlen = (size_t)(p - ns);
        if (p == end || *p != ':') {
            if (p == end || *p == '\n' ||
                (*p == '\r' && p + 1 < end && p[1] == '\n'))
                *why = "header line without colon";
            else if (*p == '\r')
                *why = "bare CR";
            else if (p > ns && (cls[*p] & C_WSP))
                *why = "white space before colon";
            else
                *why = "malformed header name";
            return NULL;
        }
        if (l->nlen - 1 >= TGED_MAX_NAME) {
            *why = p == ns ? "empty header name" : "header name too long";
            return NULL;
        }
        p++;
    }
    while (p < end && (cls[*p] & C_WSP))
        p++;
    vs = p;
    ve = p = value_stop(p, end, base);
    while (ve > vs && (cls[ve[-1]] & C_WSP))
        ve--;
    if (ve - vs > TGED_MAX_VALUE) {
        *why = "header value too long";
        return NULL;
    }
    if (p < end) {
        if (*p == '\n') {
            p++;
        } else if (*p == '\r' && p + 1 < end && p[1] == '\n') {
            p += 2;
        } else {
            *why = *p == '\r' ? "bare CR" : "control byte in header line";
            return NULL;
        }
    }
    l->name = ns;
    l->value = vs;
    l->vlen = (size_t)(ve - vs);
    l->kind = kind;
    return p;
}

/* The end of the head: an empty line. */
static inline const unsigned char *empty_line(const unsigned char *p,
                                              const unsigned char *end)
{
    if (*p == '\n')
        return p + 1;
    if (*p == '\r' && p + 1 < end && p[1] == '\n')
        return p + 2;
    return NULL;
}

/* RQ and ID as far as seen: a copy count and the last copy. */
struct echo {
    const unsigned char *rq, *id;
    size_t rqlen, idlen;
    unsigned nrq, nid;
};

/* What a status other than OK leaves set: no headers, no body, the reason,
 * and RQ and ID where they may be echoed. A repeated RQ or ID is ambiguous,
 * so neither copy is echoed; nor is an empty one. */
static inline int finish(struct tged_message *msg, const struct echo *e,
                         int status, const char *error)
{
    msg->rq = msg->id = msg->body = no_str;
    if (e->nrq == 1 && e->rqlen > 0) {
        msg->rq.ptr = (const char *)e->rq;
        msg->rq.len = e->rqlen;
    }
    if (e->nid == 1 && e->idlen > 0) {
        msg->id.ptr = (const char *)e->id;
        msg->id.len = e->idlen;
    }
    msg->error = error;
    msg->nheaders = 0;
    return status;
}

/* The message is known to be bad from the line at p on: walk the rest of
 * the head with the same line rules, only to find RQ and ID. Linear: each
 * byte is looked at a bounded number of times. */
__attribute__((noinline, cold)) static int
finish_bad(struct tged_message *msg, const unsigned char *p,
           const unsigned char *end, const unsigned char *base, struct echo e,
           int status, const char *error)
{
    const unsigned char *next;
    struct line l;
    const char *why;

    while (p < end && empty_line(p, end) == NULL) {
        next = parse_line(p, end, base, &l, &why);
        if (next == NULL) {
            next = memchr(p, '\n', (size_t)(end - p));
            if (next == NULL)
                break;
            p = next + 1;
            continue;
        }
        if (l.kind == 1) {
            e.nrq++;
            e.rq = l.value;
            e.rqlen = l.vlen;
        } else if (l.kind == 2) {
            e.nid++;
            e.id = l.value;
            e.idlen = l.vlen;
        }
        p = next;
    }
    return finish(msg, &e, status, error);
}

/* The start line when it is not the usual one: "TGED" and one WSP are
 * behind p. Returns the first byte after the line end, or NULL with why.
 * The method is set as soon as a token could be read. */
static const unsigned char *start_line(const unsigned char *p,
                                       const unsigned char *end,
                                       struct tged_message *msg,
                                       unsigned *major, unsigned *minor,
                                       const char **why)
{
    const unsigned char *tok, *next;

    while (p < end && (cls[*p] & C_WSP))
        p++;
    tok = p;
    while (p < end && (cls[*p] & C_VIS))
        p++;
    msg->method = method_of(tok, (size_t)(p - tok));
    if (p == tok) {
        *why = "missing method";
        return NULL;
    }
    if (p == end || !(cls[*p] & C_WSP)) {
        *why = (p == end || *p == '\r' || *p == '\n') ? "missing version"
                                                      : "malformed method";
        return NULL;
    }
    while (p < end && (cls[*p] & C_WSP))
        p++;
    if (p == end || *p == '\r' || *p == '\n') {
        *why = "missing version";
        return NULL;
    }
    if (!parse_num(&p, end, major) || p == end || *p != '.') {
        *why = "malformed version";
        return NULL;
    }
    p++;
    if (!parse_num(&p, end, minor)) {
        *why = "malformed version";
        return NULL;
    }
    while (p < end && (cls[*p] & C_WSP))
        p++;
    if (p == end)
        return p;
    next = empty_line(p, end);
    if (next == NULL)
        *why = *p == '\r' ? "bare CR in start line" : "junk after version";
    return next;
}

TGED_API int tged_parse(const char *buf, size_t len, unsigned flags,
                        struct tged_message *msg)
{
    static const struct echo none = {NULL, NULL, 0, 0, 0, 0};
    const int request = (flags & TGED_PARSE_REQUEST) != 0;
    const unsigned char *const base = (const unsigned char *)buf;
    const unsigned char *p, *end, *next;
    unsigned major, minor;
    const char *why;

    msg->method = TGED_METHOD_OTHER;
    msg->major = msg->minor = 0;
    p = base;
    if (buf == NULL || len < 5 || memcmp(p, "TGED", 4) != 0 ||
        !(cls[p[4]] & C_WSP))
        return finish(msg, &none, TGED_PARSE_NOT_TGED, "not a TGED datagram");
    end = p + len;
    p += 5;

    /* What every client sends, compared as two words. */
    if (len >= 20 && memcmp(p, "DISCOVERY 1.0\r\n", 15) == 0) {
        msg->method = TGED_METHOD_DISCOVERY;
        major = 1;
        minor = 0;
        p += 15;
        goto head;
    }

    p = start_line(p, end, msg, &major, &minor, &why);
    if (p == NULL)
        goto bad_start;

head:
    msg->major = major;
    msg->minor = minor;

    /* From here the start line is valid, so RQ and ID are echoed whatever
     * else is wrong. In this loop msg->rq and msg->id hold the copy seen,
     * if any: a second one stops the loop. */
    msg->rq = msg->id = no_str;
    if (major != 1) {
        /* Checked first: another major version may have another syntax,
         * but if its head reads as ours, RQ and ID are worth echoing. */
        return finish_bad(msg, p, end, base, none, TGED_PARSE_VERSION,
                          "unsupported major version");
    }
    if (request && len > TGED_MAX_REQUEST) {
        why = "request too long";
        goto bad;
    }

    /* The 4 KiB header array is only written as far as it is used. */
    struct tged_header *const first = msg->headers;
    struct tged_header *const last =
        first + (request ? TGED_MAX_REQUEST_HEADERS : TGED_MSG_HEADERS);
    struct tged_header *h = first;
    uint32_t hash[TGED_MSG_HEADERS];
    int filters = 0;
    struct line l;

    /* Each check runs before the line is counted, so that on failure
     * finish_bad() can take the line again from its start. */
    while (p < end) {
        next = empty_line(p, end);
        if (next) {
            p = next;
            break;
        }
        next = parse_line(p, end, base, &l, &why);
        if (next == NULL)
            goto bad;
        if (h == last) {
            why = "too many headers";
            goto bad;
        }
        uint32_t k = 0;
        if (l.kind == 1) {
            if (msg->rq.ptr) {
                why = "repeated header";
                goto bad;
            }
            if (request && !type_ok(l.value, l.vlen)) {
                why = "invalid RQ";
                goto bad;
            }
            msg->rq.ptr = (const char *)l.value;
            msg->rq.len = l.vlen;
        } else if (l.kind == 2) {
            if (msg->id.ptr) {
                why = "repeated header";
                goto bad;
            }
            if (request && !id_ok(l.value, l.vlen, base)) {
                why = "invalid ID";
                goto bad;
            }
            msg->id.ptr = (const char *)l.value;
            msg->id.len = l.vlen;
        } else {
            /* parse_line() knows every spelling of RQ and ID, so only
             * other names are compared here, by hash first: even 128 names
             * sharing a long prefix cost one compare each. */
            for (size_t i = 0; i < l.nlen; i++)
                k = k * 31 + (l.name[i] | 0x20u);
            for (size_t j = 0; filters && j < (size_t)(h - first); j++) {
                if (hash[j] == k && first[j].name.len == l.nlen &&
                    tged_name_eq(first[j].name.ptr, l.nlen,
                                 (const char *)l.name, l.nlen)) {
                    why = "repeated header";
                    goto bad;
                }
            }
            filters = 1;
        }
        hash[h - first] = k;
        h->name.ptr = (const char *)l.name;
        h->name.len = l.nlen;
        h->value.ptr = (const char *)l.value;
        h->value.len = l.vlen;
        h++;
        p = next;
    }

    /* An empty RQ or ID is not echoed. */
    if (msg->rq.len == 0)
        msg->rq.ptr = NULL;
    if (msg->id.len == 0)
        msg->id.ptr = NULL;
    if (request && msg->rq.ptr == NULL) {
        msg->body = no_str;
        msg->error = "missing RQ";
        msg->nheaders = 0;
        return TGED_PARSE_BAD;
    }
    msg->body.ptr = (const char *)p;
    msg->body.len = (size_t)(end - p);
    msg->error = NULL;
    msg->nheaders = (size_t)(h - first);
    return TGED_PARSE_OK;

bad:
    return finish_bad(msg, p, end, base,
                      (struct echo){(const unsigned char *)msg->rq.ptr,
                                    (const unsigned char *)msg->id.ptr,
                                    msg->rq.len, msg->id.len,
                                    msg->rq.ptr != NULL, msg->id.ptr != NULL},
                      TGED_PARSE_BAD, why);

bad_start:
    return finish(msg, &none, TGED_PARSE_BAD, why);
}

/* 1 when the first n bytes of name equal upper (upper case, ASCII). */
static inline int upper_eq(const char *name, const char *upper, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (c != (unsigned char)upper[i])
            return 0;
    }
    return 1;
}

TGED_API int tged_name_reserved(const char *name, size_t len)
{
    /* Every request header goes through here: decide by length first. */
    switch (len) {
    case 2:
        return upper_eq(name, "RQ", 2) || upper_eq(name, "ID", 2) ||
               upper_eq(name, "RP", 2);
    case 3:
        return upper_eq(name, "SVR", 3);
    case 4:
        return upper_eq(name, "AUTH", 4);
    case 6:
        return upper_eq(name, "REASON", 6);
    default:
        return len >= 7 && upper_eq(name, "X-TGED-", 7);
    }
}

TGED_API int tged_name_valid(const char *name, size_t len)
{
    return len >= 1 && len <= TGED_MAX_NAME &&
           all_of((const unsigned char *)name, len, C_NAME);
}

TGED_API int tged_value_valid(const char *value, size_t len)
{
    const unsigned char *v = (const unsigned char *)value;

    if (len == 0)
        return 1;
    if (len > TGED_MAX_VALUE || !(cls[v[0]] & C_VIS) ||
        !(cls[v[len - 1]] & C_VIS))
        return 0;
    return all_of(v, len, C_VIS | C_WSP);
}

TGED_API int tged_type_valid(const char *type, size_t len)
{
    return len >= 1 && len <= TGED_MAX_TYPE &&
           all_of((const unsigned char *)type, len, C_TYPE);
}

TGED_API int tged_id_valid(const char *id, size_t len)
{
    return len >= 1 && len <= TGED_MAX_ID &&
           all_of((const unsigned char *)id, len, C_ID);
}

TGED_API int tged_name_eq(const char *a, size_t alen, const char *b,
                          size_t blen)
{
    return fold_name_eq(a, alen, b, blen);
}

TGED_API uint64_t tged_hash_ci(const char *s, size_t len)
{
    return fold_hash(s, len);
}

TGED_API const char *tged_reason_name(int reason)
{
    static const char *const names[] = {
        [TGED_REASON_BAD_REQUEST] = "bad-request",
        [TGED_REASON_VERSION] = "version",
        [TGED_REASON_UNKNOWN_TYPE] = "unknown-type",
        [TGED_REASON_NO_MATCH] = "no-match",
        [TGED_REASON_UNAVAILABLE] = "unavailable",
    };

    if (reason < 0 || (size_t)reason >= sizeof names / sizeof names[0])
        return NULL;
    return names[reason];
}

/* Appends all of the pieces or none of them: a message is never cut short,
 * and after the first miss nothing more is written. */
static void put(struct tged_writer *w, const char *a, size_t alen,
                const char *b, size_t blen, const char *c, size_t clen,
                const char *d, size_t dlen)
{
    size_t room;

    if (w->overflow)
        return;
    if (w->len > w->cap) {
        w->overflow = 1;
        return;
    }
    room = w->cap - w->len;
    if (alen > room || blen > room - alen || clen > room - alen - blen ||
        dlen > room - alen - blen - clen) {
        w->overflow = 1;
        return;
    }
    char *o = w->buf + w->len;
    if (alen)
        memcpy(o, a, alen);
    o += alen;
    if (blen)
        memcpy(o, b, blen);
    o += blen;
    if (clen)
        memcpy(o, c, clen);
    o += clen;
    if (dlen)
        memcpy(o, d, dlen);
    w->len += alen + blen + clen + dlen;
}

TGED_API void tged_writer_start(struct tged_writer *w, char *buf, size_t cap,
                                enum tged_method method)
{
    static const char *const lines[] = {
        [TGED_METHOD_DISCOVERY] = "TGED DISCOVERY 1.0\r\n",
        [TGED_METHOD_REPLY] = "TGED REPLY 1.0\r\n",
        [TGED_METHOD_INVALID] = "TGED INVALID 1.0\r\n",
    };

    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
    /* There is no wire form for OTHER: fail the message, not the caller. */
    if ((unsigned)method >= sizeof lines / sizeof lines[0] ||
        lines[method] == NULL) {
        w->overflow = 1;
        return;
    }
    put(w, lines[method], strlen(lines[method]), NULL, 0, NULL, 0, NULL, 0);
}

TGED_API void tged_writer_header(struct tged_writer *w, const char *name,
                                 size_t nlen, const char *value, size_t vlen)
{
    put(w, name, nlen, ": ", 2, value, vlen, "\r\n", 2);
}

TGED_API void tged_writer_raw(struct tged_writer *w, const char *text,
                              size_t len)
{
    put(w, text, len, NULL, 0, NULL, 0, NULL, 0);
}

TGED_API size_t tged_writer_finish(struct tged_writer *w)
{
    put(w, "\r\n", 2, NULL, 0, NULL, 0, NULL, 0);
    return w->overflow ? 0 : w->len;
}
