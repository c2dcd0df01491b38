/* plugins/env/test_env_scheme.c - unit tests of the env backend's grammar.
 *
 * Each name is decoded from an exact-size heap copy, so AddressSanitizer
 * catches a read past its end. The round-trip test encodes every type and
 * field made of a small alphabet the way docs/backends/env.md says, and
 * checks that decoding gives them back.
 *
 * SPDX-License-Identifier: MIT
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

static struct env_name N;
static char Buf[2048];
static char Err[256];

static int decode(const char *s)
{
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, s, len);
    Err[0] = '\0';
    int rc = env_name_decode(copy, len, Buf, &N, Err, sizeof(Err));
    free(copy);
    return rc;
}

static void expect(const char *s, const char *type, long index,
                   const char *field)
{
    ck_assert_msg(decode(s) == 0, "%s: %s", s, Err);
    ck_assert_msg(
        N.type_len == strlen(type) && memcmp(N.type, type, N.type_len) == 0,
        "%s: type '%.*s', expected '%s'", s, (int)N.type_len, N.type, type);
    ck_assert_msg(N.field_len == strlen(field) &&
                      memcmp(N.field, field, N.field_len) == 0,
                  "%s: field '%.*s', expected '%s'", s, (int)N.field_len,
                  N.field, field);
    if (index < 0) {
        ck_assert_msg(!N.numbered, "%s: numbered", s);
    } else {
        ck_assert_msg(N.numbered, "%s: not numbered", s);
        ck_assert_uint_eq(N.index, (unsigned long)index);
    }
}

static void refuse(const char *s, const char *why)
{
    ck_assert_msg(decode(s) == -EINVAL, "%s: accepted", s);
    ck_assert_msg(strstr(Err, why), "%s: '%s' does not say '%s'", s, Err, why);
}

START_TEST(names_plain)
{
    expect("SQL__HOST", "SQL", -1, "HOST");
    expect("sql__host", "sql", -1, "host");
    expect("MY_APP__DB_HOST", "MY_APP", -1, "DB_HOST");
    expect("WEB__1__HOST", "WEB", 1, "HOST");
    expect("WEB__0__HOST", "WEB", 0, "HOST");
    expect("WEB__007__IP", "WEB", 7, "IP");
    ck_assert_uint_eq(N.digits, 3);
    expect("WEB__999999999__IP", "WEB", 999999999, "IP");
    expect("1__2", "1", -1, "2");
    expect("1__2__3", "1", 2, "3");
    expect("A_B_C__D_E", "A_B_C", -1, "D_E");
}
END_TEST

START_TEST(names_escaped)
{
    expect("PRINTER_x2EIPP__HOST", "PRINTER.IPP", -1, "HOST");
    expect("DB_x2DPRIMARY__HOST", "DB-PRIMARY", -1, "HOST");
    expect("DB_X2dPRIMARY__HOST", "DB-PRIMARY", -1, "HOST");
    expect("SQL__MAC_x2DADDR", "SQL", -1, "MAC-ADDR");
    expect("_x5FIPP_x2E_x5FTCP__PORT", "_IPP._TCP", -1, "PORT");
    expect("A_x5F__B", "A_", -1, "B");
    expect("A___x5FB", "A", -1, "_B");
    expect("A_x5F_B__C", "A__B", -1, "C");
    expect("A__1__B_x5F", "A", 1, "B_");
    expect("A_x2E__B", "A.", -1, "B");
    /* An '_x' not followed by two hex digits is itself. */
    expect("MY_XBOX__HOST", "MY_XBOX", -1, "HOST");
    expect("A_x2__B", "A_x2", -1, "B");
    /* Literal '.' and '-', where the environment allows them. */
    expect("printer.ipp__HOST", "printer.ipp", -1, "HOST");
    expect("db-primary__2__MAC-ADDR", "db-primary", 2, "MAC-ADDR");
}
END_TEST

START_TEST(names_refused)
{
    refuse("", "nothing after the prefix");
    refuse("SQL", "no '__' separator");
    refuse("SQL_HOST", "no '__' separator");
    refuse("__HOST", "the type is missing");
    refuse("SQL__", "the field is missing");
    refuse("SQL__1__", "the field is missing");
    refuse("A___B", "three or more '_' in a row");
    refuse("A____B", "three or more '_' in a row");
    refuse("A__1___B", "three or more '_' in a row");
    refuse("_A__B", "right after the prefix");
    refuse("A__B_", "at the end of the name");
    refuse("A__B__C", "not a record number");
    refuse("A__1x__C", "not a record number");
    refuse("A__-1__C", "not a record number");
    refuse("A__1_x2E5__C", "not a record number");
    refuse("A__1234567890__C", "more than 9 digits");
    refuse("A__1__B__C", "more than two '__'");
    refuse("A_x41__B", "not one of the escapes");
    refuse("A_x2F__B", "not one of the escapes");
    refuse("A:B__C", "':' cannot appear");
    refuse("A B__C", "byte 0x20 cannot appear");
    refuse("A\xc3\xa9__C", "byte 0xC3 cannot appear");
}
END_TEST

/* "A_xZZ9" decodes (it is not an escape): the refusal above is of the
 * bare "_x" only when it cannot be one. Check that case separately. */
START_TEST(names_not_escapes)
{
    expect("A_xZZ9__B", "A_xZZ9", -1, "B");
}
END_TEST

/* Encode a name as the documentation says: '.', '-' and any '_' that is
 * not between two other characters, or that touches an escape, as
 * escapes. */
static void encode(const char *s, char *out)
{
    size_t n = strlen(s);
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int edge = i == 0 || i + 1 == n || s[i - 1] == '_' || s[i + 1] == '_' ||
                   s[i - 1] == '.' || s[i - 1] == '-' || s[i + 1] == '.' ||
                   s[i + 1] == '-' || (s[i + 1] == 'x' || s[i + 1] == 'X');
        if (c == '.')
            o += sprintf(o, "_x2E");
        else if (c == '-')
            o += sprintf(o, "_x2D");
        else if (c == '_' && edge)
            o += sprintf(o, "_x5F");
        else
            *o++ = c;
    }
    *o = '\0';
}

START_TEST(round_trip)
{
    static const char alpha[] = {'A', 'x', '1', '.', '-', '_'};
    char type[8], field[8], enc_t[64], enc_f[64], var[160];
    /* Every string of length 1 to 4 over alpha, as type and as field. */
    for (int len = 1; len <= 4; len++) {
        int total = 1;
        for (int i = 0; i < len; i++)
            total *= 6;
        for (int k = 0; k < total; k++) {
            int v = k;
            for (int i = 0; i < len; i++, v /= 6)
                type[i] = alpha[v % 6];
            type[len] = '\0';
            snprintf(field, sizeof(field), "%s", type);
            encode(type, enc_t);
            encode(field, enc_f);
            snprintf(var, sizeof(var), "%s__%s", enc_t, enc_f);
            expect(var, type, -1, field);
            snprintf(var, sizeof(var), "%s__12__%s", enc_t, enc_f);
            expect(var, type, 12, field);
        }
    }
}
END_TEST

static int split(const char *line, struct env_line *l)
{
    return env_line_split(line, strlen(line), l);
}

static int name_is(const struct env_line *l, const char *name)
{
    return l->name_len == strlen(name) &&
           memcmp(l->name, name, l->name_len) == 0;
}

START_TEST(lines)
{
    struct env_line l;
    ck_assert_int_eq(split("", &l), ENV_LINE_EMPTY);
    ck_assert_int_eq(split("   \t ", &l), ENV_LINE_EMPTY);
    ck_assert_int_eq(split("# TGED_A__B=1", &l), ENV_LINE_EMPTY);
    ck_assert_int_eq(split("  ; TGED_A__B=1", &l), ENV_LINE_EMPTY);
    ck_assert_int_eq(split("TGED_A__B=1", &l), ENV_LINE_ASSIGN);
    ck_assert(name_is(&l, "TGED_A__B"));
    ck_assert_uint_eq(l.rest_len, 1);
    ck_assert_int_eq(split("  export \t TGED_A__B= x ", &l), ENV_LINE_ASSIGN);
    ck_assert(name_is(&l, "TGED_A__B"));
    ck_assert_uint_eq(l.rest_len, 3);
    ck_assert_int_eq(split("export=1", &l), ENV_LINE_ASSIGN);
    ck_assert(name_is(&l, "export"));
    ck_assert_int_eq(split("exportTGED_A__B=1", &l), ENV_LINE_ASSIGN);
    ck_assert(name_is(&l, "exportTGED_A__B"));
    ck_assert_int_eq(split("TGED_A__B", &l), ENV_LINE_NO_EQUALS);
    ck_assert_int_eq(split("TGED_A__B x=1", &l), ENV_LINE_NO_EQUALS);
    ck_assert_int_eq(split("TGED_A__B =1", &l), ENV_LINE_SPACE_EQUALS);
    ck_assert(name_is(&l, "TGED_A__B"));
    ck_assert_int_eq(split("=1", &l), ENV_LINE_ASSIGN);
    ck_assert_uint_eq(l.name_len, 0);
}
END_TEST

static const char *V;
static size_t VL;

static int value(const char *rest)
{
    Err[0] = '\0';
    return env_value_parse(rest, strlen(rest), &V, &VL, Err, sizeof(Err));
}

static void value_is(const char *rest, const char *want)
{
    ck_assert_msg(value(rest) == 0, "%s: %s", rest, Err);
    ck_assert_msg(VL == strlen(want) && memcmp(V, want, VL) == 0,
                  "[%s] gave [%.*s], expected [%s]", rest, (int)VL, V, want);
}

static void value_refused(const char *rest, const char *why)
{
    ck_assert_msg(value(rest) == -EINVAL, "[%s] accepted", rest);
    ck_assert_msg(strstr(Err, why), "[%s]: '%s' does not say '%s'", rest, Err,
                  why);
}

START_TEST(values)
{
    value_is("", "");
    value_is("   ", "");
    value_is("db1", "db1");
    value_is("  db1 \t", "db1");
    value_is("a b  c", "a b  c");
    value_is("a#b", "a#b");
    value_is("#b", "#b");
    value_is("$HOME", "$HOME");
    value_is("'x'", "x");
    value_is("\"x\"", "x");
    value_is("  ' a b ' ", " a b ");
    value_is("''", "");
    value_is("\"\"", "");
    value_is("\"it's\"", "it's");
    value_is("'say \"hi\"'", "say \"hi\"");
    value_is("'C:\\dir'", "C:\\dir");
    value_is("\"a # b\"", "a # b");
    value_refused("'x", "no closing '");
    value_refused("\"", "no closing \"");
    value_refused("'x'y", "text after the closing '");
    value_refused("'it's'", "text after the closing '");
    value_refused("\"a\\\"b\"", "text after the closing \"");
    value_refused("\"C:\\dir\"", "inside double quotes");
    value_refused("C:\\dir", "outside single quotes");
    value_refused("line\\", "outside single quotes");
    value_refused("it's", "inside an unquoted value");
    value_refused("a\"b", "inside an unquoted value");
    value_refused("db1 # the primary", "'#' after white space");
    value_refused(" # nothing", "'#' after white space");
}
END_TEST

static Suite *scheme_suite(void)
{
    Suite *s = suite_create("env_scheme");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, names_plain);
    tcase_add_test(tc, names_escaped);
    tcase_add_test(tc, names_refused);
    tcase_add_test(tc, names_not_escapes);
    tcase_add_test(tc, round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("file lines");
    tcase_add_test(tc, lines);
    tcase_add_test(tc, values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scheme_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
