/* plugins/sql/params.h - named parameters of a query, turned into the
 * placeholders of one SQL dialect.
 * SPDX-License-Identifier: MIT */
#ifndef TGED_SQL_PARAMS_H
#define TGED_SQL_PARAMS_H

#include <stddef.h>

/* How a driver writes a placeholder. */
enum sql_style {
    SQL_STYLE_QMARK,     /* ? once per occurrence (MariaDB, MySQL) */
    SQL_STYLE_QMARK_NUM, /* ?N, N the parameter's number (SQLite) */
    SQL_STYLE_DOLLAR,    /* $N (PostgreSQL) */
};

/* What else a dialect's lexer must know to find literals and comments. */
enum {
    SQL_LEX_BACKSLASH = 1u << 0,    /* '\' escapes inside '...' and "..." */
    SQL_LEX_DOLLAR_QUOTE = 1u << 1, /* $tag$...$tag$, E'...', nested comments */
    SQL_LEX_BACKTICK = 1u << 2,     /* `identifier` */
    SQL_LEX_BRACKET = 1u << 3,      /* [identifier] */
    SQL_LEX_HASH_COMMENT = 1u << 4, /* # to the end of the line */
    SQL_LEX_NO_QMARK = 1u << 5,     /* a bare ? is a native placeholder */
    SQL_LEX_NO_AT_DOLLAR = 1u << 6, /* @name and $name are placeholders */
    SQL_LEX_NO_DOLLAR_NUM = 1u << 7, /* $1 is a native placeholder */
};

/* Distinct named parameters a query may use, and placeholders in all. */
#define SQL_MAX_PARAMS 32
#define SQL_MAX_BINDS 128
/* Longest parameter name (a header name is at most 32 characters). */
#define SQL_MAX_PARAM_NAME 32

struct sql_text {
    char *sql;      /* the query with the dialect's placeholders */
    size_t nparams; /* distinct parameters, in order of first use */
    char names[SQL_MAX_PARAMS][SQL_MAX_PARAM_NAME + 1]; /* lower case */
    /* Placeholders in `sql`, in order; bind[i] is the parameter the i-th
     * takes. For ?N and $N styles there is one per parameter. */
    size_t nbinds;
    unsigned char bind[SQL_MAX_BINDS];
};

/*
 * Find the :name parameters of `text` outside string literals, quoted
 * identifiers and comments, and write the query with placeholders.
 * `::` (a cast) and `:=` are left alone.
 * @return 0, or -EINVAL with "line L, column C: what" in err, or -ENOMEM
 */
int sql_text_parse(const char *text, enum sql_style style, unsigned lex,
                   struct sql_text *out, char *err, size_t errlen);
void sql_text_free(struct sql_text *t);

/* 1 when a request header name (not NUL-terminated) is the parameter
 * `param` (lower case): ASCII case is ignored, and '_' in the parameter
 * also stands for '-' in the header, since SQL names cannot hold '-'. */
int sql_param_is_header(const char *param, const char *name, size_t len);

#endif
