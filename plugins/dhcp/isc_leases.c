/* plugins/dhcp/isc_leases.c - ISC dhcpd's dhcpd.leases.
 *
 * dhcpd appends a `lease ADDRESS { ... }` block each time a lease changes
 * and rewrites the file whole now and then, so an address may be declared
 * many times: the last declaration is the lease's state. Of a declaration
 * we read `ends`, `binding state`, `hardware` and `client-hostname`; every
 * other statement and block (uid, cltt, set, on commit { }, failover
 * peer, server-duid, ...) is skipped.
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
    int in_lease;
    int have_ends;
    struct dhcp_lease cur;
    char host[DHCP_HOST_MAX];
    size_t host_len;
};

/* Numbers separated by sep, exactly count of them: "2026/11/24". */
static int numbers(const struct isc_token *t, char sep, int *v, int count)
{
    size_t i = 0;
    for (int k = 0; k < count; k++) {
        if (k && (i >= t->len || t->text[i++] != sep))
            return 0;
        int x = 0, digits = 0;
        while (i < t->len && t->text[i] >= '0' && t->text[i] <= '9' &&
               digits < 5) {
            x = x * 10 + (t->text[i++] - '0');
            digits++;
        }
        if (!digits)
            return 0;
        v[k] = x;
    }
    return i == t->len;
}

/* ends never; | ends epoch SECONDS; | ends WEEKDAY YYYY/MM/DD HH:MM:SS;
 * (dates are UTC unless db-time-format local, which writes epoch). */
static int parse_ends(const struct isc_stmt *st, int64_t *t)
{
    if (st->ntok == 2 && isc_is(st, 1, "never")) {
        *t = DHCP_NEVER;
        return 1;
    }
    if (st->ntok == 3 && isc_is(st, 1, "epoch"))
        return dhcp_parse_int64(st->tok[2].text, st->tok[2].len, t) && *t >= 0;
    int wd, date[3], tod[3];
    if (st->ntok != 4 || !numbers(&st->tok[1], '/', &wd, 1) || wd > 6 ||
        !numbers(&st->tok[2], '/', date, 3) ||
        !numbers(&st->tok[3], ':', tod, 3))
        return 0;
    *t = dhcp_utc_seconds(date[0], date[1], date[2], tod[0], tod[1], tod[2]);
    return *t >= 0;
}

static void lease_statement(struct reader *r, const struct isc_stmt *st)
{
    char shown[DHCP_SHOWN];
    const struct isc_token *v = st->ntok > 1 ? &st->tok[1] : NULL;
    if (isc_is(st, 0, "ends")) {
        if (parse_ends(st, &r->cur.expires)) {
            r->have_ends = 1;
            return;
        }
        /* Without its end the lease cannot be served, and an earlier
         * declaration is stale: this one still counts, as unusable. */
        dhcp_report(r->d, LOG_WARNING, r->name, st->line,
                    "ends: cannot read '%s' (expected never, epoch SECONDS "
                    "or WEEKDAY YYYY/MM/DD HH:MM:SS): lease skipped",
                    v ? dhcp_shown(v->text, v->len, shown, sizeof(shown)) : "");
        r->have_ends = -1;
    } else if (isc_is(st, 0, "binding") && isc_is(st, 1, "state")) {
        if (isc_is(st, 2, "active"))
            r->cur.flags |= DHCP_ACTIVE;
        else
            r->cur.flags &= (uint8_t)~DHCP_ACTIVE;
    } else if (isc_is(st, 0, "hardware") && st->ntok == 3) {
        const struct isc_token *a = &st->tok[2];
        if (!dhcp_parse_mac(a->text, a->len, r->cur.mac, &r->cur.mac_len)) {
            r->cur.mac_len = 0;
            dhcp_report(r->d, LOG_WARNING, r->name, st->line,
                        "hardware: '%s' is not a hardware address: the "
                        "lease is served without MAC",
                        dhcp_shown(a->text, a->len, shown, sizeof(shown)));
        }
    } else if (isc_is(st, 0, "client-hostname") && st->ntok == 2 &&
               v->kind != ISC_PUNCT) {
        r->host_len = 0;
        if (v->len == 0)
            return;
        if (!dhcp_host_valid(v->text, v->len)) {
            dhcp_report(r->d, LOG_WARNING, r->name, st->line,
                        "client-hostname '%s' cannot be served (control "
                        "characters, white space at an end, or over %d "
                        "bytes): the lease is served without HOST",
                        dhcp_shown(v->text, v->len, shown, sizeof(shown)),
                        DHCP_HOST_MAX);
            return;
        }
        memcpy(r->host, v->text, v->len);
        r->host_len = v->len;
    }
}

static void on_statement(void *ud, const struct isc_stmt *st)
{
    struct reader *r = ud;
    if (r->in_lease && st->depth == 1)
        lease_statement(r, st);
}

static void on_open(void *ud, const struct isc_stmt *st)
{
    struct reader *r = ud;
    if (st->depth != 0 || !isc_is(st, 0, "lease"))
        return;
    char shown[DHCP_SHOWN];
    uint32_t ip;
    if (st->ntok != 2 ||
        !dhcp_parse_ipv4(st->tok[1].text, st->tok[1].len, &ip)) {
        dhcp_report(r->d, LOG_WARNING, r->name, st->line,
                    "lease '%s': not an IPv4 address: declaration skipped",
                    st->ntok > 1 ? dhcp_shown(st->tok[1].text, st->tok[1].len,
                                              shown, sizeof(shown))
                                 : "");
        return;
    }
    r->in_lease = 1;
    r->have_ends = 0;
    r->host_len = 0;
    memset(&r->cur, 0, sizeof(r->cur));
    r->cur.ip = ip;
    r->cur.flags = DHCP_HAS_IP;
    r->cur.line = st->line;
}

static void on_close(void *ud, int depth, unsigned line)
{
    struct reader *r = ud;
    if (!r->in_lease || depth != 0)
        return;
    r->in_lease = 0;
    if (r->have_ends <= 0) {
        /* dhcpd always writes ends; a declaration without one (or with a
         * bad one) is taken as over. */
        r->cur.expires = 0;
        r->cur.flags &= (uint8_t)~DHCP_ACTIVE;
    }
    if (dhcp_list_add(r->out, &r->cur, r->host, r->host_len) < 0 && !r->rc) {
        dhcp_report(r->d, LOG_ERR, r->name, line, "out of memory");
        r->rc = -ENOMEM;
    }
}

int dhcp_read_isc_leases(struct dhcp_diag *d, const char *name, const char *buf,
                         size_t len, struct dhcp_list *out)
{
    struct reader r = {.d = d, .name = name, .out = out};
    struct isc_handler h = {.statement = on_statement,
                            .open = on_open,
                            .close = on_close,
                            .ud = &r};
    int rc = isc_parse(d, name, buf, len, &h);
    return rc < 0 ? rc : r.rc;
}
