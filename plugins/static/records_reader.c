/* plugins/static/records_reader.c - the records file in one pass.
 *
 * See records_reader.h for the subset and why. The rule here: wherever
 * libconfig 1.5 (Debian 12's) reads a construct otherwise than at face
 * value, or refuses it, the reader gives up rather than copy the quirk.
 * What it relies on, checked against that libconfig:
 *  - tokens are cut as its flex lexer cuts them: a name is
 *    [A-Za-z*][-A-Za-z0-9_*]*, and a name spelled true or false in any
 *    case is a boolean, so not a setting name; "1b" is two tokens, which
 *    the reader does not try to follow;
 *  - a # or // comment needs its newline: at the very end of the file it
 *    is a syntax error;
 *  - a setting's ';' or ',' may be left out; list elements take exactly
 *    one ',' between them, none after the last;
 *  - an integer without L is an int: atoi() wraps 2147483648 to
 *    -2147483648 and strtoul() wraps 0xFFFFFFFF to -1; with L, atoll()
 *    saturates past 64 bits;
 *  - "\x00" is dropped from a string (a NUL byte in later versions); a
 *    backslash before any character but \ " n r t f, or x and two hex
 *    digits, stays a backslash, and the character is read as usual;
 *  - two settings of one name in a group are an error;
 *  - tgedd looks for @include lines before libconfig reads the file, in
 *    comments and strings too.
 *
 * SPDX-License-Identifier: MIT
 */
#include "records_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A larger file is left to libconfig (a record set holds at most 4 GiB
 * of text anyway). */
#define MAX_FILE ((size_t)1 << 31)
#define MAX_FIELDS (TGED_MSG_HEADERS - 2)

struct reader {
    const char *p;   /* the next byte */
    const char *end; /* *end is '\0', and no other byte is */
    struct tged_recset_builder *b;
    struct tged_field f[MAX_FIELDS];
    char num[MAX_FIELDS][24];
    /* The record's strings that are not read as they stand in the text
     * (escapes, pieces side by side), decoded; none is longer than a
     * value may be. */
    char scratch[(MAX_FIELDS + 1) * TGED_MAX_VALUE];
    size_t used;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A byte of a name to libconfig's lexer. */
static int is_name_char(char c)
{
    return is_letter(c) || is_digit(c) || c == '-' || c == '_' || c == '*';
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* What may follow a number: anything else would be read as part of it
 * (1.5, 1e5, 5LLL) or as a token glued to it. */
static int ends_number(char c)
{
    return is_space(c) || c == ';' || c == ',' || c == '}' || c == ')' ||
           c == '#' || c == '/' || c == '\0';
}

/* 1 for true, 0 for false (any case), -1 for another name. */
static int boolean(const char *s, size_t len)
{
    if (len == 4 && (*s | 0x20) == 't' && !strncasecmp(s, "true", 4))
        return 1;
    if (len == 5 && (*s | 0x20) == 'f' && !strncasecmp(s, "false", 5))
        return 0;
    return -1;
}

/* Skip white space and comments; -1 at a comment that libconfig reads
 * otherwise (see above), or never closed. */
static int skip(struct reader *r)
{
    const char *p = r->p;
    for (;;) {
        if (is_space(*p)) {
            p++;
        } else if (*p == '#' || (*p == '/' && p[1] == '/')) {
            const char *nl = memchr(p, '\n', (size_t)(r->end - p));
            if (!nl) {
                r->p = p;
                return -1;
            }
            p = nl + 1;
        } else if (*p == '/' && p[1] == '*') {
            const char *q = p + 2;
            while ((q = memchr(q, '*', (size_t)(r->end - q))) && q[1] != '/')
                q++;
            if (!q) {
                r->p = p;
                return -1;
            }
            p = q + 2;
        } else {
            r->p = p;
            return 0;
        }
    }
}

/* A name token; -1 unless it starts with a letter. */
static int name(struct reader *r, const char **s, size_t *len)
{
    const char *q = r->p;
    if (!is_letter(*q))
        return -1;
    while (is_name_char(*++q))
        ;
    *s = r->p;
    *len = (size_t)(q - r->p);
    r->p = q;
    return 0;
}

/* '=' or ':' between a name and its value, with what surrounds it. */
static int assign(struct reader *r)
{
    if (skip(r) < 0 || (*r->p != '=' && *r->p != ':'))
        return -1;
    r->p++;
    return skip(r);
}

/* What may end a setting: nothing, ';' or ','. */
static int terminator(struct reader *r)
{
    if (skip(r) < 0)
        return -1;
    if (*r->p != ';' && *r->p != ',')
        return 0;
    r->p++;
    return skip(r);
}

/* A string value: "..." tokens side by side. One token without escapes
 * is used where it stands; anything else is decoded into r->scratch. */
static int string(struct reader *r, const char **s, size_t *len)
{
    const char *quote = r->p, *q = quote + 1;
    while (*q != '"' && *q != '\\' && *q)
        q++;
    if (*q == '"') {
        r->p = q + 1;
        if (skip(r) < 0)
            return -1;
        if (*r->p != '"') {
            *s = quote + 1;
            *len = (size_t)(q - quote - 1);
            return 0;
        }
    }
    /* At most TGED_MAX_VALUE bytes: a longer string is refused as a value
     * and as a type anyway. */
    char *out = r->scratch + r->used, *limit = out + TGED_MAX_VALUE;
    *s = out;
    q = quote;
    for (;;) {
        q++; /* the opening quote */
        for (;;) {
            char c = *q;
            if (c == '"')
                break;
            if (c == '\0' || out == limit) {
                r->p = q;
                return -1;
            }
            if (c != '\\') {
                *out++ = c;
                q++;
                continue;
            }
            int hi, lo;
            if ((q[1] == 'x' || q[1] == 'X') && (hi = hex_value(q[2])) >= 0 &&
                (lo = hex_value(q[3])) >= 0) {
                if ((hi | lo) == 0) {
                    r->p = q;
                    return -1;
                }
                *out++ = (char)(hi << 4 | lo);
                q += 4;
                continue;
            }
            switch (q[1]) {
            case '\\':
            case '"':
                c = q[1];
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'f':
                c = '\f';
                break;
            default:
                /* A backslash alone, kept; what follows is read as
                 * usual. */
                *out++ = '\\';
                q++;
                continue;
            }
            *out++ = c;
            q += 2;
        }
        r->p = q + 1;
        if (skip(r) < 0)
            return -1;
        if (*r->p != '"')
            break;
        q = r->p;
    }
    *len = (size_t)(out - *s);
    r->used += *len;
    return 0;
}

/* An integer, formatted into buf as static.c formats the value libconfig
 * keeps ("%lld"); -1 where that value is not the one written. */
static int integer(struct reader *r, char *buf, const char **s, size_t *len)
{
    const char *q = r->p;
    int neg = 0, wide = 0, hex = 0;
    uint64_t v = 0;
    unsigned digits = 0;
    if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
        hex = 1;
        q += 2;
        if (hex_value(*q) < 0)
            return -1;
        while (*q == '0')
            q++;
        for (int h; (h = hex_value(*q)) >= 0; q++) {
            if (++digits > 16)
                return -1;
            v = v << 4 | (unsigned)h;
        }
    } else {
        if (*q == '+' || *q == '-')
            neg = *q++ == '-';
        if (!is_digit(*q))
            return -1;
        while (*q == '0')
            q++;
        for (; is_digit(*q); q++) {
            if (++digits > 18)
                return -1;
            v = v * 10 + (unsigned)(*q - '0');
        }
    }
    if (*q == 'L') {
        wide = 1;
        if (*++q == 'L')
            q++;
    }
    if (!ends_number(*q))
        return -1;
    if (hex && v > (wide ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX))
        return -1;
    if (!hex && !wide && v > (neg ? (uint64_t)INT32_MAX + 1 : INT32_MAX))
        return -1;
    r->p = q;

    char tmp[24];
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (neg && !(n == 1 && tmp[0] == '0'))
        buf[k++] = '-';
    while (n)
        buf[k++] = tmp[--n];
    *s = buf;
    *len = k;
    return 0;
}

/* A field's value: a string, an integer or a boolean. */
static int value(struct reader *r, size_t i)
{
    struct tged_field *f = &r->f[i];
    char c = *r->p;
    if (c == '"')
        return string(r, &f->value, &f->value_len);
    if (is_digit(c) || c == '+' || c == '-')
        return integer(r, r->num[i], &f->value, &f->value_len);
    const char *s;
    size_t len;
    int t;
    if (name(r, &s, &len) < 0 || (t = boolean(s, len)) < 0)
        return -1;
    f->value = t ? "true" : "false";
    f->value_len = t ? 4 : 5;
    return 0;
}

/* fields = { NAME = value; ... }: into r->f, at least one. */
static int fields(struct reader *r, size_t *n)
{
    size_t i = 0;
    r->p++;
    if (skip(r) < 0)
        return -1;
    while (*r->p != '}') {
        struct tged_field *f = &r->f[i];
        if (i == MAX_FIELDS || name(r, &f->name, &f->name_len) < 0 ||
            boolean(f->name, f->name_len) >= 0 || assign(r) < 0 ||
            value(r, i) < 0 || terminator(r) < 0)
            return -1;
        i++;
    }
    r->p++;
    *n = i;
    return i ? 0 : -1;
}

/* { type = "T"; fields = { ... }; }, added to the builder. */
static int record(struct reader *r)
{
    const char *start = r->p;
    const char *type = NULL;
    size_t type_len = 0, n = 0;
    if (*r->p != '{')
        return -1;
    r->p++;
    r->used = 0;
    if (skip(r) < 0)
        return -1;
    while (*r->p != '}') {
        const char *s;
        size_t len;
        if (name(r, &s, &len) < 0 || assign(r) < 0)
            return -1;
        if (len == 4 && !memcmp(s, "type", 4) && !type) {
            if (*r->p != '"' || string(r, &type, &type_len) < 0)
                return -1;
        } else if (len == 6 && !memcmp(s, "fields", 6) && !n) {
            if (*r->p != '{' || fields(r, &n) < 0)
                return -1;
        } else {
            return -1;
        }
        if (terminator(r) < 0)
            return -1;
    }
    if (!type || !n || tged_recset_add(r->b, type, type_len, r->f, n) < 0) {
        r->p = start;
        return -1;
    }
    r->p++;
    return 0;
}

/* The whole file: records = ( ... ); or nothing. */
static int top(struct reader *r)
{
    const char *s;
    size_t len;
    if (skip(r) < 0)
        return -1;
    if (r->p == r->end)
        return 0;
    if (name(r, &s, &len) < 0 || len != 7 || memcmp(s, "records", 7) ||
        assign(r) < 0 || *r->p != '(')
        return -1;
    r->p++;
    if (skip(r) < 0)
        return -1;
    if (*r->p != ')') {
        for (;;) {
            if (record(r) < 0 || skip(r) < 0)
                return -1;
            if (*r->p != ',')
                break;
            r->p++;
            if (skip(r) < 0)
                return -1;
        }
        if (*r->p != ')')
            return -1;
    }
    r->p++;
    if (terminator(r) < 0)
        return -1;
    return r->p == r->end ? 0 : -1;
}

/* "@include" anywhere: tgedd checks such lines itself before libconfig
 * reads the file (conf_check_includes), wherever they are. */
static int mentions_include(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while ((p = memchr(p, '@', (size_t)(end - p)))) {
        if ((size_t)(end - p) >= 8 && !memcmp(p, "@include", 8))
            return 1;
        p++;
    }
    return 0;
}

int static_records_parse(const char *text, size_t len,
                         struct tged_recset_builder *b, unsigned *line)
{
    *line = 0;
    if (memchr(text, '\0', len) || mentions_include(text, len))
        return STATIC_READ_NOT_HANDLED;
    struct reader *r = malloc(sizeof(*r));
    if (!r)
        return STATIC_READ_NOT_HANDLED;
    r->p = text;
    r->end = text + len;
    r->b = b;
    r->used = 0;
    int rc = STATIC_READ_DONE;
    if (top(r) < 0) {
        unsigned n = 1;
        for (const char *p = text; (p = memchr(p, '\n', (size_t)(r->p - p)));
             p++)
            n++;
        *line = n;
        rc = STATIC_READ_NOT_HANDLED;
    }
    free(r);
    return rc;
}

int static_records_read(const char *path, struct tged_recset_builder *b,
                        unsigned *line)
{
    *line = 0;
    /* Not blocking on a FIFO: anything but a regular file is libconfig's
     * to read (and to wait on), as before. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return STATIC_READ_NOT_HANDLED;
    struct stat st;
    char *text = NULL;
    size_t got = 0;
    int rc = STATIC_READ_NOT_HANDLED;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size > MAX_FILE)
        goto out;
    size_t size = (size_t)st.st_size;
    if (!(text = malloc(size + 1)))
        goto out;
    while (got < size) {
        ssize_t n = read(fd, text + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    /* Grown since fstat(): being written, so left to libconfig. */
    char more;
    if (got == size && read(fd, &more, 1) != 0)
        goto out;
    text[got] = '\0';
    rc = static_records_parse(text, got, b, line);
out:
    free(text);
    close(fd);
    return rc;
}
