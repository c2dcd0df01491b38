/* plugins/dhcp/kea_leases.c - Kea's memfile lease file, kea-leases4.csv.
 *
 *     address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,
 *     fqdn_rev,hostname,state,user_context,pool_id
 *     192.168.0.5,00:11:22:33:44:55,,3600,1732484000,1,0,0,mypc,0,,0
 *
 * Columns are found by their names in the header, so columns added by
 * later versions are ignored. Kea appends a row for every change, so the
 * last row of an address is its state: state 0 is an active lease (1
 * declined, 2 expired-reclaimed, and later ones, are not), and a
 * valid_lifetime of 0 means released. expire is the end in seconds since
 * the epoch; a valid_lifetime of 4294967295 is Kea's infinite lease. Kea
 * writes a comma inside a value as "&#x2c". A bad row is reported and
 * skipped, as Kea does; the file is refused when its header is not a
 * DHCPv4 memfile header, when its last row is cut short, or when no row
 * reads as a lease.
 *
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "dhcp.h"

#define MAX_COLUMNS 64
#define KEA_INFINITE 4294967295LL

enum { C_ADDRESS, C_HWADDR, C_VALID, C_EXPIRE, C_HOSTNAME, C_STATE, C_N };
static const char *const column_names[C_N] = {
    "address", "hwaddr", "valid_lifetime", "expire", "hostname", "state",
};

static size_t split(const char *s, size_t n, const char **f, size_t *fl)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ',')
            continue;
        if (k < MAX_COLUMNS) {
            f[k] = s + start;
            fl[k] = i - start;
        }
        k++;
        start = i + 1;
    }
    return k;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Undo Kea's "&#xHH" escapes; out holds at least n bytes. */
static size_t unescape(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (i + 5 <= n && !memcmp(s + i, "&#x", 3) &&
            hexval((unsigned char)s[i + 3]) >= 0 &&
            hexval((unsigned char)s[i + 4]) >= 0) {
            out[k++] = (char)(hexval((unsigned char)s[i + 3]) << 4 |
                              hexval((unsigned char)s[i + 4]));
            i += 5;
        } else {
            out[k++] = s[i++];
        }
    }
    return k;
}

/* Column positions from the header; -EINVAL (reported) when it is not
 * the header of a DHCPv4 memfile. */
static int read_header(struct dhcp_diag *d, const char *name, unsigned line,
                       const char *s, size_t n, int *col, size_t *ncols)
{
    const char *f[MAX_COLUMNS];
    size_t fl[MAX_COLUMNS];
    size_t k = split(s, n, f, fl);
    if (k > MAX_COLUMNS) {
        dhcp_report(d, LOG_ERR, name, line,
                    "header of more than %d columns: not a Kea lease file",
                    MAX_COLUMNS);
        return -EINVAL;
    }
    for (int c = 0; c < C_N; c++)
        col[c] = -1;
    for (size_t i = 0; i < k; i++) {
        if ((fl[i] == 4 && !memcmp(f[i], "duid", 4)) ||
            (fl[i] == 10 && !memcmp(f[i], "lease_type", 10))) {
            dhcp_report(d, LOG_ERR, name, line,
                        "a DHCPv6 lease file (kea-leases6.csv): this "
                        "backend reads kea-leases4.csv");
            return -EINVAL;
        }
        for (int c = 0; c < C_N; c++)
            if (fl[i] == strlen(column_names[c]) &&
                !memcmp(f[i], column_names[c], fl[i]) && col[c] < 0)
                col[c] = (int)i;
    }
    for (int c = 0; c < C_N; c++)
        if (col[c] < 0 && c != C_STATE) { /* state came with Kea 1.1 */
            char shown[DHCP_SHOWN];
            dhcp_report(d, LOG_ERR, name, line,
                        "header '%s' has no column '%s': not a Kea "
                        "kea-leases4.csv file",
                        dhcp_shown(s, n, shown, sizeof(shown)),
                        column_names[c]);
            return -EINVAL;
        }
    *ncols = k;
    return 0;
}

/* One row; NULL when it was added, else why it is skipped. */
static const char *read_row(struct dhcp_diag *d, const char *name,
                            unsigned line, const char *s, size_t n,
                            const int *col, size_t ncols, struct dhcp_list *out,
                            int *oom)
{
    const char *f[MAX_COLUMNS];
    size_t fl[MAX_COLUMNS];
    size_t k = split(s, n, f, fl);
    if (k != ncols)
        return "not as many columns as the header";
    struct dhcp_lease e = {.line = line, .flags = DHCP_HAS_IP};
    int64_t valid, expire, state = 0;
    char shown[DHCP_SHOWN];
    if (!dhcp_parse_ipv4(f[col[C_ADDRESS]], fl[col[C_ADDRESS]], &e.ip))
        return "address is not an IPv4 address";
    if (!dhcp_parse_int64(f[col[C_VALID]], fl[col[C_VALID]], &valid) ||
        valid < 0 || valid > KEA_INFINITE)
        return "valid_lifetime is not a number of seconds";
    if (!dhcp_parse_int64(f[col[C_EXPIRE]], fl[col[C_EXPIRE]], &expire) ||
        expire < 0)
        return "expire is not a time in seconds";
    if (col[C_STATE] >= 0 &&
        !dhcp_parse_int64(f[col[C_STATE]], fl[col[C_STATE]], &state))
        return "state is not a number";
    if (state == 0 && valid != 0)
        e.flags |= DHCP_ACTIVE;
    e.expires = valid == KEA_INFINITE ? DHCP_NEVER : expire;

    const char *hw = f[col[C_HWADDR]];
    size_t hwn = fl[col[C_HWADDR]];
    if (hwn && !dhcp_parse_mac(hw, hwn, e.mac, &e.mac_len)) {
        e.mac_len = 0;
        dhcp_report(d, LOG_WARNING, name, line,
                    "hwaddr '%s' is not a hardware address: the lease is "
                    "served without MAC",
                    dhcp_shown(hw, hwn, shown, sizeof(shown)));
    }
    char host[DHCP_LINE_MAX];
    size_t hn = unescape(f[col[C_HOSTNAME]], fl[col[C_HOSTNAME]], host);
    if (hn && host[hn - 1] == '.') /* Kea's DDNS writes FQDNs rooted */
        hn--;
    if (hn && !dhcp_host_valid(host, hn)) {
        dhcp_report(d, LOG_WARNING, name, line,
                    "hostname '%s' cannot be served: the lease is served "
                    "without HOST",
                    dhcp_shown(host, hn, shown, sizeof(shown)));
        hn = 0;
    }
    if (dhcp_list_add(out, &e, host, hn) < 0) {
        *oom = 1;
        return "out of memory";
    }
    return NULL;
}

int dhcp_read_kea_leases(struct dhcp_diag *d, const char *name, const char *buf,
                         size_t len, struct dhcp_list *out)
{
    unsigned nul = dhcp_nul_line(buf, len);
    if (nul) {
        dhcp_report(d, LOG_ERR, name, nul,
                    "holds a NUL byte: not a Kea lease file (damaged?)");
        return -EINVAL;
    }
    struct dhcp_lines it = {buf, buf + len, 0};
    const char *s;
    size_t n;
    int last, col[C_N], have_header = 0;
    size_t ncols = 0;
    unsigned good = 0, bad = 0, first_bad = 0;
    while (dhcp_next_line(&it, &s, &n, &last)) {
        if (n == 0)
            continue;
        const char *why = NULL;
        int oom = 0;
        if (n > DHCP_LINE_MAX) {
            why = "line too long";
        } else if (!have_header) {
            if (read_header(d, name, it.line, s, n, col, &ncols) < 0)
                return -EINVAL;
            have_header = 1;
            continue;
        } else {
            why = read_row(d, name, it.line, s, n, col, ncols, out, &oom);
        }
        if (oom) {
            dhcp_report(d, LOG_ERR, name, it.line, "out of memory");
            return -ENOMEM;
        }
        if (!why) {
            good++;
            continue;
        }
        if (last) {
            dhcp_report(d, LOG_ERR, name, it.line,
                        "%s, on the last line, which has no newline: the "
                        "file is cut short (being written?)",
                        why);
            return -EINVAL;
        }
        dhcp_report(d, LOG_WARNING, name, it.line, "%s: row skipped", why);
        if (!bad++)
            first_bad = it.line;
    }
    if (bad && !good) {
        dhcp_report(d, LOG_ERR, name, first_bad,
                    "no row reads as a lease: not a Kea lease file?");
        return -EINVAL;
    }
    return 0;
}
