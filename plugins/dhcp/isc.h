/* plugins/dhcp/isc.h - the statement syntax ISC dhcpd uses for both
 * dhcpd.conf and dhcpd.leases, shared by isc_leases.c and isc_hosts.c.
 * SPDX-License-Identifier: MIT */
#ifndef TGED_DHCP_ISC_H
#define TGED_DHCP_ISC_H

#include "dhcp.h"

/* Tokens kept per statement: every statement read needs at most four;
 * the rest of a longer one is checked and dropped. */
#define ISC_STMT_TOKENS 8
/* Blocks inside blocks: dhcpd.conf nests shared-network, subnet, pool,
 * group and host, far below this. */
#define ISC_MAX_DEPTH 32

enum isc_kind {
    ISC_WORD = 1, /* a name, number, address, date... */
    ISC_STRING,   /* "...": text holds the decoded bytes */
    ISC_PUNCT,    /* ',' or '=' (text holds it) */
};

struct isc_token {
    int kind;
    size_t len;
    char *text; /* NUL-terminated; a string may also hold NULs */
};

/* A statement: the tokens before its ';' or '{'. */
struct isc_stmt {
    int depth;     /* 0 for top level */
    unsigned line; /* of its first token */
    size_t ntok;   /* tokens kept (at most ISC_STMT_TOKENS) */
    struct isc_token tok[ISC_STMT_TOKENS];
};

struct isc_handler {
    /* A statement ended by ';'. */
    void (*statement)(void *ud, const struct isc_stmt *st);
    /* A block opens: st is its header (the tokens before '{'). */
    void (*open)(void *ud, const struct isc_stmt *st);
    /* The block opened at `depth` closes (at `line`). */
    void (*close)(void *ud, int depth, unsigned line);
    void *ud;
};

/* Parse buf as a sequence of statements and blocks, calling h. Comments
 * (#) are dropped and strings decoded. A file that breaks the syntax
 * (unbalanced braces, a cut string, a missing ';' at the end, a token over
 * DHCP_LINE_MAX bytes, a NUL byte, blocks nested deeper than
 * ISC_MAX_DEPTH) is reported with file:line:column and gives -EINVAL; h
 * may have seen part of it, so the caller throws its results away. */
int isc_parse(struct dhcp_diag *d, const char *name, const char *buf,
              size_t len, const struct isc_handler *h);

/* 1 when token i of st is a word or string equal to s (ASCII case
 * ignored, as dhcpd's keywords are). */
int isc_is(const struct isc_stmt *st, size_t i, const char *s);

#endif /* TGED_DHCP_ISC_H */
