/* plugins/env/scheme.c - decode record variables' names, split env-file lines.
 *
 * The grammar is docs/backends/env.md's. It is meant to be read by people
 * as the parser reads it: every "__" separates, "_x" and two hex digits is
 * always an escape, and a bare "_" only ever stands between two other
 * characters of a name. Anything else is refused here with a reason, rather
 * than guessed at.
 *
 * SPDX-License-Identifier: MIT
 */
#include "scheme.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-';
}

#define EXPECTED "expected <TYPE>__<FIELD> or <TYPE>__<N>__<FIELD>"

struct part {
    size_t off, len; /* in buf */
    int bare_last;   /* ends with a bare '_' */
};

int env_name_decode(const char *s, size_t len, char *buf, struct env_name *n,
                    char *err, size_t errlen)
{
    struct part p[3] = {{0}};
    size_t np = 0, o = 0;
    const unsigned char *u = (const unsigned char *)s;

    memset(n, 0, sizeof(*n));
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c == '_' && i + 1 < len && u[i + 1] == '_') {
            if (p[np].len == 0)
                return np == 0 ? fail(err, errlen,
                                      "nothing between the prefix "
                                      "and the first '__': the "
                                      "type is missing")
                               : fail(err, errlen,
                                      "three or more '_' in a row: an '_' next "
                                      "to the '__' separator is written _x5F");
            if (p[np].bare_last)
                /* Not reachable: "__" is taken before a bare '_'. */
                return fail(err, errlen, "'_' before '__'");
            if (np == 2)
                return fail(err, errlen,
                            "more than two '__' separators (" EXPECTED
                            "; an '_' of a name next to another is written "
                            "_x5F)");
            np++;
            p[np].off = o;
            i += 2;
            continue;
        }
        if (c == '_' && i + 3 < len && (u[i + 1] == 'x' || u[i + 1] == 'X') &&
            hexval(u[i + 2]) >= 0 && hexval(u[i + 3]) >= 0) {
            int v = hexval(u[i + 2]) * 16 + hexval(u[i + 3]);
            if (v != '-' && v != '.' && v != '_')
                return fail(err, errlen,
                            "'%.4s' is not one of the escapes _x2D (-), "
                            "_x2E (.) and _x5F (_)",
                            s + i);
            buf[o++] = (char)v;
            p[np].len++;
            p[np].bare_last = 0;
            i += 4;
            continue;
        }
        if (c == '_') {
            if (p[np].len == 0)
                return np == 0 ? fail(err, errlen,
                                      "'_' right after the prefix: write an "
                                      "'_' that starts the type as _x5F")
                               : fail(err, errlen,
                                      "three or more '_' in a row: an '_' "
                                      "next to the '__' separator is written "
                                      "_x5F");
            buf[o++] = '_';
            p[np].len++;
            p[np].bare_last = 1;
            i++;
            continue;
        }
        if (!plain(c)) {
            if (c > 0x20 && c < 0x7f)
                return fail(err, errlen,
                            "'%c' cannot appear in a record variable's name "
                            "(A-Z a-z 0-9 _ . -)",
                            c);
            return fail(err, errlen,
                        "byte 0x%02X cannot appear in a record variable's "
                        "name (A-Z a-z 0-9 _ . -)",
                        c);
        }
        buf[o++] = (char)c;
        p[np].len++;
        p[np].bare_last = 0;
        i++;
    }
    if (np == 0)
        return fail(err, errlen,
                    p[0].len ? "no '__' separator: " EXPECTED
                             : "nothing after the prefix: " EXPECTED);
    if (p[np].len == 0)
        return fail(err, errlen,
                    "nothing after the last '__': the field is missing");
    if (p[np].bare_last)
        return fail(err, errlen,
                    "'_' at the end of the name: write it as _x5F");
    n->type = buf + p[0].off;
    n->type_len = p[0].len;
    n->field = buf + p[np].off;
    n->field_len = p[np].len;
    if (np == 2) {
        const char *d = buf + p[1].off;
        uint32_t v = 0;
        for (size_t i = 0; i < p[1].len; i++) {
            if (d[i] < '0' || d[i] > '9')
                return fail(err, errlen,
                            "'%.*s' between the two '__' is not a record "
                            "number (decimal digits); " EXPECTED,
                            (int)(p[1].len > 40 ? 40 : p[1].len), d);
            if (i >= ENV_MAX_DIGITS)
                return fail(
                    err, errlen, "record number '%.*s' has more than %d digits",
                    (int)(p[1].len > 40 ? 40 : p[1].len), d, ENV_MAX_DIGITS);
            v = v * 10 + (uint32_t)(d[i] - '0');
        }
        n->numbered = 1;
        n->index = v;
        n->digits = (unsigned)p[1].len;
    }
    return 0;
}

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

int env_line_split(const char *line, size_t len, struct env_line *l)
{
    size_t i = 0;
    memset(l, 0, sizeof(*l));
    while (i < len && blank(line[i]))
        i++;
    if (i == len || line[i] == '#' || line[i] == ';')
        return ENV_LINE_EMPTY;
    if (len - i > 6 && memcmp(line + i, "export", 6) == 0 &&
        blank(line[i + 6])) {
        i += 6;
        while (i < len && blank(line[i]))
            i++;
    }
    l->name = line + i;
    while (i < len && line[i] != '=' && !blank(line[i]))
        i++;
    l->name_len = (size_t)(line + i - l->name);
    if (i < len && line[i] == '=') {
        l->rest = line + i + 1;
        l->rest_len = len - i - 1;
        return ENV_LINE_ASSIGN;
    }
    while (i < len && blank(line[i]))
        i++;
    if (i < len && line[i] == '=')
        return ENV_LINE_SPACE_EQUALS;
    return ENV_LINE_NO_EQUALS;
}

int env_value_parse(const char *rest, size_t len, const char **value,
                    size_t *value_len, char *err, size_t errlen)
{
    size_t a = 0, b = len;
    while (a < b && blank(rest[a]))
        a++;
    while (b > a && blank(rest[b - 1]))
        b--;
    *value = rest + a;
    *value_len = 0;
    if (a == b)
        return 0;
    char q = rest[a];
    if (q == '\'' || q == '"') {
        const char *close = memchr(rest + a + 1, q, b - a - 1);
        if (!close)
            return fail(err, errlen, "no closing %c", q);
        if (close != rest + b - 1)
            return fail(err, errlen,
                        "text after the closing %c (a quoted value ends the "
                        "line; a %c inside is written in the other kind of "
                        "quotes)",
                        q, q);
        if (q == '"' && memchr(rest + a + 1, '\\', b - a - 2))
            return fail(err, errlen,
                        "'\\' inside double quotes: systemd reads it as an "
                        "escape, tged takes values as written; use single "
                        "quotes");
        *value = rest + a + 1;
        *value_len = b - a - 2;
        return 0;
    }
    for (size_t i = a; i < b; i++) {
        if (rest[i] == '\\')
            return fail(err, errlen,
                        "'\\' outside single quotes: systemd reads it as an "
                        "escape, tged takes values as written; put the value "
                        "in single quotes");
        if (rest[i] == '"' || rest[i] == '\'')
            return fail(err, errlen,
                        "%c inside an unquoted value: quote the whole value "
                        "with the other kind of quotes",
                        rest[i]);
        if (rest[i] == '#' && i > 0 && blank(rest[i - 1]))
            return fail(err, errlen,
                        "'#' after white space: some tools take it as a "
                        "comment; write comments on lines of their own, or "
                        "quote the value");
    }
    *value_len = b - a;
    return 0;
}
