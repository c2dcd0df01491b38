/* plugins/sql/test_params.c - unit tests of the query parameter lexer.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

static const unsigned PG = SQL_LEX_DOLLAR_QUOTE | SQL_LEX_NO_DOLLAR_NUM;
static const unsigned MY = SQL_LEX_BACKSLASH | SQL_LEX_BACKTICK |
                           SQL_LEX_HASH_COMMENT | SQL_LEX_NO_QMARK;
static const unsigned LITE = SQL_LEX_BACKTICK | SQL_LEX_BRACKET |
                             SQL_LEX_NO_QMARK | SQL_LEX_NO_AT_DOLLAR;

static struct sql_text T;
static char E[256];

static const char *conv(const char *q, enum sql_style style, unsigned lex)
{
    sql_text_free(&T);
    E[0] = 0;
    int rc = sql_text_parse(q, style, lex, &T, E, sizeof(E));
    ck_assert_msg(rc == 0, "%s: %s", q, E);
    return T.sql;
}

static void refused(const char *q, enum sql_style style, unsigned lex,
                    const char *why)
{
    sql_text_free(&T);
    E[0] = 0;
    ck_assert_int_eq(sql_text_parse(q, style, lex, &T, E, sizeof(E)), -EINVAL);
    ck_assert_msg(strstr(E, why), "%s: got \"%s\", want \"%s\"", q, E, why);
    ck_assert_ptr_null(T.sql);
}

START_TEST(styles)
{
    const char *q = "SELECT a FROM t WHERE rq = :rq AND host = :Host "
                    "AND (:rq IS NULL)";
    ck_assert_str_eq(conv(q, SQL_STYLE_DOLLAR, PG),
                     "SELECT a FROM t WHERE rq = $1 AND host = $2 "
                     "AND ($1 IS NULL)");
    ck_assert_int_eq(T.nparams, 2);
    ck_assert_str_eq(T.names[0], "rq");
    ck_assert_str_eq(T.names[1], "host");
    ck_assert_int_eq(T.nbinds, 2);
    ck_assert_str_eq(conv(q, SQL_STYLE_QMARK_NUM, LITE),
                     "SELECT a FROM t WHERE rq = ?1 AND host = ?2 "
                     "AND (?1 IS NULL)");
    ck_assert_str_eq(conv(q, SQL_STYLE_QMARK, MY),
                     "SELECT a FROM t WHERE rq = ? AND host = ? "
                     "AND (? IS NULL)");
    ck_assert_int_eq(T.nbinds, 3);
    ck_assert_int_eq(T.bind[0], 0);
    ck_assert_int_eq(T.bind[1], 1);
    ck_assert_int_eq(T.bind[2], 0);
}
END_TEST

START_TEST(literals_and_comments_are_text)
{
    ck_assert_str_eq(conv("SELECT ':x', 'it''s :y', \":z\" -- :c\n"
                          "/* :d */ FROM t WHERE a = :a",
                          SQL_STYLE_DOLLAR, PG),
                     "SELECT ':x', 'it''s :y', \":z\" -- :c\n"
                     "/* :d */ FROM t WHERE a = $1");
    ck_assert_int_eq(T.nparams, 1);
    /* Casts and assignments are not parameters. */
    ck_assert_str_eq(
        conv("SELECT :a::text, x::int, @v := 1", SQL_STYLE_DOLLAR, PG),
        "SELECT $1::text, x::int, @v := 1");
    ck_assert_int_eq(T.nparams, 1);
    /* Dollar quotes, E'' escapes and nested comments of PostgreSQL. */
    ck_assert_str_eq(conv("SELECT $$ :a $$, $t$ ' :b $t$, E'\\' :c', "
                          "/* /* :d */ :e */ :f",
                          SQL_STYLE_DOLLAR, PG),
                     "SELECT $$ :a $$, $t$ ' :b $t$, E'\\' :c', "
                     "/* /* :d */ :e */ $1");
    ck_assert_str_eq(T.names[0], "f");
    /* Backslash escapes, backticks and # comments of MariaDB. */
    ck_assert_str_eq(conv("SELECT 'a\\' :x', `:y` # :z\nFROM t WHERE :w",
                          SQL_STYLE_QMARK, MY),
                     "SELECT 'a\\' :x', `:y` # :z\nFROM t WHERE ?");
    ck_assert_str_eq(T.names[0], "w");
    /* SQLite's [quoted names]. */
    ck_assert_str_eq(
        conv("SELECT [a:b] FROM t WHERE x = :x", SQL_STYLE_QMARK_NUM, LITE),
        "SELECT [a:b] FROM t WHERE x = ?1");
}
END_TEST

START_TEST(errors_say_where)
{
    refused("SELECT 'abc", SQL_STYLE_DOLLAR, PG,
            "line 1, column 8: unterminated string literal");
    refused("SELECT 1\nFROM t /* x", SQL_STYLE_DOLLAR, PG,
            "line 2, column 8: unterminated comment");
    refused("SELECT $a$ x", SQL_STYLE_DOLLAR, PG, "unterminated dollar");
    refused("SELECT * FROM t WHERE a = ?", SQL_STYLE_QMARK, MY,
            "column 27: '?' is a placeholder");
    refused("SELECT * FROM t WHERE a = $1", SQL_STYLE_DOLLAR, PG,
            "'$1' is a placeholder");
    refused("SELECT * FROM t WHERE a = @a", SQL_STYLE_QMARK_NUM, LITE,
            "'@a...' is a placeholder");
    refused("SELECT :a23456789012345678901234567890123", SQL_STYLE_DOLLAR, PG,
            "longer than 32");
    /* A ? in PostgreSQL is an operator (jsonb), not a placeholder. */
    conv("SELECT d ? 'k' FROM t", SQL_STYLE_DOLLAR, PG);
}
END_TEST

START_TEST(too_many_parameters)
{
    char q[4096] = "SELECT 1";
    for (int i = 0; i < SQL_MAX_PARAMS; i++)
        sprintf(q + strlen(q), ", :p%d", i);
    conv(q, SQL_STYLE_DOLLAR, PG);
    ck_assert_int_eq(T.nparams, SQL_MAX_PARAMS);
    strcat(q, ", :one_more");
    refused(q, SQL_STYLE_DOLLAR, PG, "more than 32 distinct");
}
END_TEST

START_TEST(header_names)
{
    ck_assert(sql_param_is_header("host", "HOST", 4));
    ck_assert(sql_param_is_header("mac_addr", "Mac-Addr", 8));
    ck_assert(sql_param_is_header("mac_addr", "MAC_ADDR", 8));
    ck_assert(!sql_param_is_header("mac-addr", "MAC_ADDR", 8));
    ck_assert(!sql_param_is_header("host", "HOSTS", 5));
    ck_assert(!sql_param_is_header("hosts", "HOST", 4));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql_params");
    TCase *tc = tcase_create("lexer");
    tcase_add_test(tc, styles);
    tcase_add_test(tc, literals_and_comments_are_text);
    tcase_add_test(tc, errors_say_where);
    tcase_add_test(tc, too_many_parameters);
    tcase_add_test(tc, header_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sql_text_free(&T);
    return failed ? 1 : 0;
}
