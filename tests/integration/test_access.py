"""tests/integration/test_access.py - who may ask, and how often: allow and
deny lists of the responder and of a route, per-source rate limits and the
byte budget. Sources are loopback addresses (127.0.0.2, ...)."""

import re
import socket
import time

from harness import (ResponderTest, main, rec, static_backend, run_tgedd,
                     Responder)

SQL = b"TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n"
LEASE = b"TGED DISCOVERY 1.0\r\nRQ: LEASE\r\n\r\n"
BACKENDS = static_backend("s", rec("SQL", HOST="db") + ", " +
                          rec("LEASE", HOST="pc", MAC="52:54:00:12:34:56"))


def ask_from(r, src, data, wait=0.5):
    """Send from a chosen loopback address; the answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(wait)
        s.sendto(data, ("127.0.0.1", r.port))
        out = []
        try:
            while True:
                out.append(s.recv(4096))
        except socket.timeout:
            return out


class Lists(ResponderTest):
    def test_deny(self):
        r = self.responder(BACKENDS, responder='deny = ( "127.0.0.2" );')
        self.assertEqual(ask_from(r, "127.0.0.2", SQL), [])
        self.assertEqual(len(ask_from(r, "127.0.0.3", SQL)), 1)
        self.assertEqual(r.stats()["refused.acl"], 1)

    def test_allow(self):
        r = self.responder(BACKENDS, responder='allow = ( "127.0.0.0/30" );')
        self.assertEqual(len(ask_from(r, "127.0.0.2", SQL)), 1)
        self.assertEqual(ask_from(r, "127.0.0.4", SQL), [])
        # IPv6 ::1 is not in the list either.
        self.assertEqual(r.ask(SQL, family=socket.AF_INET6, first_wait=0.5), [])

    def test_deny_wins_over_allow(self):
        r = self.responder(BACKENDS, responder='allow = ( "127.0.0.0/8" ); '
                           'deny = ( "127.0.0.9/32" );')
        self.assertEqual(ask_from(r, "127.0.0.9", SQL), [])
        self.assertEqual(len(ask_from(r, "127.0.0.8", SQL)), 1)

    def test_route_allow(self):
        r = self.responder(BACKENDS, routes='{ type = "LEASE"; backends = '
                           '( "s" ); allow = ( "127.0.0.1" ); }, '
                           '{ type = "*"; backends = ( "s" ); }')
        self.assertEqual(len(ask_from(r, "127.0.0.1", LEASE)), 1)
        self.assertEqual(ask_from(r, "127.0.0.2", LEASE), [])
        self.assertEqual(len(ask_from(r, "127.0.0.2", SQL)), 1)
        self.assertEqual(r.stats()["refused.route"], 1)

    def test_loopback_is_on_link(self):
        # The default: only sources on a subnet of the arrival interface;
        # 127.0.0.0/8 and ::1 are lo's.
        r = self.responder(BACKENDS)
        self.assertEqual(len(ask_from(r, "127.0.0.5", SQL)), 1)
        self.assertEqual(len(r.ask(SQL, family=socket.AF_INET6)), 1)
        self.assertEqual(r.stats()["refused.off-link"], 0)

    def test_bad_prefixes_are_refused(self):
        for bad in ("10.0.0.1/8", "10.0.0.0/33", "fe80::1/10", "nowhere",
                    "1.2.3.4/"):
            with self.subTest(bad):
                c = Responder(BACKENDS, responder='deny = ( "%s" );' % bad)
                self.addCleanup(c.cleanup)
                p = run_tgedd("-t", "-c", c.conf)
                self.assertEqual(p.returncode, 78)
                self.assertIn("%s:1: responder.deny: '%s' is not an address "
                              "or prefix" % (c.conf, bad), p.stderr)


class Rates(ResponderTest):
    def test_flood_from_one_source_leaves_others_served(self):
        r = self.responder(BACKENDS, responder='rate_limit = { requests = 5; '
                           'burst = 5; exempt = ( ); };')
        flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(flood.close)
        flood.bind(("127.0.0.2", 0))
        t0 = time.monotonic()
        for _ in range(300):
            flood.sendto(SQL, ("127.0.0.1", r.port))
        answered = 0
        flood.settimeout(0.5)
        try:
            while True:
                flood.recv(4096)
                answered += 1
        except socket.timeout:
            pass
        elapsed = time.monotonic() - t0
        # The burst, plus what the rate refilled while the flood lasted.
        self.assertGreaterEqual(answered, 5)
        self.assertLessEqual(answered, 5 + 5 * elapsed + 1)
        # Another source is answered at once.
        self.assertEqual(len(ask_from(r, "127.0.0.3", SQL)), 1)
        st = r.stats()
        self.assertEqual(st["refused.rate"], 300 - answered)

    def test_loopback_is_exempt_by_default(self):
        r = self.responder(BACKENDS, responder='rate_limit = { requests = 1; '
                           'burst = 1; };')
        for _ in range(20):
            self.assertEqual(len(ask_from(r, "127.0.0.2", SQL, wait=1)), 1)
        self.assertEqual(r.stats()["refused.rate"], 0)

    def test_byte_budget(self):
        many = ", ".join(rec("MANY", N=i, PAD="x" * 100) for i in range(8))
        r = self.responder(static_backend("m", many),
                           responder='rate_limit = { bytes = 3000; '
                           'exempt = ( ); };')
        got = 0
        t0 = time.monotonic()
        for _ in range(10):
            answers = ask_from(r, "127.0.0.2",
                               b"TGED DISCOVERY 1.0\r\nRQ: MANY\r\n\r\n",
                               wait=0.2)
            got += sum(len(a) for a in answers)
        elapsed = time.monotonic() - t0
        # A second's budget to start with, then 3000 bytes a second: far
        # less than the 10 requests' 8 answers each.
        self.assertLessEqual(got, 3000 * (1 + elapsed))
        self.assertGreater(got, 0)
        self.assertGreater(r.stats()["refused.bytes"], 0)

    def test_bad_rate_settings(self):
        for setting, msg in (("rate_limit = { requests = -1; };",
                              "rate_limit.requests must be from 0"),
                             ("rate_limit = { speed = 1; };",
                              "unknown setting 'speed'"),
                             ("rate_limit = { burst = 0.5; };",
                              "burst must be at least 1")):
            with self.subTest(setting):
                c = Responder(BACKENDS, responder=setting)
                self.addCleanup(c.cleanup)
                p = run_tgedd("-t", "-c", c.conf)
                self.assertEqual(p.returncode, 78, p.stderr)
                self.assertIn(msg, p.stderr)


if __name__ == "__main__":
    main()
