/* tests/fuzz/fuzz_dhcp.c - the checks the dhcp readers' targets share.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_dhcp.h"

/* 2026-11-24T21:00:00Z: inside the samples' leases. */
#define NOW 1795554000

/* The extent of the input being read, for the positions in messages. */
static struct fuzz_extent input;
static int reading;

static void emit(void *arg, int prio, const char *msg)
{
    (void)arg;
    FUZZ_CHECK(prio >= LOG_EMERG && prio <= LOG_DEBUG);
    size_t n = strlen(msg);
    FUZZ_CHECK(n > 0 && n < 900);
    /* File text is quoted through dhcp_shown(): no byte of it can break
     * the log line. */
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(msg[i] != '\n' && msg[i] != '\r');
    if (reading)
        fuzz_check_positions(msg, n, "fuzz.leases", &input);
}

void fuzz_dhcp_diag(struct dhcp_diag *d)
{
    memset(d, 0, sizeof(*d));
    d->emit = emit;
    dhcp_diag_begin(d);
}

static void check_list(const struct dhcp_list *l)
{
    FUZZ_CHECK(l->n <= l->cap);
    FUZZ_CHECK(l->text_len <= l->text_cap);
    for (size_t i = 0; i < l->n; i++) {
        const struct dhcp_lease *e = &l->v[i];
        FUZZ_CHECK(e->mac_len <= DHCP_MAC_MAX);
        FUZZ_CHECK(e->host_len <= DHCP_HOST_MAX);
        FUZZ_CHECK((size_t)e->host_off + e->host_len < l->text_len);
        FUZZ_CHECK(dhcp_host(l, e)[e->host_len] == '\0');
        FUZZ_CHECK(!e->host_len ||
                   dhcp_host_valid(dhcp_host(l, e), e->host_len));
    }
}

int fuzz_dhcp_read(int (*reader)(struct dhcp_diag *, const char *, const char *,
                                 size_t, struct dhcp_list *),
                   const uint8_t *data, size_t size, struct dhcp_list *out)
{
    struct dhcp_diag d;
    fuzz_dhcp_diag(&d);
    dhcp_list_init(out);
    fuzz_extent_of(&input, data, size);
    reading = 1;
    int rc = reader(&d, "fuzz.leases", (const char *)data, size, out);
    dhcp_diag_end(&d, "fuzz.leases");
    reading = 0;
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    FUZZ_CHECK(d.suppressed <= d.warnings);
    FUZZ_CHECK(d.warnings - d.suppressed <= DHCP_WARN_SHOWN);
    check_list(out);
    return rc;
}

void fuzz_dhcp_serve(struct dhcp_list *leases, struct dhcp_list *hosts)
{
    struct dhcp_record *recs = NULL;
    size_t n = 0;
    int64_t next = 0;
    if (leases) {
        size_t before = leases->n;
        dhcp_list_settle(leases, NOW);
        check_list(leases);
        FUZZ_CHECK(leases->n <= before);
        for (size_t i = 0; i < leases->n; i++) {
            const struct dhcp_lease *e = &leases->v[i];
            FUZZ_CHECK((e->flags & DHCP_HAS_IP) && (e->flags & DHCP_ACTIVE));
            FUZZ_CHECK(e->expires > NOW);
            /* One lease per address, by address. */
            FUZZ_CHECK(i == 0 || leases->v[i - 1].ip < e->ip);
        }
    }
    struct dhcp_list none;
    dhcp_list_init(&none);
    FUZZ_CHECK(
        dhcp_merge(leases ? leases : &none, hosts, NOW, &recs, &n, &next) == 0);
    FUZZ_CHECK(next > NOW);
    for (size_t i = 0; i < n; i++) {
        const struct dhcp_record *r = &recs[i];
        char ip[16], mac[3 * DHCP_MAC_MAX], exp[24];
        FUZZ_CHECK(!r->host ||
                   (r->host_len && dhcp_host_valid(r->host, r->host_len)));
        FUZZ_CHECK(!r->mac || (r->mac_len && r->mac_len <= DHCP_MAC_MAX));
        FUZZ_CHECK(!r->is_lease || r->expires > NOW);
        if (r->has_ip)
            dhcp_format_ipv4(r->ip, ip, sizeof(ip));
        if (r->mac) {
            dhcp_format_mac(r->mac, r->mac_len, mac, sizeof(mac));
            FUZZ_CHECK(strlen(mac) == 3 * r->mac_len - 1);
        }
        if (r->is_lease)
            dhcp_format_expiry(r->expires, exp, sizeof(exp));
    }
    free(recs);
}
