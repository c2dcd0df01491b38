"""tests/integration/test_dhcp.py - the dhcp backend with the real tgedd and
tged: lease files as ISC dhcpd, dnsmasq and Kea write them, reservations,
leases that end on their own, files replaced or rewritten, broken files and
refusals (docs/backends/dhcp.md)."""

import os
import subprocess
import time
from datetime import datetime, timezone

from harness import SRC, TGED, Responder, ResponderTest, main, run_tgedd

EX_CONFIG = 78
ROUTE = '{ type = "LEASE"; backends = ( "leases" ); }'

MYPC_MAC = "52:54:00:12:34:56"


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def isc_date(t):
    d = datetime.fromtimestamp(t, timezone.utc)
    # dhcpd writes the weekday as a digit, Sunday 0.
    return "%d %s" % ((d.weekday() + 1) % 7, d.strftime("%Y/%m/%d %H:%M:%S"))


def backend(fmt, file, extra=""):
    return ('{ name = "leases"; module = "dhcp"; file = "%s"; '
            'format = "%s"; %s }' % (file, fmt, extra))


def fields(out):
    """NAME -> value of `tged` text output."""
    res = {}
    for line in out.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            res[k] = v
    return res


# ---- realistic lease files ----------------------------------------------

def dnsmasq_leases(now, laptop_ends=None):
    laptop_ends = laptop_ends or now + 3000
    return (
        "%d 52:54:00:12:34:56 192.168.0.10 mypc 01:52:54:00:12:34:56\n"
        "%d 52:54:00:3a:7c:01 192.168.0.101 laptop 01:52:54:00:3a:7c:01\n"
        "%d 52:54:00:9e:21:c4 192.168.0.102 * *\n"
        "%d 52:54:00:77:00:01 192.168.0.103 oldphone *\n"
        "0 52:54:00:00:00:14 192.168.0.14 printer *\n"
        "duid 00:01:00:01:2b:97:12:dc:52:54:00:12:34:56\n"
        "%d 1234567 2001:db8::10 mypc6 "
        "00:01:00:01:2b:97:12:dc:52:54:00:12:34:56\n"
        % (now + 3600, laptop_ends, now + 1800, now - 600, now + 3600))


def isc_lease(ip, starts, ends, state, mac=None, host=None, extra=""):
    text = "lease %s {\n  starts %s;\n" % (ip, isc_date(starts))
    text += ("  ends never;\n" if ends is None
             else "  ends %s;\n" % isc_date(ends))
    text += "  cltt %s;\n  binding state %s;\n" % (isc_date(starts), state)
    text += "  next binding state free;\n  rewind binding state free;\n"
    if mac:
        text += "  hardware ethernet %s;\n" % mac
        text += '  uid "\\001RT\\000\\0224V";\n'
    text += extra
    if host:
        text += '  client-hostname "%s";\n' % host
    return text + "}\n"


def dhcpd_leases(now, mypc_ends=None):
    mypc_ends = mypc_ends or now + 3600
    return (
        "# The format of this file is documented in the dhcpd.leases(5) "
        "manual page.\n"
        "# This lease file was written by isc-dhcp-4.4.3-P1\n\n"
        "# authoring-byte-order entry is generated, DO NOT DELETE\n"
        "authoring-byte-order little-endian;\n\n"
        'server-duid "\\000\\001\\000\\001+\\227\\022\\334RT\\000\\0224V";'
        "\n\n"
        # 192.168.0.10 held by another machine first, then freed, then mypc
        + isc_lease("192.168.0.10", now - 90000, now - 86400, "active",
                    "52:54:00:ee:ee:ee", "guest")
        + isc_lease("192.168.0.10", now - 90000, now - 86400, "free",
                    "52:54:00:ee:ee:ee")
        + isc_lease("192.168.0.10", now - 1800, now + 1800, "active",
                    MYPC_MAC, "mypc",
                    '  set vendor-class-identifier = "MSFT 5.0";\n')
        + isc_lease("192.168.0.10", now - 60, mypc_ends, "active",
                    MYPC_MAC, "mypc",
                    "  on expiry {\n    set ddns-fwd-name = \"x\";\n  }\n")
        # expired without dhcpd noticing yet
        + isc_lease("192.168.0.11", now - 7200, now - 3600, "active",
                    "52:54:00:aa:bb:cc", "oldphone")
        # released
        + isc_lease("192.168.0.12", now - 600, now + 3000, "active",
                    "52:54:00:dd:ee:ff", "tablet")
        + isc_lease("192.168.0.12", now - 600, now - 5, "free",
                    "52:54:00:dd:ee:ff")
        # no host name
        + isc_lease("192.168.0.13", now - 600, now + 3000, "active",
                    "52:54:00:00:00:13")
        + isc_lease("192.168.0.14", now - 600, None, "active",
                    "52:54:00:00:00:14", "printer")
        + 'failover peer "dhcp-failover" state {\n'
          "  my state normal at %s;\n  partner state normal at %s;\n}\n"
        % (isc_date(now - 100), isc_date(now - 100)))


KEA_HEADER = ("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,"
              "fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n")


def kea_row(ip, mac, valid, expire, host="", state=0):
    return "%s,%s,01:%s,%d,%d,1,0,0,%s,%d,,0\n" % (
        ip, mac, mac, valid, expire, host, state)


def kea_leases(now):
    return (
        KEA_HEADER
        + kea_row("192.168.0.10", "52:54:00:ee:ee:ee", 3600, now - 3000,
                  "guest")
        + kea_row("192.168.0.10", MYPC_MAC, 3600, now + 1200, "mypc")
        + kea_row("192.168.0.10", MYPC_MAC, 3600, now + 3500, "mypc")
        + kea_row("192.168.0.11", "52:54:00:aa:bb:cc", 3600, now + 3000,
                  "declined", 1)
        + kea_row("192.168.0.12", "52:54:00:dd:ee:ff", 3600, now - 10,
                  "reclaimed", 2)
        + kea_row("192.168.0.13", "52:54:00:00:00:13", 3600, now + 3000)
        + kea_row("192.168.0.15", "52:54:00:00:00:15", 3600, now + 3000,
                  "released")
        + kea_row("192.168.0.15", "52:54:00:00:00:15", 0, now,
                  "released")
        + kea_row("192.168.0.14", "52:54:00:00:00:14", 4294967295,
                  now + 4294967295, "printer"))


class LeaseTest(ResponderTest):
    fmt = None
    file = None

    def start(self, text, extra="", files=None):
        files = dict(files or {})
        files[self.file] = text
        self.r = self.responder(backend(self.fmt, self.file, extra),
                                routes=ROUTE, files=files)
        return self.r

    def ask(self, *filters):
        p = self.r.tged("LEASE", *filters)
        return p.returncode, fields(p.stdout), p

    def assertServed(self, expect, *filters):
        rc, got, p = self.ask(*filters)
        self.assertEqual(rc, 0, p.stderr + self.r.log_text())
        for k, v in expect.items():
            self.assertEqual(got.get(k), v, (k, got))
        return got

    def assertNoMatch(self, *filters):
        rc, got, p = self.ask(*filters)
        self.assertEqual(rc, 1, (got, self.r.log_text()))
        self.assertIn("no-match", p.stderr)

    def wait_until(self, cond, timeout=5, what=""):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return time.monotonic()
            time.sleep(0.05)
        self.fail("not within %ss: %s\n%s" % (timeout, what,
                                              self.r.log_text()))

    def served(self, *filters):
        return self.ask(*filters)[0] == 0

    def replace(self, text):
        tmp = self.r.path(self.file + ".new")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.r.path(self.file))

    def rewrite_in_place(self, text):
        with open(self.r.path(self.file), "r+") as f:
            f.seek(0)
            f.truncate()
            f.write(text)


class Dnsmasq(LeaseTest):
    fmt = "dnsmasq"
    file = "dnsmasq.leases"

    def setUp(self):
        self.now = int(time.time())
        self.start(dnsmasq_leases(self.now))

    def test_host_gives_the_mac(self):
        p = self.r.tged("LEASE", "HOST=mypc")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("MAC: %s\n" % MYPC_MAC, p.stdout)
        self.assertEqual(fields(p.stdout), {
            "RQ": "LEASE", "HOST": "mypc", "IP": "192.168.0.10",
            "MAC": MYPC_MAC, "EXPIRES": iso(self.now + 3600),
            "SVR": "127.0.0.1"})

    def test_field_order(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: LEASE\r\n"
                                "HOST: mypc\r\n\r\n")
        self.assertEqual([k for k, _ in got[0][1]],
                         ["RQ", "HOST", "IP", "MAC", "EXPIRES"])

    def test_filter_by_mac_and_ip(self):
        # Values compare case-insensitively: an upper-case MAC matches.
        self.assertServed({"HOST": "laptop"}, "MAC=52:54:00:3A:7C:01")
        self.assertServed({"HOST": "mypc"}, "IP=192.168.0.10")
        self.assertServed({"HOST": "mypc"}, "IP=192.168.0.10",
                          "MAC=" + MYPC_MAC)
        self.assertNoMatch("IP=192.168.0.10", "MAC=52:54:00:3a:7c:01")

    def test_unnamed_expired_infinite_and_ipv6(self):
        got = self.assertServed({"IP": "192.168.0.102"},
                                "MAC=52:54:00:9e:21:c4")
        self.assertNotIn("HOST", got)
        self.assertNoMatch("HOST=oldphone")
        self.assertServed({"EXPIRES": "never"}, "HOST=printer")
        self.assertNoMatch("HOST=mypc6")
        p = self.r.tged("-a", "-t", "0.5", "--json", "LEASE")
        self.assertEqual(p.stdout.count('"RQ"'), 4, p.stdout)

    def test_wake_on_lan_script(self):
        # The script of docs/backends/dhcp.md, with a stand-in wakeonlan.
        script = ('wakeonlan() { echo "waking $1"; }\n'
                  'eval "$(%s -s 127.0.0.1:%d --env LEASE HOST=mypc)"\n'
                  'wakeonlan "$TGED_MAC"\n' % (TGED, self.r.port))
        p = subprocess.run(["sh", "-ec", script], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(p.stdout, "waking %s\n" % MYPC_MAC, p.stderr)

    def test_wake_script_says_when_there_is_no_such_host(self):
        script = ('wakeonlan() { echo "waking $1"; }\n'
                  'answer=$(%s -s 127.0.0.1:%d --env LEASE HOST="$1") || {\n'
                  '    echo "wake: no lease or reservation for \'$1\'" >&2\n'
                  '    exit 1\n'
                  '}\n'
                  'eval "$answer"\n'
                  'wakeonlan "$TGED_MAC"\n' % (TGED, self.r.port))
        p = subprocess.run(["sh", "-c", script, "wake", "mypc"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual((p.returncode, p.stdout), (0, "waking %s\n"
                                                    % MYPC_MAC), p.stderr)
        p = subprocess.run(["sh", "-c", script, "wake", "nosuchpc"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn("wake: no lease or reservation for 'nosuchpc'",
                      p.stderr)

    def test_lease_ends_without_a_file_change(self):
        ends = int(time.time()) + 2
        self.rewrite_in_place(dnsmasq_leases(self.now, laptop_ends=ends))
        self.wait_until(lambda: self.ask("HOST=laptop")[1].get("EXPIRES")
                        == iso(ends), what="the short lease")
        before = os.stat(self.r.path(self.file))
        self.wait_until(lambda: not self.served("HOST=laptop"), timeout=6,
                        what="the lease to end")
        # Gone once its end has come, and not much later.
        self.assertGreaterEqual(time.time(), ends)
        self.assertLess(time.time() - ends, 2.0)
        after = os.stat(self.r.path(self.file))
        self.assertEqual((after.st_ino, after.st_mtime_ns),
                         (before.st_ino, before.st_mtime_ns))
        self.assertServed({"HOST": "mypc"}, "HOST=mypc")

    def test_in_place_rewrite_is_served(self):
        self.rewrite_in_place(dnsmasq_leases(self.now).replace(
            "192.168.0.10 mypc", "192.168.0.20 mypc"))
        self.wait_until(lambda: self.ask("HOST=mypc")[1].get("IP")
                        == "192.168.0.20", what="the new address")

    def test_rename_over_is_served(self):
        # IPv4 leases come before the duid line and the IPv6 ones.
        self.replace(("%d 52:54:00:00:00:99 192.168.0.99 newpc *\n"
                      % (self.now + 600)) + dnsmasq_leases(self.now))
        self.wait_until(lambda: self.served("HOST=newpc"), what="newpc")

    def test_broken_file_keeps_the_last_good_leases(self):
        mark = self.r.log_mark()
        self.rewrite_in_place(
            "%d 52:54:00:12:34:56 192.168.0.10 other *\n"
            "%d 52:54:00:12" % (self.now + 60, self.now + 60))
        self.r.wait_log("dnsmasq.leases:2: expected EXPIRY MAC IP HOSTNAME "
                        "CLIENT-ID, on the last line", after=mark)
        self.r.wait_log("the data loaded before keeps serving", after=mark)
        self.assertServed({"MAC": MYPC_MAC}, "HOST=mypc")
        # A bad line among good ones is skipped with a warning.
        mark = self.r.log_mark()
        self.rewrite_in_place(dnsmasq_leases(self.now) + "not a lease\n")
        self.r.wait_log("dnsmasq.leases:8: expected EXPIRY MAC IP HOSTNAME "
                        "CLIENT-ID: line skipped", after=mark)
        self.assertServed({"MAC": MYPC_MAC}, "HOST=mypc")

    def test_no_lease_is_no_match(self):
        self.rewrite_in_place("")
        self.wait_until(lambda: not self.served("HOST=mypc"))
        rc, _, p = self.ask()
        self.assertEqual(rc, 1)
        self.assertIn("no-match", p.stderr)


class DnsmasqReservations(LeaseTest):
    fmt = "dnsmasq"
    file = "dnsmasq.leases"
    CONF = ("# /etc/dnsmasq.conf\n"
            "domain-needed\nbogus-priv\n"
            "dhcp-range=192.168.0.100,192.168.0.200,12h\n"
            "dhcp-host=52:54:00:12:34:56,192.168.0.10,mypc,infinite\n"
            "dhcp-host=52:54:00:9e:21:c4,set:kids,tablet\n"
            "dhcp-host=52:54:00:00:00:30,192.168.0.30,nas\n"
            "dhcp-host=id:01:02:03:04,192.168.0.31,byid\n"
            "dhcp-host=11:22:33:*:*:*,set:red\n")

    def setUp(self):
        self.now = int(time.time())
        self.start(dnsmasq_leases(self.now),
                   'reservations = "dnsmasq.conf";',
                   {"dnsmasq.conf": self.CONF})

    def test_reserved_host_without_lease(self):
        got = self.assertServed({"HOST": "nas", "IP": "192.168.0.30",
                                 "MAC": "52:54:00:00:00:30"}, "HOST=nas")
        self.assertNotIn("EXPIRES", got)
        got = self.assertServed({"IP": "192.168.0.31"}, "HOST=byid")
        self.assertNotIn("MAC", got)

    def test_reserved_host_with_lease_is_served_once(self):
        p = self.r.tged("-a", "-t", "0.5", "--json", "LEASE", "HOST=mypc")
        self.assertEqual(p.stdout.count('"RQ"'), 1, p.stdout)
        self.assertServed({"EXPIRES": iso(self.now + 3600)}, "HOST=mypc")
        # The lease has no name; the reservation gives it.
        self.assertServed({"IP": "192.168.0.102",
                           "EXPIRES": iso(self.now + 1800)}, "HOST=tablet")

    def test_reservations_file_is_watched(self):
        with open(self.r.path("dnsmasq.conf"), "a") as f:
            f.write("dhcp-host=52:54:00:00:00:40,192.168.0.40,backup\n")
        self.wait_until(lambda: self.served("HOST=backup"), what="backup")


class Isc(LeaseTest):
    fmt = "isc"
    file = "dhcpd.leases"

    def setUp(self):
        self.now = int(time.time())
        self.start(dhcpd_leases(self.now))

    def test_host_gives_the_mac(self):
        p = self.r.tged("LEASE", "HOST=mypc")
        self.assertEqual(p.returncode, 0, p.stderr + self.r.log_text())
        self.assertIn("MAC: %s\n" % MYPC_MAC, p.stdout)
        self.assertServed({"IP": "192.168.0.10",
                           "EXPIRES": iso(self.now + 3600)}, "HOST=mypc")

    def test_last_declaration_wins(self):
        self.assertNoMatch("HOST=guest")
        self.assertNoMatch("MAC=52:54:00:ee:ee:ee")
        self.assertNoMatch("HOST=tablet")       # released after
        self.assertNoMatch("HOST=oldphone")     # ended, still "active"
        got = self.assertServed({"MAC": "52:54:00:00:00:13"},
                                "IP=192.168.0.13")
        self.assertNotIn("HOST", got)
        self.assertServed({"EXPIRES": "never"}, "HOST=printer")
        p = self.r.tged("-a", "-t", "0.5", "--json", "LEASE")
        self.assertEqual(p.stdout.count('"RQ"'), 3, p.stdout)

    def test_filter_by_mac_and_ip(self):
        self.assertServed({"HOST": "mypc"}, "MAC=52:54:00:12:34:56")
        self.assertServed({"HOST": "printer"}, "IP=192.168.0.14")

    def test_appended_declaration_is_served(self):
        # dhcpd appends a declaration at each change.
        with open(self.r.path(self.file), "a") as f:
            f.write(isc_lease("192.168.0.10", self.now, self.now + 7200,
                              "active", MYPC_MAC, "mypc"))
        self.wait_until(lambda: self.ask("HOST=mypc")[1].get("EXPIRES")
                        == iso(self.now + 7200), what="the renewal")

    def test_rename_over_is_served(self):
        # dhcpd rewrites the file as dhcpd.leases~ then renames it.
        text = dhcpd_leases(self.now) + isc_lease(
            "192.168.0.50", self.now, self.now + 600, "active",
            "52:54:00:00:00:50", "newpc")
        self.replace(text)
        self.wait_until(lambda: self.served("HOST=newpc"), what="newpc")

    def test_lease_ends_without_a_file_change(self):
        ends = int(time.time()) + 2
        self.replace(dhcpd_leases(self.now, mypc_ends=ends))
        self.wait_until(lambda: self.ask("HOST=mypc")[1].get("EXPIRES")
                        == iso(ends), what="the short lease")
        self.wait_until(lambda: not self.served("HOST=mypc"), timeout=6,
                        what="the lease to end")
        self.assertGreaterEqual(time.time(), ends)
        self.assertLess(time.time() - ends, 2.0)

    def test_broken_file_keeps_the_last_good_leases(self):
        good = dhcpd_leases(self.now)
        lines = good.count("\n")
        mark = self.r.log_mark()
        # Cut inside a declaration, as a half-written file would be.
        self.replace(good + "lease 192.168.0.60 {\n  starts 2 2026/11/2")
        self.r.wait_log("dhcpd.leases:%d: the file ends inside the statement "
                        "'starts'" % (lines + 2), after=mark)
        self.r.wait_log("the data loaded before keeps serving", after=mark)
        self.assertServed({"MAC": MYPC_MAC}, "HOST=mypc")
        mark = self.r.log_mark()
        self.replace(good + 'lease 192.168.0.61 {\n  client-hostname "x;\n')
        self.r.wait_log("dhcpd.leases:%d:19: string not closed" % (lines + 2),
                        after=mark)
        self.assertServed({"MAC": MYPC_MAC}, "HOST=mypc")


class IscReservations(LeaseTest):
    fmt = "isc"
    file = "dhcpd.leases"
    CONF = ("# dhcpd.conf\n"
            'option domain-name "example.org";\n'
            "default-lease-time 3600;\n"
            "subnet 192.168.0.0 netmask 255.255.255.0 {\n"
            "  range 192.168.0.100 192.168.0.200;\n"
            "  option routers 192.168.0.1;\n"
            "  host nas {\n"
            "    hardware ethernet 52:54:00:00:00:30;\n"
            "    fixed-address 192.168.0.30;\n"
            "  }\n"
            "  group {\n"
            "    host anon { hardware ethernet 52:54:00:00:00:13; }\n"
            "    host mypc-reserved { hardware ethernet %s; "
            "fixed-address 192.168.0.10; }\n"
            "  }\n"
            "}\n" % MYPC_MAC)

    def setUp(self):
        self.now = int(time.time())
        self.start(dhcpd_leases(self.now), 'reservations = "dhcpd.conf";',
                   {"dhcpd.conf": self.CONF})

    def test_reservations(self):
        got = self.assertServed({"IP": "192.168.0.30",
                                 "MAC": "52:54:00:00:00:30"}, "HOST=nas")
        self.assertNotIn("EXPIRES", got)
        # The lease's own name wins; the reservation fills a missing one.
        self.assertServed({"IP": "192.168.0.10"}, "HOST=mypc")
        self.assertNoMatch("HOST=mypc-reserved")
        self.assertServed({"IP": "192.168.0.13",
                           "EXPIRES": iso(self.now + 3000)}, "HOST=anon")

    def test_broken_reservations_keep_the_last_good(self):
        mark = self.r.log_mark()
        with open(self.r.path("dhcpd.conf"), "w") as f:
            f.write(self.CONF.replace("fixed-address 192.168.0.30;",
                                      "fixed-address 192.168.0.30"))
        self.r.wait_log("dhcpd.conf:9: ';' missing at the end of the "
                        "statement 'fixed-address'", after=mark)
        self.assertServed({"IP": "192.168.0.30"}, "HOST=nas")
        self.assertServed({"IP": "192.168.0.10"}, "HOST=mypc")


class Kea(LeaseTest):
    fmt = "kea"
    file = "kea-leases4.csv"

    def setUp(self):
        self.now = int(time.time())
        self.start(kea_leases(self.now))

    def test_host_gives_the_mac(self):
        p = self.r.tged("LEASE", "HOST=mypc")
        self.assertEqual(p.returncode, 0, p.stderr + self.r.log_text())
        self.assertIn("MAC: %s\n" % MYPC_MAC, p.stdout)
        self.assertServed({"IP": "192.168.0.10",
                           "EXPIRES": iso(self.now + 3500)}, "HOST=mypc")

    def test_states(self):
        for gone in ("HOST=guest", "HOST=declined", "HOST=reclaimed",
                     "HOST=released"):
            self.assertNoMatch(gone)
        got = self.assertServed({"MAC": "52:54:00:00:00:13"},
                                "IP=192.168.0.13")
        self.assertNotIn("HOST", got)
        self.assertServed({"EXPIRES": "never"}, "HOST=printer")

    def test_filter_by_mac_and_ip(self):
        self.assertServed({"HOST": "mypc"}, "MAC=52:54:00:12:34:56")
        self.assertServed({"HOST": "printer"}, "IP=192.168.0.14")

    def test_appended_row_is_served(self):
        with open(self.r.path(self.file), "a") as f:
            f.write(kea_row("192.168.0.10", MYPC_MAC, 0, self.now, "mypc"))
        self.wait_until(lambda: not self.served("HOST=mypc"),
                        what="the release")

    def test_lease_file_cleanup_files(self):
        # Kea's cleanup moves older rows to .1/.2; leases there still run.
        with open(self.r.path(self.file + ".1"), "w") as f:
            f.write(KEA_HEADER + kea_row("192.168.0.70", "52:54:00:00:00:70",
                                         3600, self.now + 3000, "inold"))
        self.replace(KEA_HEADER + kea_row(
            "192.168.0.71", "52:54:00:00:00:71", 3600, self.now + 3000,
            "innew"))
        self.wait_until(lambda: self.served("HOST=innew"), what="innew")
        self.assertServed({"IP": "192.168.0.70"}, "HOST=inold")
        self.assertNoMatch("HOST=mypc")

    def test_lease_ends_without_a_file_change(self):
        ends = int(time.time()) + 2
        with open(self.r.path(self.file), "a") as f:
            f.write(kea_row("192.168.0.10", MYPC_MAC, 3600, ends, "mypc"))
        self.wait_until(lambda: self.ask("HOST=mypc")[1].get("EXPIRES")
                        == iso(ends), what="the short lease")
        self.wait_until(lambda: not self.served("HOST=mypc"), timeout=6,
                        what="the lease to end")
        self.assertGreaterEqual(time.time(), ends)

    def test_broken_file_keeps_the_last_good_leases(self):
        mark = self.r.log_mark()
        self.replace("address,hwaddr,client_id\n10.0.0.1,,\n")
        self.r.wait_log("kea-leases4.csv:1: header 'address,hwaddr,client_id'"
                        " has no column 'valid_lifetime'", after=mark)
        self.r.wait_log("the data loaded before keeps serving", after=mark)
        self.assertServed({"MAC": MYPC_MAC}, "HOST=mypc")
        mark = self.r.log_mark()
        with open(self.r.path(self.file), "w") as f:
            f.write(kea_leases(self.now) + "192.168.0.10,52:54:00:12:34:56,,"
                    "36")
        self.r.wait_log("kea-leases4.csv:11: not as many columns as the "
                        "header, on the last line", after=mark)
        self.assertServed({"MAC": MYPC_MAC}, "HOST=mypc")


class Refusals(ResponderTest):
    def check(self, extra, files=None, file="dnsmasq.leases", fmt="dnsmasq"):
        files = files if files is not None else {"dnsmasq.leases": ""}
        r = Responder('{ name = "leases"; module = "dhcp"; %s%s%s }' % (
            'file = "%s"; ' % file if file else "",
            'format = "%s"; ' % fmt if fmt else "", extra),
            routes=ROUTE, files=files)
        self.addCleanup(r.cleanup)
        return r, run_tgedd("-t", "-c", r.conf)

    def assertRefused(self, p, text):
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn(text, p.stderr)

    def test_good(self):
        r, p = self.check("")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_required_settings(self):
        _, p = self.check("", fmt=None)
        self.assertRefused(p, "setting 'format' is required")
        _, p = self.check("", file=None)
        self.assertRefused(p, "setting 'file' is required")

    def test_bad_settings(self):
        cases = [
            ("", "tged.conf:3: format: 'dhcpd' is not a lease file format",
             "dhcpd"),
            ('type = "LE ASE";', "type: 'LE ASE' is not a valid type",
             "dnsmasq"),
            ('reservations_format = "isc";',
             "reservations_format: given without 'reservations'", "dnsmasq"),
            ('reservations = "dnsmasq.leases";',
             "reservations: Kea's reservations are not read", "kea"),
            ('reservations = "dnsmasq.leases"; reservations_format = "kea";',
             "reservations_format: Kea's reservations are not read", "isc"),
            ('reservations = "x"; reservations_format = "json";',
             "reservations_format: 'json' is not a reservations format",
             "isc"),
        ]
        for extra, text, fmt in cases:
            with self.subTest(extra=extra, fmt=fmt):
                _, p = self.check(extra, fmt=fmt)
                self.assertRefused(p, text)

    def test_missing_and_broken_files(self):
        _, p = self.check("", files={})
        self.assertRefused(p, "dnsmasq.leases: cannot open: No such file")
        _, p = self.check('reservations = "nope.conf";')
        self.assertRefused(p, "nope.conf: cannot open: No such file")
        _, p = self.check("", files={"dnsmasq.leases": "what\n"})
        self.assertRefused(p, "dnsmasq.leases:1: no line reads as a dnsmasq "
                              "lease")
        _, p = self.check("", files={"dhcpd.leases": "lease 1.2.3.4 {\n"},
                          file="dhcpd.leases", fmt="isc")
        self.assertRefused(p, "dhcpd.leases:1: the block opened here is not "
                              "closed")
        _, p = self.check("", files={"kea.csv": "a,b\n"}, file="kea.csv",
                          fmt="kea")
        self.assertRefused(p, "kea.csv:1: header 'a,b' has no column "
                              "'address'")

    def test_unknown_setting(self):
        _, p = self.check('fromat = "isc";')
        self.assertRefused(p, "unknown setting 'fromat'")


class Samples(ResponderTest):
    """The sample lease files in etc/, with the backend block that
    docs/backends/dhcp.md gives for etc/tged.conf."""

    def test_samples(self):
        for fmt, name in (("dnsmasq", "dnsmasq.leases"),
                          ("isc", "dhcpd.leases")):
            with self.subTest(fmt=fmt):
                path = os.path.abspath(os.path.join(SRC, "etc", name))
                r = self.responder(backend(fmt, path), routes=ROUTE)
                p = r.tged("LEASE", "HOST=mypc")
                self.assertEqual(p.returncode, 0, p.stderr + r.log_text())
                self.assertEqual(fields(p.stdout)["MAC"], MYPC_MAC)
                self.assertEqual(fields(p.stdout)["EXPIRES"], "never")
                self.assertNotIn("warning", r.log_text())


class TypeSetting(LeaseTest):
    fmt = "dnsmasq"
    file = "dnsmasq.leases"

    def test_type_and_other_types(self):
        self.now = int(time.time())
        files = {self.file: dnsmasq_leases(self.now)}
        self.r = self.responder(backend(self.fmt, self.file,
                                        'type = "DHCP-LEASE";'),
                                files=files)
        p = self.r.tged("dhcp-lease", "HOST=mypc")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("RQ: DHCP-LEASE\n", p.stdout)
        p = self.r.tged("LEASE", "HOST=mypc")
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown-type", p.stderr)


if __name__ == "__main__":
    main()
