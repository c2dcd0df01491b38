/*
 * tests/unit/test_protocol.c - unit tests of the TGED 1.0 parser and writer.
 *
 * Every datagram is parsed from a heap copy of its exact length, so that
 * AddressSanitizer catches any read past `len`. The robustness tests compare
 * the parser with a slow, line-splitting model of the spec written here.
 *
 * SPDX-License-Identifier: MIT
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <tged/protocol.h>

#define REQ TGED_PARSE_REQUEST

static struct tged_message M;
static char *B;   /* the copy M points into */
static size_t BL; /* its length */

static void reset_copy(void)
{
    free(B);
    B = NULL;
    BL = 0;
}

/* Parse n bytes of s from an exact-size heap copy. */
static int parse_n(const char *s, size_t n, unsigned flags)
{
    reset_copy();
    B = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(B);
    memcpy(B, s, n);
    BL = n;
    return tged_parse(B, n, flags, &M);
}

static int parse(const char *s, unsigned flags)
{
    return parse_n(s, strlen(s), flags);
}

static int str_is(struct tged_str s, const char *e)
{
    return s.ptr != NULL && s.len == strlen(e) && memcmp(s.ptr, e, s.len) == 0;
}

static int inside(struct tged_str s)
{
    return s.ptr >= B && s.len <= BL && s.ptr + s.len <= B + BL;
}

#define ck_str(s, e) ck_assert_msg(str_is((s), (e)), "expected \"%s\"", (e))
#define ck_null(s) ck_assert_ptr_null((s).ptr)

/* A growing text buffer for the long cases. */
struct text {
    char b[70000];
    size_t n;
};

static void add(struct text *t, const char *s)
{
    size_t l = strlen(s);
    ck_assert_uint_le(t->n + l, sizeof t->b);
    memcpy(t->b + t->n, s, l);
    t->n += l;
}

static void add_rep(struct text *t, char c, size_t count)
{
    ck_assert_uint_le(t->n + count, sizeof t->b);
    memset(t->b + t->n, c, count);
    t->n += count;
}

static void add_fmt(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_fmt(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(t->b + t->n, sizeof t->b - t->n, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(r, 0);
    ck_assert_uint_lt(t->n + (size_t)r, sizeof t->b);
    t->n += (size_t)r;
}

static struct text T;

static void setup(void)
{
    T.n = 0;
}

static void teardown(void)
{
    reset_copy();
}

#define START "TGED DISCOVERY 1.0\r\n"

/* ---- start line ------------------------------------------------------ */

START_TEST(design_note_request)
{
    ck_assert_int_eq(parse("TGED DISCOVERY 1.0\r\nRQ:SQL\r\n\r\n", REQ),
                     TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_DISCOVERY);
    ck_assert_uint_eq(M.major, 1);
    ck_assert_uint_eq(M.minor, 0);
    ck_str(M.rq, "SQL");
    ck_null(M.id);
    ck_assert_uint_eq(M.nheaders, 1);
    ck_str(M.headers[0].name, "RQ");
    ck_str(M.headers[0].value, "SQL");
    ck_assert_ptr_eq(M.body.ptr, B + BL);
    ck_assert_uint_eq(M.body.len, 0);
    ck_assert_ptr_null(M.error);
}
END_TEST

START_TEST(lf_only)
{
    ck_assert_int_eq(parse("TGED DISCOVERY 1.0\nRQ:SQL\nID: 7\n\n", REQ),
                     TGED_PARSE_OK);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "7");
    ck_assert_uint_eq(M.nheaders, 2);
    ck_assert_uint_eq(M.body.len, 0);
    /* Mixed line ends are fine too. */
    ck_assert_int_eq(parse("TGED DISCOVERY 1.0\nRQ:SQL\r\nID: 7\n\r\n", REQ),
                     TGED_PARSE_OK);
    ck_assert_uint_eq(M.nheaders, 2);
}
END_TEST

START_TEST(no_final_empty_line)
{
    ck_assert_int_eq(parse(START "RQ:SQL\r\n", REQ), TGED_PARSE_OK);
    ck_str(M.rq, "SQL");
    ck_assert_uint_eq(M.body.len, 0);
    ck_assert_int_eq(parse(START "RQ:SQL", REQ), TGED_PARSE_OK);
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse(START "RQ: SQL  ", REQ), TGED_PARSE_OK);
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse(START "RQ:SQL\n", REQ), TGED_PARSE_OK);
}
END_TEST

START_TEST(start_line_alone)
{
    ck_assert_int_eq(parse("TGED REPLY 1.0", 0), TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_REPLY);
    ck_assert_uint_eq(M.nheaders, 0);
    ck_assert_uint_eq(M.body.len, 0);
    ck_assert_int_eq(parse("TGED REPLY 1.0\r\n", 0), TGED_PARSE_OK);
    ck_assert_int_eq(parse("TGED REPLY 1.0\r\n\r\n", 0), TGED_PARSE_OK);
    ck_assert_int_eq(parse("TGED REPLY 1.0 \t", 0), TGED_PARSE_OK);
    /* A request needs RQ. */
    ck_assert_int_eq(parse("TGED DISCOVERY 1.0", REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "missing RQ");
    ck_null(M.rq);
}
END_TEST

START_TEST(body_ignored)
{
    static const char d[] = START "RQ: SQL\r\n\r\nRQ: OTHER\r\n\x01\0junk";
    ck_assert_int_eq(parse_n(d, sizeof d - 1, REQ), TGED_PARSE_OK);
    ck_str(M.rq, "SQL");
    ck_assert_uint_eq(M.nheaders, 1);
    ck_assert_uint_eq(M.body.len, 17);
    ck_assert_int_eq(memcmp(M.body.ptr, "RQ: OTHER\r\n\x01\0junk", 17), 0);
    ck_assert_ptr_eq(M.body.ptr + M.body.len, B + BL);

    ck_assert_int_eq(parse(START "RQ: SQL\n\nbody", REQ), TGED_PARSE_OK);
    ck_str(M.body, "body");
    /* An empty line right after the start line: no headers, all body. */
    ck_assert_int_eq(parse(START "\r\nRQ: SQL\r\n", 0), TGED_PARSE_OK);
    ck_assert_uint_eq(M.nheaders, 0);
    ck_null(M.rq);
    ck_str(M.body, "RQ: SQL\r\n");
    ck_assert_int_eq(parse(START "\r\nRQ: SQL\r\n", REQ), TGED_PARSE_BAD);
    ck_null(M.rq);
}
END_TEST

START_TEST(white_space_in_start_line)
{
    ck_assert_int_eq(parse("TGED\tDISCOVERY\t1.0\r\nRQ:SQL\r\n", REQ),
                     TGED_PARSE_OK);
    ck_assert_int_eq(parse("TGED  \t DISCOVERY \t  1.0 \t \r\nRQ:SQL", REQ),
                     TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_DISCOVERY);
    ck_assert_int_eq(parse("TGED DISCOVERY 1.0   \nRQ:SQL", REQ),
                     TGED_PARSE_OK);
}
END_TEST

START_TEST(methods)
{
    ck_assert_int_eq(parse("TGED REPLY 1.0\r\nRQ: SQL\r\n", 0), TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_REPLY);
    ck_assert_int_eq(parse("TGED INVALID 1.0\r\nRP: INVALID\r\n", 0),
                     TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_INVALID);
    ck_assert_int_eq(parse("TGED discovery 1.0\r\nRQ: SQL\r\n", REQ),
                     TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
    ck_assert_int_eq(parse("TGED PING 1.0\r\n", 0), TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
    ck_assert_int_eq(parse("TGED DISCOVERYX 1.0\r\n", 0), TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
    ck_assert_int_eq(parse("TGED Reply 1.0\r\n", 0), TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
    ck_assert_int_eq(parse("TGED DISCOVER 1.0\r\n", 0), TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
    ck_assert_int_eq(parse("TGED \xff\x80 1.0\r\n", 0), TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
}
END_TEST

START_TEST(not_tged)
{
    static const char *const cases[] = {
        "TGEDX DISCOVERY 1.0\r\nRQ:SQL\r\n",
        "tged DISCOVERY 1.0\r\nRQ:SQL\r\n",
        "Tged DISCOVERY 1.0\r\n",
        "",
        "TGED",
        "TGE",
        "T",
        "TGED\r\n",
        "TGED\n",
        "TGED:DISCOVERY 1.0\r\n",
        " TGED DISCOVERY 1.0\r\n",
        "GET / HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(parse(cases[i], REQ), TGED_PARSE_NOT_TGED);
        ck_assert_int_eq(parse(cases[i], 0), TGED_PARSE_NOT_TGED);
        ck_null(M.rq);
        ck_null(M.id);
    }
    ck_assert_int_eq(parse_n("\0TGED DISCOVERY 1.0", 19, REQ),
                     TGED_PARSE_NOT_TGED);
    ck_assert_int_eq(parse_n("TGED\0DISCOVERY 1.0", 18, REQ),
                     TGED_PARSE_NOT_TGED);
    ck_assert_int_eq(tged_parse(NULL, 0, REQ, &M), TGED_PARSE_NOT_TGED);
    /* "TGED" and a blank is TGED, however little follows. */
    ck_assert_int_eq(parse("TGED ", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
    ck_assert_ptr_nonnull(M.error);
    ck_assert_int_eq(parse("TGED\t", 0), TGED_PARSE_BAD);
}
END_TEST

START_TEST(versions_accepted)
{
    ck_assert_int_eq(parse("TGED DISCOVERY 1.3\r\nRQ:SQL\r\n", REQ),
                     TGED_PARSE_OK);
    ck_assert_uint_eq(M.major, 1);
    ck_assert_uint_eq(M.minor, 3);
    ck_assert_int_eq(parse("TGED DISCOVERY 001.999\r\nRQ:SQL\r\n", REQ),
                     TGED_PARSE_OK);
    ck_assert_uint_eq(M.major, 1);
    ck_assert_uint_eq(M.minor, 999);
    ck_assert_int_eq(parse("TGED DISCOVERY 1.10\r\nRQ:SQL\r\n", REQ),
                     TGED_PARSE_OK);
    ck_assert_uint_eq(M.minor, 10);
}
END_TEST

START_TEST(version_other_major)
{
    ck_assert_int_eq(parse("TGED DISCOVERY 2.0\r\nRQ:SQL\r\n", REQ),
                     TGED_PARSE_VERSION);
    ck_assert_uint_eq(M.major, 2);
    ck_assert_uint_eq(M.minor, 0);
    ck_assert_int_eq(M.method, TGED_METHOD_DISCOVERY);
    ck_str(M.rq, "SQL");
    /* Whatever follows the start line. */
    static const char junk[] = "TGED DISCOVERY 2.0\r\n\x01\x02 junk\r\n:::\r\n"
                               "RQ :x\r\n\0\r\r\n";
    ck_assert_int_eq(parse_n(junk, sizeof junk - 1, REQ), TGED_PARSE_VERSION);
    ck_null(M.rq);
    ck_assert_int_eq(parse("TGED DISCOVERY 0.9\r\n", REQ), TGED_PARSE_VERSION);
    ck_assert_uint_eq(M.major, 0);
    ck_assert_uint_eq(M.minor, 9);
    ck_assert_int_eq(parse("TGED DISCOVERY 999.999", REQ), TGED_PARSE_VERSION);
    ck_assert_uint_eq(M.major, 999);
    ck_assert_int_eq(parse("TGED PING 2.0\r\n", 0), TGED_PARSE_VERSION);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
    /* Before the size limit too. */
    setup();
    add(&T, "TGED DISCOVERY 2.0\r\nRQ: SQL\r\nX: ");
    add_rep(&T, 'a', 2000);
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_VERSION);
    ck_str(M.rq, "SQL");
}
END_TEST

START_TEST(versions_malformed)
{
    static const char *const cases[] = {
        "TGED DISCOVERY 1\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1.\r\nRQ:SQL\r\n",
        "TGED DISCOVERY .0\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1.0.0\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 2.0.0\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1234.0\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1.1234\r\nRQ:SQL\r\n",
        "TGED DISCOVERY a.b\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1.0x\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1.0 x\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 2.0 x\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1,0\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1 .0\r\nRQ:SQL\r\n",
        "TGED DISCOVERY -1.0\r\nRQ:SQL\r\n",
        "TGED DISCOVERY 1.0\rRQ:SQL\r\n",
        "TGED DISCOVERY 1.0\r",
        "TGED DISCOVERY 1.0 \r \n",
        "TGED DISCOVERY\r\nRQ:SQL\r\n",
        "TGED DISCOVERY \r\nRQ:SQL\r\n",
        "TGED DISCOVERY",
        "TGED DISCOVERY   ",
        "TGED DISCOVERY\x01 1.0\r\n",
        "TGED  \r\nRQ:SQL\r\n",
        "TGED \r\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(parse(cases[i], REQ) == TGED_PARSE_BAD, "case %zu", i);
        ck_assert_ptr_nonnull(M.error);
        /* The start line is not valid: nothing is echoed. */
        ck_null(M.rq);
        ck_null(M.id);
        ck_assert_int_eq(parse(cases[i], 0), TGED_PARSE_BAD);
    }
    /* The method is still known when the token could be read. */
    ck_assert_int_eq(parse("TGED REPLY 1.x\r\n", 0), TGED_PARSE_BAD);
    ck_assert_int_eq(M.method, TGED_METHOD_REPLY);
    ck_assert_int_eq(parse("TGED DISCOVERY\r\n", 0), TGED_PARSE_BAD);
    ck_assert_int_eq(M.method, TGED_METHOD_DISCOVERY);
    ck_assert_int_eq(parse("TGED \r\n", 0), TGED_PARSE_BAD);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
    ck_assert_int_eq(parse_n("TGED DISCOVERY 1.0\0\r\n", 21, REQ),
                     TGED_PARSE_BAD);
    ck_assert_int_eq(parse_n("TGED DISC\0VERY 1.0\r\n", 20, REQ),
                     TGED_PARSE_BAD);
    ck_assert_int_eq(M.method, TGED_METHOD_OTHER);
}
END_TEST

/* ---- header lines ---------------------------------------------------- */

START_TEST(header_equivalence)
{
    static const char *const cases[] = {
        START "RQ:SQL\r\n",      START "RQ: SQL\r\n",    START "rq:  SQL\r\n",
        START "Rq:\tSQL \t\r\n", START "rQ: \t SQL\t\n", START "RQ:SQL   ",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(parse(cases[i], REQ), TGED_PARSE_OK);
        ck_str(M.rq, "SQL");
        ck_str(M.headers[0].value, "SQL");
        ck_assert_int_eq(
            tged_name_eq(M.headers[0].name.ptr, M.headers[0].name.len, "RQ", 2),
            1);
    }
    /* Names are kept as sent. */
    ck_assert_int_eq(parse(START "rq:  SQL\r\n", REQ), TGED_PARSE_OK);
    ck_str(M.headers[0].name, "rq");
}
END_TEST

START_TEST(headers_in_order)
{
    ck_assert_int_eq(parse(START "HOST: mypc\r\nRQ: LEASE\r\nX_y-1: a b  c\r\n"
                                 "ID: abc\r\nEMPTY:\r\nBLANK: \t \r\n\r\n",
                           REQ),
                     TGED_PARSE_OK);
    ck_assert_uint_eq(M.nheaders, 6);
    ck_str(M.headers[0].name, "HOST");
    ck_str(M.headers[0].value, "mypc");
    ck_str(M.headers[1].name, "RQ");
    ck_str(M.headers[1].value, "LEASE");
    ck_str(M.headers[2].name, "X_y-1");
    ck_str(M.headers[2].value, "a b  c");
    ck_str(M.headers[3].name, "ID");
    ck_str(M.headers[3].value, "abc");
    ck_str(M.headers[4].name, "EMPTY");
    ck_assert_uint_eq(M.headers[4].value.len, 0);
    ck_str(M.headers[5].name, "BLANK");
    ck_assert_uint_eq(M.headers[5].value.len, 0);
    ck_str(M.rq, "LEASE");
    ck_str(M.id, "abc");
    for (size_t i = 0; i < M.nheaders; i++) {
        ck_assert(inside(M.headers[i].name));
        ck_assert(inside(M.headers[i].value));
    }
}
END_TEST

START_TEST(space_before_colon)
{
    ck_assert_int_eq(parse(START "RQ :SQL\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "white space before colon");
    ck_null(M.rq);
    ck_assert_int_eq(parse(START "RQ\t:SQL\r\n", 0), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START " RQ: SQL\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "\tRQ: SQL\r\n", REQ), TGED_PARSE_BAD);
}
END_TEST

START_TEST(malformed_lines)
{
    static const char *const cases[] = {
        START "RQ SQL\r\n",
        START "RQ\r\n",
        START "RQ",
        START ": SQL\r\n",
        START ":\r\n",
        START "R.Q: SQL\r\n",
        START "R/Q: SQL\r\n",
        START "RQ;: SQL\r\n",
        START "\xc3\xa9: x\r\n",
        START "RQ: SQL\r\nHOST\r\n",
        START "RQ: SQL\r\n=\r\n",
        START "RQ: SQL\r\n \r\n",
        START "RQ: SQL\r\n\t\r\n",
        START "RQ: SQL\r\nA B: c\r\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(parse(cases[i], 0) == TGED_PARSE_BAD, "case %zu", i);
        ck_assert_ptr_nonnull(M.error);
        ck_assert_int_eq(parse(cases[i], REQ), TGED_PARSE_BAD);
    }
}
END_TEST

START_TEST(name_length)
{
    setup();
    add(&T, START "RQ: SQL\r\n");
    add_rep(&T, 'N', 32);
    add(&T, ": v\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_OK);
    ck_assert_uint_eq(M.headers[1].name.len, 32);

    setup();
    add(&T, START "RQ: SQL\r\n");
    add_rep(&T, 'N', 33);
    add(&T, ": v\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "header name too long");
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_BAD);

    /* A very long name is refused in linear time. */
    setup();
    add(&T, START "RQ: SQL\r\n");
    add_rep(&T, 'N', 60000);
    add(&T, ": v\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
}
END_TEST

START_TEST(value_length)
{
    setup();
    add(&T, START "RQ: SQL\r\nV:");
    add_rep(&T, 'v', 255);
    add(&T, "\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_OK);
    ck_assert_uint_eq(M.headers[1].value.len, 255);

    setup();
    add(&T, START "RQ: SQL\r\nV:");
    add_rep(&T, 'v', 256);
    add(&T, "\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "header value too long");
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_BAD);

    /* Surrounding white space is not counted. */
    setup();
    add(&T, START "RQ: SQL\r\nV: \t  ");
    add_rep(&T, 'v', 255);
    add(&T, " \t \t  \r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_OK);
    ck_assert_uint_eq(M.headers[1].value.len, 255);
    ck_assert_int_eq(M.headers[1].value.ptr[0], 'v');
    ck_assert_int_eq(M.headers[1].value.ptr[254], 'v');

    /* Inner white space is. */
    setup();
    add(&T, START "RQ: SQL\r\nV: a");
    add_rep(&T, ' ', 254);
    add(&T, "b\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    setup();
    add(&T, START "RQ: SQL\r\nV: a");
    add_rep(&T, ' ', 253);
    add(&T, "b\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_OK);
    ck_assert_uint_eq(M.headers[1].value.len, 255);

    /* A too-long value on the last line, without a line end. */
    setup();
    add(&T, START "RQ: SQL\r\nV:");
    add_rep(&T, 'v', 256);
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
}
END_TEST

START_TEST(value_bytes)
{
    ck_assert_int_eq(
        parse(START "RQ: SQL\r\nURL: http://h:80/a?b=c&d=~\r\n", REQ),
        TGED_PARSE_OK);
    ck_str(M.headers[1].value, "http://h:80/a?b=c&d=~");
    ck_assert_int_eq(
        parse(START "RQ: SQL\r\nNAME: caf\xc3\xa9 \xff\x80\r\n", REQ),
        TGED_PARSE_OK);
    ck_str(M.headers[1].value, "caf\xc3\xa9 \xff\x80");
    ck_assert_int_eq(parse(START "RQ: SQL\r\nT: a\tb\r\n", REQ), TGED_PARSE_OK);
    ck_str(M.headers[1].value, "a\tb");
    ck_assert_int_eq(parse(START "RQ: SQL\r\nT: ::\r\n", REQ), TGED_PARSE_OK);
    ck_str(M.headers[1].value, "::");
}
END_TEST

START_TEST(control_bytes)
{
    char d[64];
    for (int c = 0; c < 256; c++) {
        int ok = c == '\t' || (c >= 0x20 && c != 0x7f);
        int n = snprintf(d, sizeof d, START "RQ: SQL\r\nX: a%cb\r\n", c);
        if (c == 0) {
            /* snprintf stops at the NUL: rebuild around it. */
            n = snprintf(d, sizeof d, START "RQ: SQL\r\nX: a_b\r\n");
            d[n - 4] = '\0';
        }
        int st = parse_n(d, (size_t)n, REQ);
        if (c == '\n') {
            /* "b" alone on a line. */
            ck_assert_int_eq(st, TGED_PARSE_BAD);
            continue;
        }
        ck_assert_msg(st == (ok ? TGED_PARSE_OK : TGED_PARSE_BAD),
                      "byte 0x%02x", c);
        ck_str(M.rq, "SQL");
    }
    static const char nul_name[] = START "RQ: SQL\r\nA\0B: x\r\n";
    ck_assert_int_eq(parse_n(nul_name, sizeof nul_name - 1, 0), TGED_PARSE_BAD);
    static const char nul_end[] = START "RQ: SQL\0";
    ck_assert_int_eq(parse_n(nul_end, sizeof nul_end - 1, 0), TGED_PARSE_BAD);
}
END_TEST

/* Values are scanned eight bytes at a time: a bad byte must be found at
 * every offset of a word, in whole words and in the last partial one. */
START_TEST(value_scan_positions)
{
    for (size_t vlen = 1; vlen <= 40; vlen++) {
        for (size_t at = 0; at < vlen; at++) {
            static const unsigned char probes[] = {0x00, 0x01, 0x0b, '\r', 0x1f,
                                                   0x7f, '\t', 0x80, 0xff, ' '};
            for (size_t k = 0; k < sizeof probes; k++) {
                unsigned char c = probes[k];
                int ok = c == '\t' || c == ' ' || c >= 0x80;
                for (int tail = 0; tail < 2; tail++) {
                    setup();
                    add(&T, START "RQ: SQL\r\nV: ");
                    size_t v0 = T.n;
                    add_rep(&T, 'v', vlen);
                    T.b[v0 + at] = (char)c;
                    /* With the line end, or ending the datagram. */
                    if (!tail)
                        add(&T, "\r\n\r\n");
                    int st = parse_n(T.b, T.n, REQ);
                    ck_assert_msg(st == (ok ? TGED_PARSE_OK : TGED_PARSE_BAD),
                                  "len %zu at %zu byte 0x%02x tail %d", vlen,
                                  at, c, tail);
                    ck_str(M.rq, "SQL");
                    if (!ok)
                        continue;
                    /* White space at either end is not part of the value. */
                    size_t lead = 0, trail = 0;
                    if (c == ' ' || c == '\t') {
                        if (at == 0)
                            lead = 1;
                        if (at == vlen - 1 && vlen > 1)
                            trail = 1;
                    }
                    ck_assert_uint_eq(M.headers[1].value.len,
                                      vlen - lead - trail);
                    ck_assert_ptr_eq(M.headers[1].value.ptr, B + v0 + lead);
                }
            }
        }
    }
}
END_TEST

START_TEST(id_scan_positions)
{
    for (size_t len = 1; len <= 64; len++) {
        for (size_t at = 0; at < len; at++) {
            static const unsigned char probes[] = {' ', '\t', 0x80, 0xff, '~'};
            for (size_t k = 0; k < sizeof probes; k++) {
                unsigned char c = probes[k];
                int ok = c == '~';
                if (!ok && (at == 0 || at == len - 1) &&
                    (c == ' ' || c == '\t'))
                    continue; /* stripped, not part of the ID */
                setup();
                add(&T, START "RQ: SQL\r\nID: ");
                size_t v0 = T.n;
                add_rep(&T, 'i', len);
                T.b[v0 + at] = (char)c;
                add(&T, "\r\n");
                int st = parse_n(T.b, T.n, REQ);
                ck_assert_msg(st == (ok ? TGED_PARSE_OK : TGED_PARSE_BAD),
                              "len %zu at %zu byte 0x%02x", len, at, c);
                ck_assert_ptr_eq(M.id.ptr, B + v0);
                ck_assert_uint_eq(M.id.len, len);
            }
        }
    }
}
END_TEST

START_TEST(bare_cr)
{
    ck_assert_int_eq(parse(START "RQ: SQL\rHOST: x\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "RQ: SQL\r", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "RQ: SQL\r\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "RQ: S\rQL\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "RQ: SQL\r\n\r", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "RQ: SQL\r\n\rX: y\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "RQ: SQL\r\n\r\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "\r", 0), TGED_PARSE_BAD);
    /* In the body it is nobody's business. */
    ck_assert_int_eq(parse(START "RQ: SQL\r\n\r\n\r\r\r", REQ), TGED_PARSE_OK);
}
END_TEST

START_TEST(repeated_names)
{
    ck_assert_int_eq(parse(START "RQ: SQL\r\nHOST: a\r\nhost: b\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "repeated header");
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse(START "RQ: SQL\r\nHOST: a\r\nHOST: a\r\n", 0),
                     TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "A_B-9: 1\r\nRQ: x\r\na_b-9: 2\r\n", 0),
                     TGED_PARSE_BAD);
    /* Names that only look alike are different. */
    ck_assert_int_eq(parse(START "RQ: SQL\r\nA-B: 1\r\nA_B: 2\r\nAB: 3\r\n"
                                 "A-B1: 4\r\n",
                           REQ),
                     TGED_PARSE_OK);
    ck_assert_uint_eq(M.nheaders, 5);
}
END_TEST

START_TEST(request_header_count)
{
    setup();
    add(&T, START "RQ: SQL\r\n");
    for (int i = 1; i < 32; i++)
        add_fmt(&T, "H%d: %d\r\n", i, i);
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_OK);
    ck_assert_uint_eq(M.nheaders, 32);
    ck_str(M.headers[31].name, "H31");

    add(&T, "ID: last\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "too many headers");
    ck_str(M.rq, "SQL");
    ck_str(M.id, "last");
    /* A client takes more. */
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_OK);
    ck_assert_uint_eq(M.nheaders, 33);
}
END_TEST

START_TEST(answer_header_count)
{
    setup();
    add(&T, "TGED REPLY 1.0\r\n");
    for (int i = 0; i < TGED_MSG_HEADERS; i++)
        add_fmt(&T, "H%d: %d\r\n", i, i);
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_OK);
    ck_assert_uint_eq(M.nheaders, TGED_MSG_HEADERS);
    ck_str(M.headers[127].name, "H127");
    ck_str(M.headers[127].value, "127");
    add(&T, "H128: 128\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "too many headers");
    /* Even when the last one is a repeat. */
    T.n -= strlen("H128: 128\r\n");
    add(&T, "h0: again\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_BAD);
}
END_TEST

/* A request of exactly `size` bytes. */
static void sized_request(size_t size)
{
    setup();
    add(&T, START "RQ: SQL\r\nPAD: ");
    size_t tail = strlen("\r\n\r\n");
    ck_assert_uint_le(T.n + 1 + tail, size);
    size_t fill = size - T.n - tail;
    /* Values stop at 255 bytes: spread the padding over several lines. */
    int line = 0;
    while (fill > 255) {
        add_rep(&T, 'p', 200);
        add_fmt(&T, "\r\nP%d: ", line++);
        fill = size - T.n - tail;
    }
    add_rep(&T, 'p', fill);
    add(&T, "\r\n\r\n");
    ck_assert_uint_eq(T.n, size);
}

START_TEST(request_size)
{
    sized_request(TGED_MAX_REQUEST);
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_OK);
    sized_request(TGED_MAX_REQUEST + 1);
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "request too long");
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_OK);
    /* The body counts: it is part of the datagram. */
    setup();
    add(&T, START "RQ: SQL\r\n\r\n");
    add_rep(&T, 'b', TGED_MAX_REQUEST + 1 - T.n);
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    T.n--;
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_OK);
    /* A client parses the largest datagram. */
    setup();
    add(&T, "TGED REPLY 1.0\r\nRQ: SQL\r\n\r\n");
    add_rep(&T, 'b', TGED_MAX_DATAGRAM - T.n);
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_OK);
    ck_assert_uint_eq(M.body.len, TGED_MAX_DATAGRAM - 27);
}
END_TEST

START_TEST(many_lines)
{
    /* Huge counts of lines cost linear time, whatever they are. */
    static const char *const lines[] = {"a:\n", "\x01\n", "RQ :x\n", "\r"};
    for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++) {
        setup();
        add(&T, START "ID: 1\r\n");
        while (T.n + 8 < sizeof T.b)
            add(&T, lines[k]);
        ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_BAD);
        ck_str(M.id, "1");
        ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
        ck_str(M.id, "1");
    }
    /* Empty lines: the first one ends the head. */
    setup();
    add(&T, START "RQ: SQL\r\n");
    add_rep(&T, '\n', 60000);
    ck_assert_int_eq(parse_n(T.b, T.n, 0), TGED_PARSE_OK);
    ck_assert_uint_eq(M.body.len, 59999);
}
END_TEST

/* ---- request rules --------------------------------------------------- */

START_TEST(rq_type)
{
    char d[256];

    snprintf(d, sizeof d, START "RQ: %.63s\r\n",
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.");
    ck_assert_int_eq(parse(d, REQ), TGED_PARSE_OK);
    ck_assert_uint_eq(M.rq.len, 63);
    snprintf(
        d, sizeof d, START "RQ: %.64s\r\n",
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._");
    ck_assert_int_eq(parse(d, REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "invalid RQ");
    /* The line is valid: the type is echoed as sent. */
    ck_assert_uint_eq(M.rq.len, 64);
    ck_assert_int_eq(parse(d, 0), TGED_PARSE_OK);

    ck_assert_int_eq(parse(START "RQ: sql.v1_x-Y\r\n", REQ), TGED_PARSE_OK);
    ck_assert_int_eq(parse(START "RQ: a b\r\n", REQ), TGED_PARSE_BAD);
    ck_str(M.rq, "a b");
    ck_assert_int_eq(parse(START "RQ: a b\r\n", 0), TGED_PARSE_OK);
    ck_str(M.rq, "a b");
    ck_assert_int_eq(parse(START "RQ: SQL!\r\n", REQ), TGED_PARSE_BAD);
    ck_str(M.rq, "SQL!");
    ck_assert_int_eq(parse(START "RQ: S/Q\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "RQ: caf\xc3\xa9\r\n", REQ), TGED_PARSE_BAD);
    ck_str(M.rq, "caf\xc3\xa9");
    ck_assert_int_eq(parse(START "RQ: a:b\r\n", REQ), TGED_PARSE_BAD);
    /* An empty RQ is refused and not echoed. */
    ck_assert_int_eq(parse(START "RQ:\r\nID: 5\r\n", REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "invalid RQ");
    ck_null(M.rq);
    ck_str(M.id, "5");
    ck_assert_int_eq(parse(START "RQ:  \t \r\n", REQ), TGED_PARSE_BAD);
    ck_null(M.rq);
    ck_assert_int_eq(parse(START "RQ:", 0), TGED_PARSE_OK);
    ck_null(M.rq);
    ck_assert_uint_eq(M.nheaders, 1);
}
END_TEST

START_TEST(missing_rq)
{
    ck_assert_int_eq(parse(START "ID: 42\r\nHOST: x\r\n\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "missing RQ");
    ck_null(M.rq);
    ck_str(M.id, "42");
    ck_assert_int_eq(parse(START "ID: 42\r\n", 0), TGED_PARSE_OK);
    ck_str(M.id, "42");
    /* Not a name that merely starts with RQ. */
    ck_assert_int_eq(parse(START "RQS: SQL\r\nR: x\r\nQ: y\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "missing RQ");
}
END_TEST

START_TEST(id_rules)
{
    char d[256];
    char id[66];

    for (int i = 0; i < 65; i++)
        id[i] = (char)(0x21 + (i * 7) % 94);
    id[65] = '\0';
    snprintf(d, sizeof d, START "RQ: SQL\r\nID: %.64s\r\n", id);
    ck_assert_int_eq(parse(d, REQ), TGED_PARSE_OK);
    ck_assert_uint_eq(M.id.len, 64);
    ck_assert_int_eq(memcmp(M.id.ptr, id, 64), 0);
    snprintf(d, sizeof d, START "RQ: SQL\r\nID: %.65s\r\n", id);
    ck_assert_int_eq(parse(d, REQ), TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "invalid ID");
    ck_assert_uint_eq(M.id.len, 65);
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse(d, 0), TGED_PARSE_OK);

    ck_assert_int_eq(parse(START "RQ: SQL\r\nID: a b\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.id, "a b");
    ck_assert_int_eq(parse(START "RQ: SQL\r\nID: a\tb\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_assert_int_eq(parse(START "RQ: SQL\r\nID: \xc3\xa9\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.id, "\xc3\xa9");
    ck_assert_int_eq(parse(START "RQ: SQL\r\nID: !~:\"\\\r\n", REQ),
                     TGED_PARSE_OK);
    ck_str(M.id, "!~:\"\\");
    ck_assert_int_eq(parse(START "RQ: SQL\r\nID:\r\n", REQ), TGED_PARSE_BAD);
    ck_null(M.id);
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse(START "RQ: SQL\r\nid: x\r\n", REQ), TGED_PARSE_OK);
    ck_str(M.id, "x");
}
END_TEST

START_TEST(request_other_headers)
{
    ck_assert_int_eq(parse(START "RQ: LEASE\r\nHOST: mypc\r\nRP: x\r\n"
                                 "X-TGED-SIG: abc\r\nAUTH: t\r\n",
                           REQ),
                     TGED_PARSE_OK);
    ck_assert_uint_eq(M.nheaders, 5);
    /* The flag applies the request rules, whatever the method. */
    ck_assert_int_eq(parse("TGED REPLY 1.0\r\nHOST: x\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_assert_int_eq(M.method, TGED_METHOD_REPLY);
    ck_assert_int_eq(parse("TGED REPLY 1.0\r\nRQ: SQL\r\n", REQ),
                     TGED_PARSE_OK);
}
END_TEST

/* ---- echo of RQ and ID ----------------------------------------------- */

START_TEST(echo_after_bad_line)
{
    ck_assert_int_eq(parse(START "RQ :x\r\nRQ: SQL\r\nID: 42\r\n\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");
    ck_assert_int_eq(parse(START "\x01\r\nID: 42\r\nRQ: SQL", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");
    ck_assert_int_eq(parse(START "X: a\rb\r\nRQ: SQL\nID:  42 \n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");
    ck_assert_uint_eq(M.nheaders, 0);
}
END_TEST

START_TEST(echo_before_bad_line)
{
    ck_assert_int_eq(parse(START "RQ: SQL\r\nID: 42\r\nbroken\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");
    ck_assert_int_eq(parse(START "ID: 42\r\nRQ: SQL\r\nA: \x7f\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");
}
END_TEST

START_TEST(echo_repeated)
{
    ck_assert_int_eq(parse(START "RQ: SQL\r\nID: 1\r\nRQ: SQL\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_assert_str_eq(M.error, "repeated header");
    ck_null(M.rq);
    ck_str(M.id, "1");
    ck_assert_int_eq(parse(START "RQ: SQL\r\nID: 1\r\nid: 2\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_null(M.id);
    /* A repeat after the first error still counts. */
    ck_assert_int_eq(parse(START "rq: A\r\nbad\r\nRq: B\r\nID: 1\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_null(M.rq);
    ck_str(M.id, "1");
    ck_assert_int_eq(parse(START "bad\r\nID: 1\r\nID: 1\r\nRQ: A\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_null(M.id);
    ck_str(M.rq, "A");
    /* So does an empty copy. */
    ck_assert_int_eq(parse(START "RQ:\r\nRQ: SQL\r\n", REQ), TGED_PARSE_BAD);
    ck_null(M.rq);
    /* Under VERSION too. */
    ck_assert_int_eq(parse("TGED DISCOVERY 3.1\r\nRQ: A\r\nRQ: A\r\n", REQ),
                     TGED_PARSE_VERSION);
    ck_null(M.rq);
}
END_TEST

START_TEST(echo_only_valid_lines)
{
    /* Only lines that are valid themselves carry RQ or ID; a broken line
     * named RQ is neither echoed nor a repeat. */
    ck_assert_int_eq(parse(START "RQ: a\x01"
                                 "b\r\nRQ: SQL\r\n",
                           REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_assert_int_eq(parse(START "RQ: a\x01"
                                 "b\r\n",
                           REQ),
                     TGED_PARSE_BAD);
    ck_null(M.rq);
    setup();
    add(&T, START "ID: ");
    add_rep(&T, 'i', 256);
    add(&T, "\r\nRQ: SQL\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    ck_null(M.id);
    ck_str(M.rq, "SQL");
    /* A line after the empty line is body, not head. */
    ck_assert_int_eq(parse(START "bad\r\n\r\nRQ: SQL\r\nID: 1\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_null(M.rq);
    ck_null(M.id);
    ck_assert_int_eq(parse(START "bad\n\nRQ: SQL\r\n", REQ), TGED_PARSE_BAD);
    ck_null(M.rq);
}
END_TEST

START_TEST(echo_under_version)
{
    ck_assert_int_eq(
        parse("TGED DISCOVERY 2.0\r\nRQ: SQL\r\nID: 42\r\n\r\n", REQ),
        TGED_PARSE_VERSION);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");
    ck_assert_ptr_nonnull(M.error);
    ck_assert_int_eq(
        parse("TGED DISCOVERY 2.0\r\n!!\r\nID: 42\r\nRQ: a b", REQ),
        TGED_PARSE_VERSION);
    ck_str(M.rq, "a b");
    ck_str(M.id, "42");
}
END_TEST

START_TEST(echo_other_errors)
{
    /* RQ and ID far past the header limit. */
    setup();
    add(&T, START);
    for (int i = 0; i < 40; i++)
        add_fmt(&T, "H%d: x\r\n", i);
    add(&T, "ID: 42\r\nRQ: SQL\r\n");
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");

    /* At the end of an oversized request. */
    setup();
    add(&T, START);
    for (int i = 0; i < 20; i++) {
        add_fmt(&T, "H%d: ", i);
        add_rep(&T, 'x', 100);
        add(&T, "\r\n");
    }
    add(&T, "RQ: SQL\r\nID: 42\r\n");
    ck_assert_uint_gt(T.n, TGED_MAX_REQUEST);
    ck_assert_int_eq(parse_n(T.b, T.n, REQ), TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");

    /* After a repeated filter. */
    ck_assert_int_eq(parse(START "A: 1\r\na: 2\r\nRQ: SQL\r\nID: 42\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "42");

    /* With an invalid ID, RQ is still echoed, and the other way round. */
    ck_assert_int_eq(parse(START "ID: a b\r\nRQ: SQL\r\n", REQ),
                     TGED_PARSE_BAD);
    ck_str(M.rq, "SQL");
    ck_str(M.id, "a b");
    ck_assert_int_eq(parse(START "RQ: x y\r\nID: 7\r\n", REQ), TGED_PARSE_BAD);
    ck_str(M.rq, "x y");
    ck_str(M.id, "7");
}
END_TEST

/* ---- names, values, hash --------------------------------------------- */

START_TEST(name_eq)
{
    ck_assert_int_eq(tged_name_eq("RQ", 2, "rq", 2), 1);
    ck_assert_int_eq(tged_name_eq("Rq", 2, "rQ", 2), 1);
    ck_assert_int_eq(tged_name_eq("RQ", 2, "RQS", 3), 0);
    ck_assert_int_eq(tged_name_eq("RQS", 2, "RQ", 2), 1);
    ck_assert_int_eq(tged_name_eq("", 0, "", 0), 1);
    ck_assert_int_eq(tged_name_eq(NULL, 0, NULL, 0), 1);
    ck_assert_int_eq(tged_name_eq("a", 1, "", 0), 0);
    /* Only letters fold: these pairs differ by 0x20 too. */
    ck_assert_int_eq(tged_name_eq("@", 1, "`", 1), 0);
    ck_assert_int_eq(tged_name_eq("[", 1, "{", 1), 0);
    ck_assert_int_eq(tged_name_eq("_", 1, "\x7f", 1), 0);
    ck_assert_int_eq(tged_name_eq("\xc1", 1, "\xe1", 1), 0);
    ck_assert_int_eq(tged_name_eq("\x01", 1, "!", 1), 0);
    ck_assert_int_eq(tged_name_eq("\xc3\xa9", 2, "\xc3\xa9", 2), 1);
    ck_assert_int_eq(tged_name_eq("\xc3\xa9", 2, "\xc3\x89", 2), 0);
    ck_assert_int_eq(tged_name_eq("a\0b", 3, "A\0B", 3), 1);
    ck_assert_int_eq(tged_name_eq("a\0b", 3, "A\0C", 3), 0);

    /* Every length and position, across the word boundaries. */
    char a[40], b[40];
    for (size_t len = 1; len <= sizeof a; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t i = 0; i < len; i++)
                a[i] = b[i] = (char)('a' + (i % 26));
            b[pos] = (char)(a[pos] - 32);
            ck_assert_int_eq(tged_name_eq(a, len, b, len), 1);
            b[pos] = '0';
            ck_assert_int_eq(tged_name_eq(a, len, b, len), 0);
            ck_assert_int_eq(tged_name_eq(b, len, a, len), 0);
        }
    }
}
END_TEST

START_TEST(name_reserved)
{
    static const char *const yes[] = {
        "RQ",      "rq",         "ID",         "Id",           "RP",   "rp",
        "REASON",  "reason",     "SVR",        "svr",          "AUTH", "auth",
        "X-TGED-", "X-TGED-SIG", "x-tged-foo", "X-Tged-Bar_1",
    };
    static const char *const no[] = {
        "",         "R",       "RQS",    "IDS",       "AUTHX",
        "HOST",     "X-TGE",   "X-TGED", "X-TGEDFOO", "X_TGED_A",
        "XX-TGED-", "REASONS", "SV",     "Q",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        ck_assert_msg(tged_name_reserved(yes[i], strlen(yes[i])), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(!tged_name_reserved(no[i], strlen(no[i])), "%s", no[i]);
    ck_assert_int_eq(tged_name_reserved("RQX", 2), 1);
}
END_TEST

START_TEST(name_valid)
{
    char n[34];
    memset(n, 'N', sizeof n);
    ck_assert_int_eq(tged_name_valid(n, 32), 1);
    ck_assert_int_eq(tged_name_valid(n, 33), 0);
    ck_assert_int_eq(tged_name_valid("A", 1), 1);
    ck_assert_int_eq(tged_name_valid("_-09azAZ", 8), 1);
    ck_assert_int_eq(tged_name_valid("", 0), 0);
    ck_assert_int_eq(tged_name_valid(NULL, 0), 0);
    ck_assert_int_eq(tged_name_valid("a b", 3), 0);
    ck_assert_int_eq(tged_name_valid("a:b", 3), 0);
    ck_assert_int_eq(tged_name_valid("a.b", 3), 0);
    ck_assert_int_eq(tged_name_valid("\xc3\xa9", 2), 0);
    ck_assert_int_eq(tged_name_valid("a\0", 2), 0);
}
END_TEST

START_TEST(value_valid)
{
    char v[257];
    memset(v, 'v', sizeof v);
    ck_assert_int_eq(tged_value_valid(v, 255), 1);
    ck_assert_int_eq(tged_value_valid(v, 256), 0);
    ck_assert_int_eq(tged_value_valid("", 0), 1);
    ck_assert_int_eq(tged_value_valid(NULL, 0), 1);
    ck_assert_int_eq(tged_value_valid("a b\tc", 5), 1);
    ck_assert_int_eq(tged_value_valid("\xff\x80:~!", 5), 1);
    ck_assert_int_eq(tged_value_valid(" a", 2), 0);
    ck_assert_int_eq(tged_value_valid("a ", 2), 0);
    ck_assert_int_eq(tged_value_valid("\ta", 2), 0);
    ck_assert_int_eq(tged_value_valid(" ", 1), 0);
    ck_assert_int_eq(tged_value_valid("a\r\nb", 4), 0);
    ck_assert_int_eq(tged_value_valid("a\nb", 3), 0);
    ck_assert_int_eq(tged_value_valid("a\0b", 3), 0);
    ck_assert_int_eq(tged_value_valid("a\x7f", 2), 0);
    ck_assert_int_eq(tged_value_valid("\x1f", 1), 0);
}
END_TEST

START_TEST(type_and_id_valid)
{
    char s[66];
    memset(s, 'a', sizeof s);
    ck_assert_int_eq(tged_type_valid(s, 63), 1);
    ck_assert_int_eq(tged_type_valid(s, 64), 0);
    ck_assert_int_eq(tged_type_valid("", 0), 0);
    ck_assert_int_eq(tged_type_valid("SQL.v2_x-Y9", 11), 1);
    ck_assert_int_eq(tged_type_valid("a b", 3), 0);
    ck_assert_int_eq(tged_type_valid("a/b", 3), 0);
    ck_assert_int_eq(tged_type_valid("a:b", 3), 0);
    ck_assert_int_eq(tged_type_valid("\xc3\xa9", 2), 0);

    ck_assert_int_eq(tged_id_valid(s, 64), 1);
    ck_assert_int_eq(tged_id_valid(s, 65), 0);
    ck_assert_int_eq(tged_id_valid("", 0), 0);
    ck_assert_int_eq(tged_id_valid("a b", 3), 0);
    ck_assert_int_eq(tged_id_valid("\x80", 1), 0);
    ck_assert_int_eq(tged_id_valid("\x7f", 1), 0);
    char all[94];
    for (int i = 0; i < 94; i++)
        all[i] = (char)(0x21 + i);
    ck_assert_int_eq(tged_id_valid(all, 64), 1);
    ck_assert_int_eq(tged_id_valid(all + 30, 64), 1);
}
END_TEST

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure can be replayed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

START_TEST(hash_case_insensitive)
{
    ck_assert_uint_eq(tged_hash_ci("RQ", 2), tged_hash_ci("rq", 2));
    ck_assert_uint_eq(tged_hash_ci("X-TGED-Sig", 10),
                      tged_hash_ci("x-tged-SIG", 10));
    ck_assert_uint_eq(tged_hash_ci("", 0), tged_hash_ci(NULL, 0));
    ck_assert_uint_ne(tged_hash_ci("RQ", 2), tged_hash_ci("RP", 2));
    ck_assert_uint_ne(tged_hash_ci("a", 1), tged_hash_ci("a\0", 2));
    ck_assert_uint_ne(tged_hash_ci("", 0), tged_hash_ci("\0", 1));
    ck_assert_uint_ne(tged_hash_ci("@", 1), tged_hash_ci("`", 1));
    ck_assert_uint_ne(tged_hash_ci("\xc1", 1), tged_hash_ci("\xe1", 1));

    /* Random strings against random case changes of themselves, and a
     * tged_name_eq() agreement check on every pair. */
    rng_state = 0x5eed0001;
    char a[80], b[80];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = rnd_below(sizeof a);
        for (size_t i = 0; i < len; i++) {
            a[i] = (char)rnd();
            b[i] = a[i];
            if (((unsigned char)a[i] | 0x20) >= 'a' &&
                ((unsigned char)a[i] | 0x20) <= 'z' && (rnd() & 1))
                b[i] ^= 0x20;
        }
        ck_assert_int_eq(tged_name_eq(a, len, b, len), 1);
        ck_assert_uint_eq(tged_hash_ci(a, len), tged_hash_ci(b, len));
        if (len > 0) {
            size_t pos = rnd_below(len);
            b[pos] = (char)(b[pos] + 1 + (int)rnd_below(31));
            if (!tged_name_eq(a, len, b, len))
                ck_assert_uint_ne(tged_hash_ci(a, len), tged_hash_ci(b, len));
        }
    }
}
END_TEST

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

START_TEST(hash_spread)
{
    /* Distinct short names, of the kind a configuration holds, must not
     * collide, and every output bit must move. */
    enum { N = 4 * 37 * 37 * 37 };
    static uint64_t h[N];
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
    size_t k = 0;
    for (size_t l = 1; l <= 3; l++) {
        size_t total = 1;
        for (size_t i = 0; i < l; i++)
            total *= 37;
        for (size_t x = 0; x < total; x++) {
            char s[4];
            size_t v = x;
            for (size_t i = 0; i < l; i++) {
                s[i] = set[v % 37];
                v /= 37;
            }
            h[k++] = tged_hash_ci(s, l);
        }
    }
    uint64_t ones = 0, zeros = 0;
    for (size_t i = 0; i < k; i++) {
        ones |= h[i];
        zeros |= ~h[i];
    }
    ck_assert_uint_eq(ones, UINT64_MAX);
    ck_assert_uint_eq(zeros, UINT64_MAX);
    qsort(h, k, sizeof h[0], cmp_u64);
    for (size_t i = 1; i < k; i++)
        ck_assert_uint_ne(h[i - 1], h[i]);
}
END_TEST

START_TEST(reason_names)
{
    ck_assert_str_eq(tged_reason_name(TGED_REASON_BAD_REQUEST), "bad-request");
    ck_assert_str_eq(tged_reason_name(TGED_REASON_VERSION), "version");
    ck_assert_str_eq(tged_reason_name(TGED_REASON_UNKNOWN_TYPE),
                     "unknown-type");
    ck_assert_str_eq(tged_reason_name(TGED_REASON_NO_MATCH), "no-match");
    ck_assert_str_eq(tged_reason_name(TGED_REASON_UNAVAILABLE), "unavailable");
    ck_assert_ptr_null(tged_reason_name(-1));
    ck_assert_ptr_null(tged_reason_name(5));
    ck_assert_ptr_null(tged_reason_name(1000000));
}
END_TEST

/* ---- writer ---------------------------------------------------------- */

START_TEST(writer_reply)
{
    char buf[256];
    struct tged_writer w;
    static const char want[] = "TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: test\r\n"
                               "PORT: 3306\r\nEMPTY: \r\n\r\n";

    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_REPLY);
    tged_writer_header(&w, "RQ", 2, "SQL", 3);
    tged_writer_header(&w, "HOST", 4, "test", 4);
    tged_writer_header(&w, "PORT", 4, "3306xx", 4);
    tged_writer_header(&w, "EMPTY", 5, NULL, 0);
    size_t n = tged_writer_finish(&w);
    ck_assert_uint_eq(n, sizeof want - 1);
    ck_assert_int_eq(memcmp(buf, want, n), 0);

    /* What the writer makes, the parser takes. */
    ck_assert_int_eq(tged_parse(buf, n, 0, &M), TGED_PARSE_OK);
    ck_assert_int_eq(M.method, TGED_METHOD_REPLY);
    ck_assert_uint_eq(M.nheaders, 4);
    ck_str(M.rq, "SQL");
    ck_str(M.headers[2].value, "3306");
    ck_assert_uint_eq(M.body.len, 0);
}
END_TEST

START_TEST(writer_methods)
{
    char buf[64];
    struct tged_writer w;

    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_DISCOVERY);
    tged_writer_header(&w, "RQ", 2, "SQL", 3);
    ck_assert_uint_eq(tged_writer_finish(&w), 31);
    ck_assert_int_eq(memcmp(buf, "TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n", 31),
                     0);
    ck_assert_int_eq(tged_parse(buf, 31, REQ, &M), TGED_PARSE_OK);

    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_INVALID);
    tged_writer_header(&w, "RP", 2, "INVALID", 7);
    tged_writer_header(&w, "REASON", 6, "version", 7);
    static const char inv[] =
        "TGED INVALID 1.0\r\nRP: INVALID\r\nREASON: version\r\n\r\n";
    ck_assert_uint_eq(tged_writer_finish(&w), sizeof inv - 1);
    ck_assert_int_eq(memcmp(buf, inv, sizeof inv - 1), 0);

    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_REPLY);
    ck_assert_uint_eq(tged_writer_finish(&w), 18);
    ck_assert_int_eq(memcmp(buf, "TGED REPLY 1.0\r\n\r\n", 18), 0);

    /* OTHER has no wire form. */
    memset(buf, 'G', sizeof buf);
    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_OTHER);
    ck_assert_int_ne(w.overflow, 0);
    tged_writer_header(&w, "RQ", 2, "SQL", 3);
    ck_assert_uint_eq(tged_writer_finish(&w), 0);
    tged_writer_start(&w, buf, sizeof buf, (enum tged_method)42);
    ck_assert_uint_eq(tged_writer_finish(&w), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_int_eq(buf[i], 'G');
}
END_TEST

START_TEST(writer_raw)
{
    char buf[128];
    struct tged_writer w;
    static const char want[] =
        "TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: a\r\nUSER: b\r\n\r\n";

    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_REPLY);
    tged_writer_header(&w, "RQ", 2, "SQL", 3);
    tged_writer_raw(&w, "HOST: a\r\nUSER: b\r\n", 18);
    tged_writer_raw(&w, NULL, 0);
    ck_assert_uint_eq(tged_writer_finish(&w), sizeof want - 1);
    ck_assert_int_eq(memcmp(buf, want, sizeof want - 1), 0);
}
END_TEST

/* Writes the same message into every capacity below its size, with a
 * guard region after cap that must stay untouched. */
START_TEST(writer_overflow)
{
    char ref[128], buf[256];
    struct tged_writer w;

    tged_writer_start(&w, ref, sizeof ref, TGED_METHOD_REPLY);
    tged_writer_header(&w, "RQ", 2, "SQL", 3);
    tged_writer_raw(&w, "A: 1\r\n", 6);
    tged_writer_header(&w, "HOST", 4, "test", 4);
    size_t full = tged_writer_finish(&w);
    ck_assert_uint_eq(full, 16 + 9 + 6 + 12 + 2);

    for (size_t cap = 0; cap <= full; cap++) {
        memset(buf, 0xA5, sizeof buf);
        tged_writer_start(&w, buf, cap, TGED_METHOD_REPLY);
        tged_writer_header(&w, "RQ", 2, "SQL", 3);
        tged_writer_raw(&w, "A: 1\r\n", 6);
        tged_writer_header(&w, "HOST", 4, "test", 4);
        size_t n = tged_writer_finish(&w);
        if (cap < full) {
            ck_assert_uint_eq(n, 0);
            ck_assert_int_ne(w.overflow, 0);
        } else {
            ck_assert_uint_eq(n, full);
            ck_assert_int_eq(memcmp(buf, ref, full), 0);
        }
        ck_assert_uint_le(w.len, cap);
        for (size_t i = cap; i < sizeof buf; i++)
            ck_assert_msg((unsigned char)buf[i] == 0xA5,
                          "cap %zu: byte %zu written", cap, i);
    }

    /* Once overflowed, a later piece that would fit is not written. */
    memset(buf, 0xA5, sizeof buf);
    tged_writer_start(&w, buf, 20, TGED_METHOD_REPLY);
    tged_writer_header(&w, "HOST", 4, "test", 4);
    size_t at = w.len;
    tged_writer_raw(&w, "x", 1);
    ck_assert_uint_eq(w.len, at);
    ck_assert_int_eq((unsigned char)buf[at], 0xA5);
    ck_assert_uint_eq(tged_writer_finish(&w), 0);

    /* Lengths that would wrap size_t arithmetic. */
    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_REPLY);
    tged_writer_header(&w, "A", SIZE_MAX, "b", 1);
    ck_assert_uint_eq(tged_writer_finish(&w), 0);
    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_REPLY);
    tged_writer_header(&w, "A", 1, "b", SIZE_MAX - 2);
    ck_assert_uint_eq(tged_writer_finish(&w), 0);
    tged_writer_start(&w, buf, sizeof buf, TGED_METHOD_REPLY);
    tged_writer_raw(&w, "A", SIZE_MAX);
    ck_assert_uint_eq(tged_writer_finish(&w), 0);

    /* A header that exactly fills the buffer, then no room for the end. */
    tged_writer_start(&w, buf, 16 + 7, TGED_METHOD_REPLY);
    tged_writer_header(&w, "A", 1, "bc", 2);
    ck_assert_uint_eq(w.len, 23);
    ck_assert_int_eq(w.overflow, 0);
    ck_assert_uint_eq(tged_writer_finish(&w), 0);
}
END_TEST

/* ---- robustness ------------------------------------------------------ */

/*
 * A slow model of sections 2 and 3, written from the text rather than from
 * the parser: split into lines first, then judge each line on its own.
 */
struct model {
    int status;
    enum tged_method method;
    unsigned major, minor;
    long rq, id; /* offsets, -1 when not echoed */
    size_t rqlen, idlen;
    size_t nheaders;
    size_t body;
    size_t name[TGED_MSG_HEADERS + 1], nlen[TGED_MSG_HEADERS + 1];
    size_t val[TGED_MSG_HEADERS + 1], vlen[TGED_MSG_HEADERS + 1];
};

static int m_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int m_vis(unsigned char c)
{
    return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

static int m_in(unsigned char c, const char *set)
{
    return c != 0 && strchr(set, c) != NULL;
}

#define M_ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* Line [*ls, *le) starting at *pos; CR of a CRLF is not part of it. */
static int m_line(const unsigned char *b, size_t n, size_t *pos, size_t *ls,
                  size_t *le)
{
    size_t i = *pos;
    *ls = i;
    while (i < n && b[i] != '\n')
        i++;
    *le = i;
    if (i < n) {
        *pos = i + 1;
        if (*le > *ls && b[*le - 1] == '\r')
            (*le)--;
        return 1;
    }
    *pos = n;
    return 0;
}

static void model_parse(const unsigned char *b, size_t n, unsigned flags,
                        struct model *r)
{
    const int request = (flags & REQ) != 0;
    const size_t limit = request ? 32 : TGED_MSG_HEADERS;
    size_t pos = 0, ls, le, i, t0;
    int bad = 0;

    memset(r, 0, sizeof *r);
    r->rq = r->id = -1;
    if (n < 5 || memcmp(b, "TGED", 4) != 0 || !m_wsp(b[4])) {
        r->status = TGED_PARSE_NOT_TGED;
        return;
    }
    m_line(b, n, &pos, &ls, &le);
    i = 4;
    while (i < le && m_wsp(b[i]))
        i++;
    t0 = i;
    while (i < le && m_vis(b[i]))
        i++;
    if (i - t0 == 9 && !memcmp(b + t0, "DISCOVERY", 9))
        r->method = TGED_METHOD_DISCOVERY;
    else if (i - t0 == 5 && !memcmp(b + t0, "REPLY", 5))
        r->method = TGED_METHOD_REPLY;
    else if (i - t0 == 7 && !memcmp(b + t0, "INVALID", 7))
        r->method = TGED_METHOD_INVALID;
    if (i == t0 || i == le || !m_wsp(b[i]))
        goto bad_start;
    while (i < le && m_wsp(b[i]))
        i++;
    unsigned v[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        size_t d0 = i;
        while (i < le && b[i] >= '0' && b[i] <= '9')
            v[k] = v[k] * 10 + (unsigned)(b[i++] - '0');
        if (i == d0 || i - d0 > 3)
            goto bad_start;
        if (k == 0) {
            if (i == le || b[i] != '.')
                goto bad_start;
            i++;
        }
    }
    while (i < le && m_wsp(b[i]))
        i++;
    if (i != le)
        goto bad_start;
    r->major = v[0];
    r->minor = v[1];

    size_t nvalid = 0;
    unsigned nrq = 0, nid = 0;
    size_t rq = 0, rqlen = 0, id = 0, idlen = 0;
    r->body = n;
    for (;;) {
        if (pos == n)
            break;
        int lf = m_line(b, n, &pos, &ls, &le);
        if (ls == le && lf) {
            r->body = pos;
            break;
        }
        size_t c = ls;
        while (c < le && b[c] != ':')
            c++;
        int ok = c < le && c > ls && c - ls <= 32;
        for (i = ls; ok && i < c; i++)
            ok = m_in(b[i], M_ALNUM "-_");
        for (i = c + 1; ok && i < le; i++)
            ok = m_vis(b[i]) || m_wsp(b[i]);
        if (!ok) {
            bad = 1;
            if (!lf)
                break;
            continue;
        }
        size_t vs = c + 1, ve = le;
        while (vs < ve && m_wsp(b[vs]))
            vs++;
        while (ve > vs && m_wsp(b[ve - 1]))
            ve--;
        if (ve - vs > 255) {
            bad = 1;
            if (!lf)
                break;
            continue;
        }
        if (c - ls == 2 && !strncasecmp((const char *)b + ls, "RQ", 2)) {
            nrq++;
            rq = vs;
            rqlen = ve - vs;
        }
        if (c - ls == 2 && !strncasecmp((const char *)b + ls, "ID", 2)) {
            nid++;
            id = vs;
            idlen = ve - vs;
        }
        if (nvalid <= limit) {
            r->name[nvalid] = ls;
            r->nlen[nvalid] = c - ls;
            r->val[nvalid] = vs;
            r->vlen[nvalid] = ve - vs;
        }
        nvalid++;
        if (!lf)
            break;
    }
    if (nrq == 1 && rqlen > 0) {
        r->rq = (long)rq;
        r->rqlen = rqlen;
    }
    if (nid == 1 && idlen > 0) {
        r->id = (long)id;
        r->idlen = idlen;
    }
    if (r->major != 1) {
        r->status = TGED_PARSE_VERSION;
        return;
    }
    if (nvalid > limit)
        bad = 1;
    for (size_t x = 0; !bad && x < nvalid; x++)
        for (size_t y = x + 1; !bad && y < nvalid; y++)
            if (r->nlen[x] == r->nlen[y] &&
                !strncasecmp((const char *)b + r->name[x],
                             (const char *)b + r->name[y], r->nlen[x]))
                bad = 1;
    if (request) {
        if (n > TGED_MAX_REQUEST || nrq != 1)
            bad = 1;
        for (i = 0; i < rqlen && !bad; i++)
            bad = !m_in(b[rq + i], M_ALNUM "._-");
        if (rqlen < 1 || rqlen > 63)
            bad = 1;
        if (nid == 1) {
            for (i = 0; i < idlen && !bad; i++)
                bad = !(b[id + i] > 0x20 && b[id + i] < 0x7f);
            if (idlen < 1 || idlen > 64)
                bad = 1;
        }
    }
    if (bad) {
        r->status = TGED_PARSE_BAD;
        return;
    }
    r->status = TGED_PARSE_OK;
    r->nheaders = nvalid;
    return;

bad_start:
    r->status = TGED_PARSE_BAD;
    r->rq = r->id = -1;
}

static struct model MD;
static unsigned long checked[4];

static void check_one(const char *d, size_t n, unsigned flags)
{
    int st = parse_n(d, n, flags);
    const unsigned char *u = (const unsigned char *)B;

    model_parse(u, n, flags, &MD);
    ck_assert_msg(st == MD.status, "status %d, model %d, len %zu", st,
                  MD.status, n);
    checked[st]++;
    ck_assert_int_eq(M.method, MD.method);
    if (st == TGED_PARSE_NOT_TGED) {
        ck_null(M.rq);
        ck_null(M.id);
        return;
    }
    if (st == TGED_PARSE_BAD || st == TGED_PARSE_VERSION)
        ck_assert_ptr_nonnull(M.error);
    if (st == TGED_PARSE_OK || st == TGED_PARSE_VERSION) {
        ck_assert_uint_eq(M.major, MD.major);
        ck_assert_uint_eq(M.minor, MD.minor);
    }
    if (MD.rq < 0) {
        ck_null(M.rq);
    } else {
        ck_assert_ptr_eq(M.rq.ptr, B + MD.rq);
        ck_assert_uint_eq(M.rq.len, MD.rqlen);
    }
    if (MD.id < 0) {
        ck_null(M.id);
    } else {
        ck_assert_ptr_eq(M.id.ptr, B + MD.id);
        ck_assert_uint_eq(M.id.len, MD.idlen);
    }
    if (M.rq.ptr) {
        ck_assert(inside(M.rq));
        ck_assert(tged_value_valid(M.rq.ptr, M.rq.len));
        ck_assert_uint_gt(M.rq.len, 0);
    }
    if (M.id.ptr) {
        ck_assert(inside(M.id));
        ck_assert(tged_value_valid(M.id.ptr, M.id.len));
        ck_assert_uint_gt(M.id.len, 0);
    }
    if (st != TGED_PARSE_OK)
        return;

    ck_assert_ptr_null(M.error);
    ck_assert_uint_eq(M.nheaders, MD.nheaders);
    ck_assert_uint_le(M.nheaders, flags & REQ ? TGED_MAX_REQUEST_HEADERS
                                              : TGED_MSG_HEADERS);
    for (size_t i = 0; i < M.nheaders; i++) {
        const struct tged_header *h = &M.headers[i];
        ck_assert(inside(h->name));
        ck_assert(inside(h->value));
        ck_assert_ptr_eq(h->name.ptr, B + MD.name[i]);
        ck_assert_uint_eq(h->name.len, MD.nlen[i]);
        ck_assert_ptr_eq(h->value.ptr, B + MD.val[i]);
        ck_assert_uint_eq(h->value.len, MD.vlen[i]);
        ck_assert(tged_name_valid(h->name.ptr, h->name.len));
        ck_assert(tged_value_valid(h->value.ptr, h->value.len));
    }
    ck_assert(inside(M.body));
    ck_assert_ptr_eq(M.body.ptr, B + MD.body);
    ck_assert_ptr_eq(M.body.ptr + M.body.len, B + BL);
    if (flags & REQ) {
        ck_assert_uint_le(n, TGED_MAX_REQUEST);
        ck_assert(tged_type_valid(M.rq.ptr, M.rq.len));
        if (M.id.ptr)
            ck_assert(tged_id_valid(M.id.ptr, M.id.len));
    }
}

static const char *const pieces[] = {
    "RQ",   "rq",  "ID",  "iD",    "HOST", "H",     "X-TGED-A", "a_b",
    ":",    ": ",  " :",  " ",     "\t",   "\r\n",  "\n",       "\r",
    "SQL",  "a b", "\0",  "\x7f",  "\xff", "\x01",  "::",       "x",
    "TGED", "2.0", "1.0", "1.0.0", ".",    "12345", "-",        "~",
};

/* Appends what fits of s to d, which holds n of cap bytes. */
static size_t put_bytes(char *d, size_t n, size_t cap, const void *s,
                        size_t len)
{
    if (n >= cap)
        return cap;
    if (len > cap - n)
        len = cap - n;
    memcpy(d + n, s, len);
    return n + len;
}

/* Writes a plausible datagram into d: a clean one (mostly well formed, so
 * that the OK paths and the limits are reached) or a dirty one (every line
 * may break in some way), then sometimes mutates a few bytes. */
static size_t gen_datagram(char *d, size_t cap)
{
    static const char *const starts[] = {
        "TGED DISCOVERY 1.0\r\n",   "TGED DISCOVERY 1.0\n",
        "TGED REPLY 1.0\r\n",       "TGED DISCOVERY 2.0\r\n",
        "TGED\tDISCOVERY 1.7 \r\n", "TGED DISCOVERY 1.0",
        "TGED discovery 1.0\r\n",   "TGED DISCOVERY 1.\r\n",
        "TGED  INVALID 01.00\n",    "TGED DISCOVERY 0.1\r\n",
        "TGED X 999.999\r\n",       "TGED ",
    };
    static const char *const names[] = {"RQ",   "rq",   "ID",       "Id",
                                        "HOST", "PORT", "X-TGED-Z", "rQ"};
    static const char *const seps[] = {":", ":",  ":", ":", ":",
                                       ":", " :", "",  ";", "\t:"};
    static const char *const eols[] = {"\r\n", "\r\n", "\n",
                                       "",     "\r",   "\r\r\n"};
    const int clean = rnd_below(2) == 0;
    size_t n = 0;

#define PUT(s, l) (n = put_bytes(d, n, cap, (s), (l)))

    const char *st = clean && rnd_below(4)
                         ? starts[rnd_below(2)]
                         : starts[rnd_below(sizeof starts / sizeof starts[0])];
    PUT(st, strlen(st));
    size_t lines = rnd_below(8) == 0 ? rnd_below(140) : rnd_below(6);
    for (size_t l = 0; l < lines && n < cap; l++) {
        unsigned kind = (unsigned)rnd_below(16);
        if (clean && l == 0 && kind < 12) {
            PUT("RQ", 2);
        } else if (clean ? kind < 2 : kind < 10) {
            const char *nm = names[rnd_below(sizeof names / sizeof names[0])];
            PUT(nm, strlen(nm));
        } else if (clean || kind < 14) {
            char nm[40];
            size_t nl =
                clean ? 1 + rnd_below(rnd_below(4) ? 6 : 33) : rnd_below(36);
            for (size_t i = 0; i < nl; i++)
                nm[i] = M_ALNUM "-_"[rnd_below(64)];
            PUT(nm, nl);
        }
        const char *sep =
            clean ? ":" : seps[rnd_below(sizeof seps / sizeof seps[0])];
        PUT(sep, strlen(sep));
        PUT("  \t", rnd_below(3));
        size_t vl;
        switch (rnd_below(6)) {
        case 0:
            vl = 250 + rnd_below(10);
            break;
        case 1:
            vl = 60 + rnd_below(8);
            break;
        default:
            vl = rnd_below(12);
        }
        for (size_t i = 0; i < vl && n < cap; i++) {
            unsigned r = (unsigned)rnd_below(clean ? 39 : 40);
            char c = r < 30   ? M_ALNUM "._-"[rnd_below(65)]
                     : r < 35 ? ' '
                     : r < 39 ? (char)(0x21 + rnd_below(94))
                              : (char)rnd();
            PUT(&c, 1);
        }
        PUT("  \t", rnd_below(3));
        const char *e =
            eols[clean || rnd_below(8) < 6 ? rnd_below(3) : rnd_below(6)];
        PUT(e, strlen(e));
    }
    if (rnd_below(3) == 0) {
        PUT("\r\n", rnd_below(2) + 1);
        size_t bl = rnd_below(20);
        for (size_t i = 0; i < bl; i++) {
            char c = (char)rnd();
            PUT(&c, 1);
        }
    }
    size_t muts = rnd_below(4) == 0 ? rnd_below(4) : 0;
    for (size_t m = 0; m < muts && n > 0; m++) {
        size_t at = rnd_below(n);
        switch (rnd_below(4)) {
        case 0:
            d[at] = (char)rnd();
            break;
        case 1:
            d[at] = pieces[rnd_below(sizeof pieces / sizeof pieces[0])][0];
            break;
        case 2:
            memmove(d + at, d + at + 1, n - at - 1);
            n--;
            break;
        default:
            n = at;
        }
    }
#undef PUT
    return n;
}

START_TEST(random_datagrams)
{
    static char d[8192];

    rng_state = 0x7465640000000001ull + (uint64_t)_i;
    memset(checked, 0, sizeof checked);
    for (int iter = 0; iter < 100000; iter++) {
        size_t n;
        unsigned r = (unsigned)rnd_below(10);
        if (r < 7) {
            n = gen_datagram(d, rnd_below(4) ? 1600 : sizeof d);
        } else if (r < 8) {
            /* Random bytes after a valid start. */
            memcpy(d, "TGED DISCOVERY 1.0\r\n", 20);
            n = 20 + rnd_below(200);
            for (size_t i = 20; i < n; i++)
                d[i] = (char)rnd();
        } else if (r < 9) {
            /* Concatenated pieces. */
            n = 0;
            memcpy(d, "TGED ", 5);
            n = 5;
            size_t k = rnd_below(40);
            for (size_t i = 0; i < k; i++) {
                const char *p =
                    pieces[rnd_below(sizeof pieces / sizeof pieces[0])];
                size_t l = p[0] ? strlen(p) : 1;
                memcpy(d + n, p, l);
                n += l;
            }
        } else {
            n = rnd_below(64);
            for (size_t i = 0; i < n; i++)
                d[i] = (char)rnd();
        }
        check_one(d, n, (unsigned)(rnd() & 1) ? REQ : 0);
    }
    /* The generator must reach every outcome, or it tests little. */
    for (int s = 0; s < 4; s++)
        ck_assert_msg(checked[s] > 1000, "status %d seen %lu times", s,
                      checked[s]);
}
END_TEST

START_TEST(exhaustive_short)
{
    /* Every string of up to 4 bytes over an alphabet of the bytes that
     * matter, after a valid start line, then after "TGED ". */
    static const char alpha[] = {'R',  'Q', ':', ' ', '\t', '\r',  '\n',
                                 '\0', 'i', 'd', '.', '1',  '\x80'};
    const size_t na = sizeof alpha;
    char d[64];

    for (int pre = 0; pre < 2; pre++) {
        const char *head = pre ? "TGED " : START "ID:a\n";
        size_t hl = strlen(head);
        memcpy(d, head, hl);
        for (size_t len = 0; len <= 4; len++) {
            size_t total = 1;
            for (size_t i = 0; i < len; i++)
                total *= na;
            for (size_t x = 0; x < total; x++) {
                size_t v = x;
                for (size_t i = 0; i < len; i++) {
                    d[hl + i] = alpha[v % na];
                    v /= na;
                }
                check_one(d, hl + len, 0);
                check_one(d, hl + len, REQ);
            }
        }
    }
}
END_TEST

START_TEST(truncations)
{
    /* Every prefix of a rich request: never out of bounds, always as the
     * model says. */
    static const char d[] = "TGED DISCOVERY 1.0 \r\nRQ: SQL\r\nID:\t42 \n"
                            "HOST:  my pc \r\nX-TGED-Q: \xff\r\n\r\nbody";
    for (size_t n = 0; n <= sizeof d - 1; n++) {
        check_one(d, n, 0);
        check_one(d, n, REQ);
    }
}
END_TEST

static Suite *protocol_suite(void)
{
    Suite *s = suite_create("protocol");
    TCase *tc;

    tc = tcase_create("start line");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, design_note_request);
    tcase_add_test(tc, lf_only);
    tcase_add_test(tc, no_final_empty_line);
    tcase_add_test(tc, start_line_alone);
    tcase_add_test(tc, body_ignored);
    tcase_add_test(tc, white_space_in_start_line);
    tcase_add_test(tc, methods);
    tcase_add_test(tc, not_tged);
    tcase_add_test(tc, versions_accepted);
    tcase_add_test(tc, version_other_major);
    tcase_add_test(tc, versions_malformed);
    suite_add_tcase(s, tc);

    tc = tcase_create("header lines");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, header_equivalence);
    tcase_add_test(tc, headers_in_order);
    tcase_add_test(tc, space_before_colon);
    tcase_add_test(tc, malformed_lines);
    tcase_add_test(tc, name_length);
    tcase_add_test(tc, value_length);
    tcase_add_test(tc, value_bytes);
    tcase_add_test(tc, control_bytes);
    tcase_add_test(tc, value_scan_positions);
    tcase_add_test(tc, bare_cr);
    tcase_add_test(tc, repeated_names);
    tcase_add_test(tc, request_header_count);
    tcase_add_test(tc, answer_header_count);
    tcase_add_test(tc, request_size);
    tcase_add_test(tc, many_lines);
    suite_add_tcase(s, tc);

    tc = tcase_create("request rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rq_type);
    tcase_add_test(tc, missing_rq);
    tcase_add_test(tc, id_rules);
    tcase_add_test(tc, id_scan_positions);
    tcase_add_test(tc, request_other_headers);
    suite_add_tcase(s, tc);

    tc = tcase_create("echo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, echo_after_bad_line);
    tcase_add_test(tc, echo_before_bad_line);
    tcase_add_test(tc, echo_repeated);
    tcase_add_test(tc, echo_only_valid_lines);
    tcase_add_test(tc, echo_under_version);
    tcase_add_test(tc, echo_other_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, name_eq);
    tcase_add_test(tc, name_reserved);
    tcase_add_test(tc, name_valid);
    tcase_add_test(tc, value_valid);
    tcase_add_test(tc, type_and_id_valid);
    tcase_add_test(tc, hash_case_insensitive);
    tcase_add_test(tc, hash_spread);
    tcase_add_test(tc, reason_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("writer");
    tcase_add_test(tc, writer_reply);
    tcase_add_test(tc, writer_methods);
    tcase_add_test(tc, writer_raw);
    tcase_add_test(tc, writer_overflow);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* Sanitizer builds are several times slower than release ones. */
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, random_datagrams, 0, 3);
    tcase_add_test(tc, exhaustive_short);
    tcase_add_test(tc, truncations);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(protocol_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
