/* core/daemon/iftable.c - the subnets of each local interface.
 *
 * Rebuilt from getifaddrs() whenever the kernel reports a change of
 * addresses or links over netlink, and published as an immutable table
 * that workers read under QSBR.
 *
 * SPDX-License-Identifier: MIT
 */
#include "iftable.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acl.h"
#include "log.h"
#include "qsbr.h"

struct ifnet {
    int ifindex;
    struct prefix net;
};

struct iftable {
    size_t n;
    struct ifnet nets[];
};

static struct iftable *current; /* atomic */
static unsigned generation;     /* atomic */
static int nlfd = -1;

static unsigned mask_len(const struct sockaddr *mask, int family)
{
    int fam;
    const uint8_t *b = sockaddr_bytes(mask, &fam);
    unsigned bits = 0, bytes = family == AF_INET ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++)
        bits += (unsigned)__builtin_popcount(b[i]);
    return bits;
}

static struct iftable *build(void)
{
    struct ifaddrs *ifa;
    if (getifaddrs(&ifa) != 0) {
        log_warn("cannot list the interfaces' addresses: %s", strerror(errno));
        return NULL;
    }
    size_t n = 0;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_netmask &&
            (i->ifa_addr->sa_family == AF_INET ||
             i->ifa_addr->sa_family == AF_INET6))
            n++;
    struct iftable *t = malloc(sizeof(*t) + n * sizeof(t->nets[0]));
    if (!t) {
        freeifaddrs(ifa);
        return NULL;
    }
    t->n = 0;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || !i->ifa_netmask)
            continue;
        int fam = i->ifa_addr->sa_family;
        if (fam != AF_INET && fam != AF_INET6)
            continue;
        struct ifnet *e = &t->nets[t->n];
        e->ifindex = (int)if_nametoindex(i->ifa_name);
        e->net.family = (uint8_t)fam;
        e->net.len = (uint8_t)mask_len(i->ifa_netmask, fam);
        int f2;
        memcpy(e->net.addr, sockaddr_bytes(i->ifa_addr, &f2),
               fam == AF_INET ? 4 : 16);
        t->n++;
    }
    freeifaddrs(ifa);
    return t;
}

static void publish(void)
{
    struct iftable *t = build();
    if (!t)
        return;
    struct iftable *old = __atomic_exchange_n(&current, t, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
    qsbr_retire(old, free);
}

int iftable_init(void)
{
    publish();
    nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  NETLINK_ROUTE);
    if (nlfd < 0)
        return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
                                          RTMGRP_IPV6_IFADDR};
    if (bind(nlfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(nlfd);
        nlfd = -1;
        return -e;
    }
    return nlfd;
}

int iftable_handle(void)
{
    char buf[8192];
    int changed = 0;
    for (;;) {
        ssize_t n = recv(nlfd, buf, sizeof(buf), 0);
        if (n < 0 && errno == ENOBUFS) {
            changed = 1; /* notices were lost: rebuild anyway */
            continue;
        }
        if (n <= 0)
            break;
        changed = 1;
    }
    if (changed)
        publish();
    return changed;
}

void iftable_shutdown(void)
{
    if (nlfd >= 0)
        close(nlfd);
    nlfd = -1;
    free(__atomic_exchange_n(&current, NULL, __ATOMIC_SEQ_CST));
}

unsigned iftable_generation(void)
{
    return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}

int iftable_on_link(int family, const uint8_t *addr, int ifindex)
{
    /* Link-local sources are on the link by definition. */
    if (family == AF_INET6 && addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80)
        return 1;
    if (family == AF_INET && addr[0] == 169 && addr[1] == 254)
        return 1;
    const struct iftable *t = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
    if (!t)
        return 1; /* no table: do not refuse everybody */
    for (size_t i = 0; i < t->n; i++)
        if (t->nets[i].ifindex == ifindex &&
            prefix_match(&t->nets[i].net, family, addr))
            return 1;
    return 0;
}
