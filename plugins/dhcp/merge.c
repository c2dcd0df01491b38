/* plugins/dhcp/merge.c - leases and reservations into the records served.
 *
 * A reservation and a lease are the same host when they have the same MAC,
 * or, for a reservation without one (dnsmasq's id: or name-only forms),
 * the same address. Such a host is served once, with the lease's data: a
 * lease without a host name takes the reservation's (the one for the
 * lease's address first). Reservations no running lease matches are served
 * on their own, without EXPIRES.
 *
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"

static int by_mac(const void *a, const void *b, void *list)
{
    const struct dhcp_list *h = list;
    const struct dhcp_lease *x = &h->v[*(const size_t *)a];
    const struct dhcp_lease *y = &h->v[*(const size_t *)b];
    if (x->mac_len != y->mac_len)
        return x->mac_len < y->mac_len ? -1 : 1;
    int c = memcmp(x->mac, y->mac, x->mac_len);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_ip(const void *a, const void *b, void *list)
{
    const struct dhcp_list *h = list;
    const struct dhcp_lease *x = &h->v[*(const size_t *)a];
    const struct dhcp_lease *y = &h->v[*(const size_t *)b];
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* First index in idx[0..n) whose host is not below key (by MAC or IP). */
static size_t lower(const struct dhcp_list *h, const size_t *idx, size_t n,
                    const struct dhcp_lease *key, int mac)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct dhcp_lease *e = &h->v[idx[mid]];
        int below;
        if (mac)
            below = e->mac_len != key->mac_len
                        ? e->mac_len < key->mac_len
                        : memcmp(e->mac, key->mac, key->mac_len) < 0;
        else
            below = e->ip < key->ip;
        if (below)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int same_mac(const struct dhcp_lease *a, const struct dhcp_lease *b)
{
    return a->mac_len == b->mac_len && !memcmp(a->mac, b->mac, a->mac_len);
}

int dhcp_merge(const struct dhcp_list *leases, const struct dhcp_list *hosts,
               int64_t now, struct dhcp_record **out, size_t *nout,
               int64_t *next)
{
    size_t nh = hosts ? hosts->n : 0;
    struct dhcp_record *rec = malloc((leases->n + nh + 1) * sizeof(*rec));
    size_t *by_mac_idx = malloc((nh + 1) * sizeof(size_t));
    size_t *by_ip_idx = malloc((nh + 1) * sizeof(size_t));
    unsigned char *used = calloc(nh + 1, 1);
    if (!rec || !by_mac_idx || !by_ip_idx || !used) {
        free(rec);
        free(by_mac_idx);
        free(by_ip_idx);
        free(used);
        return -ENOMEM;
    }
    size_t nmac = 0, nip = 0;
    for (size_t i = 0; i < nh; i++) {
        if (hosts->v[i].mac_len)
            by_mac_idx[nmac++] = i;
        else if (hosts->v[i].flags & DHCP_HAS_IP)
            by_ip_idx[nip++] = i;
    }
    qsort_r(by_mac_idx, nmac, sizeof(size_t), by_mac, (void *)hosts);
    qsort_r(by_ip_idx, nip, sizeof(size_t), by_ip, (void *)hosts);

    size_t n = 0;
    *next = DHCP_NEVER;
    for (size_t i = 0; i < leases->n; i++) {
        const struct dhcp_lease *l = &leases->v[i];
        if (l->expires <= now)
            continue;
        if (l->expires < *next)
            *next = l->expires;
        struct dhcp_record *r = &rec[n++];
        *r = (struct dhcp_record){
            .host = l->host_len ? dhcp_host(leases, l) : NULL,
            .host_len = l->host_len,
            .mac = l->mac_len ? l->mac : NULL,
            .mac_len = l->mac_len,
            .ip = l->ip,
            .has_ip = 1,
            .is_lease = 1,
            .expires = l->expires,
        };
        const struct dhcp_lease *named = NULL, *named_here = NULL;
        if (l->mac_len) {
            for (size_t k = lower(hosts, by_mac_idx, nmac, l, 1);
                 k < nmac && same_mac(&hosts->v[by_mac_idx[k]], l); k++) {
                const struct dhcp_lease *h = &hosts->v[by_mac_idx[k]];
                used[by_mac_idx[k]] = 1;
                if (h->host_len && !named)
                    named = h;
                if (h->host_len && !named_here && (h->flags & DHCP_HAS_IP) &&
                    h->ip == l->ip)
                    named_here = h;
            }
        }
        for (size_t k = lower(hosts, by_ip_idx, nip, l, 0);
             k < nip && hosts->v[by_ip_idx[k]].ip == l->ip; k++) {
            const struct dhcp_lease *h = &hosts->v[by_ip_idx[k]];
            used[by_ip_idx[k]] = 1;
            if (h->host_len && !named_here)
                named_here = h;
        }
        if (named_here)
            named = named_here;
        if (!r->host && named) {
            r->host = dhcp_host(hosts, named);
            r->host_len = named->host_len;
        }
    }
    for (size_t i = 0; i < nh; i++) {
        const struct dhcp_lease *h = &hosts->v[i];
        if (used[i])
            continue;
        rec[n++] = (struct dhcp_record){
            .host = h->host_len ? dhcp_host(hosts, h) : NULL,
            .host_len = h->host_len,
            .mac = h->mac_len ? h->mac : NULL,
            .mac_len = h->mac_len,
            .ip = h->ip,
            .has_ip = !!(h->flags & DHCP_HAS_IP),
        };
    }
    free(by_mac_idx);
    free(by_ip_idx);
    free(used);
    *out = rec;
    *nout = n;
    return 0;
}
