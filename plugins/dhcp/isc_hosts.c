/* plugins/dhcp/isc_hosts.c - reservations: the host declarations of an ISC
 * dhcpd.conf.
 *
 *     host mypc { hardware ethernet 00:11:22:33:44:55; fixed-address
 *                 192.168.0.5; option host-name "mypc"; }
 *
 * Host blocks are found at any depth (inside subnet, shared-network,
 * group, pool). HOST is `option host-name` when given, else the
 * declaration's name; IP the first fixed-address written as an IPv4
 * address (a DNS name there is not resolved). Every other statement, and
 * `include` (not followed), is skipped.
 *
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "isc.h"

struct reader {
    struct dhcp_diag *d;
    const char *name;
    struct dhcp_list *out;
    int rc;
    int host_depth; /* depth of the open host block, -1: none */
    struct dhcp_lease cur;
    char decl[DHCP_HOST_MAX]; /* the declaration's name */
    size_t decl_len;
    char opt[DHCP_HOST_MAX]; /* option host-name */
    size_t opt_len;
};

static void set_name(struct reader *r, const struct isc_token *t, unsigned line,
                     const char *what, char *dst, size_t *dst_len)
{
    char shown[DHCP_SHOWN];
    *dst_len = 0;
    if (t->kind == ISC_PUNCT || t->len == 0)
        return;
    if (!dhcp_host_valid(t->text, t->len)) {
        dhcp_report(r->d, LOG_WARNING, r->name, line,
                    "%s '%s' cannot be served as HOST (control characters, "
                    "white space at an end, or over %d bytes)",
                    what, dhcp_shown(t->text, t->len, shown, sizeof(shown)),
                    DHCP_HOST_MAX);
        return;
    }
    memcpy(dst, t->text, t->len);
    *dst_len = t->len;
}

static void host_statement(struct reader *r, const struct isc_stmt *st)
{
    char shown[DHCP_SHOWN];
    if (isc_is(st, 0, "hardware") && st->ntok == 3) {
        const struct isc_token *a = &st->tok[2];
        if (!dhcp_parse_mac(a->text, a->len, r->cur.mac, &r->cur.mac_len)) {
            r->cur.mac_len = 0;
            dhcp_report(r->d, LOG_WARNING, r->name, st->line,
                        "hardware: '%s' is not a hardware address",
                        dhcp_shown(a->text, a->len, shown, sizeof(shown)));
        }
    } else if (isc_is(st, 0, "fixed-address") && st->ntok >= 2) {
        const struct isc_token *a = &st->tok[1];
        uint32_t ip;
        if (dhcp_parse_ipv4(a->text, a->len, &ip)) {
            r->cur.ip = ip;
            r->cur.flags |= DHCP_HAS_IP;
        } else {
            dhcp_report(r->d, LOG_DEBUG, r->name, st->line,
                        "fixed-address '%s' is not an IPv4 address (a DNS "
                        "name is not resolved): the host is served without "
                        "IP",
                        dhcp_shown(a->text, a->len, shown, sizeof(shown)));
        }
    } else if (isc_is(st, 0, "option") && isc_is(st, 1, "host-name") &&
               st->ntok == 3) {
        set_name(r, &st->tok[2], st->line, "option host-name", r->opt,
                 &r->opt_len);
    }
}

static void on_statement(void *ud, const struct isc_stmt *st)
{
    struct reader *r = ud;
    if (r->host_depth >= 0 && st->depth == r->host_depth + 1)
        host_statement(r, st);
    else if (isc_is(st, 0, "include"))
        dhcp_report(r->d, LOG_DEBUG, r->name, st->line,
                    "include: not followed (name the file holding the host "
                    "declarations in 'reservations')");
}

static void on_open(void *ud, const struct isc_stmt *st)
{
    struct reader *r = ud;
    if (r->host_depth >= 0 || !isc_is(st, 0, "host"))
        return;
    if (st->ntok != 2) {
        dhcp_report(r->d, LOG_WARNING, r->name, st->line,
                    "host: expected 'host NAME {': declaration skipped");
        return;
    }
    r->host_depth = st->depth;
    memset(&r->cur, 0, sizeof(r->cur));
    r->cur.line = st->line;
    r->opt_len = 0;
    set_name(r, &st->tok[1], st->line, "host", r->decl, &r->decl_len);
}

static void on_close(void *ud, int depth, unsigned line)
{
    struct reader *r = ud;
    if (r->host_depth != depth)
        return;
    r->host_depth = -1;
    const char *host = r->opt_len ? r->opt : r->decl;
    size_t host_len = r->opt_len ? r->opt_len : r->decl_len;
    if (!r->cur.mac_len && !(r->cur.flags & DHCP_HAS_IP)) {
        dhcp_report(r->d, LOG_DEBUG, r->name, r->cur.line,
                    "host declaration without hardware ethernet or an IPv4 "
                    "fixed-address: not served");
        return;
    }
    if (dhcp_list_add(r->out, &r->cur, host, host_len) < 0 && !r->rc) {
        dhcp_report(r->d, LOG_ERR, r->name, line, "out of memory");
        r->rc = -ENOMEM;
    }
}

int dhcp_read_isc_hosts(struct dhcp_diag *d, const char *name, const char *buf,
                        size_t len, struct dhcp_list *out)
{
    struct reader r = {.d = d, .name = name, .out = out, .host_depth = -1};
    struct isc_handler h = {.statement = on_statement,
                            .open = on_open,
                            .close = on_close,
                            .ud = &r};
    int rc = isc_parse(d, name, buf, len, &h);
    return rc < 0 ? rc : r.rc;
}
