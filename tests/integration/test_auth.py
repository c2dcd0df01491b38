"""tests/integration/test_auth.py - authenticated discovery: signed requests
and answers, replays, keys, routes that require a signature, and a forged
REPLY from another host that tged -k rejects (docs/protocol.md,
"Authenticated discovery").

Signatures are made and checked here with Python's hmac module, not with
tged's code, so the wire format is tested against its description."""

import hashlib
import hmac
import json
import os
import re
import signal
import socket
import struct
import threading
import time

from harness import ResponderTest, main, rec, run_tgedd, static_backend

OFFICE = bytes(range(32))
LAB = bytes.fromhex("ffeeddccbbaa99887766554433221100"
                    "ffeeddccbbaa99887766554433221100")
KEYFILE = ('keys = (\n'
           '  { id = "office"; secret = "%s"; },\n'
           '  { id = "lab"; secret = "%s"; }\n'
           ');\n' % (OFFICE.hex(), LAB.hex()))

SQL = rec("SQL", HOST="test", PORT=3306)
SECRET = rec("SECRET", HOST="vault", PORT=8200)
SQL_REPLY = b"TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: test\r\nPORT: 3306\r\n\r\n"

AUTH_RE = re.compile(rb"\r\nAUTH: v1 ([A-Za-z0-9._-]{1,32}) ([0-9]{1,10}) "
                     rb"([0-9a-f]{16}) ([0-9a-f]{64})\r\n\r\n\Z")


def sign(head, key_id="office", secret=OFFICE, t=None, nonce=None):
    """head: start line and header lines, each ending with CRLF."""
    if isinstance(head, str):
        head = head.encode()
    t = int(time.time()) if t is None else t
    nonce = nonce or os.urandom(8).hex()
    pre = head + b"AUTH: v1 %s %d %s " % (key_id.encode(), t, nonce.encode())
    mac = hmac.new(secret, pre, hashlib.sha256).hexdigest().encode()
    return pre + mac + b"\r\n\r\n"


def request(rq="SQL", id_="r1", extra="", **kw):
    return sign("TGED DISCOVERY 1.0\r\nRQ: %s\r\nID: %s\r\n%s" % (rq, id_, extra),
                **kw)


def verify(answer, secret=OFFICE):
    """(key id, time, nonce) of a correctly signed answer, else None."""
    m = AUTH_RE.search(answer)
    if not m:
        return None
    signed = answer[:m.start(4)]
    good = hmac.new(secret, signed, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(good, m.group(4)):
        return None
    return m.group(1).decode(), int(m.group(2)), m.group(3).decode()


def nonce_of(req):
    return AUTH_RE.search(req).group(3).decode()


def unsigned(answer):
    """The answer without its AUTH line, as an unsigned one would be."""
    m = AUTH_RE.search(answer)
    return answer[:m.start()] + b"\r\n\r\n" if m else answer


class AuthTest(ResponderTest):
    def keyed(self, responder="", routes=None, keyfile=KEYFILE, mode=0o600,
              backends=None, start=True):
        r = self.responder(backends or static_backend("site", SQL + ", " +
                                                      SECRET),
                           routes=routes,
                           responder='keys = "keys.conf"; ' + responder,
                           files={"keys.conf": keyfile}, start=False)
        os.chmod(r.path("keys.conf"), mode)
        if start:
            r.start()
        return r

    def client_keys(self, r):
        """A key file for tged, readable by its owner only."""
        p = r.path("client.keys")
        with open(p, "w") as f:
            f.write(KEYFILE)
        os.chmod(p, 0o600)
        return p


class SignedAnswers(AuthTest):
    def setUp(self):
        self.r = self.keyed(routes='{ type = "SECRET"; backends = ( "site" );'
                            ' auth = "required"; }, '
                            '{ type = "*"; backends = ( "site" ); }')

    def test_signed_request_gets_a_signed_reply(self):
        req = request()
        before = int(time.time())
        got = self.r.ask(req)
        self.assertEqual(len(got), 1)
        self.assertEqual(verify(got[0], OFFICE)[0], "office")
        key_id, t, nonce = verify(got[0])
        self.assertEqual(nonce, nonce_of(req))
        self.assertTrue(before - 1 <= t <= time.time() + 1)
        self.assertIsNone(verify(got[0], LAB))
        # The answer is the unsigned one with AUTH as its last line.
        self.assertEqual(unsigned(got[0]),
                         b"TGED REPLY 1.0\r\nRQ: SQL\r\nID: r1\r\nHOST: test"
                         b"\r\nPORT: 3306\r\n\r\n")

    def test_answers_are_signed_with_the_requests_key(self):
        got = self.r.ask(request(key_id="lab", secret=LAB))
        self.assertEqual(verify(got[0], LAB)[0], "lab")

    def test_signed_invalid_answers(self):
        for rq, extra, reason in (("NOSUCH", "", b"unknown-type"),
                                  ("SQL", "HOST: other\r\n", b"no-match")):
            with self.subTest(reason):
                got = self.r.ask(request(rq, extra=extra))
                self.assertEqual(len(got), 1)
                self.assertTrue(verify(got[0]))
                self.assertTrue(got[0].startswith(b"TGED INVALID 1.0\r\n"
                                                  b"RP: INVALID\r\n"))
                self.assertIn(b"\r\nREASON: " + reason + b"\r\nAUTH: v1 ",
                              got[0])

    def test_unsigned_requests_are_answered_as_before(self):
        self.assertEqual(self.r.ask("TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n"),
                         [SQL_REPLY])

    def test_route_that_requires_auth(self):
        self.assertEqual(self.r.ask("TGED DISCOVERY 1.0\r\nRQ: SECRET\r\n"
                                    "\r\n", first_wait=0.5), [])
        self.r.wait_log("request for SECRET from 127.0.0.1 refused: the "
                        "route of its type requires a signed request")
        got = self.r.ask(request("SECRET"))
        self.assertEqual(len(got), 1)
        self.assertTrue(verify(got[0]))
        self.assertIn(b"HOST: vault", got[0])
        # Other routes still serve unsigned requests.
        self.assertEqual(self.r.ask("TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n"),
                         [SQL_REPLY])

    def test_replay_inside_the_window_is_silent(self):
        req = request()
        self.assertEqual(len(self.r.ask(req)), 1)
        self.assertEqual(self.r.ask(req, first_wait=0.5), [])
        self.r.wait_log("refused: replayed")
        # From another source port, so maybe to another worker: the same.
        self.assertEqual(self.r.ask(req, first_wait=0.5), [])

    def test_time_outside_the_window_is_silent(self):
        now = int(time.time())
        self.assertEqual(self.r.ask(request(t=now - 40), first_wait=0.5), [])
        self.assertEqual(self.r.ask(request(t=now + 40), first_wait=0.5), [])
        self.r.wait_log("its time is outside responder.auth_window")
        self.assertEqual(len(self.r.ask(request(t=now - 20))), 1)

    def test_wrong_or_unknown_key_is_silent(self):
        cases = {
            "known id, other secret": request(secret=LAB),
            "unknown id": request(key_id="home"),
            "id of another key": request(key_id="lab"),
        }
        for what, req in cases.items():
            with self.subTest(what):
                self.assertEqual(self.r.ask(req, first_wait=0.4), [], what)
        self.r.wait_log("refused: wrong MAC")
        self.r.wait_log("refused: unknown key id")

    def test_malformed_auth_is_silent(self):
        good = request()
        cases = {
            "bad value": b"TGED DISCOVERY 1.0\r\nRQ: SQL\r\nAUTH: x\r\n\r\n",
            "upper-case MAC": good[:-68] + good[-68:-4].upper() + b"\r\n\r\n",
            "a body after it": good + b"body",
            "no empty line": good[:-2],
            # Malformed as a request (a bare CR): it cannot be verified.
            "malformed request": b"TGED DISCOVERY 1.0\r\nRQ: SQL\rX\r\n"
                                 + good.split(b"\r\n", 3)[3],
            "another major version": b"TGED DISCOVERY 2.0\r\nRQ: SQL\r\n"
                                     + good.split(b"\r\n", 3)[3],
        }
        moved = request()
        head, auth = moved.split(b"AUTH: ", 1)
        cases["not the last header"] = (head.replace(b"ID: r1\r\n", b"") +
                                        b"AUTH: " + auth[:-2] +
                                        b"ID: r1\r\n\r\n")
        for what, req in cases.items():
            with self.subTest(what):
                self.assertEqual(self.r.ask(req, first_wait=0.4), [], what)
        # Still serving.
        self.assertEqual(len(self.r.ask(request())), 1)

    def test_altered_byte_anywhere(self):
        """Every byte of a signed request, changed: never a signed answer,
        and silence, but where the change unmakes the name AUTH itself:
        the request is then an unsigned one (with a filter ATTH, or
        malformed), answered as such on a route that takes unsigned
        requests, silent on one that requires auth unless malformed."""
        for rq in ("SECRET", "SQL"):
            with self.subTest(rq), socket.socket(socket.AF_INET,
                                                 socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", 0))
                # ID t000, t001...: the answers say which change they
                # answer (a change in the ID itself leaves it unanswered).
                size = len(request(rq, id_="t000"))
                for i in range(size):
                    req = bytearray(request(rq, id_="t%03d" % i))
                    req[i] ^= 0x01
                    s.sendto(bytes(req), ("127.0.0.1", self.r.port))
                s.sendto(request(rq, id_="ctl"), ("127.0.0.1", self.r.port))
                answers = []
                s.settimeout(3)
                while True:
                    try:
                        d, _ = s.recvfrom(65535)
                    except socket.timeout:
                        break
                    answers.append(d)
                    s.settimeout(0.5)
                signed = [a for a in answers if verify(a)]
                self.assertEqual(len(signed), 1, signed)
                self.assertIn(b"ID: ctl\r\n", signed[0])
                name_at = request(rq, id_="t000").index(b"\r\nAUTH: ") + 2
                answered = sorted(int(header(a, b"ID")[1:]) for a in answers
                                  if not verify(a))
                if rq == "SECRET":
                    # "@UTH": malformed, and no longer signed.
                    self.assertEqual(answered, [name_at])
                else:
                    self.assertEqual(answered, list(range(name_at,
                                                          name_at + 4)))

    def test_several_workers_share_the_replay_cache(self):
        r = self.keyed(responder="workers = 4;")
        req = request()
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                 for _ in range(16)]
        try:
            for s in socks:
                s.sendto(req, ("127.0.0.1", r.port))
            got = 0
            deadline = time.monotonic() + 1.5
            for s in socks:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    s.recvfrom(65535)
                    got += 1
                except socket.timeout:
                    pass
        finally:
            for s in socks:
                s.close()
        self.assertEqual(got, 1)


class Replay(AuthTest):
    def test_replay_after_the_window_is_silent(self):
        r = self.keyed(responder="auth_window = 1;")
        req = request()
        self.assertEqual(len(r.ask(req)), 1)
        time.sleep(2.5)
        self.assertEqual(r.ask(req, first_wait=0.5), [])
        r.wait_log("refused:")

    def test_a_reload_does_not_let_replays_in(self):
        r = self.keyed()
        req = request()
        self.assertEqual(len(r.ask(req)), 1)
        mark = r.log_mark()
        r.signal(signal.SIGHUP)
        r.wait_log("reloaded", after=mark)
        self.assertEqual(r.ask(req, first_wait=0.5), [])
        self.assertEqual(len(r.ask(request())), 1)

    def test_a_reload_applies_a_new_key_file(self):
        r = self.keyed()
        self.assertEqual(len(r.ask(request())), 1)
        r.write("keys.conf", 'keys = ( { id = "office"; secret = "%s"; } );'
                % LAB.hex())
        mark = r.log_mark()
        r.signal(signal.SIGHUP)
        r.wait_log("reloaded", after=mark)
        self.assertEqual(r.ask(request(), first_wait=0.5), [])
        got = r.ask(request(secret=LAB))
        self.assertEqual(verify(got[0], LAB)[0], "office")


class Client(AuthTest):
    def setUp(self):
        self.r = self.keyed(routes='{ type = "SECRET"; backends = ( "site" );'
                            ' auth = "required"; }, '
                            '{ type = "*"; backends = ( "site" ); }')
        self.keys = self.client_keys(self.r)

    def test_tged_k_gets_the_record(self):
        p = self.r.tged("-k", self.keys, "SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), [
            "RQ: SQL", "HOST: test", "PORT: 3306", "SVR: 127.0.0.1"])
        self.assertEqual(p.stderr, "")

    def test_tged_k_on_a_route_that_requires_auth(self):
        p = self.r.tged("-t", "0.5", "SECRET")
        self.assertEqual(p.returncode, 2)
        p = self.r.tged("-k", self.keys, "-K", "lab", "--json", "SECRET")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["HOST"], "vault")

    def test_tged_k_invalid_is_signed_and_final(self):
        p = self.r.tged("-k", self.keys, "NOSUCH")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("REASON: unknown-type", p.stdout)
        self.assertNotIn("AUTH", p.stdout)

    def test_tged_k_with_a_key_the_responder_lacks(self):
        other = self.r.write("other.keys", 'keys = ( { id = "office"; '
                             'secret = "%s"; } );' % ("ab" * 32))
        os.chmod(other, 0o600)
        p = self.r.tged("-k", other, "-t", "0.5", "SQL")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")

    def test_tged_k_all_counts_each_record_once(self):
        # Every copy of the request has its own nonce, so the answers to
        # the copies differ in their AUTH lines: still one per record.
        r = self.keyed(backends=static_backend(
            "site", SQL + ", " + rec("SQL", HOST="backup", PORT=3307)))
        p = r.tged("-k", self.client_keys(r), "-a", "-t", "1.2", "--json",
                   "SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([a["HOST"] for a in json.loads(p.stdout)],
                         ["test", "backup"])

    def test_key_file_errors(self):
        cases = {
            "missing": ([self.r.path("nope.keys")], "cannot read the key file"),
            "no such id": (["-K", "home"], "no key 'home' (the file has "
                           "'office', 'lab')"),
        }
        for what, (args, text) in cases.items():
            with self.subTest(what):
                if args[0] != "-K":
                    args = ["-k"] + args
                else:
                    args = ["-k", self.keys] + args
                p = self.r.tged(*(args + ["SQL"]))
                self.assertEqual(p.returncode, 78, p.stderr)
                self.assertIn(text, p.stderr)
        bad = self.r.write("bad.keys", 'keys = ( { id = "a"; secret = "00"; '
                           '} );\n')
        p = self.r.tged("-k", bad, "SQL")
        self.assertEqual(p.returncode, 78)
        self.assertIn("bad.keys:1: key 'a': secret must be 64 hex digits",
                      p.stderr)
        loose = self.r.write("loose.keys", KEYFILE)
        os.chmod(loose, 0o644)
        p = self.r.tged("-k", loose, "SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning:", p.stderr)
        self.assertIn("readable by others", p.stderr)
        for args in (["-K", "lab", "SQL"], ["--auth-window", "5", "SQL"],
                     ["-k", self.keys, "--auth-window", "0", "SQL"],
                     ["-k", self.keys, "-K", "a b", "SQL"]):
            with self.subTest(args=args):
                p = self.r.tged(*args)
                self.assertEqual(p.returncode, 64, p.stderr)


class FakeHub:
    """Another host of the LAN, for a client that asks 127.0.0.2: it hears
    the request first (as every host hears a broadcast), answers with
    forge(request), then passes the request on to the real responder with
    the client's own source address and port (a raw socket), so that the
    real answer goes straight to the client and comes second."""

    def __init__(self, real_port, forge, forward=True):
        self.real_port = real_port
        self.forge = forge
        self.forward = forward
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.2", 0))
        self.port = self.sock.getsockname()[1]
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                 socket.IPPROTO_UDP)
        self.stop = False
        self.seen = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.sock.settimeout(0.1)
        while not self.stop:
            try:
                req, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.seen += 1
            for answer in self.forge(req):
                self.sock.sendto(answer, src)
            if self.forward:
                udp = struct.pack("!HHHH", src[1], self.real_port,
                                  8 + len(req), 0) + req
                self.raw.sendto(udp, ("127.0.0.1", 0))

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()
        self.raw.close()


def header(req, name):
    m = re.search(rb"\r\n" + name + rb": ([^\r]*)\r\n", req)
    return m.group(1) if m else b""


def forged_reply(req, auth=b""):
    return (b"TGED REPLY 1.0\r\nRQ: " + header(req, b"RQ") + b"\r\nID: " +
            header(req, b"ID") + b"\r\nHOST: evil\r\nPORT: 6666\r\n" + auth +
            b"\r\n")


class ForgedReply(AuthTest):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("passing the request on with the client's source "
                          "address needs a raw socket (root)")
        self.r = self.keyed()
        self.keys = self.client_keys(self.r)

    def hub(self, forge, forward=True):
        h = FakeHub(self.r.port, forge, forward)
        self.addCleanup(h.close)
        return h

    def test_plain_tged_takes_the_forged_reply(self):
        """The attack: the forged REPLY comes first and wins."""
        h = self.hub(lambda req: [forged_reply(req)])
        p = self.r.tged("SQL", server="127.0.0.2:%d" % h.port)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("HOST: evil", p.stdout)
        self.assertIn("SVR: 127.0.0.2", p.stdout)

    def test_tged_k_rejects_forged_replies_and_takes_the_real_one(self):
        forgeries = {
            "unsigned": lambda req: [forged_reply(req)],
            "the request's AUTH line copied":
                lambda req: [forged_reply(req, b"AUTH: " +
                                          header(req, b"AUTH") + b"\r\n")],
            "signed with a key of its own":
                lambda req: [sign(forged_reply(req)[:-2], "office",
                                  b"\x01" * 32, nonce=nonce_of(req))],
            "a real answer to an older request":
                lambda req: [self.r.ask(request(id_=header(req, b"ID")
                                                .decode()))[0]],
        }
        for what, forge in forgeries.items():
            with self.subTest(what):
                h = self.hub(forge)
                p = self.r.tged("-k", self.keys, "SQL",
                                server="127.0.0.2:%d" % h.port)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("HOST: test", p.stdout)
                self.assertIn("SVR: 127.0.0.1", p.stdout)
                self.assertNotIn("evil", p.stdout)
                self.assertGreaterEqual(h.seen, 1)

    def test_only_forged_answers_mean_no_answer(self):
        h = self.hub(lambda req: [forged_reply(req)], forward=False)
        p = self.r.tged("-k", self.keys, "-t", "0.6", "SQL",
                        server="127.0.0.2:%d" % h.port)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertRegex(p.stderr, r"no correctly signed answer within 0.6 s "
                         r"\(\d+ answers? ignored")


class Configuration(AuthTest):
    def check(self, r):
        return run_tgedd("-t", "-c", r.conf)

    def test_errors(self):
        cases = {
            "missing key file": (dict(keyfile=None),
                                 ["keys.conf: cannot read the key file",
                                  "tged.conf:1: responder.keys: the key file"]),
            "short secret": (dict(keyfile='keys = (\n { id = "a"; secret = '
                                  '"abcd"; }\n);\n'),
                             ["keys.conf:2: key 'a': secret must be 64 hex "
                              "digits"]),
            "window": (dict(responder="auth_window = 0;"),
                       ["responder.auth_window must be from 1 to 3600, not 0"]),
            "auth value": (dict(routes='{ type = "*"; backends = ( "site" ); '
                                'auth = "maybe"; }'),
                           ['route *: auth must be "optional" or "required", '
                            'not "maybe"']),
        }
        for what, (kw, texts) in cases.items():
            with self.subTest(what):
                kf = kw.pop("keyfile", KEYFILE)
                r = self.keyed(start=False, keyfile=kf or "", **kw)
                if kf is None:
                    os.unlink(r.path("keys.conf"))
                p = self.check(r)
                self.assertEqual(p.returncode, 78, p.stderr)
                for t in texts:
                    self.assertIn(t, p.stderr)

    def test_required_route_needs_keys(self):
        r = self.responder(static_backend("site", SQL),
                           routes='{ type = "*"; backends = ( "site" ); '
                           'auth = "required"; }', start=False)
        p = self.check(r)
        self.assertEqual(p.returncode, 78)
        self.assertIn('tged.conf:4: route *: auth = "required" needs '
                      'responder.keys', p.stderr)

    def test_loose_key_file_is_served_with_a_warning(self):
        r = self.keyed(mode=0o644)
        r.wait_log("readable by others (mode 0644)")
        self.assertEqual(len(r.ask(request())), 1)

    def test_without_keys_auth_is_ignored(self):
        r = self.responder(static_backend("site", SQL))
        self.assertEqual(r.ask(request(id_="x")),
                         [b"TGED REPLY 1.0\r\nRQ: SQL\r\nID: x\r\nHOST: test"
                          b"\r\nPORT: 3306\r\n\r\n"])

    def test_signed_reply_that_does_not_fit_is_skipped(self):
        # 867 bytes of fields fit unsigned; with an AUTH line they do not.
        big = "v" * 255
        recs = (rec("BIG", A=big, B=big, C=big, D="d" * 70) + ", " +
                rec("BIG", A="small"))
        r = self.keyed(backends=static_backend("site", recs))
        self.assertEqual(len(r.ask("TGED DISCOVERY 1.0\r\nRQ: BIG\r\n\r\n",
                                   count=2)), 2)
        # A long ID leaves no room for the AUTH line in the first.
        got = r.ask(request("BIG", id_="i" * 64), count=2)
        self.assertEqual(len(got), 1)
        self.assertIn(b"A: small", got[0])
        self.assertTrue(verify(got[0]))
        r.wait_log("skipped in a signed answer")


if __name__ == "__main__":
    main()
