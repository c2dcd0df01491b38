/* plugins/dhcp/dhcp.h - private interfaces of the dhcp backend's files.
 *
 * The readers and the merge know nothing of tgedd: they read bytes into
 * lists of leases and report through a struct dhcp_diag, so the unit suite
 * drives them without a daemon. Only dhcp.c talks to the plugin ABI.
 *
 * SPDX-License-Identifier: MIT */
#ifndef TGED_DHCP_H
#define TGED_DHCP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* Longest value TGED carries (a HOST longer than this is not served). */
#define DHCP_HOST_MAX 255
/* Longest hardware address kept (InfiniBand's 20 bytes). */
#define DHCP_MAC_MAX 20
/* Longest line of a line-based file, and of one ISC token. */
#define DHCP_LINE_MAX 8192
/* Largest file read: far beyond any real lease file, small enough that a
 * runaway file cannot eat the machine. */
#define DHCP_FILE_MAX (256u << 20)
/* Warnings logged per file before the rest are only counted. */
#define DHCP_WARN_SHOWN 10

/* expires of a lease that does not end (ISC `ends never`, dnsmasq 0, Kea's
 * infinite lifetime). */
#define DHCP_NEVER INT64_MAX

/* ---- diag.c: reporting problems in a file ------------------------- */

struct dhcp_diag {
    /* Receives each finished message (without a trailing newline). */
    void (*emit)(void *arg, int prio, const char *msg);
    void *arg;
    unsigned warnings;   /* warnings in the current file */
    unsigned suppressed; /* of them, not shown */
};

/* Start counting warnings for a new file. */
void dhcp_diag_begin(struct dhcp_diag *d);
/* Say how many warnings of `file` were not shown, if any. */
void dhcp_diag_end(struct dhcp_diag *d, const char *file);
/* "FILE:LINE: message" (LINE 0: "FILE: message"); warnings past
 * DHCP_WARN_SHOWN per file are counted, not shown. */
void dhcp_report(struct dhcp_diag *d, int prio, const char *file, unsigned line,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same with a column: "FILE:LINE:COLUMN: message". */
void dhcp_report_at(struct dhcp_diag *d, int prio, const char *file,
                    unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* ---- lease.c: lists of leases and reservations -------------------- */

enum {
    DHCP_HAS_IP = 1u << 0,
    DHCP_ACTIVE = 1u << 1, /* the server's state says the lease is bound */
};

struct dhcp_lease {
    int64_t expires;   /* epoch seconds, DHCP_NEVER; unused for hosts */
    uint32_t ip;       /* IPv4, host byte order, when DHCP_HAS_IP */
    uint32_t host_off; /* into the list's text */
    uint32_t seq;      /* order of appearance (set by dhcp_list_add) */
    uint32_t line;     /* where it was declared, for logs */
    uint16_t host_len; /* 0: no host name */
    uint8_t mac_len;   /* 0: no hardware address */
    uint8_t flags;
    uint8_t mac[DHCP_MAC_MAX];
};

struct dhcp_list {
    struct dhcp_lease *v;
    size_t n, cap;
    char *text; /* host names, back to back */
    size_t text_len, text_cap;
};

void dhcp_list_init(struct dhcp_list *l);
void dhcp_list_free(struct dhcp_list *l);
/* Move src into dst (dst freed first); src is left empty. */
void dhcp_list_move(struct dhcp_list *dst, struct dhcp_list *src);
/* Append a copy of e with the given host name; 0 or -ENOMEM. */
int dhcp_list_add(struct dhcp_list *l, const struct dhcp_lease *e,
                  const char *host, size_t host_len);
static inline const char *dhcp_host(const struct dhcp_list *l,
                                    const struct dhcp_lease *e)
{
    return l->text + e->host_off;
}
/* Keep, for each address, only its last declaration; then drop those that
 * are not DHCP_ACTIVE or that end at or before `now`. Order: by address. */
void dhcp_list_settle(struct dhcp_list *l, int64_t now);

/* ---- text.c: the small syntaxes every format shares --------------- */

/* A dotted-quad IPv4 address, nothing around it; 1 when valid. */
int dhcp_parse_ipv4(const char *s, size_t n, uint32_t *ip);
/* A hardware address: 1 to DHCP_MAC_MAX bytes of 1-2 hex digits joined by
 * ':', optionally after dnsmasq's "TYPE-" prefix (dropped). 1 if valid. */
int dhcp_parse_mac(const char *s, size_t n, uint8_t *mac, uint8_t *len);
/* A decimal integer (optional '-'), nothing around it; 1 when valid. */
int dhcp_parse_int64(const char *s, size_t n, int64_t *v);
/* 1 when s can be served as a TGED value (HOST): 1-255 bytes, no control
 * characters, no white space at either end. */
int dhcp_host_valid(const char *s, size_t n);
/* Seconds since the epoch of a UTC date and time; -1 when out of range. */
int64_t dhcp_utc_seconds(int year, int mon, int day, int h, int m, int s);
/* "2026-11-24T21:30:00Z" or "never"; buf of at least 24 bytes. */
void dhcp_format_expiry(int64_t t, char *buf, size_t len);
void dhcp_format_ipv4(uint32_t ip, char *buf, size_t len);
/* "aa:bb:cc:dd:ee:ff"; buf of at least 3 * DHCP_MAC_MAX bytes. */
void dhcp_format_mac(const uint8_t *mac, size_t n, char *buf, size_t len);
/* s made fit to quote in a log line: control and non-ASCII bytes as '?',
 * cut with "..." to fit len (>= 4) bytes. Returns buf. */
const char *dhcp_shown(const char *s, size_t n, char *buf, size_t len);
/* A dhcp_shown() buffer of the size messages use. */
#define DHCP_SHOWN 48

/* ---- source.c: reading files whole -------------------------------- */

/* Read a whole file (at most DHCP_FILE_MAX bytes) into a NUL-terminated
 * heap buffer. 0, or -errno after reporting why. A missing file is
 * -ENOENT, reported only when `report_missing`. */
int dhcp_slurp(struct dhcp_diag *d, const char *path, int report_missing,
               char **buf, size_t *len);

/* Walks the lines of a buffer. */
struct dhcp_lines {
    const char *p, *end;
    unsigned line;
};
/* The next line (without its "\n" or "\r\n") in *s, *n; *last is 1 when it
 * had no newline (the file may be cut there). 0 at the end. */
int dhcp_next_line(struct dhcp_lines *it, const char **s, size_t *n, int *last);
/* Where the first NUL byte of buf is, as a line number; 0 when none. Lease
 * files are text: a NUL means a file of another kind, or a damaged one. */
unsigned dhcp_nul_line(const char *buf, size_t len);

/* ---- readers: one per syntax --------------------------------------- *
 * Each parses a whole buffer (`name` is the file, for messages), appends
 * what it finds to `out`, and returns 0, or -EINVAL when the file cannot
 * be read as this format at all (reported, with file:line). Lines or
 * declarations that are wrong on their own are reported as warnings and
 * skipped, as the servers themselves do. Lease readers set DHCP_ACTIVE
 * from the server's state only; time is dhcp_list_settle()'s business.
 * Several files may be read into one list in turn: later entries win. */

/* isc_leases.c: dhcpd.leases. */
int dhcp_read_isc_leases(struct dhcp_diag *d, const char *name, const char *buf,
                         size_t len, struct dhcp_list *out);
/* isc_hosts.c: host { } declarations of dhcpd.conf. */
int dhcp_read_isc_hosts(struct dhcp_diag *d, const char *name, const char *buf,
                        size_t len, struct dhcp_list *out);
/* dnsmasq_leases.c: dnsmasq.leases (IPv4 leases; IPv6 ones are skipped). */
int dhcp_read_dnsmasq_leases(struct dhcp_diag *d, const char *name,
                             const char *buf, size_t len,
                             struct dhcp_list *out);
/* dnsmasq_hosts.c: dhcp-host= lines of a dnsmasq configuration file. */
int dhcp_read_dnsmasq_hosts(struct dhcp_diag *d, const char *name,
                            const char *buf, size_t len, struct dhcp_list *out);
/* kea_leases.c: Kea's memfile kea-leases4.csv (and its .1, .2). */
int dhcp_read_kea_leases(struct dhcp_diag *d, const char *name, const char *buf,
                         size_t len, struct dhcp_list *out);

/* ---- merge.c: what is served ---------------------------------------- */

/* One record to serve: a lease, completed by its reservation, or a
 * reservation that has no lease. Strings point into the lists. */
struct dhcp_record {
    const char *host; /* NULL: no HOST */
    size_t host_len;
    const uint8_t *mac; /* NULL: no MAC */
    size_t mac_len;
    uint32_t ip;
    int has_ip;
    int is_lease; /* 0: a reservation (no EXPIRES) */
    int64_t expires;
};

/* Leases (settled) still running at `now`, each completed by a matching
 * reservation, then the reservations no lease matched. *out is a heap
 * array the caller frees; *next is the earliest end after now, or
 * DHCP_NEVER. 0 or -ENOMEM. */
int dhcp_merge(const struct dhcp_list *leases, const struct dhcp_list *hosts,
               int64_t now, struct dhcp_record **out, size_t *n, int64_t *next);

#endif /* TGED_DHCP_H */
