/* plugins/dhcp/test_dhcp_readers.c - unit tests of the lease and
 * reservation readers and of the merge, without tgedd.
 *
 * Every input is parsed from a heap copy of its exact length, so that
 * AddressSanitizer catches a read past the end; the robustness tests feed
 * every reader cut and mangled copies of real-looking files.
 *
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"

typedef int (*reader_fn)(struct dhcp_diag *, const char *, const char *, size_t,
                         struct dhcp_list *);

static char LOGBUF[1 << 16];
static size_t LOGLEN;

static void capture(void *arg, int prio, const char *msg)
{
    (void)arg;
    int n = snprintf(LOGBUF + LOGLEN, sizeof(LOGBUF) - LOGLEN, "%d %s\n", prio,
                     msg);
    if (n > 0 && LOGLEN + (size_t)n < sizeof(LOGBUF))
        LOGLEN += (size_t)n;
}

static struct dhcp_diag D = {.emit = capture};
static struct dhcp_list L;

static int run_n(reader_fn f, const char *text, size_t len)
{
    LOGLEN = 0;
    LOGBUF[0] = '\0';
    dhcp_list_free(&L);
    char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    dhcp_diag_begin(&D);
    int rc = f(&D, "t", copy, len, &L);
    dhcp_diag_end(&D, "t");
    free(copy);
    return rc;
}

static int run(reader_fn f, const char *text)
{
    return run_n(f, text, strlen(text));
}

static int logged(const char *s)
{
    return strstr(LOGBUF, s) != NULL;
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define NOW 1795555800 /* 2026-11-24T21:30:00Z */

static const struct dhcp_lease *by_ip(uint32_t ip)
{
    for (size_t i = 0; i < L.n; i++)
        if ((L.v[i].flags & DHCP_HAS_IP) && L.v[i].ip == ip)
            return &L.v[i];
    return NULL;
}

static const struct dhcp_lease *by_host(const char *h)
{
    for (size_t i = 0; i < L.n; i++)
        if (!strcmp(dhcp_host(&L, &L.v[i]), h))
            return &L.v[i];
    return NULL;
}

static const char *mac_of(const struct dhcp_lease *e)
{
    static char buf[3 * DHCP_MAC_MAX];
    dhcp_format_mac(e->mac, e->mac_len, buf, sizeof(buf));
    return buf;
}

#define ck_log(s) ck_assert_msg(logged(s), "no log '%s' in:\n%s", (s), LOGBUF)

/* ---- text.c ---------------------------------------------------------- */

START_TEST(ipv4)
{
    uint32_t ip;
    ck_assert(dhcp_parse_ipv4("192.168.0.5", 11, &ip));
    ck_assert_uint_eq(ip, IP(192, 168, 0, 5));
    ck_assert(dhcp_parse_ipv4("0.0.0.0", 7, &ip));
    ck_assert(dhcp_parse_ipv4("255.255.255.255", 15, &ip));
    const char *bad[] = {"",       "1.2.3",    "1.2.3.4.", "1.2.3.256",
                         "1..2.3", "1.2.3.4 ", "a.b.c.d",  "1.2.3.0004",
                         "::1",    "1.2.3.-4"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ck_assert_msg(!dhcp_parse_ipv4(bad[i], strlen(bad[i]), &ip), "%s",
                      bad[i]);
}
END_TEST

START_TEST(mac)
{
    uint8_t m[DHCP_MAC_MAX], n;
    char buf[64];
    ck_assert(dhcp_parse_mac("00:1A:2b:3c:4D:5e", 17, m, &n));
    dhcp_format_mac(m, n, buf, sizeof(buf));
    ck_assert_str_eq(buf, "00:1a:2b:3c:4d:5e");
    ck_assert(dhcp_parse_mac("0:1:2:a:b:c", 11, m, &n));
    dhcp_format_mac(m, n, buf, sizeof(buf));
    ck_assert_str_eq(buf, "00:01:02:0a:0b:0c");
    /* dnsmasq's hardware type prefix is dropped */
    ck_assert(dhcp_parse_mac("06-00:11:22:33:44:55", 20, m, &n));
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(m[0], 0);
    const char *bad[] = {"",
                         ":",
                         "00:11:",
                         "001:22",
                         "00:11:zz",
                         "00-11-22-33-44-55",
                         "00:11:22:33:44:55:",
                         "00:11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:"
                         "77:88:99:aa"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ck_assert_msg(!dhcp_parse_mac(bad[i], strlen(bad[i]), m, &n), "%s",
                      bad[i]);
}
END_TEST

START_TEST(dates)
{
    ck_assert_int_eq(dhcp_utc_seconds(2026, 11, 24, 21, 30, 0), NOW);
    ck_assert_int_eq(dhcp_utc_seconds(2000, 2, 29, 0, 0, 0), 951782400);
    ck_assert_int_eq(dhcp_utc_seconds(1970, 1, 1, 0, 0, 0), 0);
    ck_assert_int_eq(dhcp_utc_seconds(2100, 3, 1, 12, 0, 0), 4107585600);
    ck_assert_int_eq(dhcp_utc_seconds(2100, 2, 29, 0, 0, 0), -1);
    ck_assert_int_eq(dhcp_utc_seconds(2026, 13, 1, 0, 0, 0), -1);
    ck_assert_int_eq(dhcp_utc_seconds(2026, 4, 31, 0, 0, 0), -1);
    ck_assert_int_eq(dhcp_utc_seconds(1969, 12, 31, 0, 0, 0), -1);
    char buf[24];
    dhcp_format_expiry(NOW, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2026-11-24T21:30:00Z");
    dhcp_format_expiry(DHCP_NEVER, buf, sizeof(buf));
    ck_assert_str_eq(buf, "never");
}
END_TEST

START_TEST(hosts_and_logs)
{
    ck_assert(dhcp_host_valid("mypc", 4));
    ck_assert(dhcp_host_valid("John's iPhone", 13));
    ck_assert(!dhcp_host_valid(" x", 2));
    ck_assert(!dhcp_host_valid("x ", 2));
    ck_assert(!dhcp_host_valid("a\nb", 3));
    ck_assert(!dhcp_host_valid("a\0b", 3));
    ck_assert(!dhcp_host_valid("", 0));
    char big[300];
    memset(big, 'a', sizeof(big));
    ck_assert(dhcp_host_valid(big, 255));
    ck_assert(!dhcp_host_valid(big, 256));
    char shown[12];
    ck_assert_str_eq(dhcp_shown("a\x01\xff", 3, shown, sizeof(shown)), "a??");
    ck_assert_str_eq(dhcp_shown(big, 300, shown, sizeof(shown)), "aaaaaaaa...");
}
END_TEST

/* ---- isc_leases.c ---------------------------------------------------- */

static const char ISC_LEASES[] =
    "# The format of this file is documented in the dhcpd.leases(5) manual "
    "page.\n"
    "# This lease file was written by isc-dhcp-4.4.3-P1\n"
    "\n"
    "# authoring-byte-order entry is generated, DO NOT DELETE\n"
    "authoring-byte-order little-endian;\n"
    "\n"
    "server-duid \"\\000\\001\\000\\001+\\227\\022\\334RT\\000\\022"
    "4V\";\n"
    "\n"
    "lease 192.168.0.10 {\n" /* line 9 */
    "  starts 2 2026/11/24 19:30:00;\n"
    "  ends 2 2026/11/24 20:30:00;\n"
    "  cltt 2 2026/11/24 19:30:00;\n"
    "  binding state active;\n"
    "  next binding state free;\n"
    "  rewind binding state free;\n"
    "  hardware ethernet 52:54:00:12:34:56;\n"
    "  uid \"\\001RT\\000\\0224V\";\n"
    "  client-hostname \"mypc\";\n"
    "}\n"
    "lease 192.168.0.10 {\n" /* renewed */
    "  starts 2 2026/11/24 20:30:00;\n"
    "  ends 2 2026/11/24 22:30:00;\n"
    "  tstp 2 2026/11/24 22:30:00;\n"
    "  cltt 2 2026/11/24 20:30:00;\n"
    "  binding state active;\n"
    "  next binding state free;\n"
    "  hardware ethernet 52:54:00:12:34:56;\n"
    "  uid \"\\001RT\\000\\0224V\";\n"
    "  set vendor-class-identifier = \"MSFT 5.0\";\n"
    "  client-hostname \"mypc\";\n"
    "  on expiry { set ddns-fwd-name = \"x\"; }\n"
    "}\n"
    "lease 192.168.0.11 {\n" /* line 33 */
    "  starts 2 2026/11/24 20:00:00;\n"
    "  ends 2 2026/11/24 21:00:00;\n" /* ended */
    "  binding state active;\n"
    "  hardware ethernet 52:54:00:aa:bb:cc;\n"
    "  client-hostname \"old\";\n"
    "}\n"
    "lease 192.168.0.12 {\n"
    "  starts 2 2026/11/24 20:00:00;\n"
    "  ends 2 2026/11/24 23:00:00;\n"
    "  binding state active;\n"
    "  hardware ethernet 52:54:00:dd:ee:ff;\n" /* no host name */
    "  uid \"\\\"quoted\\\" # not a comment\";\n"
    "}\n"
    "lease 192.168.0.12 {\n" /* then released */
    "  starts 2 2026/11/24 20:00:00;\n"
    "  ends 2 2026/11/24 21:10:00;\n"
    "  tstp 2 2026/11/24 21:10:00;\n"
    "  binding state free;\n"
    "  hardware ethernet 52:54:00:dd:ee:ff;\n"
    "}\n"
    "lease 192.168.0.13 {\n"
    "  starts 2 2026/11/24 20:00:00;\n"
    "  ends epoch 1795563000; # Tue Nov 24 23:30:00 2026\n"
    "  binding state active;\n"
    "  hardware ethernet 52:54:00:00:00:13;\n"
    "}\n"
    "lease 192.168.0.14 {\n"
    "  starts 2 2026/11/24 20:00:00;\n"
    "  ends never;\n"
    "  binding state active;\n"
    "  hardware ethernet 52:54:00:00:00:14;\n"
    "  client-hostname \"printer\";\n"
    "}\n"
    "failover peer \"dhcp-failover\" state {\n"
    "  my state normal at 2 2026/11/24 19:00:00;\n"
    "  partner state normal at 2 2026/11/24 19:00:00;\n"
    "}\n"
    "lease 192.168.0.15 {\n"
    "  ends 2 2026/11/24 23:00:00;\n"
    "  binding state backup;\n"
    "}\n";

START_TEST(isc_leases)
{
    ck_assert_int_eq(run(dhcp_read_isc_leases, ISC_LEASES), 0);
    ck_assert_msg(LOGLEN == 0, "%s", LOGBUF);
    ck_assert_uint_eq(L.n, 8); /* every declaration, before settling */
    dhcp_list_settle(&L, NOW);
    ck_assert_uint_eq(L.n, 3);
    const struct dhcp_lease *e = by_ip(IP(192, 168, 0, 10));
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(dhcp_host(&L, e), "mypc");
    ck_assert_str_eq(mac_of(e), "52:54:00:12:34:56");
    ck_assert_int_eq(e->expires, NOW + 3600);
    ck_assert_uint_eq(e->line, 20); /* the last declaration */
    ck_assert_ptr_null(by_ip(IP(192, 168, 0, 11)));
    ck_assert_ptr_null(by_ip(IP(192, 168, 0, 12)));
    e = by_ip(IP(192, 168, 0, 13));
    ck_assert_int_eq(e->expires, NOW + 7200);
    ck_assert_uint_eq(e->host_len, 0);
    e = by_ip(IP(192, 168, 0, 14));
    ck_assert_int_eq(e->expires, DHCP_NEVER);
    ck_assert_ptr_null(by_ip(IP(192, 168, 0, 15)));
    /* in address order */
    ck_assert_uint_eq(L.v[0].ip, IP(192, 168, 0, 10));
    ck_assert_uint_eq(L.v[2].ip, IP(192, 168, 0, 14));
}
END_TEST

START_TEST(isc_leases_bad_values)
{
    const char *text = "lease 10.0.0.1 {\n"
                       "  ends 2 2026/13/24 23:00:00;\n"
                       "  binding state active;\n"
                       "}\n"
                       "lease fe80::1 { ends never; }\n"
                       "lease 10.0.0.2 {\n"
                       "  ends never; binding state active;\n"
                       "  hardware ethernet zz:11;\n"
                       "  client-hostname \"bad\\001name\";\n"
                       "}\n"
                       "lease 10.0.0.3 { binding state active; }\n";
    ck_assert_int_eq(run(dhcp_read_isc_leases, text), 0);
    ck_log("t:2: ends: cannot read '2'");
    ck_log("t:5: lease 'fe80::1': not an IPv4 address");
    ck_log("t:8: hardware: 'zz:11' is not a hardware address");
    ck_log("t:9: client-hostname 'bad?name' cannot be served");
    dhcp_list_settle(&L, NOW);
    ck_assert_uint_eq(L.n, 1);
    ck_assert_uint_eq(L.v[0].ip, IP(10, 0, 0, 2));
    ck_assert_uint_eq(L.v[0].mac_len, 0);
    ck_assert_uint_eq(L.v[0].host_len, 0);
}
END_TEST

START_TEST(isc_bad_later_declaration_hides_earlier)
{
    /* The last declaration counts even when unusable: the earlier active
     * one is stale. */
    const char *text = "lease 10.0.0.1 { ends never; binding state active; "
                       "}\n"
                       "lease 10.0.0.1 { ends soon; binding state active; "
                       "}\n";
    ck_assert_int_eq(run(dhcp_read_isc_leases, text), 0);
    dhcp_list_settle(&L, NOW);
    ck_assert_uint_eq(L.n, 0);
}
END_TEST

START_TEST(isc_syntax_errors)
{
    struct {
        const char *text, *log;
    } cases[] = {
        {"lease 10.0.0.1 {\n  ends never;\n  binding state active;\n",
         "t:1: the block opened here is not closed"},
        {"lease 10.0.0.1 {\n  ends never;\n  binding sta",
         "t:3: the file ends inside the statement 'binding'"},
        {"lease 10.0.0.1 {\n  client-hostname \"abc;\n}\n",
         "t:2:19: string not closed"},
        {"lease 10.0.0.1 {\n  ends never\n}\n",
         "t:2: ';' missing at the end of the statement 'ends'"},
        {"}\n", "t:1:1: '}' closes no block"},
        {"a {b {c {d {e {f {g {h {i {j {k {l {m {n {o {p {q {r {s {t {u "
         "{v {w {x {y {z {a {b {c {d {e {f {g {",
         "blocks nested deeper than 32"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        ck_assert_int_eq(run(dhcp_read_isc_leases, cases[i].text), -22);
        ck_log(cases[i].log);
    }
    ck_assert_int_eq(run_n(dhcp_read_isc_leases, "lease 1.2.3.4 {\0}", 17),
                     -22);
    ck_log("t:1: holds a NUL byte");
    char *big = malloc(DHCP_LINE_MAX + 100);
    memset(big, 'a', DHCP_LINE_MAX + 99);
    big[DHCP_LINE_MAX + 99] = '\0';
    ck_assert_int_eq(run(dhcp_read_isc_leases, big), -22);
    ck_log("t:1:1: word longer than");
    big[0] = '"';
    ck_assert_int_eq(run(dhcp_read_isc_leases, big), -22);
    ck_log("string longer than");
    free(big);
}
END_TEST

/* ---- isc_hosts.c ----------------------------------------------------- */

START_TEST(isc_hosts)
{
    const char *text =
        "# dhcpd.conf\n"
        "option domain-name \"example.org\";\n"
        "default-lease-time 600;\n"
        "include \"/etc/dhcp/more.conf\";\n"
        "subnet 192.168.0.0 netmask 255.255.255.0 {\n"
        "  range 192.168.0.100 192.168.0.200;\n"
        "  option routers 192.168.0.1;\n"
        "  host mypc {\n" /* line 8 */
        "    hardware ethernet 52:54:00:12:34:56;\n"
        "    fixed-address 192.168.0.5;\n"
        "  }\n"
        "  group {\n"
        "    use-host-decl-names on;\n"
        "    host nas { hardware ethernet 0:11:22:33:44:5; "
        "fixed-address nas.example.org; }\n"
        "    host \"tv-set\" { hardware ethernet 52:54:00:00:00:07;\n"
        "      fixed-address 192.168.0.7, 10.0.0.7;\n"
        "      option host-name \"livingroom-tv\"; }\n"
        "  }\n"
        "}\n"
        "host nothing { option host-name \"x\"; }\n"
        "host byclientid { host-identifier option dhcp-client-identifier "
        "\"abc\"; fixed-address 192.168.0.9; }\n";
    ck_assert_int_eq(run(dhcp_read_isc_hosts, text), 0);
    ck_assert_uint_eq(L.n, 4);
    const struct dhcp_lease *e = by_host("mypc");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->ip, IP(192, 168, 0, 5));
    ck_assert_str_eq(mac_of(e), "52:54:00:12:34:56");
    ck_assert_uint_eq(e->line, 8);
    e = by_host("nas");
    ck_assert_ptr_nonnull(e);
    ck_assert(!(e->flags & DHCP_HAS_IP));
    ck_assert_str_eq(mac_of(e), "00:11:22:33:44:05");
    e = by_host("livingroom-tv");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->ip, IP(192, 168, 0, 7));
    e = by_host("byclientid");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->mac_len, 0);
    ck_assert_uint_eq(e->ip, IP(192, 168, 0, 9));
    ck_assert_ptr_null(by_host("nothing"));
    ck_log("t:4: include: not followed");
}
END_TEST

/* ---- dnsmasq_leases.c ------------------------------------------------ */

START_TEST(dnsmasq_leases)
{
    const char *text =
        "1795559400 52:54:00:12:34:56 192.168.0.10 mypc "
        "01:52:54:00:12:34:56\n"
        "1795552200 52:54:00:aa:bb:cc 192.168.0.11 old *\n" /* ended */
        "0 52:54:00:00:00:14 192.168.0.14 printer *\n"
        "1795559400 52:54:00:dd:ee:ff 192.168.0.12 * *\n"
        "1795559400 06-00:11:22:33:44:55 192.168.0.16 tr *\n"
        "duid 00:01:00:01:2b:97:12:dc:52:54:00:12:34:56\n"
        "1795559400 1234567 2001:db8::10 mypc "
        "00:01:00:01:2b:97:12:dc:52:54:00:12:34:56\n";
    ck_assert_int_eq(run(dhcp_read_dnsmasq_leases, text), 0);
    ck_assert_msg(D.warnings == 0, "%s", LOGBUF);
    dhcp_list_settle(&L, NOW);
    ck_assert_uint_eq(L.n, 4);
    const struct dhcp_lease *e = by_host("mypc");
    ck_assert_uint_eq(e->ip, IP(192, 168, 0, 10));
    ck_assert_int_eq(e->expires, 1795559400);
    ck_assert_int_eq(by_host("printer")->expires, DHCP_NEVER);
    ck_assert_uint_eq(by_ip(IP(192, 168, 0, 12))->host_len, 0);
    ck_assert_str_eq(mac_of(by_host("tr")), "00:11:22:33:44:55");
    ck_log("1 IPv6 leases skipped");
}
END_TEST

START_TEST(dnsmasq_leases_bad_lines)
{
    const char *text = "1795559400 52:54:00:12:34:56 192.168.0.10 mypc *\n"
                       "garbage\n"
                       "1795559400 52:54:00:12:34:57 192.168.0.300 x *\n"
                       "soon 52:54:00:12:34:58 192.168.0.12 y *\n"
                       "1795559400 nomac 192.168.0.13 z *\n";
    ck_assert_int_eq(run(dhcp_read_dnsmasq_leases, text), 0);
    ck_log("4 t:2: expected EXPIRY MAC IP HOSTNAME CLIENT-ID: line skipped");
    ck_log("t:3: IP is not an IPv4 address");
    ck_log("t:4: EXPIRY is not a number of seconds");
    ck_log("t:5: MAC 'nomac' is not a hardware address");
    ck_assert_uint_eq(L.n, 2);
    /* cut short while dnsmasq writes it */
    ck_assert_int_eq(run(dhcp_read_dnsmasq_leases,
                         "1795559400 52:54:00:12:34:56 192.168.0.10 mypc *\n"
                         "1795559400 52:54:00:12"),
                     -22);
    ck_log("t:2: expected EXPIRY MAC IP HOSTNAME CLIENT-ID, on the last line");
    /* not a lease file at all */
    ck_assert_int_eq(run(dhcp_read_dnsmasq_leases, "[main]\nkey=value\n"), -22);
    ck_log("t:1: no line reads as a dnsmasq lease");
    /* empty: no leases, not an error */
    ck_assert_int_eq(run(dhcp_read_dnsmasq_leases, ""), 0);
    ck_assert_uint_eq(L.n, 0);
}
END_TEST

/* ---- dnsmasq_hosts.c ------------------------------------------------- */

START_TEST(dnsmasq_hosts)
{
    const char *text =
        "# /etc/dnsmasq.conf\n"
        "domain-needed\n"
        "dhcp-range=192.168.0.100,192.168.0.200,12h\n"
        "dhcp-host=52:54:00:12:34:56,192.168.0.5,mypc,infinite\n" /* 4 */
        "  dhcp-host = 52:54:00:00:00:07 , set:tv , tv # the TV\n"
        "dhcp-host=id:01:02:03,192.168.0.6,byid,12h\n"
        "dhcp-host=52:54:00:00:00:08,52:54:00:00:00:09,192.168.0.8,"
        "laptop\n"
        "dhcp-host=52:54:00:00:00:0a,ignore\n"
        "dhcp-host=11:22:33:*:*:*,set:red\n"
        "dhcp-host=52:54:00:00:00:0b,[::5],v6host\n"
        "#dhcp-host=52:54:00:00:00:0c,commented\n"
        "dhcp-host=\"52:54:00:00:00:0d\",quoted\n"
        "dhcp-host=52:54:00:00:00:0e,192.168.0.300,badip\n"
        "dhcp-host=52:54:00:00:00:0f,a,b\n"
        "dhcp-host=name-only,infinite\n"
        "dhcp-hostsfile=/etc/dnsmasq.hosts\n"
        "dhcp-host=52:54:00:00:00:10,tag:!known,x y\n";
    ck_assert_int_eq(run(dhcp_read_dnsmasq_hosts, text), 0);
    const struct dhcp_lease *e = by_host("mypc");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->ip, IP(192, 168, 0, 5));
    ck_assert_str_eq(mac_of(e), "52:54:00:12:34:56");
    ck_assert_uint_eq(e->line, 4);
    e = by_host("tv");
    ck_assert_ptr_nonnull(e);
    ck_assert(!(e->flags & DHCP_HAS_IP));
    e = by_host("byid");
    ck_assert_uint_eq(e->mac_len, 0);
    ck_assert_uint_eq(e->ip, IP(192, 168, 0, 6));
    size_t laptops = 0;
    for (size_t i = 0; i < L.n; i++)
        laptops += !strcmp(dhcp_host(&L, &L.v[i]), "laptop");
    ck_assert_uint_eq(laptops, 2);
    ck_assert_ptr_nonnull(by_host("v6host"));
    ck_assert_ptr_nonnull(by_host("quoted"));
    ck_assert_ptr_null(by_host("commented"));
    ck_assert_ptr_null(by_host("badip"));
    ck_log("t:13: dhcp-host: an address that is not IPv4: line skipped");
    ck_log("t:14: dhcp-host: two host names: line skipped");
    ck_log("t:17: dhcp-host: an item that is neither");
    ck_log("t:16: 'dhcp-hostsfile=/etc/dnsmasq.hosts': not followed");
    ck_assert_uint_eq(L.n, 7);
}
END_TEST

/* ---- kea_leases.c ---------------------------------------------------- */

static const char KEA_HEADER[] =
    "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,"
    "fqdn_rev,hostname,state,user_context,pool_id\n";

START_TEST(kea_leases)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "%s"
             "192.168.0.10,52:54:00:12:34:56,01:52:54:00:12:34:56,3600,"
             "1795555000,1,0,0,mypc,0,,0\n"
             "192.168.0.10,52:54:00:12:34:56,01:52:54:00:12:34:56,3600,"
             "1795559400,1,1,1,mypc.example.org.,0,,0\n"
             "192.168.0.11,52:54:00:aa:bb:cc,,3600,1795559400,1,0,0,"
             "declined,1,,0\n"
             "192.168.0.12,52:54:00:dd:ee:ff,,3600,1795559400,1,0,0,,2,,0\n"
             "192.168.0.13,52:54:00:00:00:13,,3600,1795559400,1,0,0,"
             "gone,0,,0\n"
             "192.168.0.13,52:54:00:00:00:13,,0,1795555800,1,0,0,gone,0,,0\n"
             "192.168.0.14,52:54:00:00:00:14,,4294967295,6090523095,1,0,0,"
             "printer,0,{ \"comment\": \"a&#x2c b\" },0\n"
             "192.168.0.15,,,3600,1795559400,1,0,0,a&#x2cb,0,,0\n"
             "192.168.0.16,52:54:00:00:00:16,,3600,1795552000,1,0,0,"
             "ended,0,,0\n",
             KEA_HEADER);
    ck_assert_int_eq(run(dhcp_read_kea_leases, text), 0);
    ck_assert_msg(LOGLEN == 0, "%s", LOGBUF);
    dhcp_list_settle(&L, NOW);
    ck_assert_uint_eq(L.n, 3);
    const struct dhcp_lease *e = by_ip(IP(192, 168, 0, 10));
    ck_assert_str_eq(dhcp_host(&L, e), "mypc.example.org");
    ck_assert_int_eq(e->expires, 1795559400);
    ck_assert_int_eq(by_host("printer")->expires, DHCP_NEVER);
    e = by_ip(IP(192, 168, 0, 15));
    ck_assert_str_eq(dhcp_host(&L, e), "a,b");
    ck_assert_uint_eq(e->mac_len, 0);
}
END_TEST

START_TEST(kea_columns_by_name)
{
    /* An older file without state, and columns in another order. */
    ck_assert_int_eq(run(dhcp_read_kea_leases,
                         "hostname,expire,valid_lifetime,address,hwaddr\n"
                         "mypc,1795559400,3600,10.0.0.1,52:54:00:12:34:56\n"),
                     0);
    dhcp_list_settle(&L, NOW);
    ck_assert_uint_eq(L.n, 1);
    ck_assert_str_eq(dhcp_host(&L, &L.v[0]), "mypc");
}
END_TEST

START_TEST(kea_errors)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "%s10.0.0.1,52:54:00:12:34:56,,3600,1795559400,1,0,0,a,0,,0\n"
             "10.0.0.2,52:54:00:12:34:57,,3600\n"
             "10.0.0.3,52:54:00:12:34:58,,x,1795559400,1,0,0,c,0,,0\n"
             "10.0.0.4,52:54:00:12:34:59,,3600,1795559400,1,0,0,d,0,,0\n",
             KEA_HEADER);
    ck_assert_int_eq(run(dhcp_read_kea_leases, text), 0);
    ck_log("t:3: not as many columns as the header: row skipped");
    ck_log("t:4: valid_lifetime is not a number of seconds: row skipped");
    ck_assert_uint_eq(L.n, 2);
    snprintf(text, sizeof(text),
             "%s10.0.0.1,52:54:00:12:34:56,,3600,1795559400,1,0,0,a,0,,0\n"
             "10.0.0.2,52:54:00:12:34:57,,36",
             KEA_HEADER);
    ck_assert_int_eq(run(dhcp_read_kea_leases, text), -22);
    ck_log("t:3: not as many columns as the header, on the last line");
    ck_assert_int_eq(
        run(dhcp_read_kea_leases,
            "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,"
            "lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr\n"),
        -22);
    ck_log("t:1: a DHCPv6 lease file");
    ck_assert_int_eq(run(dhcp_read_kea_leases, "address,hwaddr,expire\n"), -22);
    ck_log("has no column 'valid_lifetime'");
    ck_assert_int_eq(run(dhcp_read_kea_leases, ""), 0);
}
END_TEST

/* ---- merge.c --------------------------------------------------------- */

START_TEST(merge)
{
    struct dhcp_list leases, hosts;
    dhcp_list_init(&leases);
    dhcp_list_init(&hosts);
    ck_assert_int_eq(
        run(dhcp_read_dnsmasq_leases,
            "1795559400 52:54:00:12:34:56 192.168.0.10 * *\n" /* mypc */
            "1795556000 52:54:00:00:00:07 192.168.0.7 tv-lease *\n"
            "1795557000 52:54:00:00:00:20 192.168.0.6 * *\n" /* byid */
            "1795558000 52:54:00:00:00:21 192.168.0.21 guest *\n"),
        0);
    dhcp_list_settle(&L, NOW);
    dhcp_list_move(&leases, &L);
    ck_assert_int_eq(run(dhcp_read_dnsmasq_hosts,
                         "dhcp-host=52:54:00:12:34:56,192.168.0.5,mypc\n"
                         "dhcp-host=52:54:00:00:00:07,tv\n"
                         "dhcp-host=id:01:02,192.168.0.6,byid\n"
                         "dhcp-host=52:54:00:00:00:30,192.168.0.30,sleeping\n"),
                     0);
    dhcp_list_move(&hosts, &L);

    struct dhcp_record *r;
    size_t n;
    int64_t next;
    ck_assert_int_eq(dhcp_merge(&leases, &hosts, NOW, &r, &n, &next), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(next, 1795556000);
    /* leases in address order, each once */
    ck_assert_uint_eq(r[0].ip, IP(192, 168, 0, 6));
    ck_assert_mem_eq(r[0].host, "byid", 4); /* by address */
    ck_assert_uint_eq(r[1].ip, IP(192, 168, 0, 7));
    ck_assert_mem_eq(r[1].host, "tv-lease", 8); /* the lease's own name */
    ck_assert_uint_eq(r[2].ip, IP(192, 168, 0, 10));
    ck_assert_mem_eq(r[2].host, "mypc", 4); /* by MAC */
    ck_assert(r[2].is_lease);
    ck_assert_int_eq(r[2].expires, 1795559400);
    ck_assert_uint_eq(r[3].ip, IP(192, 168, 0, 21));
    /* then the reservation no lease matched */
    ck_assert(!r[4].is_lease);
    ck_assert_mem_eq(r[4].host, "sleeping", 8);
    ck_assert_uint_eq(r[4].ip, IP(192, 168, 0, 30));
    free(r);

    /* later: the tv lease has ended; its reservation is served instead */
    ck_assert_int_eq(dhcp_merge(&leases, &hosts, 1795556000, &r, &n, &next), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(next, 1795557000);
    ck_assert(!r[3].is_lease);
    ck_assert_mem_eq(r[3].host, "tv", 2);
    ck_assert(!r[3].has_ip);
    free(r);

    /* no reservations */
    ck_assert_int_eq(dhcp_merge(&leases, NULL, NOW, &r, &n, &next), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_ptr_null(r[2].host);
    free(r);
    dhcp_list_free(&leases);
    dhcp_list_free(&hosts);
}
END_TEST

/* ---- robustness ------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void hammer(reader_fn f, const char *text)
{
    size_t len = strlen(text);
    static const char bytes[] = "{};\"\\#,=:. \n\r\t\0\x01\xff"
                                "0a*";
    char *buf = malloc(len + 1);
    /* every prefix: a file cut anywhere */
    for (size_t cut = 0; cut <= len; cut++)
        run_n(f, text, cut);
    /* random damage */
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, text, len);
        int edits = 1 + (int)(rnd() % 8);
        for (int k = 0; k < edits && len; k++)
            buf[rnd() % len] = bytes[rnd() % (sizeof(bytes) - 1)];
        run_n(f, buf, len - rnd() % (len / 4 + 1));
    }
    free(buf);
}

START_TEST(robust)
{
    char kea[2048];
    snprintf(kea, sizeof(kea),
             "%s192.168.0.10,52:54:00:12:34:56,01:52,3600,1795559400,1,0,0,"
             "mypc,0,,0\n192.168.0.11,,,0,1795559400,1,0,0,a&#x2c,2,,0\n",
             KEA_HEADER);
    hammer(dhcp_read_isc_leases, ISC_LEASES);
    hammer(dhcp_read_isc_hosts, "subnet 10.0.0.0 netmask 255.0.0.0 {\n"
                                "host a { hardware ethernet 0:1:2:3:4:5; "
                                "fixed-address 10.0.0.1, 10.0.0.2; option "
                                "host-name \"x\\101\"; }\n}\n");
    hammer(dhcp_read_dnsmasq_leases,
           "1795559400 52:54:00:12:34:56 192.168.0.10 mypc 01:52:54\n"
           "0 06-00:11:22:33:44:55 192.168.0.16 * *\n"
           "duid 00:01\n1 2 ::1 * *\n");
    hammer(dhcp_read_dnsmasq_hosts,
           "dhcp-host=52:54:00:12:34:56,192.168.0.5,mypc,infinite\n"
           "dhcp-host=id:01,set:x,\"a\",1h # c\n");
    hammer(dhcp_read_kea_leases, kea);
    dhcp_list_free(&L);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dhcp readers");
    TCase *t = tcase_create("text");
    tcase_add_test(t, ipv4);
    tcase_add_test(t, mac);
    tcase_add_test(t, dates);
    tcase_add_test(t, hosts_and_logs);
    suite_add_tcase(s, t);
    t = tcase_create("isc");
    tcase_add_test(t, isc_leases);
    tcase_add_test(t, isc_leases_bad_values);
    tcase_add_test(t, isc_bad_later_declaration_hides_earlier);
    tcase_add_test(t, isc_syntax_errors);
    tcase_add_test(t, isc_hosts);
    suite_add_tcase(s, t);
    t = tcase_create("dnsmasq");
    tcase_add_test(t, dnsmasq_leases);
    tcase_add_test(t, dnsmasq_leases_bad_lines);
    tcase_add_test(t, dnsmasq_hosts);
    suite_add_tcase(s, t);
    t = tcase_create("kea");
    tcase_add_test(t, kea_leases);
    tcase_add_test(t, kea_columns_by_name);
    tcase_add_test(t, kea_errors);
    suite_add_tcase(s, t);
    t = tcase_create("merge");
    tcase_add_test(t, merge);
    suite_add_tcase(s, t);
    t = tcase_create("robust");
    tcase_add_test(t, robust);
    tcase_set_timeout(t, 120);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
