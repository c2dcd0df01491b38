/* core/daemon/udp.c - the responder's sockets.
 * SPDX-License-Identifier: MIT */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tged/protocol.h>

#include "log.h"

int udp_parse_listen(const char *text, struct listen_addr *out)
{
    char host[80];
    const char *port = NULL;
    memset(out, 0, sizeof(*out));
    if (strlen(text) >= sizeof(out->text))
        return -EINVAL;
    snprintf(out->text, sizeof(out->text), "%s", text);
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || (size_t)(end - text - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        if (end[1] == ':')
            port = end + 2;
        else if (end[1])
            return -EINVAL;
    } else {
        const char *colon = strchr(text, ':');
        if (colon && strchr(colon + 1, ':')) {
            colon = NULL; /* a bare IPv6 address */
        }
        size_t hl = colon ? (size_t)(colon - text) : strlen(text);
        if (hl >= sizeof(host))
            return -EINVAL;
        memcpy(host, text, hl);
        host[hl] = '\0';
        if (colon)
            port = colon + 1;
    }
    long p = TGED_PORT;
    if (port) {
        char *e;
        p = strtol(port, &e, 10);
        if (!*port || *e || p < 1 || p > 65535)
            return -EINVAL;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)p);
        out->len = sizeof(*s4);
        out->family = AF_INET;
        return 0;
    }
    char *pct = strchr(host, '%');
    unsigned scope = 0;
    if (pct) {
        *pct = '\0';
        scope = if_nametoindex(pct + 1);
        if (!scope)
            return -EINVAL;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
        return -EINVAL;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)p);
    s6->sin6_scope_id = scope;
    out->len = sizeof(*s6);
    out->family = AF_INET6;
    return 0;
}

/* Join ff02::4745 on ifindex, or on every up, multicast-capable interface
 * when ifindex is 0. */
static void join_group(int fd, unsigned ifindex, const char *what)
{
    struct ipv6_mreq mr;
    memset(&mr, 0, sizeof(mr));
    inet_pton(AF_INET6, TGED_MCAST6, &mr.ipv6mr_multiaddr);
    if (ifindex) {
        mr.ipv6mr_interface = ifindex;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)))
            log_warn("%s: cannot join %s: %s", what, TGED_MCAST6,
                     strerror(errno));
        return;
    }
    struct ifaddrs *ifa, *i;
    if (getifaddrs(&ifa) != 0)
        return;
    for (i = ifa; i; i = i->ifa_next) {
        /* One AF_PACKET entry per interface carries its flags. */
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET)
            continue;
        if (!(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_MULTICAST))
            continue;
        mr.ipv6mr_interface = if_nametoindex(i->ifa_name);
        if (!mr.ipv6mr_interface)
            continue;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr))) {
            if (errno != EADDRINUSE)
                log_debug("%s: cannot join %s on %s: %s", what, TGED_MCAST6,
                          i->ifa_name, strerror(errno));
        } else
            log_debug("%s: joined %s on %s", what, TGED_MCAST6, i->ifa_name);
    }
    freeifaddrs(ifa);
}

/* Accept only datagrams addressed to this host (pkt_type PACKET_HOST). */
static int attach_unicast_filter(int fd)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]),
                              .filter = code};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

int udp_open(const struct listen_addr *la, int shared, int primary)
{
    int one = 1;
    int fd = socket(la->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    if (shared &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
        goto fail;
    /* Room for bursts: many clients start at once after a power cut. */
    int rcv = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    if (la->family == AF_INET6) {
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)))
            goto fail;
    } else {
        if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)))
            goto fail;
    }
    if (!primary && attach_unicast_filter(fd) != 0)
        goto fail;
    if (bind(fd, (const struct sockaddr *)&la->ss, la->len) != 0)
        goto fail;
    if (la->family == AF_INET6 && primary) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&la->ss;
        if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
            join_group(fd, 0, la->text);
        else if (s6->sin6_scope_id)
            join_group(fd, s6->sin6_scope_id, la->text);
    }
    return fd;
fail:;
    int e = errno;
    log_err("listen %s: %s", la->text, strerror(e));
    if (fd >= 0)
        close(fd);
    return -e;
}

void udp_rejoin(int fd, const struct listen_addr *la)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&la->ss;
    if (la->family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
        join_group(fd, 0, la->text);
}
