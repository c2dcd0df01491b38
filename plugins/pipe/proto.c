/* plugins/pipe/proto.c - the pipe line protocol: requests out, lines in.
 * SPDX-License-Identifier: MIT */
#include "proto.h"

#include <stdio.h>
#include <string.h>

static int starts(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && !memcmp(s, word, n);
}

int pipe_parse_hello(const char *line, size_t len, const char **arg,
                     size_t *arg_len)
{
    *arg = line + len;
    *arg_len = 0;
    if (len == 5 && !memcmp(line, "ERROR", 5))
        return PIPE_HELLO_ERROR;
    if (starts(line, len, "ERROR ")) {
        *arg = line + 6;
        *arg_len = len - 6;
        return PIPE_HELLO_ERROR;
    }
    /* A version is a number: "OK 1\r" is no version, but a line ending
     * that is not the protocol's. */
    if (!starts(line, len, "OK ") || len == 3 || len > 12)
        return PIPE_HELLO_BAD;
    for (size_t i = 3; i < len; i++)
        if (line[i] < '0' || line[i] > '9')
            return PIPE_HELLO_BAD;
    *arg = line + 3;
    *arg_len = len - 3;
    return len == 4 && line[3] == '0' + PIPE_PROTOCOL ? PIPE_HELLO_OK
                                                      : PIPE_HELLO_VERSION;
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Names compared as they are sent: in upper case. */
static int name_cmp(const struct tged_field *a, const struct tged_field *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)upper(a->name[i]);
        unsigned char y = (unsigned char)upper(b->name[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

size_t pipe_format_key(char *buf, size_t cap, const struct tged_query *q)
{
    size_t n = q->nfilters;
    if (n > TGED_MAX_REQUEST_HEADERS)
        return 0;
    /* Sorted, so that one question asked with its filters in another
     * order is one cache key, and a program sees a stable order. */
    const struct tged_field *order[TGED_MAX_REQUEST_HEADERS];
    for (size_t i = 0; i < n; i++) {
        const struct tged_field *f = &q->filters[i];
        size_t j = i;
        for (; j > 0 && name_cmp(order[j - 1], f) > 0; j--)
            order[j] = order[j - 1];
        order[j] = f;
    }
    size_t at = 0;
    if (q->type_len + 1 > cap)
        return 0;
    for (size_t i = 0; i < q->type_len; i++)
        buf[at++] = upper(q->type[i]);
    buf[at++] = '\n';
    for (size_t i = 0; i < n; i++) {
        const struct tged_field *f = order[i];
        if (at + 2 + f->name_len + 1 + f->value_len + 1 > cap)
            return 0;
        buf[at++] = 'F';
        buf[at++] = ' ';
        for (size_t k = 0; k < f->name_len; k++)
            buf[at++] = upper(f->name[k]);
        buf[at++] = ' ';
        memcpy(buf + at, f->value, f->value_len);
        at += f->value_len;
        buf[at++] = '\n';
    }
    if (at + 1 > cap)
        return 0;
    buf[at++] = '\n';
    return at;
}

size_t pipe_format_prefix(char *buf, uint64_t id)
{
    return (size_t)snprintf(buf, 24, "Q %llu ", (unsigned long long)id);
}

/* A decimal id of 1 to 20 digits that fits 64 bits. */
static const char *parse_id(const char *s, size_t len, uint64_t *id)
{
    if (len == 0 || len > 20)
        return "the id must be a decimal number";
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return "the id must be a decimal number";
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return "the id is too large";
        v = v * 10 + d;
    }
    *id = v;
    return NULL;
}

static const struct {
    const char *word;
    int status;
} statuses[] = {
    {"found", TGED_FOUND},
    {"no-match", TGED_NO_MATCH},
    {"not-mine", TGED_NOT_MINE},
    {"failed", TGED_FAILED},
};

const char *pipe_status_name(int status)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (statuses[i].status == status)
            return statuses[i].word;
    return "?";
}

static const char *parse_field(const char *s, size_t len, struct pipe_line *out)
{
    const char *sp = memchr(s, ' ', len);
    size_t nl = sp ? (size_t)(sp - s) : len;
    if (nl == 0)
        return "F must be followed by one space and a field name";
    if (!tged_name_valid(s, nl))
        return "the field name is not valid (1 to 32 of A-Z a-z 0-9 - _)";
    if (tged_name_reserved(s, nl))
        return "the field name is reserved (RQ, ID, RP, REASON, SVR, AUTH, "
               "X-TGED-*)";
    const char *v = sp ? sp + 1 : s + len;
    size_t vl = sp ? len - nl - 1 : 0;
    if (vl > TGED_MAX_VALUE)
        return "the value is longer than 255 bytes";
    if (!tged_value_valid(v, vl))
        return "the value starts or ends with a space or tab";
    out->kind = PIPE_LINE_FIELD;
    out->field = (struct tged_field){s, nl, v, vl};
    return NULL;
}

const char *pipe_parse_line(const char *line, size_t len, struct pipe_line *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\r')
            return "it holds a carriage return (lines end with LF alone)";
        if (c == 0)
            return "it holds a NUL byte";
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return "it holds a control byte";
    }
    if (starts(line, len, "F "))
        return parse_field(line + 2, len - 2, out);
    if (starts(line, len, "R ")) {
        out->kind = PIPE_LINE_RECORD;
        return parse_id(line + 2, len - 2, &out->id);
    }
    if (starts(line, len, "END ")) {
        const char *s = line + 4;
        size_t rest = len - 4;
        const char *sp = memchr(s, ' ', rest);
        if (!sp)
            return "END must be followed by the id and a status";
        const char *err = parse_id(s, (size_t)(sp - s), &out->id);
        if (err)
            return err;
        const char *w = sp + 1;
        size_t wl = rest - (size_t)(sp - s) - 1;
        for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
            if (wl == strlen(statuses[i].word) &&
                !memcmp(w, statuses[i].word, wl)) {
                out->kind = PIPE_LINE_END;
                out->status = statuses[i].status;
                return NULL;
            }
        return "the status must be found, no-match, not-mine or failed";
    }
    if (len == 0)
        return "an empty line (an answer is R, F and END lines)";
    return "not an answer line (R <id>, F <NAME> <value> or END <id> "
           "<status>)";
}

char *pipe_escape(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (cap == 0)
        return out;
    /* cut: the last place, between two escapes, where "..." still fits. */
    size_t at = 0, cut = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[4];
        size_t n;
        if (c == '\\') {
            tmp[0] = tmp[1] = '\\';
            n = 2;
        } else if (c >= 0x20 && c < 0x7f) {
            tmp[0] = (char)c;
            n = 1;
        } else {
            tmp[0] = '\\';
            tmp[1] = 'x';
            tmp[2] = hex[c >> 4];
            tmp[3] = hex[c & 15];
            n = 4;
        }
        if (at + n + 1 > cap) {
            at = cut;
            if (cap >= 4) {
                memcpy(out + at, "...", 3);
                at += 3;
            }
            break;
        }
        memcpy(out + at, tmp, n);
        at += n;
        if (at + 4 <= cap)
            cut = at;
    }
    out[at] = '\0';
    return out;
}
