"""tests/integration/test_responder.py - tgedd answers and silences over
loopback, IPv4 and IPv6, as docs/protocol.md says."""

import json
import os
import socket
import struct
import subprocess

from harness import (ResponderTest, main, rec, static_backend, BROKEN, parse,
                     TGED)

SQL = rec("SQL", HOST="test", FQDN="test.example.com", IP="192.168.0.34",
          PORT=3306, USER="john")
WEB = rec("WEB", HOST="web1", IP="192.168.0.40") + ", " + \
    rec("WEB", HOST="web2", IP="192.168.0.41")
SQL_REPLY = (b"TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: test\r\n"
             b"FQDN: test.example.com\r\nIP: 192.168.0.34\r\nPORT: 3306\r\n"
             b"USER: john\r\n\r\n")


def design_note_client(service, port, addr):
    """The client of the design note, line for line, but for the address
    and port (a broadcast on the real network is not for tests)."""
    HEADER = "TGED DISCOVERY 1.0"
    data = '\r\n'.join([HEADER, f"RQ:{service}", '', ''])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.settimeout(10)
        sock.sendto(data.encode(), (addr, port))
        data, addr = sock.recvfrom(1024)
        reply = {}
        for line in data.decode().splitlines()[1:]:
            if line:
                k, v = line.split(":", 1)
                reply[k.strip()] = v.strip()
    reply['SVR'] = addr[0]
    return reply


class Answers(ResponderTest):
    def setUp(self):
        self.r = self.responder(static_backend("site", SQL + ", " + WEB))

    def test_design_note_client_gets_the_record(self):
        reply = design_note_client("SQL", self.r.port, "127.0.0.1")
        self.assertEqual(reply, {"RQ": "SQL", "HOST": "test",
                                 "FQDN": "test.example.com",
                                 "IP": "192.168.0.34", "PORT": "3306",
                                 "USER": "john", "SVR": "127.0.0.1"})

    def test_reply_bytes_are_exact(self):
        got = self.r.ask("TGED DISCOVERY 1.0\r\nRQ:SQL\r\n\r\n")
        self.assertEqual(got, [SQL_REPLY])

    def test_answer_comes_from_the_port_asked(self):
        self.r.ask("TGED DISCOVERY 1.0\r\nRQ:SQL\r\n\r\n")
        self.assertEqual(self.r.last_source, ("127.0.0.1", self.r.port))

    def test_type_is_case_insensitive_and_answered_as_configured(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.0\nrq:  sql  \n")
        self.assertEqual(got[0][1][0], ("RQ", "SQL"))

    def test_id_is_echoed_after_rq(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.3\r\nID: a-1\r\nRQ: SQL\r\n")
        self.assertEqual(got[0][0], "REPLY")
        self.assertEqual(got[0][1][:3], [("RQ", "SQL"), ("ID", "a-1"),
                                         ("HOST", "test")])

    def test_one_reply_per_record_in_order(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: WEB\r\n\r\n",
                                count=2)
        self.assertEqual([dict(h)["HOST"] for _, h in got], ["web1", "web2"])

    def test_filter_selects_records(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: WEB\r\n"
                                "host: WEB2\r\n\r\n")
        self.assertEqual(len(got), 1)
        self.assertEqual(dict(got[0][1])["IP"], "192.168.0.41")

    def test_two_filters_must_both_match(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: WEB\r\n"
                                "HOST: web2\r\nIP: 192.168.0.40\r\n\r\n")
        self.assertEqual(got, [("INVALID", [("RP", "INVALID"), ("RQ", "WEB"),
                                            ("REASON", "no-match")])])

    def test_reserved_headers_are_not_filters(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: SQL\r\n"
                                "SVR: 1.2.3.4\r\nX-TGED-FOO: 1\r\n"
                                "AUTH: x\r\n\r\n")
        self.assertEqual(got[0][0], "REPLY")

    def test_unknown_type(self):
        got = self.r.ask("TGED DISCOVERY 1.0\r\nRQ: NOSUCH\r\nID: 7\r\n\r\n")
        self.assertEqual(got, [b"TGED INVALID 1.0\r\nRP: INVALID\r\n"
                               b"RQ: NOSUCH\r\nID: 7\r\n"
                               b"REASON: unknown-type\r\n\r\n"])

    def test_no_match(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: SQL\r\n"
                                "HOST: other\r\n\r\n")
        self.assertEqual(dict(got[0][1])["REASON"], "no-match")

    def test_bad_requests(self):
        cases = {
            "no RQ": "TGED DISCOVERY 1.0\r\nHOST: x\r\n\r\n",
            "space before colon": "TGED DISCOVERY 1.0\r\nRQ :SQL\r\n\r\n",
            "repeated name": "TGED DISCOVERY 1.0\r\nRQ: SQL\r\nrq: SQL\r\n",
            "bad type": "TGED DISCOVERY 1.0\r\nRQ: S Q L\r\n\r\n",
            "name too long": "TGED DISCOVERY 1.0\r\nRQ: SQL\r\n"
                             + "A" * 33 + ": 1\r\n",
            "value too long": "TGED DISCOVERY 1.0\r\nRQ: SQL\r\nA: "
                              + "v" * 256 + "\r\n",
            "33 headers": "TGED DISCOVERY 1.0\r\nRQ: SQL\r\n"
                          + "".join("H%d: 1\r\n" % i for i in range(32)),
            "too big": "TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n".ljust(1473),
            "bad version": "TGED DISCOVERY 1.x\r\nRQ: SQL\r\n\r\n",
        }
        for what, req in cases.items():
            with self.subTest(what):
                got = self.r.ask_parsed(req)
                self.assertEqual(len(got), 1, what)
                self.assertEqual(got[0][0], "INVALID")
                self.assertEqual(got[0][1][0], ("RP", "INVALID"))
                self.assertEqual(got[0][1][-1], ("REASON", "bad-request"))

    def test_bad_request_echoes_valid_rq_and_id(self):
        got = self.r.ask_parsed("TGED DISCOVERY 1.0\r\nBAD LINE\r\n"
                                "RQ: SQL\r\nID: k9\r\n\r\n")
        self.assertEqual(got, [("INVALID", [("RP", "INVALID"), ("RQ", "SQL"),
                                            ("ID", "k9"),
                                            ("REASON", "bad-request")])])

    def test_largest_request_is_served(self):
        req = "TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n"
        got = self.r.ask_parsed(req.ljust(1472, "b"))
        self.assertEqual(got[0][0], "REPLY")

    def test_other_major_version(self):
        got = self.r.ask_parsed("TGED DISCOVERY 2.0\r\nanything at all\r\n")
        self.assertEqual(got, [("INVALID", [("RP", "INVALID"),
                                            ("REASON", "version")])])

    def test_silences(self):
        cases = {
            "not TGED": b"hello",
            "empty": b"",
            "lower-case magic": b"tged DISCOVERY 1.0\r\nRQ: SQL\r\n",
            "a REPLY": SQL_REPLY,
            "an INVALID": b"TGED INVALID 1.0\r\nRP: INVALID\r\n\r\n",
            "lower-case method": b"TGED discovery 1.0\r\nRQ: SQL\r\n",
            "other method": b"TGED PING 1.0\r\nRQ: SQL\r\n",
            "REPLY of version 2": b"TGED REPLY 2.0\r\nRQ: SQL\r\n",
            "malformed REPLY": b"TGED REPLY 1.0\r\nRQ :SQL\r\n",
        }
        for what, req in cases.items():
            with self.subTest(what):
                self.assertEqual(self.r.ask(req, first_wait=0.3), [], what)
        # Still serving.
        self.assertEqual(self.r.ask(b"TGED DISCOVERY 1.0\r\nRQ:SQL\r\n\r\n"),
                         [SQL_REPLY])

    def test_source_port_zero_is_dropped(self):
        if os.geteuid() != 0:
            self.skipTest("sending from port 0 needs a raw socket (root)")
        body = b"TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n"
        udp = struct.pack("!HHHH", 0, self.r.port, 8 + len(body), 0) + body
        with socket.socket(socket.AF_INET, socket.SOCK_RAW,
                           socket.IPPROTO_UDP) as raw:
            raw.sendto(udp, ("127.0.0.1", 0))
        # Answered after the datagram from port 0, which was queued first.
        self.assertEqual(self.r.ask(body), [SQL_REPLY])
        st = self.r.stats()
        self.assertEqual((st["received"], st["answered"],
                          st["dropped.port-0"]), (2, 1, 1))

    def test_ipv6_loopback(self):
        got = self.r.ask("TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n",
                         family=socket.AF_INET6)
        self.assertEqual(got, [SQL_REPLY])
        self.assertEqual(self.r.last_source[:2], ("::1", self.r.port))


class Limits(ResponderTest):
    def test_max_replies_default_8(self):
        recs = ", ".join(rec("MANY", N=i) for i in range(12))
        r = self.responder(static_backend("s", recs))
        got = r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: MANY\r\n\r\n")
        self.assertEqual([dict(h)["N"] for _, h in got],
                         [str(i) for i in range(8)])

    def test_max_replies_setting(self):
        recs = ", ".join(rec("MANY", N=i) for i in range(12))
        r = self.responder(static_backend("s", recs),
                           responder="max_replies = 3;")
        got = r.ask("TGED DISCOVERY 1.0\r\nRQ: MANY\r\n\r\n")
        self.assertEqual(len(got), 3)

    def test_answer_unknown_false_is_silent_for_unknown_types_only(self):
        r = self.responder(static_backend("s", SQL),
                           responder="answer_unknown = false;")
        self.assertEqual(r.ask("TGED DISCOVERY 1.0\r\nRQ: NOPE\r\n",
                               first_wait=0.4), [])
        got = r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: SQL\r\nHOST: x\r\n")
        self.assertEqual(dict(got[0][1])["REASON"], "no-match")

    def test_reply_size_is_kept(self):
        # 1024 - 157 bytes of fields fit; a value of 255 bytes in 3 fields
        # (3 * 262 = 786) fits, 4 do not and the file is refused.
        big = "v" * 255
        ok = rec("BIG", A=big, B=big, C=big)
        r = self.responder(static_backend("s", ok))
        got = r.ask("TGED DISCOVERY 1.0\r\nRQ: BIG\r\nID: " + "i" * 64 +
                    "\r\n")
        self.assertLessEqual(len(got[0]), 1024)
        self.assertEqual(parse(got[0])[1][-1], ("C", big))


class Routes(ResponderTest):
    TWO = (static_backend("a", rec("X", FROM="a") + ", " +
                          rec("Y", FROM="a", K="1")) + ", " +
           static_backend("b", rec("X", FROM="b") + ", " +
                          rec("Y", FROM="b", K="2") + ", " + rec("Z", FROM="b")))

    def froms(self, r, req):
        return [dict(h).get("FROM") or dict(h).get("REASON")
                for _, h in r.ask_parsed(req)]

    def test_without_routes_every_backend_in_order_first_wins(self):
        r = self.responder(self.TWO)
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: X\r\n"), ["a"])
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: Z\r\n"), ["b"])

    def test_first_falls_through_on_no_match(self):
        r = self.responder(self.TWO)
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: Y\r\nK: 2\r\n"),
                         ["b"])

    def test_merge(self):
        r = self.responder(self.TWO, routes='{ type = "x"; backends = '
                           '( "b", "a" ); policy = "merge"; }, '
                           '{ type = "*"; backends = ( "a" ); }')
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: X\r\n"),
                         ["b", "a"])
        # "*" takes what no other route names: Z only lives in b.
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: Z\r\n"),
                         ["unknown-type"])

    def test_wildcard_anywhere_in_the_list(self):
        r = self.responder(self.TWO, routes='{ type = "*"; backends = ("b"); },'
                           ' { type = "X"; backends = ( "a" ); }')
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: x\r\n"), ["a"])
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: Y\r\n"), ["b"])

    def test_no_route_for_type(self):
        r = self.responder(self.TWO, routes='{ type = "X"; backends = ("a"); }')
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: Y\r\n"),
                         ["unknown-type"])

    def scripted(self, name, status, types='"S"'):
        return ('{ name = "%s"; module = "%s/scripted.so"; status = "%s"; '
                'types = ( %s ); fields = { FROM = "%s"; }; }'
                % (name, BROKEN, status, types, name))

    def test_unavailable_when_every_backend_failed(self):
        r = self.responder(self.scripted("f1", "failed") + ", " +
                           self.scripted("f2", "failed"))
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: S\r\n"),
                         ["unavailable"])

    def test_no_match_beats_failed(self):
        r = self.responder(self.scripted("f1", "failed") + ", " +
                           self.scripted("n", "no-match"))
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: S\r\n"),
                         ["no-match"])

    def test_found_after_failed(self):
        r = self.responder(self.scripted("f1", "failed") + ", " +
                           self.scripted("ok", "found"))
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: S\r\n"),
                         ["ok"])

    def test_merge_stops_at_max_replies(self):
        many = ('{ name = "m"; module = "%s/scripted.so"; count = 6; '
                'fields = { FROM = "m"; }; }' % BROKEN)
        r = self.responder(many + ", " + static_backend("s", rec("S", FROM="s")),
                           routes='{ type = "S"; backends = ( "m", "s" ); '
                           'policy = "merge"; }', responder="max_replies = 7;")
        self.assertEqual(self.froms(r, "TGED DISCOVERY 1.0\r\nRQ: S\r\n"),
                         ["m"] * 6 + ["s"])


class Client(ResponderTest):
    def setUp(self):
        self.r = self.responder(static_backend("site", SQL + ", " + WEB))

    def test_default_output(self):
        p = self.r.tged("SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), [
            "RQ: SQL", "HOST: test", "FQDN: test.example.com",
            "IP: 192.168.0.34", "PORT: 3306", "USER: john", "SVR: 127.0.0.1"])

    def test_filter_and_env(self):
        p = self.r.tged("--env", "WEB", "HOST=web2")
        self.assertEqual(p.returncode, 0, p.stderr)
        env = subprocess.run(["sh", "-c", 'eval "$0"; echo "$TGED_IP '
                              '$TGED_SVR"', p.stdout],
                             capture_output=True, text=True)
        self.assertEqual(env.stdout.strip(), "192.168.0.41 127.0.0.1")

    def test_json(self):
        p = self.r.tged("--json", "SQL")
        self.assertEqual(json.loads(p.stdout)["PORT"], "3306")

    def test_all_collects_every_reply(self):
        p = self.r.tged("-a", "-t", "0.5", "--json", "WEB")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([a["HOST"] for a in json.loads(p.stdout)],
                         ["web1", "web2"])

    def test_invalid_exits_1(self):
        p = self.r.tged("NOSUCH")
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown-type", p.stderr)

    def test_no_answer_exits_2(self):
        p = self.r.tged("-t", "0.3", "SQL", server="127.0.0.1:9")
        self.assertEqual(p.returncode, 2)

    def test_usage_exits_64(self):
        for args in (["-s"], [], ["BAD TYPE"], ["SQL", "nofilter"],
                     ["SQL", "RQ=x"], ["--bogus", "SQL"]):
            with self.subTest(args=args):
                p = subprocess.run([TGED] + args, capture_output=True,
                                   text=True, timeout=5)
                self.assertEqual(p.returncode, 64, p.stderr)

    def test_ipv6(self):
        p = self.r.tged("SQL", server="[::1]:%d" % self.r.port)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("SVR: ::1", p.stdout)


if __name__ == "__main__":
    main()
