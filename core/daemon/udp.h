/* core/daemon/udp.h - the responder's sockets. */
#ifndef TGEDD_UDP_H
#define TGEDD_UDP_H

#include <netinet/in.h>
#include <sys/socket.h>

struct listen_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
    char text[96]; /* as written in the configuration */
};

/* "ADDR", "ADDR:PORT", "[ADDR6]:PORT", "[ADDR6%if]:PORT" or "ADDR6"
 * (numeric only); the port defaults to 4745. 0 or -EINVAL. */
int udp_parse_listen(const char *text, struct listen_addr *out);

/*
 * Open a non-blocking socket bound to la, asking for the destination
 * address of each datagram (IP_PKTINFO / IPV6_RECVPKTINFO).
 * shared:  several workers bind the same address (SO_REUSEPORT).
 * primary: this socket alone takes broadcasts and multicasts, and IPv6
 *          ones join ff02::4745; the others get a filter that drops them,
 *          so one broadcast is answered once, not once per worker.
 * Returns the descriptor, or -errno after logging why.
 */
int udp_open(const struct listen_addr *la, int shared, int primary);

/* Join ff02::4745 again on every interface (those that came up since):
 * for the primary socket of an IPv6 listener on [::]. */
void udp_rejoin(int fd, const struct listen_addr *la);

#endif
