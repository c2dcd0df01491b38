"""tests/integration/test_json.py - the json backend: records served exactly
as written, every refusal named by file:line:column and JSON path (at start
and on reload, where the last good data keeps serving), each way a watched
file can change, and a 100 000-record file swapped under load."""

import json
import os
import re
import socket
import threading
import time

from harness import (ResponderTest, Responder, instrumented, main, parse, rec,
                     resident_kib, run_tgedd, static_backend)

EX_CONFIG = 78

SAMPLE = """{
  "SQL": { "HOST": "test", "FQDN": "test.example.com", "IP": "192.168.0.34",
           "PORT": 3306, "USER": "john" },
  "WEB": [ { "HOST": "web1", "IP": "192.168.0.40", "TLS": true },
           { "HOST": "web2", "IP": "192.168.0.41", "TLS": false,
             "PORT": 8080 } ],
  "NONE": []
}
"""

SQL_REPLY = (b"TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: test\r\n"
             b"FQDN: test.example.com\r\nIP: 192.168.0.34\r\nPORT: 3306\r\n"
             b"USER: john\r\n\r\n")


def backend(file="services.json", name="live"):
    return '{ name = "%s"; module = "json"; file = "%s"; }' % (name, file)


def ask(type_, *filters, id_=None):
    req = "TGED DISCOVERY 1.0\r\nRQ: %s\r\n" % type_
    if id_ is not None:
        req += "ID: %s\r\n" % id_
    for f in filters:
        req += "%s: %s\r\n" % f
    return req + "\r\n"


SANITIZER = re.compile(r"Sanitizer|runtime error:")


class JsonTest(ResponderTest):
    """Fails a test whose tgedd reported a sanitizer error (in a
    -DTGED_SANITIZE=ON build), including leaks found at exit."""

    def responder(self, *a, **kw):
        holder = []
        self.addCleanup(lambda: holder and self.assertNotRegex(
            holder[0].log_text(), SANITIZER))
        r = super().responder(*a, **kw)
        holder.append(r)
        return r

    def check(self, r):
        """Run tgedd -t on r's configuration."""
        p = run_tgedd("-t", "-c", r.conf)
        self.assertNotRegex(p.stderr, SANITIZER)
        return p


def one(value):
    """A file whose only record is A { V = value }."""
    return json.dumps({"A": {"V": value}}) + "\n"


class Serving(JsonTest):
    def setUp(self):
        self.r = self.responder(backend(), files={"services.json": SAMPLE})

    def test_single_record_bytes_are_exact(self):
        # Field order as written, integers in decimal.
        self.assertEqual(self.r.ask(ask("SQL")), [SQL_REPLY])

    def test_list_one_reply_per_record_in_order(self):
        got = self.r.ask_parsed(ask("WEB"), count=2)
        self.assertEqual(got, [
            ("REPLY", [("RQ", "WEB"), ("HOST", "web1"),
                       ("IP", "192.168.0.40"), ("TLS", "true")]),
            ("REPLY", [("RQ", "WEB"), ("HOST", "web2"),
                       ("IP", "192.168.0.41"), ("TLS", "false"),
                       ("PORT", "8080")])])

    def test_type_is_case_insensitive_answered_as_written(self):
        got = self.r.ask_parsed(ask("sql"))
        self.assertEqual(got[0][1][0], ("RQ", "SQL"))

    def test_filters(self):
        cases = [
            ((("HOST", "WEB2"),), ["web2"]),
            ((("TLS", "TRUE"),), ["web1"]),
            ((("PORT", "8080"),), ["web2"]),
            ((("IP", "192.168.0.41"), ("TLS", "false")), ["web2"]),
            ((("IP", "192.168.0.41"), ("TLS", "true")), "no-match"),
            ((("PORT", "80"),), "no-match"),
            ((("NOFIELD", "x"),), "no-match"),
        ]
        for filters, want in cases:
            with self.subTest(filters=filters):
                got = self.r.ask_parsed(ask("WEB", *filters))
                if isinstance(want, str):
                    self.assertEqual(got, [("INVALID", [
                        ("RP", "INVALID"), ("RQ", "WEB"),
                        ("REASON", want)])])
                else:
                    self.assertEqual([dict(h)["HOST"] for _, h in got], want)

    def test_empty_list_is_a_known_type_without_records(self):
        got = self.r.ask_parsed(ask("none"))
        self.assertEqual(dict(got[0][1])["REASON"], "no-match")
        got = self.r.ask_parsed(ask("OTHER"))
        self.assertEqual(dict(got[0][1])["REASON"], "unknown-type")

    def test_client_gets_the_record(self):
        p = self.r.tged("--json", "WEB", "HOST=web2")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["PORT"], "8080")

    def test_load_is_logged(self):
        self.r.wait_log("services.json: 3 records of 3 types (1 of them with "
                        "no records)")


class Values(JsonTest):
    def test_values_as_written(self):
        text = ('{"V": {"S": "caf\\u00e9 \\"x\\" a\\\\b", "U": "Büro",\n'
                '       "ZERO": 0, "NEG": -42, "MAX": 9223372036854775807,\n'
                '       "MIN": -9223372036854775808, "T": true, "F": false,\n'
                '       "TAB": "a\\tb"}}\n')
        r = self.responder(backend(), files={"services.json": text})
        got = r.ask(ask("V"))
        self.assertEqual(got, ["TGED REPLY 1.0\r\nRQ: V\r\n"
                               'S: café "x" a\\b\r\nU: Büro\r\nZERO: 0\r\n'
                               "NEG: -42\r\nMAX: 9223372036854775807\r\n"
                               "MIN: -9223372036854775808\r\nT: true\r\n"
                               "F: false\r\nTAB: a\tb\r\n\r\n"
                               .encode("utf-8")])

    def test_empty_top_level_object_serves_nothing(self):
        r = self.responder(backend(), files={"services.json": "{}"})
        got = r.ask_parsed(ask("A"))
        self.assertEqual(dict(got[0][1])["REASON"], "unknown-type")

    def test_path_is_relative_to_the_configuration(self):
        r = self.responder(backend("data/s.json"), start=False)
        os.mkdir(r.path("data"))
        r.write("data/s.json", one("sub"))
        r.start()
        self.assertIn(b"V: sub\r\n", r.ask(ask("A"))[0])

    def test_json_beside_static_with_routes(self):
        # The static records win for SQL; json completes with its types.
        r = self.responder(
            static_backend("site", rec("SQL", HOST="fixed")) + ", " +
            backend(),
            routes='{ type = "*"; backends = ( "site", "live" ); }',
            files={"services.json": SAMPLE})
        self.assertEqual(dict(r.ask_parsed(ask("SQL"))[0][1])["HOST"],
                         "fixed")
        self.assertEqual(dict(r.ask_parsed(ask("WEB"))[0][1])["HOST"], "web1")


# (file text, expected "line:column: message") for every refusal. Columns
# count characters from 1; semantic errors point at the start of the key or
# value at fault, syntax errors where jansson stopped.
BAD = [
    ("syntax: trailing comma", '{"A": {"V": "1",}}',
     "1:17: string or '}' expected near '}'"),
    ("syntax: half-written", '{"A": [{"V": "1"},\n  {"V": ',
     "2:8: unexpected token near end of file"),
    ("syntax: empty file", "", "1:1: '[' or '{' expected near end of file"),
    ("syntax: garbage after", '{"A": {"V": "1"}} x',
     "1:19: end of file expected near 'x'"),
    ("syntax: duplicate key", '{"A": {"V": "1"},\n "A": {"V": "2"}}',
     "2:4: duplicate object key near '\"A\"'"),
    ("syntax: duplicate field", '{"A": {"V": "1", "V": "2"}}',
     "1:20: duplicate object key near '\"V\"'"),
    ("syntax: integer too big", '{"A": {"V": 99999999999999999999}}',
     "1:32: too big integer near '99999999999999999999'"),
    ("syntax: NUL in string", '{"A": {"V": "a\\u0000"}}',
     "1:21: \\u0000 is not allowed without JSON_ALLOW_NUL"),
    ("top level a list", '  [ {"V": "1"} ]',
     "1:3: the top level must be an object keyed by type"),
    ("type value a string", '{"A": "x"}',
     "1:7: A: must be a record { ... } or a list of records"),
    ("type value null", '{"A": null}',
     "1:7: A: must be a record { ... } or a list of records [ { ... }, ... "
     "], not null"),
    ("list element not an object", '{"A": [{"V": "1"},\n       7]}',
     "2:8: A[1]: a record must be an object"),
    ("list of lists", '{"A": [[{"V": "1"}]]}',
     "1:8: A[0]: a record must be an object { \"NAME\": value, ... }, not a "
     "list"),
    ("empty record", '{"A": [{"V": "1"}, {}]}',
     "1:20: A[1]: a record needs at least one field"),
    ("null value", '{"A": {"V": null}}',
     "1:13: A.V: a value must be a string, an integer or a boolean, not null"),
    ("real value", '{"WEB": [{"H": "w"},\n  {"H": "x", "PORT": 80.5}]}',
     "2:22: WEB[1].PORT: a value must be a string, an integer or a boolean, "
     "not a real number (write it as a string)"),
    ("exponent is a real", '{"A": {"V": 1e3}}', "1:13: A.V: a value must be"),
    ("nested object", '{"A": {"V": {"X": 1}}}',
     "1:13: A.V: a value must be a string, an integer or a boolean, not an "
     "object"),
    ("array value", '{"A": {"V": [1, 2]}}',
     "1:13: A.V: a value must be a string, an integer or a boolean, not a "
     "list"),
    ("reserved field", '{"A": {"V": "1",\n  "RQ": "x"}}',
     "2:3: A.RQ: field name 'RQ' is reserved by the protocol"),
    ("reserved X-TGED-", '{"A": [{"V": "1", "x-tged-k": "x"}]}',
     "1:19: A[0].x-tged-k: field name 'x-tged-k' is reserved"),
    ("field name invalid", '{"A": {"V": "1", "A B": "x"}}',
     "1:18: A.A B: field name 'A B' is not valid"),
    ("field name too long", '{"A": {"%s": "x"}}' % ("N" * 33),
     "1:8: A.%s: field name" % ("N" * 33)),
    ("fields equal but for case", '{"A": {"Host": "1", "HOST": "2"}}',
     "1:21: A.HOST: field 'HOST' appears twice"),
    ("value with space at the end", '{"A": {"V": "x "}}',
     "1:13: A.V: value of field 'V' is not valid"),
    ("value with a control character", '{"A": {"V": "x\\u0001y"}}',
     "1:13: A.V: value of field 'V' is not valid"),
    ("value too long", '{"A": {"V": "%s"}}' % ("v" * 256),
     "1:13: A.V: value of field 'V' is not valid: at most 255 bytes"),
    ("type name invalid", '{"A": {"V": "1"}, "B C": [{"V": "1"}]}',
     "1:19: B C: type 'B C' is not valid"),
    ("type name invalid, empty list", '{"B/C": []}',
     "1:2: B/C: type is not valid: 1 to 63 of A-Z a-z 0-9 . _ -"),
    ("type name too long", '{"%s": {"V": "1"}}' % ("T" * 64),
     "1:2: %s: type '%s' is not valid" % ("T" * 64, "T" * 64)),
    ("types equal but for case", '{"Web": {"V": "1"},\n "x": [],\n'
     ' "WEB": []}',
     "3:2: WEB: type written before as 'Web' at line 1, column 2 (types "
     "compare case-insensitively)"),
    ("record too big for a reply",
     '{"A": {%s}}' % ", ".join('"F%d": "%s"' % (i, "v" * 255)
                               for i in range(4)),
     "1:7: A: record of 1044 bytes does not fit a REPLY"),
    ("too many fields",
     '{"A": {%s}}' % ", ".join('"F%d": %d' % (i, i) for i in range(127)),
     "1:7: A: a record has at most 126 fields"),
    ("multi-byte characters count as one column",
     '{"A": {"LOC": "Büro", "X": 1.0}}',
     "1:28: A.X: a value must be"),
    ("hostile key is shown escaped", '{"A": {"V\\n1": "x"}}',
     "1:8: A.V\\x0a1: field name"),
]


class RefusedAtStart(JsonTest):
    def test_every_refusal_names_the_spot(self):
        for what, text, want in BAD:
            with self.subTest(what):
                r = Responder(backend(), files={"services.json": text})
                self.addCleanup(r.cleanup)
                p = self.check(r)
                self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
                self.assertIn("backend live (json): %s:%s"
                              % (r.path("services.json"), want), p.stderr)

    def test_missing_file(self):
        r = Responder(backend("nothere.json"))
        self.addCleanup(r.cleanup)
        p = self.check(r)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("%s: cannot open: No such file or directory"
                      % r.path("nothere.json"), p.stderr)

    def test_not_a_regular_file(self):
        r = Responder(backend("dir.json"))
        self.addCleanup(r.cleanup)
        os.mkdir(r.path("dir.json"))
        p = self.check(r)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("dir.json: not a regular file", p.stderr)

    def test_file_setting_is_required(self):
        r = Responder('{ name = "live"; module = "json"; }')
        self.addCleanup(r.cleanup)
        p = self.check(r)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertRegex(p.stderr, r"tged\.conf:\d+: .*setting 'file' is "
                         r"required")

    def test_mistyped_file_setting(self):
        r = Responder('{ name = "live"; module = "json"; file = 3; }')
        self.addCleanup(r.cleanup)
        p = self.check(r)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertRegex(p.stderr, r"tged\.conf:\d+: backend 'live': setting "
                         r"'file' must be a string")

    def test_good_file_checks_good(self):
        r = Responder(backend(), files={"services.json": SAMPLE})
        self.addCleanup(r.cleanup)
        p = self.check(r)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_shipped_sample_is_good(self):
        src = os.environ.get("TGED_SOURCE_DIR", ".")
        sample = os.path.join(src, "etc", "services.json")
        r = Responder(backend(sample))
        self.addCleanup(r.cleanup)
        p = self.check(r)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("records of", p.stderr)


class Watched(JsonTest):
    def setUp(self):
        self.r = self.responder(backend(), files={"services.json": one("1")})
        self.file = self.r.path("services.json")

    def served(self, value, timeout=5):
        """Wait until A has V = value; the seconds it took."""
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            got = self.r.ask(ask("A"), first_wait=0.5)
            if got and ("V: %s\r\n" % value).encode() in got[0]:
                return time.monotonic() - t
            time.sleep(0.01)
        self.fail("V = %s not served within %ss:\n%s"
                  % (value, timeout, self.r.log_text()))

    def test_edit_in_place(self):
        with open(self.file, "r+") as f:
            f.write(one("2"))
            f.truncate()
        self.assertLess(self.served("2"), 1.0)

    def test_truncate_then_write(self):
        with open(self.file, "w") as f:
            f.write(one("3"))
        self.assertLess(self.served("3"), 1.0)

    def test_rename_over(self):
        with open(self.file + ".tmp", "w") as f:
            f.write(one("4"))
        os.rename(self.file + ".tmp", self.file)
        self.assertLess(self.served("4"), 1.0)

    def test_delete_and_recreate(self):
        mark = self.r.log_mark()
        os.unlink(self.file)
        self.r.wait_log("services.json: cannot open: No such file",
                        after=mark)
        self.r.wait_log("the data loaded before keeps serving", after=mark)
        self.assertIn(b"V: 1\r\n", self.r.ask(ask("A"))[0])
        with open(self.file, "w") as f:
            f.write(one("5"))
        self.assertLess(self.served("5"), 1.0)

    def test_folder_replaced(self):
        r = self.responder(backend("data/services.json"), start=False)
        os.mkdir(r.path("data"))
        r.write("data/services.json", one("1"))
        r.start()
        os.mkdir(r.path("data.new"))
        r.write("data.new/services.json", one("6"))
        os.rename(r.path("data"), r.path("data.old"))
        os.rename(r.path("data.new"), r.path("data"))
        self.r = r
        self.assertLess(self.served("6"), 1.0)

    def test_symlink_swapped(self):
        r = self.responder(backend("current.json"), start=False)
        r.write("v1.json", one("1"))
        r.write("v2.json", one("7"))
        os.symlink("v1.json", r.path("current.json"))
        r.start()
        os.symlink("v2.json", r.path("current.json.new"))
        os.rename(r.path("current.json.new"), r.path("current.json"))
        self.r = r
        self.assertLess(self.served("7"), 1.0)

    def test_every_refusal_on_reload_keeps_the_old_data(self):
        for what, text, want in BAD:
            with self.subTest(what):
                mark = self.r.log_mark()
                with open(self.file + ".tmp", "w") as f:
                    f.write(text)
                os.rename(self.file + ".tmp", self.file)
                self.r.wait_log("%s:%s" % (self.file, want), after=mark)
                self.r.wait_log("reload failed (", after=mark)
                self.r.wait_log("the data loaded before keeps serving",
                                after=mark)
                self.assertEqual(self.r.ask(ask("A")),
                                 [b"TGED REPLY 1.0\r\nRQ: A\r\nV: 1\r\n\r\n"])
        # And a good file is taken again.
        with open(self.file, "w") as f:
            f.write(one("8"))
        self.served("8")

    def test_half_written_file_then_the_rest(self):
        # A writer that writes in two steps: the first half is refused,
        # the whole is served.
        text = json.dumps({"A": [{"V": "9", "N": i} for i in range(50)]})
        with open(self.file, "w") as f:
            mark = self.r.log_mark()
            f.write(text[:len(text) // 2])
            f.flush()
            self.r.wait_log("reload failed", after=mark)
            self.assertIn(b"V: 1\r\n", self.r.ask(ask("A"))[0])
            f.write(text[len(text) // 2:])
        self.served("9")
        self.assertRegex(self.r.log_text(),
                         r"services\.json:1:\d+: .*near end of file")


def big_file(gen, n=100000, many=8):
    """n records: `many` of type MANY and the rest of type BULK, every one
    with GEN = gen. Written by hand: json.dumps takes longer."""
    parts = ['{\n"MANY": [\n']
    parts.append(",\n".join(
        '{"HOST": "m%d", "IP": "10.9.0.%d", "PORT": %d, "GEN": %d}'
        % (i, i, 7000 + i, gen) for i in range(many)))
    parts.append('],\n"BULK": [\n')
    parts.append(",\n".join(
        '{"HOST": "h%d", "IP": "10.%d.%d.%d", "PORT": %d, "GEN": %d, '
        '"TLS": %s}' % (i, i >> 16, (i >> 8) & 255, i & 255, 1024 + i % 60000,
                        gen, "true" if i % 2 else "false")
        for i in range(n - many)))
    parts.append("]\n}\n")
    return "".join(parts)


class Big(JsonTest):
    def test_resident_memory_after_a_big_load(self):
        # Reading 100 000 records takes several times the memory they keep
        # (jansson's tree, the builder); once served, tgedd holds about
        # the records and their index, not what reading them once took.
        why = instrumented()
        if why:
            self.skipTest(why)
        text = big_file(1)
        r = self.responder(backend(), files={"services.json": text})
        r.wait_log("100000 records of 2 types")
        limit = (3 * len(text) >> 10) + 2048

        def settled_rss():
            # The memory is given back just after a load: allow a moment.
            deadline = time.monotonic() + 5
            while True:
                rss = resident_kib(r.proc.pid)
                if rss <= limit or time.monotonic() > deadline:
                    return rss
                time.sleep(0.1)
        rss = settled_rss()
        self.assertLessEqual(rss, limit, "VmRSS %d KiB for a %d KiB file"
                             % (rss, len(text) >> 10))
        # And again after a reload of the same size.
        mark = r.log_mark()
        with open(r.path("services.json.tmp"), "w") as f:
            f.write(big_file(2))
        os.rename(r.path("services.json.tmp"), r.path("services.json"))
        r.wait_log("services.json: reloaded, ", timeout=30, after=mark)
        rss = settled_rss()
        self.assertLessEqual(rss, limit, "VmRSS %d KiB after a reload"
                             % rss)

    def test_100k_records_swapped_by_rename_under_load(self):
        old, new = big_file(1), big_file(2)
        r = self.responder(backend(), files={"services.json": old})
        m = re.search(r"services\.json: 100000 records of 2 types, \d+ KiB, "
                      r"read in ([\d.]+) ms", r.log_text())
        self.assertTrue(m, r.log_text())
        print("\n100000 records read in %s ms at start" % m.group(1))
        # A filter goes through the field index of the big type.
        got = r.ask_parsed(ask("BULK", ("HOST", "h77777")))
        self.assertEqual(dict(got[0][1])["IP"], "10.1.47.209")

        stop = threading.Event()
        seen = {"requests": 0, "unanswered": 0, "mixed": [], "gens": set()}

        def client():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(2.0)
                i = 0
                while not stop.is_set():
                    i += 1
                    tag = "q%d" % i
                    s.sendto(ask("MANY", id_=tag).encode(),
                             ("127.0.0.1", r.port))
                    seen["requests"] += 1
                    replies = []
                    try:
                        while len(replies) < 8:
                            d = s.recv(2048)
                            method, hdrs = parse(d)
                            if dict(hdrs).get("ID") == tag:
                                replies.append(dict(hdrs))
                    except socket.timeout:
                        seen["unanswered"] += 1
                        continue
                    gens = {h["GEN"] for h in replies}
                    seen["gens"] |= gens
                    if len(gens) != 1:
                        seen["mixed"].append(gens)

        t = threading.Thread(target=client)
        t.start()
        times = []
        try:
            for text, gen in ((new, 2), (old, 1), (new, 2)):
                mark = r.log_mark()
                with open(r.path("services.json.tmp"), "w") as f:
                    f.write(text)
                os.rename(r.path("services.json.tmp"),
                          r.path("services.json"))
                r.wait_log("services.json: reloaded, ", timeout=30, after=mark)
                m = re.search(r"read in ([\d.]+) ms",
                              "\n".join(r.log[mark:]))
                times.append(m.group(1))
                time.sleep(0.2)
        finally:
            stop.set()
            t.join()
        print("100000 records read in %s ms on each reload"
              % ", ".join(times))
        self.assertGreater(seen["requests"], 20, seen)
        self.assertEqual(seen["unanswered"], 0, seen)
        self.assertEqual(seen["mixed"], [], seen)
        self.assertEqual(seen["gens"], {"1", "2"}, seen)
        got = r.ask_parsed(ask("MANY"), count=8)
        self.assertEqual({dict(h)["GEN"] for _, h in got}, {"2"})


if __name__ == "__main__":
    main()
