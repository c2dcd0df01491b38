/* plugins/sql/params.c - named parameters of a query, turned into the
 * placeholders of one SQL dialect.
 *
 * The query comes from the configuration, but the lexer still has to be
 * exact: a ':x' inside a literal or a comment is text, and a placeholder
 * the driver does not know about would silently bind NULL. So literals,
 * quoted identifiers and comments are skipped as the dialect writes them,
 * and the dialect's own placeholders are refused.
 *
 * SPDX-License-Identifier: MIT
 */
#include "params.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
    const char *s;
    size_t n, i;
    unsigned lex;
    char *out;
    size_t len, cap;
    char *err;
    size_t errlen;
};

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

__attribute__((format(printf, 3, 4))) static int
fail(struct lexer *l, size_t at, const char *fmt, ...)
{
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < at && i < l->n; i++) {
        if (l->s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    int k = snprintf(l->err, l->errlen, "line %u, column %u: ", line, col);
    if (k >= 0 && (size_t)k < l->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->err + k, l->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int emit(struct lexer *l, const char *p, size_t n)
{
    if (l->len + n + 1 > l->cap) {
        size_t cap = (l->cap ? l->cap * 2 : 256) + n;
        char *o = realloc(l->out, cap);
        if (!o)
            return -ENOMEM;
        l->out = o;
        l->cap = cap;
    }
    memcpy(l->out + l->len, p, n);
    l->len += n;
    l->out[l->len] = 0;
    return 0;
}

/* Copy a quoted run that starts at l->i with `q` and ends with an
 * unescaped `close`; a doubled `close` stands for itself. */
static int quoted(struct lexer *l, char close, int backslash)
{
    size_t start = l->i;
    size_t i = l->i + 1;
    for (;;) {
        if (i >= l->n)
            return fail(l, start, "unterminated %s",
                        close == '\'' ? "string literal" : "quoted name");
        char c = l->s[i];
        if (backslash && c == '\\') {
            i += 2;
            continue;
        }
        if (c == close) {
            if (i + 1 < l->n && l->s[i + 1] == close && close != ']') {
                i += 2;
                continue;
            }
            i++;
            break;
        }
        i++;
    }
    if (i > l->n)
        return fail(l, start, "unterminated string literal");
    int rc = emit(l, l->s + start, i - start);
    l->i = i;
    return rc;
}

/* $tag$ ... $tag$ (PostgreSQL); returns 1 when l->i starts one. */
static int dollar_quote(struct lexer *l, int *rc)
{
    size_t start = l->i, j = l->i + 1;
    while (j < l->n && is_ident(l->s[j]) &&
           !(j == start + 1 && l->s[j] >= '0' && l->s[j] <= '9'))
        j++;
    if (j >= l->n || l->s[j] != '$')
        return 0;
    size_t tag = j + 1 - start; /* "$tag$" */
    for (size_t k = j + 1; k + tag <= l->n; k++) {
        if (!memcmp(l->s + k, l->s + start, tag)) {
            *rc = emit(l, l->s + start, k + tag - start);
            l->i = k + tag;
            return 1;
        }
    }
    *rc = fail(l, start, "unterminated dollar-quoted string");
    return 1;
}

static int block_comment(struct lexer *l)
{
    size_t start = l->i, i = l->i + 2;
    int depth = 1;
    int nest = (l->lex & SQL_LEX_DOLLAR_QUOTE) != 0;
    while (depth) {
        if (i + 1 >= l->n)
            return fail(l, start, "unterminated comment");
        if (l->s[i] == '*' && l->s[i + 1] == '/') {
            depth--;
            i += 2;
        } else if (nest && l->s[i] == '/' && l->s[i + 1] == '*') {
            depth++;
            i += 2;
        } else {
            i++;
        }
    }
    int rc = emit(l, l->s + start, i - start);
    l->i = i;
    return rc;
}

static int line_comment(struct lexer *l)
{
    size_t start = l->i, i = l->i;
    while (i < l->n && l->s[i] != '\n')
        i++;
    int rc = emit(l, l->s + start, i - start);
    l->i = i;
    return rc;
}

static int param(struct lexer *l, enum sql_style style, struct sql_text *t)
{
    size_t start = l->i, i = l->i + 1;
    while (i < l->n && is_ident(l->s[i]))
        i++;
    size_t len = i - start - 1;
    if (len > SQL_MAX_PARAM_NAME)
        return fail(l, start, "parameter name longer than %d characters",
                    SQL_MAX_PARAM_NAME);
    char name[SQL_MAX_PARAM_NAME + 1];
    for (size_t k = 0; k < len; k++)
        name[k] = (char)lower(l->s[start + 1 + k]);
    name[len] = 0;
    size_t p;
    for (p = 0; p < t->nparams; p++)
        if (!strcmp(t->names[p], name))
            break;
    if (p == t->nparams) {
        if (t->nparams == SQL_MAX_PARAMS)
            return fail(l, start, "more than %d distinct parameters",
                        SQL_MAX_PARAMS);
        memcpy(t->names[p], name, len + 1);
        t->nparams++;
    }
    char ph[16];
    switch (style) {
    case SQL_STYLE_QMARK:
        if (t->nbinds == SQL_MAX_BINDS)
            return fail(l, start, "more than %d parameters", SQL_MAX_BINDS);
        t->bind[t->nbinds++] = (unsigned char)p;
        snprintf(ph, sizeof(ph), "?");
        break;
    case SQL_STYLE_QMARK_NUM:
        snprintf(ph, sizeof(ph), "?%zu", p + 1);
        break;
    default:
        snprintf(ph, sizeof(ph), "$%zu", p + 1);
        break;
    }
    l->i = i;
    return emit(l, ph, strlen(ph));
}

int sql_text_parse(const char *text, enum sql_style style, unsigned lex,
                   struct sql_text *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    struct lexer l = {
        .s = text, .n = strlen(text), .lex = lex, .err = err, .errlen = errlen};
    int rc = emit(&l, "", 0);
    while (!rc && l.i < l.n) {
        const char *s = l.s;
        size_t i = l.i;
        char c = s[i];
        char next = i + 1 < l.n ? s[i + 1] : 0;
        char prev = i ? s[i - 1] : 0;
        if (c == '\'') {
            /* E'...' takes backslash escapes in PostgreSQL. */
            int e = (lex & SQL_LEX_DOLLAR_QUOTE) &&
                    (prev == 'E' || prev == 'e') &&
                    !(i >= 2 && is_ident(s[i - 2]));
            rc = quoted(&l, '\'', e || (lex & SQL_LEX_BACKSLASH));
        } else if (c == '"') {
            rc = quoted(&l, '"', (lex & SQL_LEX_BACKSLASH) != 0);
        } else if (c == '`' && (lex & SQL_LEX_BACKTICK)) {
            rc = quoted(&l, '`', 0);
        } else if (c == '[' && (lex & SQL_LEX_BRACKET)) {
            rc = quoted(&l, ']', 0);
        } else if (c == '-' && next == '-') {
            rc = line_comment(&l);
        } else if (c == '#' && (lex & SQL_LEX_HASH_COMMENT)) {
            rc = line_comment(&l);
        } else if (c == '/' && next == '*') {
            rc = block_comment(&l);
        } else if (c == '$' && (lex & SQL_LEX_DOLLAR_QUOTE) &&
                   !is_ident(prev) && dollar_quote(&l, &rc)) {
            /* copied */
        } else if (c == ':' && (next == ':' || next == '=')) {
            rc = emit(&l, s + i, 2);
            l.i += 2;
        } else if (c == ':' && is_ident_start(next)) {
            rc = param(&l, style, t);
        } else if (c == '?' && (lex & SQL_LEX_NO_QMARK)) {
            rc = fail(&l, i,
                      "'?' is a placeholder here: write named "
                      "parameters (:rq, :host, ...)");
        } else if ((c == '@' || c == '$') && (lex & SQL_LEX_NO_AT_DOLLAR) &&
                   is_ident_start(next)) {
            rc = fail(&l, i,
                      "'%c%c...' is a placeholder here: write named "
                      "parameters (:rq, :host, ...)",
                      c, next);
        } else if (c == '$' && (lex & SQL_LEX_NO_DOLLAR_NUM) && next >= '0' &&
                   next <= '9' && !is_ident(prev)) {
            rc = fail(&l, i,
                      "'$%c' is a placeholder here: write named "
                      "parameters (:rq, :host, ...)",
                      next);
        } else {
            rc = emit(&l, s + i, 1);
            l.i++;
        }
    }
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc) {
        free(l.out);
        memset(t, 0, sizeof(*t));
        return rc;
    }
    t->sql = l.out;
    if (style != SQL_STYLE_QMARK) {
        t->nbinds = t->nparams;
        for (size_t p = 0; p < t->nparams; p++)
            t->bind[p] = (unsigned char)p;
    }
    return 0;
}

void sql_text_free(struct sql_text *t)
{
    free(t->sql);
    t->sql = NULL;
}

int sql_param_is_header(const char *param, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char p = param[i];
        if (!p)
            return 0;
        char h = (char)lower((unsigned char)name[i]);
        if (p != h && !(p == '_' && h == '-'))
            return 0;
    }
    return param[len] == 0;
}
