/* plugins/dhcp/dnsmasq_hosts.c - reservations: the dhcp-host= lines of a
 * dnsmasq configuration file.
 *
 *     dhcp-host=00:11:22:33:44:55,192.168.0.5,mypc,infinite
 *     dhcp-host=00:11:22:33:44:55,set:lab,mypc
 *     dhcp-host=id:01:00:11:22:33:44:55,192.168.0.6,other
 *
 * Each comma-separated item is classified as dnsmasq does: MAC addresses
 * (one reservation each; wildcards skipped), id:, set:, tag: and net:
 * parts (skipped), an IPv4 address, [IPv6] (skipped), a lease time
 * (NUMBER[smhdw] or infinite, skipped), `ignore` (the line reserves
 * nothing), else the host name. Other lines are not reservations and are
 * skipped; conf-file= and dhcp-hostsfile= are not followed.
 *
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dhcp.h"

#define MAX_MACS 8

static int prefix(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && !strncasecmp(s, p, k);
}

static int is_lease_time(const char *s, size_t n)
{
    if (n == 8 && !strncasecmp(s, "infinite", 8))
        return 1;
    size_t i = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == 0)
        return 0;
    return i == n || (i + 1 == n && strchr("smhdwSMHDW", s[i]));
}

static int all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i]))
            return 0;
    return 1;
}

/* Cut a comment: '#' at the start or after white space, outside quotes. */
static size_t uncomment(const char *s, size_t n)
{
    int quoted = 0, white = 1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && white && s[i] == '#')
            return i;
        white = s[i] == ' ' || s[i] == '\t';
    }
    return n;
}

struct line_state {
    struct dhcp_lease e;
    uint8_t macs[MAX_MACS][DHCP_MAC_MAX];
    uint8_t mac_lens[MAX_MACS];
    size_t nmacs;
    char host[DHCP_HOST_MAX + 1];
    size_t host_len;
    int ignore;
};

/* One item of a dhcp-host value; NULL, or why the line is skipped. */
static const char *item(struct line_state *ls, char *it, size_t n,
                        struct dhcp_diag *d, const char *name, unsigned line)
{
    char shown[DHCP_SHOWN];
    uint32_t ip;
    if (n == 0 || prefix(it, n, "id:") || prefix(it, n, "set:") ||
        prefix(it, n, "tag:") || prefix(it, n, "net:") || it[0] == '[' ||
        is_lease_time(it, n))
        return NULL;
    if (n == 6 && !strncasecmp(it, "ignore", 6)) {
        ls->ignore = 1;
        return NULL;
    }
    if (all_of(it, n, "0123456789.")) {
        if (!dhcp_parse_ipv4(it, n, &ip))
            return "an address that is not IPv4";
        if (!(ls->e.flags & DHCP_HAS_IP)) {
            ls->e.ip = ip;
            ls->e.flags |= DHCP_HAS_IP;
        }
        return NULL;
    }
    if (memchr(it, ':', n)) {
        if (memchr(it, '*', n)) {
            dhcp_report(d, LOG_DEBUG, name, line,
                        "dhcp-host: wildcard MAC '%s' names no one host: "
                        "skipped",
                        dhcp_shown(it, n, shown, sizeof(shown)));
            return NULL;
        }
        if (ls->nmacs == MAX_MACS)
            return "more MAC addresses than kept";
        if (!dhcp_parse_mac(it, n, ls->macs[ls->nmacs],
                            &ls->mac_lens[ls->nmacs]))
            return "an item with ':' that is not a MAC address";
        ls->nmacs++;
        return NULL;
    }
    if (!all_of(it, n,
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789-_.") ||
        n > DHCP_HOST_MAX)
        return "an item that is neither an address, a lease time nor a "
               "host name";
    if (ls->host_len)
        return "two host names";
    memcpy(ls->host, it, n);
    ls->host_len = n;
    return NULL;
}

int dhcp_read_dnsmasq_hosts(struct dhcp_diag *d, const char *name,
                            const char *buf, size_t len, struct dhcp_list *out)
{
    unsigned nul = dhcp_nul_line(buf, len);
    if (nul) {
        dhcp_report(d, LOG_ERR, name, nul,
                    "holds a NUL byte: not a dnsmasq configuration file");
        return -EINVAL;
    }
    struct dhcp_lines it = {buf, buf + len, 0};
    const char *s;
    size_t n;
    int last;
    char value[DHCP_LINE_MAX + 1];
    char shown[DHCP_SHOWN];
    while (dhcp_next_line(&it, &s, &n, &last)) {
        n = uncomment(s, n);
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (prefix(s, n, "conf-file") || prefix(s, n, "conf-dir") ||
            prefix(s, n, "dhcp-hostsfile") || prefix(s, n, "dhcp-hostsdir")) {
            dhcp_report(d, LOG_DEBUG, name, it.line,
                        "'%s': not followed (name the file holding the "
                        "dhcp-host lines in 'reservations')",
                        dhcp_shown(s, n, shown, sizeof(shown)));
            continue;
        }
        if (!prefix(s, n, "dhcp-host"))
            continue;
        size_t i = 9;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n || s[i] != '=')
            continue;
        if (n - i > DHCP_LINE_MAX) {
            dhcp_report(d, LOG_WARNING, name, it.line,
                        "dhcp-host: line too long: skipped");
            continue;
        }
        /* The value without its quotes, which dnsmasq drops too. */
        size_t vn = 0;
        for (i++; i < n; i++)
            if (s[i] != '"')
                value[vn++] = s[i];
        value[vn] = '\0';
        struct line_state ls = {.e = {.line = it.line}};
        const char *why = NULL;
        for (size_t a = 0; a <= vn && !why;) {
            size_t b = a;
            while (b < vn && value[b] != ',')
                b++;
            size_t x = a, y = b;
            while (x < y && (value[x] == ' ' || value[x] == '\t'))
                x++;
            while (y > x && (value[y - 1] == ' ' || value[y - 1] == '\t'))
                y--;
            why = item(&ls, value + x, y - x, d, name, it.line);
            a = b + 1;
        }
        if (why) {
            dhcp_report(d, LOG_WARNING, name, it.line,
                        "dhcp-host: %s: line skipped", why);
            continue;
        }
        if (ls.ignore || (!ls.nmacs && !(ls.e.flags & DHCP_HAS_IP))) {
            dhcp_report(d, LOG_DEBUG, name, it.line,
                        "dhcp-host: %s: not served",
                        ls.ignore ? "ignore" : "neither a MAC nor an address");
            continue;
        }
        for (size_t k = 0; k < (ls.nmacs ? ls.nmacs : 1); k++) {
            if (ls.nmacs) {
                memcpy(ls.e.mac, ls.macs[k], sizeof(ls.e.mac));
                ls.e.mac_len = ls.mac_lens[k];
            }
            if (dhcp_list_add(out, &ls.e, ls.host, ls.host_len) < 0) {
                dhcp_report(d, LOG_ERR, name, it.line, "out of memory");
                return -ENOMEM;
            }
        }
    }
    return 0;
}
