/* tests/unit/test_recset.c - record sets and the answer sink.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tged/plugin.h>

#include "sink.h"

/* Answers land here: each datagram as a NUL-terminated copy. */
static char got[64][1100];
static size_t ngot;

static void collect(struct outq *q, void *arg)
{
    for (size_t i = 0; i < q->n && ngot < 64; i++) {
        memcpy(got[ngot], q->slots[i].buf, q->slots[i].len);
        got[ngot][q->slots[i].len] = '\0';
        ngot++;
    }
    q->n = 0;
}

static struct outq q;

static void setup(void)
{
    ngot = 0;
    ck_assert_int_eq(outq_init(&q, 4, 1024), 0);
    q.flush = collect;
}

static void teardown(void)
{
    outq_free(&q);
}

#define F(n, v)                                                                \
    {                                                                          \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                     \
    }

static int add(struct tged_recset_builder *b, const char *type,
               const struct tged_field *f, size_t n)
{
    return tged_recset_add(b, type, strlen(type), f, n);
}

/* Look a type up with filters "NAME=VALUE" and flush; the status. */
static int ask(const struct tged_recset *rs, const char *type, size_t max,
               const char *id, size_t nf, const char *const *flt)
{
    struct tged_field f[8];
    char names[8][40];
    for (size_t i = 0; i < nf; i++) {
        const char *eq = strchr(flt[i], '=');
        snprintf(names[i], sizeof(names[i]), "%.*s", (int)(eq - flt[i]),
                 flt[i]);
        f[i] = (struct tged_field){names[i], strlen(names[i]), eq + 1,
                                   strlen(eq + 1)};
    }
    struct tged_query qq = {
        .type = type, .type_len = strlen(type), .filters = f, .nfilters = nf};
    qq.type_hash = tged_hash_ci(type, qq.type_len);
    struct tged_sink s;
    sink_init(&s, &q, id, id ? strlen(id) : 0, max, 1024);
    ngot = 0;
    int st = tged_recset_lookup(rs, &qq, &s);
    collect(&q, NULL);
    return st;
}

static struct tged_recset *sample(void)
{
    struct tged_recset_builder *b = tged_recset_builder_new(NULL);
    const struct tged_field sql[] = {F("HOST", "test"), F("PORT", "3306")};
    const struct tged_field w1[] = {F("HOST", "web1"), F("ROLE", "front")};
    const struct tged_field w2[] = {F("HOST", "web2"), F("ROLE", "front")};
    const struct tged_field w3[] = {F("HOST", "web3"), F("ROLE", "back")};
    ck_assert_int_eq(add(b, "SQL", sql, 2), 0);
    ck_assert_int_eq(add(b, "Web", w1, 2), 0);
    ck_assert_int_eq(add(b, "sql2", sql, 2), 0);
    ck_assert_int_eq(add(b, "WEB", w2, 2), 0);
    ck_assert_int_eq(add(b, "web", w3, 2), 0);
    struct tged_recset *rs = tged_recset_build(b);
    ck_assert_ptr_nonnull(rs);
    return rs;
}

START_TEST(formats_a_reply)
{
    struct tged_recset *rs = sample();
    ck_assert_int_eq(ask(rs, "sql", 8, NULL, 0, NULL), TGED_FOUND);
    ck_assert_uint_eq(ngot, 1);
    ck_assert_str_eq(got[0], "TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: test\r\n"
                             "PORT: 3306\r\n\r\n");
    ck_assert_int_eq(ask(rs, "SQL", 8, "x-1", 0, NULL), TGED_FOUND);
    ck_assert_str_eq(got[0], "TGED REPLY 1.0\r\nRQ: SQL\r\nID: x-1\r\n"
                             "HOST: test\r\nPORT: 3306\r\n\r\n");
    tged_recset_free(rs);
}
END_TEST

START_TEST(groups_types_keeping_order)
{
    struct tged_recset *rs = sample();
    ck_assert_uint_eq(tged_recset_count(rs), 5);
    ck_assert_uint_eq(tged_recset_types(rs), 3);
    ck_assert_int_eq(ask(rs, "WEB", 8, NULL, 0, NULL), TGED_FOUND);
    ck_assert_uint_eq(ngot, 3);
    /* The type as first written, the records in the order added. */
    ck_assert_ptr_nonnull(strstr(got[0], "RQ: Web\r\nHOST: web1"));
    ck_assert_ptr_nonnull(strstr(got[1], "HOST: web2"));
    ck_assert_ptr_nonnull(strstr(got[2], "HOST: web3"));
    tged_recset_free(rs);
}
END_TEST

START_TEST(filters)
{
    struct tged_recset *rs = sample();
    const char *front[] = {"role=FRONT"};
    ck_assert_int_eq(ask(rs, "web", 8, NULL, 1, front), TGED_FOUND);
    ck_assert_uint_eq(ngot, 2);
    ck_assert_ptr_nonnull(strstr(got[1], "web2"));
    const char *two[] = {"ROLE=front", "HOST=web2"};
    ck_assert_int_eq(ask(rs, "web", 8, NULL, 2, two), TGED_FOUND);
    ck_assert_uint_eq(ngot, 1);
    ck_assert_ptr_nonnull(strstr(got[0], "web2"));
    const char *none[] = {"ROLE=front", "HOST=web3"};
    ck_assert_int_eq(ask(rs, "web", 8, NULL, 2, none), TGED_NO_MATCH);
    ck_assert_uint_eq(ngot, 0);
    const char *nofield[] = {"COLOR=red"};
    ck_assert_int_eq(ask(rs, "web", 8, NULL, 1, nofield), TGED_NO_MATCH);
    /* A value of another type's record does not leak across types. */
    const char *port[] = {"PORT=3306"};
    ck_assert_int_eq(ask(rs, "web", 8, NULL, 1, port), TGED_NO_MATCH);
    ck_assert_int_eq(ask(rs, "sql2", 8, NULL, 1, port), TGED_FOUND);
    ck_assert_ptr_nonnull(strstr(got[0], "RQ: sql2"));
    tged_recset_free(rs);
}
END_TEST

START_TEST(unknown_type)
{
    struct tged_recset *rs = sample();
    ck_assert_int_eq(ask(rs, "NOPE", 8, NULL, 0, NULL), TGED_NOT_MINE);
    ck_assert_int_eq(ask(rs, "SQ", 8, NULL, 0, NULL), TGED_NOT_MINE);
    tged_recset_free(rs);
}
END_TEST

START_TEST(max_replies)
{
    struct tged_recset *rs = sample();
    ck_assert_int_eq(ask(rs, "web", 2, NULL, 0, NULL), TGED_FOUND);
    ck_assert_uint_eq(ngot, 2);
    const char *front[] = {"ROLE=front"};
    ck_assert_int_eq(ask(rs, "web", 1, NULL, 1, front), TGED_FOUND);
    ck_assert_uint_eq(ngot, 1);
    tged_recset_free(rs);
}
END_TEST

START_TEST(refuses_bad_records)
{
    struct tged_recset_builder *b = tged_recset_builder_new(NULL);
    const struct tged_field rq[] = {F("RQ", "x")};
    const struct tged_field xt[] = {F("x-tged-sig", "x")};
    const struct tged_field dup[] = {F("HOST", "a"), F("host", "b")};
    const struct tged_field badname[] = {F("HO ST", "a")};
    const struct tged_field badval[] = {F("HOST", "a\r\nRQ: X")};
    const struct tged_field sp[] = {F("HOST", " a")};
    ck_assert_int_eq(add(b, "A", rq, 1), -EINVAL);
    ck_assert_ptr_nonnull(strstr(tged_recset_builder_error(b), "reserved"));
    ck_assert_int_eq(add(b, "A", xt, 1), -EINVAL);
    ck_assert_int_eq(add(b, "A", dup, 2), -EINVAL);
    ck_assert_ptr_nonnull(strstr(tged_recset_builder_error(b), "twice"));
    ck_assert_int_eq(add(b, "A", badname, 1), -EINVAL);
    ck_assert_int_eq(add(b, "A", badval, 1), -EINVAL);
    ck_assert_int_eq(add(b, "A", sp, 1), -EINVAL);
    ck_assert_int_eq(add(b, "A B", sp, 0), -EINVAL);
    ck_assert_int_eq(add(b, "A", rq, 0), -EINVAL);
    tged_recset_builder_free(b);
}
END_TEST

START_TEST(reply_size_limit)
{
    /* 1024 bytes: 157 for the start line, the longest RQ and ID and the
     * end; 867 for the fields. */
    ck_assert_uint_eq(sink_block_limit(1024), 867);
    char v[256];
    memset(v, 'v', 255);
    v[255] = '\0';
    struct tged_field f[4];
    const char *names[] = {"AAAA", "BBBB", "CCCC", "DDDD"};
    for (int i = 0; i < 4; i++)
        f[i] = (struct tged_field){names[i], 4, v, 255};
    struct tged_recset_builder *b = tged_recset_builder_new(NULL);
    /* 3 fields of 4 + 2 + 255 + 2 = 789 bytes fit; 4 (1052) do not. */
    ck_assert_int_eq(add(b, "BIG", f, 3), 0);
    ck_assert_int_eq(add(b, "BIG", f, 4), -E2BIG);
    ck_assert_ptr_nonnull(strstr(tged_recset_builder_error(b), "fit"));
    struct tged_recset *rs = tged_recset_build(b);
    char id[65];
    memset(id, 'i', 64);
    id[64] = '\0';
    char type[64];
    memset(type, 'B', 63);
    type[63] = '\0';
    ck_assert_int_eq(ask(rs, "BIG", 8, id, 0, NULL), TGED_FOUND);
    ck_assert_uint_le(strlen(got[0]), 1024);
    tged_recset_free(rs);
}
END_TEST

START_TEST(large_set_is_indexed)
{
    /* 100 000 records over 10 000 types: every filtered lookup finds its
     * one record, and the index keeps the memory bounded. */
    struct tged_recset_builder *b = tged_recset_builder_new(NULL);
    size_t text = 0;
    for (int i = 0; i < 100000; i++) {
        char type[16], host[16], ip[20];
        snprintf(type, sizeof(type), "T%d", i % 10000);
        snprintf(host, sizeof(host), "host%d", i);
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
                 i & 255);
        struct tged_field f[] = {{"HOST", 4, host, strlen(host)},
                                 {"IP", 2, ip, strlen(ip)},
                                 {"PORT", 4, "80", 2}};
        ck_assert_int_eq(add(b, type, f, 3), 0);
        text += 4 + 2 + strlen(host) + 2 + 2 + 2 + strlen(ip) + 2 + 10;
    }
    struct tged_recset *rs = tged_recset_build(b);
    ck_assert_uint_eq(tged_recset_count(rs), 100000);
    ck_assert_uint_eq(tged_recset_types(rs), 10000);
    for (int i = 0; i < 100000; i += 997) {
        char type[16], flt[32];
        snprintf(type, sizeof(type), "t%d", i % 10000);
        snprintf(flt, sizeof(flt), "HOST=HOST%d", i);
        const char *f[] = {flt};
        ck_assert_int_eq(ask(rs, type, 8, NULL, 1, f), TGED_FOUND);
        ck_assert_uint_eq(ngot, 1);
        ck_assert_int_eq(ask(rs, type, 8, NULL, 0, NULL), TGED_FOUND);
        ck_assert_uint_eq(ngot, 8);
        /* A key shared by the type's ten records: its list keeps the
         * order they were added in. */
        const char *port[] = {"port=80"};
        ck_assert_int_eq(ask(rs, type, 8, NULL, 1, port), TGED_FOUND);
        ck_assert_uint_eq(ngot, 8);
        for (size_t k = 0; k < ngot; k++) {
            char want[32];
            snprintf(want, sizeof(want), "HOST: host%d\r\n",
                     i % 10000 + (int)k * 10000);
            ck_assert_ptr_nonnull(strstr(got[k], want));
        }
    }
    ck_assert_uint_lt(tged_recset_memory(rs), 4 * text);
    tged_recset_free(rs);
}
END_TEST

START_TEST(type_without_records)
{
    struct tged_recset_builder *b = tged_recset_builder_new(NULL);
    const struct tged_field f[] = {F("HOST", "h")};
    ck_assert_int_eq(tged_recset_add_type(b, "EMPTY", 5), 0);
    ck_assert_int_eq(tged_recset_add_type(b, "A", 1), 0);
    ck_assert_int_eq(add(b, "a", f, 1), 0);
    ck_assert_int_eq(tged_recset_add_type(b, "bad type", 8), -EINVAL);
    struct tged_recset *rs = tged_recset_build(b);
    ck_assert_uint_eq(tged_recset_types(rs), 2);
    ck_assert_int_eq(ask(rs, "empty", 8, NULL, 0, NULL), TGED_NO_MATCH);
    const char *flt[] = {"HOST=h"};
    ck_assert_int_eq(ask(rs, "empty", 8, NULL, 1, flt), TGED_NO_MATCH);
    ck_assert_int_eq(ask(rs, "A", 8, NULL, 1, flt), TGED_FOUND);
    /* Named as first declared. */
    ck_assert_ptr_nonnull(strstr(got[0], "RQ: A\r\n"));
    tged_recset_free(rs);
}
END_TEST

START_TEST(errors_do_not_carry_control_bytes)
{
    struct tged_recset_builder *b = tged_recset_builder_new(NULL);
    const struct tged_field f[] = {{"BAD\nNAME", 8, "v", 1}};
    ck_assert_int_eq(tged_recset_add(b, "A\nforged", 9, f, 1), -EINVAL);
    ck_assert_ptr_null(strchr(tged_recset_builder_error(b), '\n'));
    ck_assert_ptr_nonnull(strstr(tged_recset_builder_error(b), "A\\x0aforged"));
    ck_assert_int_eq(tged_recset_add(b, "A", 1, f, 1), -EINVAL);
    ck_assert_ptr_nonnull(strstr(tged_recset_builder_error(b), "BAD\\x0aNAME"));
    tged_recset_builder_free(b);
}
END_TEST

START_TEST(sink_fields_and_match)
{
    struct tged_sink s;
    sink_init(&s, &q, NULL, 0, 8, 1024);
    const struct tged_field ok[] = {F("HOST", "h"), F("N", "1")};
    const struct tged_field bad[] = {F("ID", "h")};
    ck_assert_int_eq(tged_sink_add_fields(&s, "X", 1, ok, 2), 0);
    ck_assert_int_eq(tged_sink_add_fields(&s, "X", 1, bad, 1), -EINVAL);
    ck_assert_int_eq(tged_sink_add_fields(&s, "X Y", 3, ok, 2), -EINVAL);
    collect(&q, NULL);
    ck_assert_uint_eq(ngot, 1);
    ck_assert_str_eq(got[0],
                     "TGED REPLY 1.0\r\nRQ: X\r\nHOST: h\r\nN: 1\r\n\r\n");
    const struct tged_field f1[] = {F("host", "H")};
    struct tged_query qq = {.filters = f1, .nfilters = 1};
    ck_assert_int_eq(tged_query_match(&qq, ok, 2), 1);
    const struct tged_field f2[] = {F("host", "H"), F("N", "2")};
    qq.filters = f2;
    qq.nfilters = 2;
    ck_assert_int_eq(tged_query_match(&qq, ok, 2), 0);
}
END_TEST

START_TEST(invalid_answers)
{
    q.req = 0;
    sink_invalid(&q, "SQL", 3, "7", 1, TGED_REASON_NO_MATCH);
    sink_invalid(&q, NULL, 0, NULL, 0, TGED_REASON_VERSION);
    collect(&q, NULL);
    ck_assert_uint_eq(ngot, 2);
    ck_assert_str_eq(got[0], "TGED INVALID 1.0\r\nRP: INVALID\r\nRQ: SQL\r\n"
                             "ID: 7\r\nREASON: no-match\r\n\r\n");
    ck_assert_str_eq(
        got[1], "TGED INVALID 1.0\r\nRP: INVALID\r\nREASON: version\r\n\r\n");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recset");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, formats_a_reply);
    tcase_add_test(tc, groups_types_keeping_order);
    tcase_add_test(tc, filters);
    tcase_add_test(tc, unknown_type);
    tcase_add_test(tc, max_replies);
    tcase_add_test(tc, refuses_bad_records);
    tcase_add_test(tc, reply_size_limit);
    tcase_add_test(tc, large_set_is_indexed);
    tcase_add_test(tc, sink_fields_and_match);
    tcase_add_test(tc, type_without_records);
    tcase_add_test(tc, errors_do_not_carry_control_bytes);
    tcase_add_test(tc, invalid_answers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
