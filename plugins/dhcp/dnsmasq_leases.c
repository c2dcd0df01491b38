/* plugins/dhcp/dnsmasq_leases.c - dnsmasq's dnsmasq.leases.
 *
 * dnsmasq rewrites the whole file on every change, one lease a line:
 *
 *     EXPIRY MAC IP HOSTNAME CLIENT-ID
 *     1732484000 00:11:22:33:44:55 192.168.0.5 mypc 01:00:11:22:33:44:55
 *
 * EXPIRY is the end in seconds since the epoch, 0 for an infinite lease;
 * HOSTNAME and CLIENT-ID are '*' when unknown; a MAC of hardware other
 * than Ethernet is written "TYPE-aa:bb:..". After a `duid SERVER-DUID`
 * line come the IPv6 leases (EXPIRY IAID ADDRESS HOSTNAME CLIENT-DUID):
 * they carry no MAC, and are skipped. A bad line is reported and skipped;
 * the file is refused when its last line is cut short (dnsmasq is writing
 * it) or when no line at all reads as a lease.
 *
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "dhcp.h"

#define MAX_FIELDS 6

static size_t split(const char *s, size_t n, const char **f, size_t *fl)
{
    size_t k = 0, i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && s[i] != ' ' && s[i] != '\t')
            i++;
        if (k < MAX_FIELDS) {
            f[k] = s + start;
            fl[k] = i - start;
        }
        k++;
    }
    return k;
}

int dhcp_read_dnsmasq_leases(struct dhcp_diag *d, const char *name,
                             const char *buf, size_t len, struct dhcp_list *out)
{
    unsigned nul = dhcp_nul_line(buf, len);
    if (nul) {
        dhcp_report(d, LOG_ERR, name, nul,
                    "holds a NUL byte: not a dnsmasq lease file (damaged?)");
        return -EINVAL;
    }
    struct dhcp_lines it = {buf, buf + len, 0};
    const char *s;
    size_t n;
    int last, ipv6 = 0;
    unsigned good = 0, bad = 0, first_bad = 0, skipped6 = 0;
    char shown[DHCP_SHOWN];
    while (dhcp_next_line(&it, &s, &n, &last)) {
        const char *f[MAX_FIELDS];
        size_t fl[MAX_FIELDS];
        size_t nf = n > DHCP_LINE_MAX ? 0 : split(s, n, f, fl);
        if (n == 0 || (n <= DHCP_LINE_MAX && nf == 0))
            continue;
        if (nf == 2 && fl[0] == 4 && !memcmp(f[0], "duid", 4)) {
            ipv6 = 1;
            continue;
        }
        const char *why = NULL;
        int64_t expiry = 0;
        uint32_t ip = 0;
        if (n > DHCP_LINE_MAX)
            why = "line too long";
        else if (nf < 4 || nf > 5)
            why = "expected EXPIRY MAC IP HOSTNAME CLIENT-ID";
        else if (!dhcp_parse_int64(f[0], fl[0], &expiry) || expiry < 0)
            why = "EXPIRY is not a number of seconds";
        else if (ipv6 || memchr(f[2], ':', fl[2])) {
            skipped6++;
            good++;
            continue;
        } else if (!dhcp_parse_ipv4(f[2], fl[2], &ip))
            why = "IP is not an IPv4 address";
        if (why) {
            if (last) {
                dhcp_report(d, LOG_ERR, name, it.line,
                            "%s, on the last line, which has no newline: "
                            "the file is cut short (being written?)",
                            why);
                return -EINVAL;
            }
            dhcp_report(d, LOG_WARNING, name, it.line, "%s: line skipped", why);
            if (!bad++)
                first_bad = it.line;
            continue;
        }
        good++;
        struct dhcp_lease e = {.ip = ip,
                               .flags = DHCP_HAS_IP | DHCP_ACTIVE,
                               .expires = expiry ? expiry : DHCP_NEVER,
                               .line = it.line};
        if (!dhcp_parse_mac(f[1], fl[1], e.mac, &e.mac_len)) {
            e.mac_len = 0;
            dhcp_report(d, LOG_WARNING, name, it.line,
                        "MAC '%s' is not a hardware address: the lease is "
                        "served without MAC",
                        dhcp_shown(f[1], fl[1], shown, sizeof(shown)));
        }
        const char *host = f[3];
        size_t host_len = fl[3];
        if (host_len == 1 && host[0] == '*') {
            host_len = 0;
        } else if (!dhcp_host_valid(host, host_len)) {
            dhcp_report(d, LOG_WARNING, name, it.line,
                        "HOSTNAME '%s' cannot be served: the lease is "
                        "served without HOST",
                        dhcp_shown(host, host_len, shown, sizeof(shown)));
            host_len = 0;
        }
        if (dhcp_list_add(out, &e, host, host_len) < 0) {
            dhcp_report(d, LOG_ERR, name, it.line, "out of memory");
            return -ENOMEM;
        }
    }
    if (bad && !good) {
        dhcp_report(d, LOG_ERR, name, first_bad,
                    "no line reads as a dnsmasq lease: not a dnsmasq lease "
                    "file?");
        return -EINVAL;
    }
    if (skipped6)
        dhcp_report(d, LOG_DEBUG, name, 0, "%u IPv6 leases skipped", skipped6);
    return 0;
}
