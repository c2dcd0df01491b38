/* tests/fuzz/fuzz_protocol.c - the TGED parser and writer.
 *
 * Each input is parsed as a client does (flags 0) and as a responder does
 * (TGED_PARSE_REQUEST). Beyond "no crash", it checks what the header
 * promises: every pointer lies inside the datagram, what is OK obeys the
 * syntax rules, the request rules only ever refuse more, and a message
 * written back with the writer parses to the same headers and body.
 *
 * SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <string.h>

#include <tged/protocol.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void check_str(struct tged_str s, const char *buf, size_t len)
{
    if (!s.ptr) {
        FUZZ_CHECK(s.len == 0);
        return;
    }
    uintptr_t b = (uintptr_t)buf, p = (uintptr_t)s.ptr;
    FUZZ_CHECK(p >= b && p - b <= len && s.len <= len - (p - b));
}

/* The syntax rules of docs/protocol.md sections 2 and 3, a byte at a
 * time, to hold the table-driven and word-at-a-time code to. */
static int ref_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9');
}

static int ref_name_valid(const unsigned char *s, size_t len)
{
    if (len < 1 || len > TGED_MAX_NAME)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!ref_alnum(s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

static int ref_type_valid(const unsigned char *s, size_t len)
{
    if (len < 1 || len > TGED_MAX_TYPE)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!ref_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

static int ref_id_valid(const unsigned char *s, size_t len)
{
    if (len < 1 || len > TGED_MAX_ID)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

static int ref_value_valid(const unsigned char *s, size_t len)
{
    if (len == 0)
        return 1;
    if (len > TGED_MAX_VALUE || s[0] == ' ' || s[0] == '\t' ||
        s[len - 1] == ' ' || s[len - 1] == '\t')
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
            return 0;
    return 1;
}

static int ref_name_eq(const unsigned char *a, const unsigned char *b,
                       size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z')
            y += 'a' - 'A';
        if (x != y)
            return 0;
    }
    return 1;
}

static int ref_reserved(const unsigned char *s, size_t len)
{
    static const char *const names[] = {"RQ",     "ID",  "RP",
                                        "REASON", "SVR", "AUTH"};
    if (len >= 7 && ref_name_eq(s, (const unsigned char *)"X-TGED-", 7))
        return 1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (len == strlen(names[i]) &&
            ref_name_eq(s, (const unsigned char *)names[i], len))
            return 1;
    return 0;
}

/* The checks against the rules above, on a slice of the input. */
static void check_syntax(const uint8_t *s, size_t len)
{
    const char *c = (const char *)s;
    FUZZ_CHECK(tged_name_valid(c, len) == ref_name_valid(s, len));
    FUZZ_CHECK(tged_type_valid(c, len) == ref_type_valid(s, len));
    FUZZ_CHECK(tged_id_valid(c, len) == ref_id_valid(s, len));
    FUZZ_CHECK(tged_value_valid(c, len) == ref_value_valid(s, len));
}

/* A string and its copy with the case of every ASCII letter turned are
 * equal to tged_name_eq() and hash alike; one other byte changed, they
 * are not equal. */
static void check_fold(const char *s, size_t len)
{
    char t[TGED_MAX_VALUE + 1];
    if (len == 0 || len > sizeof(t))
        return;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        t[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? c ^ 0x20 : c;
    }
    FUZZ_CHECK(tged_name_eq(s, len, t, len));
    FUZZ_CHECK(tged_hash_ci(s, len) == tged_hash_ci(t, len));
    /* A byte that is no letter, changed into another that is no letter
     * either (digits stay digits), differs under any case rule. */
    size_t k = len - 1;
    if (t[k] >= '0' && t[k] <= '8') {
        t[k]++;
        FUZZ_CHECK(!tged_name_eq(s, len, t, len));
    }
}

/* What every status promises, whatever the flags. */
static void check_message(int st, const struct tged_message *m, const char *buf,
                          size_t len, unsigned flags)
{
    FUZZ_CHECK(st >= TGED_PARSE_OK && st <= TGED_PARSE_VERSION);
    check_str(m->rq, buf, len);
    check_str(m->id, buf, len);
    check_str(m->body, buf, len);
    /* An empty RQ or ID is never handed out. */
    FUZZ_CHECK(!m->rq.ptr || m->rq.len > 0);
    FUZZ_CHECK(!m->id.ptr || m->id.len > 0);
    if (st != TGED_PARSE_OK) {
        FUZZ_CHECK(m->error != NULL);
        FUZZ_CHECK(m->nheaders == 0);
        FUZZ_CHECK(m->body.ptr == NULL);
        if (st == TGED_PARSE_NOT_TGED)
            FUZZ_CHECK(!m->rq.ptr && !m->id.ptr);
        if (st == TGED_PARSE_VERSION)
            FUZZ_CHECK(m->major != 1);
        return;
    }
    FUZZ_CHECK(m->error == NULL);
    FUZZ_CHECK(m->major == 1);
    FUZZ_CHECK(m->method >= TGED_METHOD_OTHER &&
               m->method <= TGED_METHOD_INVALID);
    FUZZ_CHECK(m->nheaders <= ((flags & TGED_PARSE_REQUEST)
                                   ? TGED_MAX_REQUEST_HEADERS
                                   : TGED_MSG_HEADERS));
    /* The body is all that follows the head. */
    FUZZ_CHECK(m->body.ptr && m->body.ptr + m->body.len == buf + len);
    int seen_rq = 0, seen_id = 0;
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct tged_header *h = &m->headers[i];
        check_str(h->name, buf, len);
        check_str(h->value, buf, len);
        FUZZ_CHECK(h->name.ptr && tged_name_valid(h->name.ptr, h->name.len));
        FUZZ_CHECK(h->value.ptr || h->value.len == 0);
        FUZZ_CHECK(tged_value_valid(h->value.ptr, h->value.len));
        FUZZ_CHECK(h->name.ptr + h->name.len <= m->body.ptr);
        if (i > 0)
            FUZZ_CHECK(h->name.ptr > m->headers[i - 1].value.ptr);
        (void)tged_name_reserved(h->name.ptr, h->name.len);
        if (tged_name_eq(h->name.ptr, h->name.len, "RQ", 2)) {
            seen_rq = 1;
            FUZZ_CHECK(h->value.len ? m->rq.ptr == h->value.ptr &&
                                          m->rq.len == h->value.len
                                    : m->rq.ptr == NULL);
        } else if (tged_name_eq(h->name.ptr, h->name.len, "ID", 2)) {
            seen_id = 1;
            FUZZ_CHECK(h->value.len ? m->id.ptr == h->value.ptr &&
                                          m->id.len == h->value.len
                                    : m->id.ptr == NULL);
        }
        /* A name is never repeated. */
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(!tged_name_eq(h->name.ptr, h->name.len,
                                     m->headers[j].name.ptr,
                                     m->headers[j].name.len));
        check_fold(h->name.ptr, h->name.len);
        check_fold(h->value.ptr, h->value.len);
    }
    FUZZ_CHECK(seen_rq || !m->rq.ptr);
    FUZZ_CHECK(seen_id || !m->id.ptr);
    if (flags & TGED_PARSE_REQUEST) {
        FUZZ_CHECK(len <= TGED_MAX_REQUEST);
        FUZZ_CHECK(m->rq.ptr && tged_type_valid(m->rq.ptr, m->rq.len));
        FUZZ_CHECK(!m->id.ptr || tged_id_valid(m->id.ptr, m->id.len));
    }
}

/* Two parses of possibly different buffers say the same thing. */
static void same_message(const struct tged_message *a,
                         const struct tged_message *b)
{
    FUZZ_CHECK(a->nheaders == b->nheaders);
    for (size_t i = 0; i < a->nheaders; i++) {
        const struct tged_header *x = &a->headers[i], *y = &b->headers[i];
        FUZZ_CHECK(x->name.len == y->name.len &&
                   !memcmp(x->name.ptr, y->name.ptr, x->name.len));
        FUZZ_CHECK(x->value.len == y->value.len &&
                   (!x->value.len ||
                    !memcmp(x->value.ptr, y->value.ptr, x->value.len)));
    }
    FUZZ_CHECK(!a->rq.ptr == !b->rq.ptr && a->rq.len == b->rq.len &&
               (!a->rq.ptr || !memcmp(a->rq.ptr, b->rq.ptr, a->rq.len)));
    FUZZ_CHECK(!a->id.ptr == !b->id.ptr && a->id.len == b->id.len &&
               (!a->id.ptr || !memcmp(a->id.ptr, b->id.ptr, a->id.len)));
    FUZZ_CHECK(
        a->body.len == b->body.len &&
        (!a->body.len || !memcmp(a->body.ptr, b->body.ptr, a->body.len)));
}

static size_t write_head(const struct tged_message *m, char *buf, size_t cap)
{
    struct tged_writer w;
    tged_writer_start(&w, buf, cap, m->method);
    for (size_t i = 0; i < m->nheaders; i++)
        tged_writer_header(&w, m->headers[i].name.ptr, m->headers[i].name.len,
                           m->headers[i].value.ptr, m->headers[i].value.len);
    size_t n = tged_writer_finish(&w);
    FUZZ_CHECK(w.len <= cap);
    FUZZ_CHECK(n == 0 || n == w.len);
    return n;
}

/* Write the message back and parse it again. */
static void round_trip(const struct tged_message *m, int was_request)
{
    static struct tged_message again;
    size_t head = sizeof("TGED DISCOVERY 1.0\r\n") + 2;
    for (size_t i = 0; i < m->nheaders; i++)
        head += m->headers[i].name.len + 2 + m->headers[i].value.len + 2;
    char *out = malloc(head + m->body.len);
    FUZZ_CHECK(out != NULL);
    size_t n = write_head(m, out, head);
    FUZZ_CHECK(n > 0);
    /* Exactly that room is enough; a byte less is an overflow, reported,
     * with nothing written past the end (ASan watches the copy). */
    char *tight = malloc(n);
    FUZZ_CHECK(tight != NULL);
    FUZZ_CHECK(write_head(m, tight, n) == n && !memcmp(tight, out, n));
    FUZZ_CHECK(write_head(m, tight, n - 1) == 0);
    /* Header lines given already formatted make the same bytes. */
    struct tged_writer w;
    tged_writer_start(&w, tight, n, m->method);
    for (size_t i = 0; i < m->nheaders; i++) {
        char line[TGED_MAX_NAME + TGED_MAX_VALUE + 4];
        const struct tged_header *h = &m->headers[i];
        memcpy(line, h->name.ptr, h->name.len);
        memcpy(line + h->name.len, ": ", 2);
        if (h->value.len)
            memcpy(line + h->name.len + 2, h->value.ptr, h->value.len);
        memcpy(line + h->name.len + 2 + h->value.len, "\r\n", 2);
        tged_writer_raw(&w, line, h->name.len + h->value.len + 4);
    }
    FUZZ_CHECK(tged_writer_finish(&w) == n && !memcmp(tight, out, n));
    free(tight);
    if (m->body.len)
        memcpy(out + n, m->body.ptr, m->body.len);
    size_t total = n + m->body.len;
    int st = tged_parse(out, total, 0, &again);
    FUZZ_CHECK(st == TGED_PARSE_OK);
    check_message(st, &again, out, total, 0);
    FUZZ_CHECK(again.method == m->method && again.minor == 0);
    same_message(m, &again);
    if (was_request && total <= TGED_MAX_REQUEST) {
        st = tged_parse(out, total, TGED_PARSE_REQUEST, &again);
        FUZZ_CHECK(st == TGED_PARSE_OK);
        same_message(m, &again);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tged_message any, req;
    const char *buf = (const char *)data;

    int st = tged_parse(buf, size, 0, &any);
    check_message(st, &any, buf, size, 0);
    int rst = tged_parse(buf, size, TGED_PARSE_REQUEST, &req);
    check_message(rst, &req, buf, size, TGED_PARSE_REQUEST);

    /* The request rules only add refusals; what they let through reads
     * the same either way. */
    if (rst == TGED_PARSE_OK) {
        FUZZ_CHECK(st == TGED_PARSE_OK);
        FUZZ_CHECK(req.method == any.method && req.minor == any.minor);
        same_message(&req, &any);
    }
    /* Not TGED, or another major version, is decided before any rule. */
    if (st == TGED_PARSE_NOT_TGED || st == TGED_PARSE_VERSION)
        FUZZ_CHECK(rst == st);

    if (st == TGED_PARSE_OK && any.method != TGED_METHOD_OTHER)
        round_trip(&any, rst == TGED_PARSE_OK);

    /* The validators and the case-insensitive compare, on the input
     * itself: its head, and its two halves against each other. */
    size_t half = size / 2, cut = half > 300 ? 300 : half;
    check_syntax(data, size > 300 ? 300 : size);
    check_syntax(data + half, cut);
    int eq = tged_name_eq(buf, cut, buf + half, cut);
    FUZZ_CHECK(eq == ref_name_eq(data, data + half, cut));
    if (eq)
        FUZZ_CHECK(tged_hash_ci(buf, cut) == tged_hash_ci(buf + half, cut));
    FUZZ_CHECK(tged_name_reserved(buf, cut) == ref_reserved(data, cut));
    FUZZ_CHECK(tged_name_reserved(buf + half, cut) ==
               ref_reserved(data + half, cut));

    /* No wire form for OTHER: the writer refuses it whole. */
    char small[64];
    struct tged_writer w;
    tged_writer_start(&w, small, sizeof(small), TGED_METHOD_OTHER);
    tged_writer_header(&w, "A", 1, "b", 1);
    FUZZ_CHECK(tged_writer_finish(&w) == 0 && w.len == 0);

    for (int r = -1; r <= TGED_REASON_UNAVAILABLE + 1; r++)
        FUZZ_CHECK((tged_reason_name(r) != NULL) ==
                   (r >= 0 && r <= TGED_REASON_UNAVAILABLE));
    return 0;
}
