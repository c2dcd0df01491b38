/* plugins/dhcp/isc_lex.c - tokens, statements and blocks of dhcpd.conf and
 * dhcpd.leases, with the syntax errors that make a file unreadable.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "isc.h"

enum {
    T_ERROR = -1,
    T_EOF = 0,
    /* ISC_WORD, ISC_STRING, ISC_PUNCT from isc.h */
    T_SEMI = 10,
    T_OPEN,
    T_CLOSE,
};

struct lexer {
    struct dhcp_diag *d;
    const char *name;
    const char *p, *end;
    const char *line_start;
    unsigned line;
    unsigned tok_line, tok_col; /* where the last token started */
};

static unsigned column(const struct lexer *lx, const char *at)
{
    return (unsigned)(at - lx->line_start) + 1;
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static int is_special(int c)
{
    return c == ';' || c == '{' || c == '}' || c == '"' || c == ',' ||
           c == '=' || c == '#' || is_space(c);
}

static void newline(struct lexer *lx, const char *after)
{
    lx->line++;
    lx->line_start = after;
}

static int octal(int c)
{
    return c >= '0' && c <= '7' ? c - '0' : -1;
}

static int hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A quoted string, decoded as dhcpd does: \t \r \n \b, \ooo octal, \xhh
 * hex, any other escaped byte as itself. lx->p is past the '"'. */
static int read_string(struct lexer *lx, char *out, size_t *len)
{
    size_t n = 0;
    while (lx->p < lx->end) {
        const char *at = lx->p;
        int c = (unsigned char)*lx->p++;
        if (c == '"') {
            out[n] = '\0';
            *len = n;
            return ISC_STRING;
        }
        if (c == '\n')
            newline(lx, lx->p);
        if (c == '\\' && lx->p < lx->end) {
            c = (unsigned char)*lx->p++;
            if (c == 't')
                c = '\t';
            else if (c == 'r')
                c = '\r';
            else if (c == 'n')
                c = '\n';
            else if (c == 'b')
                c = '\b';
            else if (octal(c) >= 0) {
                int v = octal(c);
                for (int k = 0; k < 2 && lx->p < lx->end &&
                                octal((unsigned char)*lx->p) >= 0;
                     k++)
                    v = v * 8 + octal((unsigned char)*lx->p++);
                c = v & 0xff;
            } else if (c == 'x' && lx->p < lx->end &&
                       hex((unsigned char)*lx->p) >= 0) {
                int v = hex((unsigned char)*lx->p++);
                if (lx->p < lx->end && hex((unsigned char)*lx->p) >= 0)
                    v = v * 16 + hex((unsigned char)*lx->p++);
                c = v;
            } else if (c == '\n') {
                newline(lx, lx->p);
            }
        }
        if (n == DHCP_LINE_MAX) {
            dhcp_report_at(lx->d, LOG_ERR, lx->name, lx->line, column(lx, at),
                           "string longer than %u bytes (it started at "
                           "line %u, column %u)",
                           DHCP_LINE_MAX, lx->tok_line, lx->tok_col);
            return T_ERROR;
        }
        out[n++] = (char)c;
    }
    dhcp_report_at(lx->d, LOG_ERR, lx->name, lx->tok_line, lx->tok_col,
                   "string not closed: the file ends inside it (cut short?)");
    return T_ERROR;
}

/* The next token; word and string text goes to out (DHCP_LINE_MAX + 1
 * bytes). */
static int next_token(struct lexer *lx, char *out, size_t *len)
{
    for (;;) {
        while (lx->p < lx->end && is_space((unsigned char)*lx->p)) {
            if (*lx->p++ == '\n')
                newline(lx, lx->p);
        }
        if (lx->p < lx->end && *lx->p == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
            continue;
        }
        break;
    }
    *len = 0;
    if (lx->p >= lx->end)
        return T_EOF;
    lx->tok_line = lx->line;
    lx->tok_col = column(lx, lx->p);
    int c = (unsigned char)*lx->p++;
    switch (c) {
    case ';':
        return T_SEMI;
    case '{':
        return T_OPEN;
    case '}':
        return T_CLOSE;
    case ',':
    case '=':
        out[0] = (char)c;
        out[1] = '\0';
        *len = 1;
        return ISC_PUNCT;
    case '"':
        return read_string(lx, out, len);
    }
    const char *start = lx->p - 1;
    while (lx->p < lx->end && !is_special((unsigned char)*lx->p))
        lx->p++;
    size_t n = (size_t)(lx->p - start);
    if (n > DHCP_LINE_MAX) {
        dhcp_report_at(lx->d, LOG_ERR, lx->name, lx->tok_line, lx->tok_col,
                       "word longer than %u bytes", DHCP_LINE_MAX);
        return T_ERROR;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = start[i];
    out[n] = '\0';
    *len = n;
    return ISC_WORD;
}

/* What the statement being read began with, fit for a message. */
static const char *first_word(const struct isc_stmt *st, char *buf, size_t len)
{
    return st->ntok ? dhcp_shown(st->tok[0].text, st->tok[0].len, buf, len)
                    : "";
}

int isc_parse(struct dhcp_diag *d, const char *name, const char *buf,
              size_t len, const struct isc_handler *h)
{
    unsigned nul = dhcp_nul_line(buf, len);
    if (nul) {
        dhcp_report(d, LOG_ERR, name, nul,
                    "holds a NUL byte: not a text file (damaged?)");
        return -EINVAL;
    }
    /* One buffer per kept token and one for the tokens dropped. */
    char *store = malloc((ISC_STMT_TOKENS + 1) * (size_t)(DHCP_LINE_MAX + 1));
    if (!store) {
        dhcp_report(d, LOG_ERR, name, 0, "out of memory");
        return -ENOMEM;
    }
    struct lexer lx = {.d = d,
                       .name = name,
                       .p = buf,
                       .end = buf + len,
                       .line_start = buf,
                       .line = 1};
    struct isc_stmt st = {0};
    unsigned opened[ISC_MAX_DEPTH];
    int depth = 0, rc = 0;
    size_t extra = 0; /* tokens beyond ISC_STMT_TOKENS */
    char shown[DHCP_SHOWN];
    for (;;) {
        char *slot =
            store + (st.ntok < ISC_STMT_TOKENS ? st.ntok : ISC_STMT_TOKENS) *
                        (size_t)(DHCP_LINE_MAX + 1);
        size_t n;
        int kind = next_token(&lx, slot, &n);
        if (kind == T_ERROR) {
            rc = -EINVAL;
            break;
        }
        if (kind == T_EOF) {
            if (st.ntok) {
                dhcp_report(d, LOG_ERR, name, st.line,
                            "the file ends inside the statement '%s' "
                            "(';' missing: cut short?)",
                            first_word(&st, shown, sizeof(shown)));
                rc = -EINVAL;
            } else if (depth) {
                dhcp_report(d, LOG_ERR, name, opened[depth - 1],
                            "the block opened here is not closed: the file "
                            "ends first ('}' missing: cut short?)");
                rc = -EINVAL;
            }
            break;
        }
        if (kind == T_SEMI || kind == T_OPEN || kind == T_CLOSE) {
            if (kind == T_SEMI && st.ntok) {
                h->statement(h->ud, &st);
            } else if (kind == T_OPEN) {
                if (depth == ISC_MAX_DEPTH) {
                    dhcp_report_at(d, LOG_ERR, name, lx.tok_line, lx.tok_col,
                                   "blocks nested deeper than %d",
                                   ISC_MAX_DEPTH);
                    rc = -EINVAL;
                    break;
                }
                if (!st.ntok)
                    st.line = lx.tok_line;
                h->open(h->ud, &st);
                opened[depth++] = st.line;
            } else if (kind == T_CLOSE) {
                if (st.ntok) {
                    dhcp_report(d, LOG_ERR, name, st.line,
                                "';' missing at the end of the statement "
                                "'%s' (before the '}' of line %u)",
                                first_word(&st, shown, sizeof(shown)),
                                lx.tok_line);
                    rc = -EINVAL;
                    break;
                }
                if (!depth) {
                    dhcp_report_at(d, LOG_ERR, name, lx.tok_line, lx.tok_col,
                                   "'}' closes no block");
                    rc = -EINVAL;
                    break;
                }
                depth--;
                h->close(h->ud, depth, lx.tok_line);
            }
            st.ntok = 0;
            st.depth = depth;
            extra = 0;
            continue;
        }
        if (!st.ntok && !extra)
            st.line = lx.tok_line;
        if (st.ntok < ISC_STMT_TOKENS)
            st.tok[st.ntok++] =
                (struct isc_token){.kind = kind, .len = n, .text = slot};
        else
            extra++;
    }
    free(store);
    return rc;
}

int isc_is(const struct isc_stmt *st, size_t i, const char *s)
{
    return i < st->ntok && st->tok[i].kind != ISC_PUNCT &&
           st->tok[i].len == strlen(s) && !strcasecmp(st->tok[i].text, s);
}
