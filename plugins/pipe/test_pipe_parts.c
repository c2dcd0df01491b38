/* plugins/pipe/test_pipe_parts.c - unit tests of the pipe backend's parts
 * that need no tgedd: the protocol's lines, gathering answers, the bounded
 * line reader (on real pipes) and the answer cache.
 *
 * Lines are parsed from exact-size heap copies, so AddressSanitizer
 * catches a read past their end.
 *
 * SPDX-License-Identifier: MIT
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "cache.h"
#include "linebuf.h"
#include "proto.h"

static char *copy(const char *s, size_t len)
{
    char *c = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(c);
    memcpy(c, s, len);
    return c;
}

/* ---- hello --------------------------------------------------------- */

static int hello(const char *s, char *arg, size_t cap)
{
    size_t len = strlen(s);
    char *c = copy(s, len);
    const char *a;
    size_t al;
    int r = pipe_parse_hello(c, len, &a, &al);
    snprintf(arg, cap, "%.*s", (int)al, a);
    free(c);
    return r;
}

START_TEST(hello_lines)
{
    char arg[64];
    ck_assert_int_eq(hello("OK 1", arg, sizeof(arg)), PIPE_HELLO_OK);
    ck_assert_int_eq(hello("OK 2", arg, sizeof(arg)), PIPE_HELLO_VERSION);
    ck_assert_str_eq(arg, "2");
    ck_assert_int_eq(hello("OK 10", arg, sizeof(arg)), PIPE_HELLO_VERSION);
    ck_assert_int_eq(hello("OK 01", arg, sizeof(arg)), PIPE_HELLO_VERSION);
    ck_assert_int_eq(hello("OK 1 ", arg, sizeof(arg)), PIPE_HELLO_BAD);
    ck_assert_int_eq(hello("OK 1\r", arg, sizeof(arg)), PIPE_HELLO_BAD);
    ck_assert_int_eq(hello("OK 1.0", arg, sizeof(arg)), PIPE_HELLO_BAD);
    ck_assert_int_eq(hello("OK 1234567890", arg, sizeof(arg)), PIPE_HELLO_BAD);
    ck_assert_int_eq(hello("ERROR", arg, sizeof(arg)), PIPE_HELLO_ERROR);
    ck_assert_str_eq(arg, "");
    ck_assert_int_eq(hello("ERROR no database", arg, sizeof(arg)),
                     PIPE_HELLO_ERROR);
    ck_assert_str_eq(arg, "no database");
    ck_assert_int_eq(hello("OK", arg, sizeof(arg)), PIPE_HELLO_BAD);
    ck_assert_int_eq(hello("OK ", arg, sizeof(arg)), PIPE_HELLO_BAD);
    ck_assert_int_eq(hello("ok 1", arg, sizeof(arg)), PIPE_HELLO_BAD);
    ck_assert_int_eq(hello("hello", arg, sizeof(arg)), PIPE_HELLO_BAD);
    ck_assert_int_eq(hello("", arg, sizeof(arg)), PIPE_HELLO_BAD);
}
END_TEST

/* ---- requests ------------------------------------------------------ */

START_TEST(request_key_sorted_upper)
{
    struct tged_field f[] = {
        {"zone", 4, "LAN", 3},
        {"Host", 4, "my pc", 5},
        {"A-B", 3, "", 0},
    };
    struct tged_query q = {
        .type = "printer.Ipp", .type_len = 11, .filters = f, .nfilters = 3};
    char buf[256];
    size_t n = pipe_format_key(buf, sizeof(buf), &q);
    const char *want = "PRINTER.IPP\nF A-B \nF HOST my pc\nF ZONE LAN\n\n";
    ck_assert_uint_eq(n, strlen(want));
    ck_assert(!memcmp(buf, want, n));
    /* The same question with its filters in another order: one key. */
    struct tged_field g[] = {f[2], f[0], f[1]};
    q.filters = g;
    char buf2[256];
    ck_assert_uint_eq(pipe_format_key(buf2, sizeof(buf2), &q), n);
    ck_assert(!memcmp(buf, buf2, n));
    /* Too small a buffer: 0, never a cut request. */
    for (size_t cap = 0; cap < n; cap++)
        ck_assert_uint_eq(pipe_format_key(buf, cap, &q), 0);
    char p[24];
    ck_assert_uint_eq(pipe_format_prefix(p, 18446744073709551615ull), 23);
    ck_assert(!memcmp(p, "Q 18446744073709551615 ", 23));
}
END_TEST

START_TEST(request_largest_fits)
{
    /* 32 filters of the longest names and values a datagram can hold. */
    static char names[32][33], values[32][256];
    struct tged_field f[32];
    for (int i = 0; i < 32; i++) {
        memset(names[i], 'A', 32);
        names[i][0] = (char)('A' + i % 26);
        names[i][1] = (char)('A' + i / 26);
        memset(values[i], 'v', 255);
        f[i] = (struct tged_field){names[i], 32, values[i], 255};
    }
    char type[64];
    memset(type, 't', 63);
    struct tged_query q = {
        .type = type, .type_len = 63, .filters = f, .nfilters = 32};
    static char buf[PIPE_MAX_REQUEST];
    /* Far more than a datagram carries, yet it must fit or say 0. */
    size_t n = pipe_format_key(buf, sizeof(buf), &q);
    ck_assert_uint_eq(n, 0);
    q.nfilters = 4; /* what 1472 bytes can hold of these */
    ck_assert_uint_gt(pipe_format_key(buf, sizeof(buf), &q), 0);
}
END_TEST

/* ---- answer lines -------------------------------------------------- */

/* The parsed line points into its copy: kept until the next call. */
static char *Line;

static const char *line(const char *s, struct pipe_line *l)
{
    size_t len = strlen(s);
    free(Line);
    Line = copy(s, len);
    return pipe_parse_line(Line, len, l);
}

static void bad_line(const char *s, const char *why)
{
    struct pipe_line l;
    const char *err = line(s, &l);
    ck_assert_msg(err, "'%s' accepted", s);
    ck_assert_msg(strstr(err, why), "'%s': '%s' does not say '%s'", s, err,
                  why);
}

START_TEST(answer_lines)
{
    struct pipe_line l;
    ck_assert_ptr_null(line("R 7", &l));
    ck_assert_int_eq(l.kind, PIPE_LINE_RECORD);
    ck_assert_uint_eq(l.id, 7);
    ck_assert_ptr_null(line("END 18446744073709551615 no-match", &l));
    ck_assert_int_eq(l.kind, PIPE_LINE_END);
    ck_assert_uint_eq(l.id, 18446744073709551615ull);
    ck_assert_int_eq(l.status, TGED_NO_MATCH);
    ck_assert_ptr_null(line("END 1 found", &l));
    ck_assert_int_eq(l.status, TGED_FOUND);
    ck_assert_ptr_null(line("END 1 not-mine", &l));
    ck_assert_int_eq(l.status, TGED_NOT_MINE);
    ck_assert_ptr_null(line("END 1 failed", &l));
    ck_assert_int_eq(l.status, TGED_FAILED);
    ck_assert_ptr_null(line("F HOST db 1\twest", &l));
    ck_assert_int_eq(l.kind, PIPE_LINE_FIELD);
    ck_assert_uint_eq(l.field.name_len, 4);
    ck_assert(!memcmp(l.field.value, "db 1\twest", 9));
    ck_assert_uint_eq(l.field.value_len, 9);
    ck_assert_ptr_null(line("F EMPTY", &l));
    ck_assert_uint_eq(l.field.value_len, 0);
    ck_assert_ptr_null(line("F EMPTY ", &l));
    ck_assert_uint_eq(l.field.value_len, 0);
    ck_assert_ptr_null(line("F x_y-Z caf\xc3\xa9", &l));
    free(Line);
    Line = NULL;
}
END_TEST

START_TEST(answer_lines_refused)
{
    bad_line("R 7\r", "carriage return");
    bad_line("F A b\x01", "control byte");
    bad_line("F A b\x7f", "control byte");
    bad_line("R", "not an answer line");
    bad_line("R ", "decimal");
    bad_line("R x", "decimal");
    bad_line("R -1", "decimal");
    bad_line("R 99999999999999999999", "too large");
    bad_line("R 123456789012345678901", "decimal");
    bad_line("END 1", "id and a status");
    bad_line("END 1 FOUND", "status must be");
    bad_line("END 1 found ", "status must be");
    bad_line("END  1 found", "decimal");
    bad_line("F", "not an answer line");
    bad_line("F ", "field name");
    bad_line("F  A", "field name");
    bad_line("F A:B c", "not valid");
    bad_line("F ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456 c", "not valid");
    bad_line("F rq SQL", "reserved");
    bad_line("F X-TGED-Y z", "reserved");
    bad_line("F SVR z", "reserved");
    bad_line("F A  b", "starts or ends");
    bad_line("F A b ", "starts or ends");
    bad_line("F A b\t", "starts or ends");
    bad_line("", "empty line");
    bad_line("Q 1 SQL", "not an answer line");
    bad_line("r 1", "not an answer line");
    char longv[300] = "F A ";
    memset(longv + 4, 'v', 256);
    longv[260] = '\0';
    bad_line(longv, "longer than 255");
    struct pipe_line l;
    char nul[] = "F A b\0c";
    ck_assert_ptr_nonnull(pipe_parse_line(nul, sizeof(nul) - 1, &l));
    ck_assert_str_eq(pipe_parse_line(nul, sizeof(nul) - 1, &l),
                     "it holds a NUL byte");
}
END_TEST

/* ---- answers ------------------------------------------------------- */

static const char *feed(struct pipe_answer *a, const char *s)
{
    size_t len = strlen(s);
    char *c = copy(s, len);
    const char *err = answer_feed(a, c, len);
    free(c);
    return err;
}

/* Feed lines ending with NULL; the first error. */
static const char *feed_all(struct pipe_answer *a, const char *const *lines)
{
    for (; *lines; lines++) {
        const char *err = feed(a, *lines);
        if (err)
            return err;
    }
    return NULL;
}

START_TEST(answer_gathered)
{
    struct pipe_answer a;
    answer_init(&a);
    for (int round = 0; round < 3; round++) { /* memory reused */
        answer_reset(&a, 42);
        const char *lines[] = {"R 42",         "F HOST db1", "F PORT 5432",
                               "R 42",         "F HOST db2", "F ROLE",
                               "END 42 found", NULL};
        ck_assert_ptr_null(feed_all(&a, lines));
        ck_assert(a.done);
        struct pipe_view v = answer_view(&a);
        ck_assert_int_eq(v.status, TGED_FOUND);
        ck_assert_uint_eq(v.nrecs, 2);
        struct tged_field f[PIPE_MAX_FIELDS];
        ck_assert_uint_eq(view_record(&v, 0, f), 2);
        ck_assert(f[0].name_len == 4 && !memcmp(f[0].name, "HOST", 4));
        ck_assert(f[1].value_len == 4 && !memcmp(f[1].value, "5432", 4));
        ck_assert_uint_eq(view_record(&v, 1, f), 2);
        ck_assert(f[0].value_len == 3 && !memcmp(f[0].value, "db2", 3));
        ck_assert(f[1].name_len == 4 && f[1].value_len == 0);
    }
    answer_reset(&a, 5);
    ck_assert_ptr_null(feed(&a, "END 5 no-match"));
    ck_assert_int_eq(answer_view(&a).status, TGED_NO_MATCH);
    ck_assert_uint_eq(answer_view(&a).nrecs, 0);
    answer_reset(&a, 6);
    ck_assert_ptr_null(feed(&a, "END 6 found")); /* found, no record */
    ck_assert_uint_eq(answer_view(&a).nrecs, 0);
    answer_free(&a);
}
END_TEST

static void bad_answer(const char *const *lines, const char *why)
{
    struct pipe_answer a;
    answer_init(&a);
    answer_reset(&a, 3);
    const char *err = feed_all(&a, lines);
    ck_assert_msg(err, "accepted: %s ...", lines[0]);
    ck_assert_msg(strstr(err, why), "'%s' does not say '%s'", err, why);
    answer_free(&a);
}

START_TEST(answer_refused)
{
    bad_answer((const char *[]){"F A b", NULL}, "outside a record");
    bad_answer((const char *[]){"R 4", NULL}, "another request");
    bad_answer((const char *[]){"END 4 found", NULL}, "another request");
    bad_answer((const char *[]){"R 3", "R 3", NULL}, "without any F");
    bad_answer((const char *[]){"R 3", "END 3 found", NULL}, "without any F");
    bad_answer((const char *[]){"R 3", "F A 1", "F a 2", NULL}, "repeated");
    bad_answer((const char *[]){"R 3", "F A 1", "END 3 no-match", NULL},
               "status other than found");
    bad_answer((const char *[]){"R 3", "F A 1", "END 3 failed", NULL},
               "status other than found");
    bad_answer((const char *[]){"END 3 found", "R 3", NULL}, "after END");
    bad_answer((const char *[]){"R 3", "F A 1", "Q 3 A", NULL},
               "not an answer line");
}
END_TEST

START_TEST(answer_field_limit)
{
    struct pipe_answer a;
    answer_init(&a);
    answer_reset(&a, 1);
    ck_assert_ptr_null(feed(&a, "R 1"));
    char l[32];
    for (int i = 0; i < PIPE_MAX_FIELDS; i++) {
        snprintf(l, sizeof(l), "F N%d v", i);
        ck_assert_ptr_null(feed(&a, l));
    }
    ck_assert_ptr_nonnull(strstr(feed(&a, "F LAST v"), "more than 126"));
    answer_free(&a);
}
END_TEST

START_TEST(answer_record_limits)
{
    /* Records past the limits are checked, then dropped: not an error. */
    struct pipe_answer a;
    answer_init(&a);
    answer_reset(&a, 9);
    for (int i = 0; i < PIPE_MAX_RECORDS + 10; i++) {
        ck_assert_ptr_null(feed(&a, "R 9"));
        ck_assert_ptr_null(feed(&a, "F HOST h"));
    }
    ck_assert_ptr_null(feed(&a, "R 9"));
    ck_assert_ptr_nonnull(feed(&a, "END 9 found")); /* no F in the last */
    answer_reset(&a, 9);
    for (int i = 0; i < PIPE_MAX_RECORDS + 10; i++) {
        ck_assert_ptr_null(feed(&a, "R 9"));
        ck_assert_ptr_null(feed(&a, "F HOST h"));
    }
    ck_assert_ptr_null(feed(&a, "END 9 found"));
    ck_assert_uint_eq(answer_view(&a).nrecs, PIPE_MAX_RECORDS);
    ck_assert_uint_eq(a.dropped, 10);
    /* By bytes: 126 fields of ~255 bytes a record. */
    answer_reset(&a, 9);
    char l[300];
    size_t recs = 0;
    for (; recs < 20; recs++) {
        ck_assert_ptr_null(feed(&a, "R 9"));
        for (int k = 0; k < 120; k++) {
            int n = snprintf(l, sizeof(l), "F N%d ", k);
            memset(l + n, 'x', 250);
            l[n + 250] = '\0';
            ck_assert_ptr_null(feed(&a, l));
        }
    }
    ck_assert_ptr_null(feed(&a, "END 9 found"));
    struct pipe_view v = answer_view(&a);
    ck_assert_uint_lt(v.nrecs, recs);
    ck_assert_uint_le(v.text_len, PIPE_MAX_ANSWER + 120 * 260);
    ck_assert_uint_eq(v.nrecs + a.dropped, recs);
    answer_free(&a);
}
END_TEST

/* ---- escaping ------------------------------------------------------ */

START_TEST(escape)
{
    char out[64];
    ck_assert_str_eq(pipe_escape(out, sizeof(out), "a\\b\n\x01\xff", 6),
                     "a\\\\b\\x0a\\x01\\xff");
    char big[200];
    memset(big, 'y', sizeof(big));
    pipe_escape(out, 16, big, sizeof(big));
    ck_assert_uint_eq(strlen(out), 15);
    ck_assert_str_eq(out + 12, "...");
    pipe_escape(out, 16, "\x01\x01\x01\x01\x01", 5);
    ck_assert_uint_le(strlen(out), 15);
    ck_assert_ptr_nonnull(strstr(out, "..."));
    ck_assert_str_eq(pipe_escape(out, 16, "exactly 15 byte", 15),
                     "exactly 15 byte");
}
END_TEST

/* ---- line reader --------------------------------------------------- */

static int Fds[2];

static void open_pipe(void)
{
    ck_assert_int_eq(pipe2(Fds, O_NONBLOCK | O_CLOEXEC), 0);
}

static void put(const char *s, size_t len)
{
    ck_assert_int_eq(write(Fds[1], s, len), (ssize_t)len);
}

START_TEST(lines_split_and_joined)
{
    open_pipe();
    struct linebuf lb;
    linebuf_reset(&lb);
    const char *l;
    size_t n;
    put("R 1\nF A", 7);
    ck_assert_int_eq(linebuf_next(&lb, Fds[0], 0, &l, &n), LINEBUF_LINE);
    ck_assert(n == 3 && !memcmp(l, "R 1", 3));
    ck_assert_int_eq(linebuf_next(&lb, Fds[0], 0, &l, &n), LINEBUF_WAIT);
    ck_assert_uint_eq(linebuf_pending(&lb), 3);
    put(" b\n\nEND", 7);
    ck_assert_int_eq(linebuf_next(&lb, Fds[0], 0, &l, &n), LINEBUF_LINE);
    ck_assert(n == 5 && !memcmp(l, "F A b", 5));
    ck_assert_int_eq(linebuf_next(&lb, Fds[0], 0, &l, &n), LINEBUF_LINE);
    ck_assert_uint_eq(n, 0);
    /* A deadline: waits, then gives up. */
    int64_t t0 = pipe_now_ms();
    ck_assert_int_eq(linebuf_next(&lb, Fds[0], t0 + 50, &l, &n), LINEBUF_WAIT);
    ck_assert_int_ge(pipe_now_ms() - t0, 49);
    close(Fds[1]);
    ck_assert_int_eq(linebuf_next(&lb, Fds[0], 0, &l, &n), LINEBUF_EOF);
    close(Fds[0]);
}
END_TEST

START_TEST(lines_longest_and_too_long)
{
    open_pipe();
    struct linebuf lb;
    linebuf_reset(&lb);
    const char *l;
    size_t n;
    static char big[3 * PIPE_MAX_LINE];
    memset(big, 'x', sizeof(big));
    /* Many lines of the longest length, at every offset of the buffer. */
    for (int i = 0; i < 7; i++) {
        big[PIPE_MAX_LINE - 1] = '\n';
        put("ab\n", 3);
        put(big, PIPE_MAX_LINE);
        ck_assert_int_eq(linebuf_next(&lb, Fds[0], 0, &l, &n), LINEBUF_LINE);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(linebuf_next(&lb, Fds[0], 0, &l, &n), LINEBUF_LINE);
        ck_assert_uint_eq(n, PIPE_MAX_LINE - 1);
    }
    big[PIPE_MAX_LINE - 1] = 'x';
    put(big, PIPE_MAX_LINE + 1);
    ck_assert_int_eq(linebuf_next(&lb, Fds[0], 0, &l, &n), LINEBUF_LONG);
    close(Fds[0]);
    close(Fds[1]);
}
END_TEST

/* ---- cache --------------------------------------------------------- */

static struct pipe_view answer_of(struct pipe_answer *a, const char *host)
{
    char l[64];
    answer_reset(a, 1);
    ck_assert_ptr_null(feed(a, "R 1"));
    snprintf(l, sizeof(l), "F HOST %s", host);
    ck_assert_ptr_null(feed(a, l));
    ck_assert_ptr_null(feed(a, "END 1 found"));
    return answer_view(a);
}

START_TEST(cache_get_put_expire)
{
    struct cache c;
    ck_assert_int_eq(cache_init(&c, 4, 100), 0);
    struct pipe_answer a;
    answer_init(&a);
    struct pipe_view v = answer_of(&a, "db1");
    ck_assert_ptr_null(cache_get(&c, "SQL\n\n", 5, 0));
    cache_put(&c, "SQL\n\n", 5, &v, 1000);
    struct cache_entry *e = cache_get(&c, "SQL\n\n", 5, 1099);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->view.nrecs, 1);
    struct tged_field f[PIPE_MAX_FIELDS];
    ck_assert_uint_eq(view_record(&e->view, 0, f), 1);
    ck_assert(f[0].value_len == 3 && !memcmp(f[0].value, "db1", 3));
    /* Replaced while held: the holder's copy stays whole. */
    v = answer_of(&a, "db2");
    cache_put(&c, "SQL\n\n", 5, &v, 1050);
    ck_assert(f[0].value_len == 3 && !memcmp(f[0].value, "db1", 3));
    cache_release(e);
    e = cache_get(&c, "SQL\n\n", 5, 1100);
    ck_assert_ptr_nonnull(e);
    view_record(&e->view, 0, f);
    ck_assert(!memcmp(f[0].value, "db2", 3));
    cache_release(e);
    ck_assert_ptr_null(cache_get(&c, "SQL\n\n", 5, 1150)); /* expired */
    ck_assert_ptr_null(cache_get(&c, "sql\n\n", 5, 1100)); /* exact keys */
    /* A status without records. */
    answer_reset(&a, 2);
    ck_assert_ptr_null(feed(&a, "END 2 not-mine"));
    v = answer_view(&a);
    cache_put(&c, "X\n\n", 3, &v, 0);
    e = cache_get(&c, "X\n\n", 3, 1);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->view.status, TGED_NOT_MINE);
    cache_release(e);
    answer_free(&a);
    cache_destroy(&c);
}
END_TEST

static Suite *parts_suite(void)
{
    Suite *s = suite_create("pipe_parts");
    TCase *tc = tcase_create("protocol");
    tcase_add_test(tc, hello_lines);
    tcase_add_test(tc, request_key_sorted_upper);
    tcase_add_test(tc, request_largest_fits);
    tcase_add_test(tc, answer_lines);
    tcase_add_test(tc, answer_lines_refused);
    tcase_add_test(tc, escape);
    suite_add_tcase(s, tc);
    tc = tcase_create("answers");
    tcase_add_test(tc, answer_gathered);
    tcase_add_test(tc, answer_refused);
    tcase_add_test(tc, answer_field_limit);
    tcase_add_test(tc, answer_record_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("lines");
    tcase_add_test(tc, lines_split_and_joined);
    tcase_add_test(tc, lines_longest_and_too_long);
    suite_add_tcase(s, tc);
    tc = tcase_create("cache");
    tcase_add_test(tc, cache_get_put_expire);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(parts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
