/* plugins/dhcp/lease.c - lists of leases and reservations, and the rule
 * that the last declaration of an address is the one that counts.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"

void dhcp_list_init(struct dhcp_list *l)
{
    memset(l, 0, sizeof(*l));
}

void dhcp_list_free(struct dhcp_list *l)
{
    free(l->v);
    free(l->text);
    dhcp_list_init(l);
}

void dhcp_list_move(struct dhcp_list *dst, struct dhcp_list *src)
{
    dhcp_list_free(dst);
    *dst = *src;
    dhcp_list_init(src);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need) {
        if (n > SIZE_MAX / 2 / size)
            return -ENOMEM;
        n *= 2;
    }
    void *q = realloc(*p, n * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

int dhcp_list_add(struct dhcp_list *l, const struct dhcp_lease *e,
                  const char *host, size_t host_len)
{
    if (host_len > DHCP_HOST_MAX || l->n >= UINT32_MAX ||
        l->text_len + host_len + 1 > UINT32_MAX)
        return -ENOMEM;
    if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) ||
        grow((void **)&l->text, &l->text_cap, l->text_len + host_len + 1, 1))
        return -ENOMEM;
    struct dhcp_lease *d = &l->v[l->n];
    *d = *e;
    d->seq = (uint32_t)l->n++;
    d->host_off = (uint32_t)l->text_len;
    d->host_len = (uint16_t)host_len;
    if (host_len)
        memcpy(l->text + l->text_len, host, host_len);
    l->text[l->text_len + host_len] = '\0';
    l->text_len += host_len + 1;
    return 0;
}

static int by_ip_then_seq(const void *a, const void *b)
{
    const struct dhcp_lease *x = a, *y = b;
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void dhcp_list_settle(struct dhcp_list *l, int64_t now)
{
    if (!l->n)
        return;
    qsort(l->v, l->n, sizeof(*l->v), by_ip_then_seq);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct dhcp_lease *e = &l->v[i];
        if (!(e->flags & DHCP_HAS_IP))
            continue;
        if (i + 1 < l->n && l->v[i + 1].ip == e->ip)
            continue; /* a later declaration of this address follows */
        if (!(e->flags & DHCP_ACTIVE) || e->expires <= now)
            continue;
        l->v[k++] = *e;
    }
    l->n = k;
    /* Names of dropped entries stay in text, which the file's size bounds. */
}
